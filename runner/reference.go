package runner

import (
	"fmt"
	"strings"
)

// Reference returns the language reference as Markdown tables, made from
// the tables of behaviours, steps, matchers, data forms and faults, so
// that the README cannot drift from the code (TestReference checks it).
func Reference() string {
	var b strings.Builder
	cell := func(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
	code := func(forms ...string) string {
		var out []string
		for _, f := range forms {
			out = append(out, "`"+cell(f)+"`")
		}
		return strings.Join(out, "<br>")
	}
	b.WriteString("**Behaviours** of built-in servers (`behaviour:`):\n\n")
	b.WriteString("| behaviour | sockets | what it does |\n|---|---|---|\n")
	for _, k := range behaviourKinds() {
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", k.name, k.socketTypes(), cell(k.doc))
	}
	b.WriteString("\n**Steps**:\n\n")
	b.WriteString("| step | written as | what it does | in a server script |\n|---|---|---|---|\n")
	for _, k := range stepKinds() {
		script := "no"
		if k.server {
			script = "yes"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", k.name, code(k.forms...), cell(k.doc), script)
	}
	b.WriteString("\n**Matchers** (`expect:`, `choose:`, `discard:`, a `run` step's `stdout:`/`stderr:`): on a stream they read until they decide; on a datagram socket each judges the next whole datagram; on a program's output, the whole output.\n\n")
	b.WriteString("| matcher | written as | what holds |\n|---|---|---|\n")
	for _, k := range matcherKinds() {
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", k.name, code(k.form), cell(k.doc))
	}
	b.WriteString("\n**DATA** (`send:`, `expect:`, `stdin:`): a string (double-quoted escapes give any byte: `\"a\\x00\\xff\"`), a list of DATA (concatenated), or one of these forms:\n\n")
	b.WriteString("| form | written as | the bytes |\n|---|---|---|\n")
	for _, k := range dataKinds() {
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", k.name, code(k.form), cell(k.doc))
	}
	b.WriteString("\n**Faults** of a proxy (`faults:`, and `faults: {replies: ...}` for the way back), applied in this order:\n\n")
	b.WriteString("| fault | written as | what it does | sockets |\n|---|---|---|---|\n")
	for _, k := range faultKinds() {
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", k.name, code(k.forms...), cell(k.doc), k.socketTypes())
	}
	return b.String()
}
