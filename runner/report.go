package runner

import (
	"fmt"
	"io"
	"slices"
	"strings"
)

// A Reporter writes a Report in one format.
type Reporter interface {
	Report(w io.Writer, r *Report) error
}

// ReportOptions change what reporters show.
type ReportOptions struct {
	Color      bool // ANSI colour (text only): the CLI sets it on a terminal without NO_COLOR
	ShowHidden bool // show the steps and data of hidden tests too (the instructor's view)
	Verbose    bool // show each test's transcript
	// HiddenVisibility is the Gradescope visibility of hidden tests, one
	// of Visibilities(); empty means after_published.
	HiddenVisibility string
}

// A format is a report format: how to make its reporter, and the file
// extension of its reports.
type format struct {
	ext  string
	make func(ReportOptions) Reporter
}

// reporters is the one place that maps a format name to its reporter.
func reporters() map[string]format {
	return map[string]format{
		"text":         {".txt", func(o ReportOptions) Reporter { return textReporter{o} }},
		"json":         {".json", func(o ReportOptions) Reporter { return jsonReporter{o} }},
		"junit":        {".xml", func(o ReportOptions) Reporter { return junitReporter{o} }},
		"tap":          {".tap", func(o ReportOptions) Reporter { return tapReporter{o} }},
		"gradescope":   {".json", func(o ReportOptions) Reporter { return gradescopeReporter{o} }},
		"prairielearn": {".json", func(o ReportOptions) Reporter { return prairielearnReporter{o} }},
	}
}

// FormatExt is the file extension of a format's reports (".json"), or
// empty for an unknown format.
func FormatExt(name string) string { return reporters()[name].ext }

// Formats lists the report formats, sorted.
func Formats() []string {
	var out []string
	for name := range reporters() {
		out = append(out, name)
	}
	slices.Sort(out)
	return out
}

// NewReporter returns the reporter for format; an unknown name is an error.
func NewReporter(format string, o ReportOptions) (Reporter, error) {
	f, ok := reporters()[format]
	if !ok {
		return nil, fmt.Errorf("unknown format %q%s; expected one of: %s", format, didYouMean(format, Formats()), strings.Join(Formats(), ", "))
	}
	if v := o.HiddenVisibility; v != "" && !slices.Contains(Visibilities(), v) {
		return nil, fmt.Errorf("unknown visibility %q%s; expected one of: %s", v, didYouMean(v, Visibilities()), strings.Join(Visibilities(), ", "))
	}
	return f.make(o), nil
}

// Totals counts a report's tests and points. Each test counts once: as
// passed, failed, skipped or unfinished.
type Totals struct {
	Passed, Failed  int
	Skipped         int // did not run, and said why; not a failure
	Unfinished      int // no verdict: the run was interrupted first
	Score, MaxScore int
}

// Tests is how many tests there are.
func (t Totals) Tests() int { return t.Passed + t.Failed + t.Skipped + t.Unfinished }

// Totals adds up the tests of every file.
func (r *Report) Totals() Totals {
	var t Totals
	for _, f := range r.Files {
		ft := f.Totals()
		t.Passed += ft.Passed
		t.Failed += ft.Failed
		t.Skipped += ft.Skipped
		t.Unfinished += ft.Unfinished
		t.Score += ft.Score
		t.MaxScore += ft.MaxScore
	}
	return t
}

// Totals adds up the tests of one file.
func (f *FileResult) Totals() Totals {
	var t Totals
	for _, tr := range f.Tests {
		switch {
		case tr.Passed:
			t.Passed++
		case tr.Skipped != "":
			t.Skipped++
		case tr.Unfinished():
			t.Unfinished++
		default:
			t.Failed++
		}
		t.Score += tr.Score()
		t.MaxScore += tr.Points
	}
	return t
}

// Passed reports whether the run is complete and no test failed: a
// skipped test does not count against it.
func (r *Report) Passed() bool {
	t := r.Totals()
	return t.Failed == 0 && t.Unfinished == 0 && r.Incomplete == ""
}

// Summary is the report's closing line: the score, or, when the run is
// incomplete, why there is none.
func (r *Report) Summary() string {
	t := r.Totals()
	counts := fmt.Sprintf("%d passed, %d failed", t.Passed, t.Failed)
	if t.Skipped > 0 {
		counts += fmt.Sprintf(", %d skipped", t.Skipped)
	}
	if r.Incomplete != "" {
		return fmt.Sprintf("INCOMPLETE: %s; %d of %s did not finish, so there is no score (so far %s)",
			r.Incomplete, t.Unfinished, plural(t.Tests(), "test"), counts)
	}
	return fmt.Sprintf("score %d/%d: %s", t.Score, t.MaxScore, counts)
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// concealed reports whether a test's details are to be kept from view.
func concealed(t *TestResult, o ReportOptions) bool { return t.Hidden && !o.ShowHidden }
