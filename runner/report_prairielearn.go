package runner

import (
	"encoding/json"
	"io"
	"strings"
)

type prairielearnReporter struct{ o ReportOptions }

// PrairieLearn's external-grader results.json, as its documentation
// (docs/externalGrading.md, "Grading results") describes it and its
// <pl-external-grader-results> element shows it.
type plResults struct {
	// Gradable false marks the submission "invalid, not gradable": no
	// points are awarded or lost and no attempt is used up. That is what
	// an incomplete run is.
	Gradable bool `json:"gradable"`
	// Score is the fraction of the points earned, 0 to 1; absent when
	// not gradable.
	Score        *float64 `json:"score,omitempty"`
	Message      string   `json:"message"`
	Output       string   `json:"output"`
	FormatErrors []string `json:"format_errors,omitempty"`
	Tests        []plTest `json:"tests"`
}

type plTest struct {
	Name      string `json:"name"`
	Points    int    `json:"points"`
	MaxPoints int    `json:"max_points"`
	Message   string `json:"message"`
	Output    string `json:"output,omitempty"`
}

// Report writes PrairieLearn's results.json: the score as a fraction, the
// summary as the message, the text report's one line per test as the
// output, and per test its points, a one-line message and the failure
// explained. A hidden test shows only whether it passed, the kind of
// failure and the hint.
func (r prairielearnReporter) Report(w io.Writer, rep *Report) error {
	tot := rep.Totals()
	var lines strings.Builder
	textReporter{}.testLines(&lines, rep)
	out := plResults{Gradable: rep.Incomplete == "", Message: safeText(rep.Summary()),
		Output: lines.String(), Tests: []plTest{}}
	if out.Gradable {
		score := 1.0 // nothing to earn, nothing lost
		if tot.MaxScore > 0 {
			score = float64(tot.Score) / float64(tot.MaxScore)
		}
		out.Score = &score
	} else {
		out.FormatErrors = []string{"Grading did not finish (" + safeText(rep.Incomplete) + "): this submission was not graded. Submit it again."}
	}
	for _, f := range rep.Files {
		for _, t := range f.Tests {
			pt := plTest{Name: safeText(t.Name), Points: t.Score(), MaxPoints: t.Points, Message: "passed"}
			if len(rep.Files) > 1 {
				pt.Name = safeText(f.Name) + ": " + pt.Name
			}
			switch {
			case t.Passed:
			case t.Skipped != "":
				pt.Message = "skipped: " + safeText(t.Skipped)
			default:
				pt.Message = shortReason(t, r.o)
				pt.Output = FailureText(t, r.o)
			}
			out.Tests = append(out.Tests, pt)
		}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// shortReason is a failure in one line: its kind and message, or for a
// hidden test, its kind alone.
func shortReason(t *TestResult, o ReportOptions) string {
	f := t.Failure
	if concealed(t, o) {
		return f.Kind.Describe() + " (hidden test)"
	}
	return safeText(f.Kind.Describe() + ": " + f.Message)
}
