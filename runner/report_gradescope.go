package runner

import (
	"encoding/json"
	"io"
)

type gradescopeReporter struct{ o ReportOptions }

// Gradescope's results.json, as its autograder documentation
// (gradescope-autograders.readthedocs.io, "Autograder Specifications")
// describes it.
type gsResults struct {
	// Score is the submission's score. It is always written: it
	// overrides the tests' total, which is how an incomplete run scores
	// 0 rather than the sum of the tests that happened to finish.
	Score float64 `json:"score"`
	// ExecutionTime is in seconds, as measured (a float, not rounded).
	ExecutionTime float64  `json:"execution_time"`
	Output        string   `json:"output"`
	OutputFormat  string   `json:"output_format"`
	Tests         []gsTest `json:"tests"`
	// ExtraData is stored with the submission for the instructor's
	// scripts; sockrun puts Incomplete there.
	ExtraData *gsExtra `json:"extra_data,omitempty"`
}

type gsExtra struct {
	Incomplete string `json:"incomplete,omitempty"`
	// Shard is K/N when the run had a share of the tests (--shard), so
	// that sockrun merge can join the shards and notice a missing one.
	Shard string `json:"shard,omitempty"`
}

type gsTest struct {
	Name       string `json:"name"`
	NameFormat string `json:"name_format"`
	Score      int    `json:"score"`
	MaxScore   int    `json:"max_score"`
	Status     string `json:"status"`
	Output     string `json:"output,omitempty"`
	// OutputFormat "text" keeps the report's escapes as they are.
	OutputFormat string `json:"output_format"`
	Visibility   string `json:"visibility"`
}

// Visibilities are Gradescope's visibility settings for a test, the
// choices of --hidden-visibility.
func Visibilities() []string {
	return []string{"hidden", "after_due_date", "after_published", "visible"}
}

// Report writes Gradescope's results.json. Hidden tests get the visibility
// of ReportOptions.HiddenVisibility (by default after_published: shown to
// students once the instructor publishes the grades), the others are
// visible. A skipped test fails with score 0 and says why. An incomplete
// run must not read as a grade: its score is 0 whatever the finished tests
// scored, its output starts with INCOMPLETE and says that it is no grade,
// the tests that did not finish fail with "not run" or where they were
// stopped, and extra_data.incomplete holds the reason.
func (r gradescopeReporter) Report(w io.Writer, rep *Report) error {
	tot := rep.Totals()
	out := gsResults{Score: float64(tot.Score), ExecutionTime: rep.Duration.Seconds(),
		Output: rep.Summary(), OutputFormat: "text", Tests: []gsTest{}}
	if rep.Incomplete != "" {
		out.Score = 0
		out.Output += ". This is not a grade: grade the submission again."
		out.ExtraData = &gsExtra{Incomplete: rep.Incomplete}
	}
	if sh := rep.Shard.String(); sh != "" {
		if out.ExtraData == nil {
			out.ExtraData = &gsExtra{}
		}
		out.ExtraData.Shard = sh
	}
	hidden := r.o.HiddenVisibility
	if hidden == "" {
		hidden = "after_published"
	}
	for _, f := range rep.Files {
		for _, t := range f.Tests {
			gt := gsTest{Name: safeText(t.Name), NameFormat: "text", Score: t.Score(), MaxScore: t.Points, Status: "passed",
				OutputFormat: "text", Visibility: "visible"}
			if len(rep.Files) > 1 {
				gt.Name = safeText(f.Name) + ": " + gt.Name
			}
			if t.Hidden {
				gt.Visibility = hidden
			}
			switch {
			case t.Passed:
			case t.Skipped != "":
				gt.Status = "failed"
				gt.Output = "skipped: " + safeText(t.Skipped) + "\n"
			default:
				gt.Status = "failed"
				gt.Output = FailureText(t, r.o)
			}
			out.Tests = append(out.Tests, gt)
		}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
