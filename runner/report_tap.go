package runner

import (
	"fmt"
	"io"
	"strings"

	"gopkg.in/yaml.v3"
)

type tapReporter struct{ o ReportOptions }

// Report writes TAP version 14: a line per test, and for a failure a YAML
// block with its kind, position and explanation.
func (r tapReporter) Report(w io.Writer, rep *Report) error {
	var b strings.Builder
	b.WriteString("TAP version 14\n")
	n := 0
	for _, f := range rep.Files {
		n += len(f.Tests)
	}
	fmt.Fprintf(&b, "1..%d\n", n)
	i := 0
	for _, f := range rep.Files {
		for _, t := range f.Tests {
			i++
			name := strings.ReplaceAll(f.Name+": "+t.Name, "#", `\#`)
			if t.Passed {
				fmt.Fprintf(&b, "ok %d - %s\n", i, name)
				continue
			}
			fmt.Fprintf(&b, "not ok %d - %s\n", i, name)
			diag := map[string]any{"kind": string(t.Failure.Kind), "points": t.Points, "explanation": FailureText(t, r.o)}
			if !concealed(t, r.o) {
				diag["at"] = t.Failure.Pos.String()
			}
			y, err := yaml.Marshal(diag)
			if err != nil {
				return err
			}
			b.WriteString("  ---\n" + indent(string(y), "  ") + "  ...\n")
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
