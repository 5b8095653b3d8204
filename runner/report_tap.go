package runner

import (
	"fmt"
	"io"
	"strings"

	"gopkg.in/yaml.v3"
)

type tapReporter struct{ o ReportOptions }

// Report writes TAP version 13, the newest that Perl's prove (Debian's
// default harness, which rejects "version 14") and the npm tap-parser
// both accept: a line per test, and for a failure a YAML block with its
// kind, position and explanation. A skipped test is "ok N - name # SKIP
// reason". In an incomplete run the tests that did not finish are "not
// ok", and a closing "Bail out!" says why the run ended: both consumers
// then fail the run (prove exits 255, tap-parser's result is not ok).
func (r tapReporter) Report(w io.Writer, rep *Report) error {
	var b strings.Builder
	b.WriteString("TAP version 13\n")
	n := 0
	for _, f := range rep.Files {
		n += len(f.Tests)
	}
	fmt.Fprintf(&b, "1..%d\n", n)
	i := 0
	for _, f := range rep.Files {
		for _, t := range f.Tests {
			i++
			name := tapLine(f.Name + ": " + t.Name)
			switch {
			case t.Passed:
				fmt.Fprintf(&b, "ok %d - %s\n", i, name)
				continue
			case t.Skipped != "":
				fmt.Fprintf(&b, "ok %d - %s # SKIP %s\n", i, name, tapLine(t.Skipped))
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
	if rep.Incomplete != "" {
		fmt.Fprintf(&b, "Bail out! %s\n", tapLine(rep.Summary()))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// tapLine makes s fit on one TAP line: a "#" would start a directive, a
// newline a new line.
func tapLine(s string) string {
	s = strings.ReplaceAll(safeText(s), "#", `\#`)
	return strings.NewReplacer("\n", " ", "\t", " ").Replace(s)
}
