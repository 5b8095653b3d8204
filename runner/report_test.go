package runner

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
)

func TestTextReportColour(t *testing.T) {
	rep := &Report{Files: []*FileResult{{File: "f.yaml", Name: "f", Tests: []*TestResult{
		{Name: "good", Points: 1, Passed: true},
		{Name: "bad", Points: 1, Failure: &Failure{Kind: KindTimeout, Message: "slow", Offset: -1}},
	}}}}
	for _, colour := range []bool{true, false} {
		var b strings.Builder
		if err := (textReporter{ReportOptions{Color: colour}}).Report(&b, rep); err != nil {
			t.Fatal(err)
		}
		if got := strings.Contains(b.String(), "\x1b["); got != colour {
			t.Errorf("Color: %v, yet escape codes present: %v\n%s", colour, got, b.String())
		}
	}
}

func TestUnknownFormat(t *testing.T) {
	if _, err := NewReporter("xml", ReportOptions{}); err == nil || !strings.Contains(err.Error(), "expected one of: gradescope, json, junit, prairielearn, tap, text") {
		t.Errorf("got %v", err)
	}
}

func TestSafeText(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"plain text, déjà vu, 日本語\n\tindented\n", "plain text, déjà vu, 日本語\n\tindented\n"},
		{"\x1b[31mred\x1b[0m", `\x1b[31mred\x1b[0m`},
		{"title\x1b]0;pwned\x07", `title\x1b]0;pwned\x07`},
		{"progress 10%\rdone", `progress 10%\rdone`},
		{"line\r\n", "line\\r\n"},
		{"back\b\x7fspace", `back\x08\x7fspace`},
		{"nul\x00", `nul\x00`},
		{"c1 \u009b31m", `c1 \u009b31m`},
		{"bidi \u202eevil\u202c", `bidi \u202eevil\u202c`},
		{"bad \xff\xfe utf-8", `bad \xff\xfe utf-8`},
		{"tag \U000e0041", `tag \U000e0041`},
	} {
		if got := safeText(c.in); got != c.want {
			t.Errorf("safeText(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// A run cancelled before it starts runs nothing: every test is
// unfinished, the report is incomplete with the cancel's cause as the
// reason, and no format reads it as a score.
func TestCancelledRunIsIncomplete(t *testing.T) {
	spec := mustParse(t, `
servers:
  e: {behaviour: echo}
tests:
  - name: a
    steps: [{connect: e}]
  - name: b
    steps: [{connect: e}]
`)
	ctx, cancel := context.WithCancelCause(context.Background())
	cancel(errors.New("interrupted by SIGINT"))
	rep := Run(ctx, []*Spec{spec}, Options{})
	if rep.Incomplete != "interrupted by SIGINT" {
		t.Errorf("Incomplete = %q", rep.Incomplete)
	}
	if tot := rep.Totals(); tot.Unfinished != 2 || tot.Failed != 0 || rep.Passed() {
		t.Errorf("totals %+v, passed %v: want 2 unfinished, not passed", tot, rep.Passed())
	}
	want := "INCOMPLETE: interrupted by SIGINT; 2 of 2 tests did not finish, so there is no score (so far 0 passed, 0 failed)"
	if got := rep.Summary(); got != want {
		t.Errorf("Summary() = %q, want %q", got, want)
	}
}

// A skipped test does not fail the run, but scores nothing.
func TestSkippedDoesNotFail(t *testing.T) {
	rep := &Report{Files: []*FileResult{{Tests: []*TestResult{
		{Name: "a", Points: 2, Passed: true},
		{Name: "b", Points: 3, Skipped: "needs a client"},
	}}}}
	tot := rep.Totals()
	if !rep.Passed() || tot.Skipped != 1 || tot.Failed != 0 || tot.Score != 2 || tot.MaxScore != 5 {
		t.Errorf("totals %+v, passed %v", tot, rep.Passed())
	}
	if got, want := rep.Summary(), "score 2/5: 1 passed, 0 failed, 1 skipped"; got != want {
		t.Errorf("Summary() = %q, want %q", got, want)
	}
}

// The README lists the formats and visibilities the tables hold.
func TestReadmeListsFormats(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, list := range [][]string{Formats(), Visibilities()} {
		if want := strings.Join(list, "|"); !strings.Contains(string(readme), want) {
			t.Errorf("README.md does not list %s", want)
		}
	}
}
