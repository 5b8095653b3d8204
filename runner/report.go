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
}

// reporters is the one place that maps a format name to its reporter.
func reporters() map[string]func(ReportOptions) Reporter {
	return map[string]func(ReportOptions) Reporter{
		"text":       func(o ReportOptions) Reporter { return textReporter{o} },
		"json":       func(o ReportOptions) Reporter { return jsonReporter{o} },
		"junit":      func(o ReportOptions) Reporter { return junitReporter{o} },
		"tap":        func(o ReportOptions) Reporter { return tapReporter{o} },
		"gradescope": func(o ReportOptions) Reporter { return gradescopeReporter{o} },
	}
}

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
	mk, ok := reporters()[format]
	if !ok {
		return nil, fmt.Errorf("unknown format %q%s; expected one of: %s", format, didYouMean(format, Formats()), strings.Join(Formats(), ", "))
	}
	return mk(o), nil
}

// Totals counts a report's tests and points.
type Totals struct {
	Passed, Failed, Skipped int
	Score, MaxScore         int
}

// Totals adds up the tests of every file.
func (r *Report) Totals() Totals {
	var t Totals
	for _, f := range r.Files {
		ft := f.Totals()
		t.Passed += ft.Passed
		t.Failed += ft.Failed
		t.Skipped += ft.Skipped
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
		default:
			t.Failed++
		}
		t.Score += tr.Score()
		t.MaxScore += tr.Points
	}
	return t
}

// Passed reports whether every test passed.
func (r *Report) Passed() bool { return r.Totals().Failed == 0 }

// concealed reports whether a test's details are to be kept from view.
func concealed(t *TestResult, o ReportOptions) bool { return t.Hidden && !o.ShowHidden }
