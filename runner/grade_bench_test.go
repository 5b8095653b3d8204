package runner

import (
	"context"
	"fmt"
	"sync"
	"testing"
)

const gradeBenchSpec = `
servers:
  echo: {behaviour: echo}
tests:
  - name: one message
    steps: [{connect: echo}, {send: "hello"}, {expect: "hello"}]
  - name: another
    steps: [{connect: echo}, {send: "x"}, {expect: "x"}]
`

// BenchmarkGrade measures what grading adds to running the tests: Grade
// over 50 submissions against a floor written by hand, the same runs
// through the same pool from 50 goroutines. The spec uses a built-in
// server, so that the figure is the grading layer's, not programs'.
func BenchmarkGrade(b *testing.B) {
	spec, err := Parse("bench.yaml", []byte(gradeBenchSpec), LoadOptions{})
	if err != nil {
		b.Fatal(err)
	}
	specs := []*Spec{spec}
	var subs []*Submission
	for i := range 50 {
		subs = append(subs, &Submission{Name: fmt.Sprint("s", i), Dir: b.TempDir()})
	}
	check := func(score int) {
		if score != 2 {
			b.Fatalf("score %d, want 2", score)
		}
	}
	b.Run("grade", func(b *testing.B) {
		for b.Loop() {
			for _, r := range Grade(context.Background(), specs, subs, GradeOptions{Jobs: 8}) {
				check(r.Report.Totals().Score)
			}
		}
	})
	b.Run("floor", func(b *testing.B) {
		for b.Loop() {
			pool := NewPool(8)
			var wg sync.WaitGroup
			for _, s := range subs {
				wg.Go(func() {
					check(pool.Run(context.Background(), specs, Options{Dir: s.Dir}).Totals().Score)
				})
			}
			wg.Wait()
		}
	})
}
