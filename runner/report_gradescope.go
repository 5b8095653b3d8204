package runner

import (
	"encoding/json"
	"fmt"
	"io"
)

type gradescopeReporter struct{ o ReportOptions }

// Gradescope's results.json, as its autograder reads it.
type gsResults struct {
	Score         int      `json:"score"`
	ExecutionTime int      `json:"execution_time"`
	Output        string   `json:"output"`
	Tests         []gsTest `json:"tests"`
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

func (r gradescopeReporter) Report(w io.Writer, rep *Report) error {
	tot := rep.Totals()
	out := gsResults{Score: tot.Score, ExecutionTime: int(rep.Duration.Seconds()),
		Output: fmt.Sprintf("score %d/%d: %d passed, %d failed", tot.Score, tot.MaxScore, tot.Passed, tot.Failed), Tests: []gsTest{}}
	for _, f := range rep.Files {
		for _, t := range f.Tests {
			gt := gsTest{Name: t.Name, NameFormat: "text", Score: t.Score(), MaxScore: t.Points, Status: "passed",
				OutputFormat: "text", Visibility: "visible"}
			if len(rep.Files) > 1 {
				gt.Name = f.Name + ": " + t.Name
			}
			if !t.Passed {
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
