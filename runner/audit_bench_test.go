package runner

import (
	"context"
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkAudit audits the course exercises, as sockrun audit specs/
// does, and reports beside its time the floor no schedule can beat: its
// longest mutant, whose tests run one after another (or its reference's
// slowest test). floor-ratio is how far the pool is from it.
func BenchmarkAudit(b *testing.B) {
	files, _ := filepath.Glob("../specs/*.yaml")
	var specs []*Spec
	for _, f := range files {
		s, err := Load(f, LoadOptions{})
		if err != nil {
			b.Fatal(err)
		}
		specs = append(specs, s)
	}
	var wall, floor time.Duration
	for b.Loop() {
		start := time.Now()
		rep := Audit(context.Background(), specs, AuditOptions{})
		took := time.Since(start)
		if !rep.Passed() {
			b.Fatalf("the audit failed:\n%s", auditText(rep, true))
		}
		longest := time.Duration(0)
		for _, s := range rep.Specs {
			for _, t := range s.Reference.Tests {
				longest = max(longest, t.Duration)
			}
			for _, ta := range s.Targets {
				for _, m := range ta.Mutants {
					longest = max(longest, m.Duration)
				}
			}
		}
		wall += took
		floor += longest
	}
	b.ReportMetric(float64(floor.Milliseconds())/float64(b.N), "floor-ms")
	b.ReportMetric(float64(wall)/float64(floor), "floor-ratio")
}
