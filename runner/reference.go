package runner

import (
	"fmt"
	"strings"
)

// StepReference returns the reference of every step kind as a Markdown
// table, made from the step table itself, so that the README cannot
// drift from the code (TestStepReference checks it).
func StepReference() string {
	var b strings.Builder
	b.WriteString("| step | written as | what it does | in a server script |\n")
	b.WriteString("|---|---|---|---|\n")
	for _, k := range stepKinds() {
		var forms []string
		for _, f := range k.forms {
			forms = append(forms, "`"+strings.ReplaceAll(f, "|", `\|`)+"`")
		}
		script := "no"
		if k.server {
			script = "yes"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", k.name, strings.Join(forms, "<br>"), strings.ReplaceAll(k.doc, "|", `\|`), script)
	}
	return b.String()
}
