package runner

import (
	"regexp"
	"strings"
	"testing"
)

func result(name string, score, max int, incomplete string) *GradeResult {
	var tests []*TestResult
	for i := range max {
		tests = append(tests, &TestResult{Name: "t", Points: 1, Passed: i < score})
	}
	rep := &Report{Incomplete: incomplete, Files: []*FileResult{{Tests: tests}}}
	return &GradeResult{Submission: &Submission{Name: name}, Report: rep}
}

func TestProgress(t *testing.T) {
	done := result("subs/a", 2, 2, "")
	below := result("subs/b", 1, 2, "")
	stopped := result("subs/c", 0, 2, "interrupted by SIGINT")
	all := []*GradeResult{done, below, stopped}

	// On a terminal: one line, redrawn in place, cleared at the end.
	var live strings.Builder
	p := NewProgress(&live, true, 3, 2)
	p.Test(nil, nil)
	p.Done(done)
	p.Done(below)
	p.Done(stopped)
	p.Finish(all)
	out := live.String()
	for _, want := range []string{
		"\r\x1b[Kgrading: 0/3 submissions done, 0 below full marks, about ",
		"\r\x1b[Kgrading: 1/3 submissions done, 0 below full marks",
		"\r\x1b[Kgrading: 2/3 submissions done, 1 below full marks",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("live progress lacks %q:\n%q", want, out)
		}
	}
	closing := regexp.MustCompile(`\r\x1b\[Kgraded 2 of 3 submissions in [0-9.]+m?s: 1 with full marks, 1 below; 1 not graded\n$`)
	if !closing.MatchString(out) {
		t.Errorf("live progress does not end with the closing line:\n%q", out)
	}

	// Elsewhere: a plain line per submission graded, none for one that
	// was not, no escapes.
	var plain strings.Builder
	p = NewProgress(&plain, false, 3, 2)
	p.Test(nil, nil)
	p.Done(done)
	p.Done(below)
	p.Done(stopped)
	p.Finish(all)
	lines := strings.Split(strings.TrimSuffix(plain.String(), "\n"), "\n")
	if len(lines) != 3 || lines[0] != "graded 1/3 subs/a: 2/2" || lines[1] != "graded 2/3 subs/b: 1/2" ||
		!strings.HasPrefix(lines[2], "graded 2 of 3 submissions in ") || strings.Contains(plain.String(), "\x1b") {
		t.Errorf("plain progress:\n%s", plain.String())
	}
}
