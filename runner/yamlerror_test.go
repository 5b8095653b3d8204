package runner

import (
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// Each broken file's error is at the fault itself, whatever yaml.v3 says
// (its line is the construct's, given in the comment), and says how to
// mend it.
func TestYAMLSyntaxErrors(t *testing.T) {
	for _, tc := range []struct {
		name, src, want string
	}{
		{"tab", // yaml.v3: line 5
			"servers:\n  echo:\n    behaviour: echo\ntests:\n\t- name: t\n",
			`5:1: YAML: a tab in the indentation; indent with spaces, not tabs`},
		{"tab after spaces", // yaml.v3: line 3
			"servers:\n  echo:\n    behaviour: echo\n  \t type: stream\n",
			`4:3: YAML: a tab in the indentation; indent with spaces, not tabs`},
		{"key one column short", // yaml.v3: line 1
			"servers:\n  echo:\n    behaviour: echo\n   type: stream\ntests: []\n",
			`4:4: YAML: "type" is at column 4; indent it to column 5 to line up with "behaviour" (line 3), or to column 3 to line up with "echo" (line 2)`},
		{"key one column too far", // yaml.v3: line 4
			"servers:\n  echo:\n    behaviour: echo\n     type: stream\ntests: []\n",
			`4:6: YAML: "type" is indented more than "behaviour" (line 3), which has a value already ("echo"); indent it to column 5 to line up with "behaviour" (line 3), or, to put it under "behaviour", remove that value`},
		{"test key too far", // yaml.v3: line 3
			"tests:\n  - name: t\n     steps: []\n",
			`3:6: YAML: "steps" is indented more than "name" (line 2), which has a value already ("t"); indent it to column 5 to line up with "name" (line 2), or, to put it under "name", remove that value`},
		{"step one column short", // yaml.v3: line 1
			"tests:\n  - name: t\n    steps:\n      - connect: e\n     - send: x\n",
			`5:6: YAML: the list item is at column 6; indent it to column 7 to line up with the "-" on line 4, or to column 3 to line up with the "-" on line 2`},
		{"step one column too far", // yaml.v3: line 3
			"tests:\n  - name: t\n    steps:\n      - connect: e\n        - send: x\n",
			`5:9: YAML: the list item is at column 9, the column of "connect" (line 4), which has a value already ("e"); to add it to the list, indent it to column 7 to line up with the "-" on line 4`},
		{"indentless steps, one short", // yaml.v3: line 1
			"tests:\n  - name: t\n    steps:\n    - sleep: 1s\n   - sleep: 2s\n",
			`5:4: YAML: the list item is at column 4; indent it to column 5 to line up with the "-" on line 4, or to column 3 to line up with the "-" on line 2`},
		{"test key at the column of its dash", // yaml.v3: line 1
			"tests:\n  - name: t\n  steps:\n    - sleep: 1s\n",
			`3:3: YAML: "steps" is at column 3, the column of the "-" on line 2; indent it to column 5 to line up with "name" (line 2), or to column 1 to line up with "tests" (line 1)`},
		{"key after a list", // yaml.v3: line 1
			"a:\n  - 1\n  b: 2\n",
			`3:3: YAML: "b" is at column 3, the column of the "-" on line 2; indent it to column 1 to line up with "a" (line 1)`},
		{"a value where a mapping was expected", // yaml.v3: line 2
			"servers: echo\n  behaviour: echo\n",
			`2:3: YAML: "behaviour" is indented more than "servers" (line 1), which has a value already ("echo"); indent it to column 1 to line up with "servers" (line 1), or, to put it under "servers", remove that value`},
		{"a value where a list was expected", // yaml.v3: line 4
			"tests:\n  - name: t\n    steps: x\n      - send: a\n",
			`4:7: YAML: the list item is indented more than "steps" (line 3), which has a value already ("x"); indent it to column 5 to line up with "steps" (line 3), or, to put it under "steps", remove that value`},
		{"unclosed double quote", // yaml.v3: line 2
			"tests:\n  - name: \"abc\n    steps: []\n",
			`2:11: YAML: the string opened here with " is never closed; end it with "`},
		{"unclosed single quote in a flow mapping", // yaml.v3: line 2
			"servers:\n  echo: {behaviour: 'echo}\ntests: []\n",
			`2:21: YAML: the string opened here with ' is never closed; end it with '`},
		{"unclosed flow mapping", // yaml.v3: line 1
			"servers:\n  echo: {behaviour: echo\ntests: []\n",
			`2:9: YAML: the mapping opened here with { is never closed; end it with }`},
		{"unclosed flow list", // yaml.v3: line 2
			"tests:\n  - name: t\n    steps: [{sleep: 1s}, {sleep: 2s}\n  - name: u\n",
			`3:12: YAML: the list opened here with [ is never closed; end it with ]`},
		{"two unclosed, on line 1", // yaml.v3: line 1, the problem's
			"tests: [{name: t, steps: [{sleep: 1s}]\nservers: {}\n",
			`1:9: YAML: the mapping opened here with { is never closed; end it with }`},
		{"unclosed outside a closed one", // a cut inside {b: 1} fails the same way
			"x: {a: {b: 1}\ny: 2\n",
			`1:4: YAML: the mapping opened here with { is never closed; end it with }`},
		{"unclosed at the end of the file", // yaml.v3: line 1
			"a: [1, 2",
			`1:4: YAML: the list opened here with [ is never closed; end it with ]`},
		{"colon in a plain value", // yaml.v3: line 2
			"tests:\n  - name: a: b\n",
			`2:12: YAML: a plain value cannot hold ": "; quote it: name: "a: b"`},
		{"unknown anchor", // yaml.v3: no line
			"servers: {e: {behaviour: echo}}\ntests: *x\n",
			`2:8: YAML: unknown anchor 'x' referenced; an alias (*name) needs an anchor (&name) earlier in the file`},
		{"text after a quoted value", // yaml.v3: no line
			"a: \"x\" y\n",
			`1:8: YAML: text after a quoted value; put it inside the quotes`},
		{"reserved indicator", // yaml.v3: line 1
			"a: @x\n",
			`1:4: YAML: @ cannot start a plain value; quote the value`},
		{"block scalar ended short", // yaml.v3: line 2
			"a: |\n  x\n y\n",
			`3:2: YAML: this line is indented more than "a" (line 1), which has a value already (a block of text); indent it to column 1 to line up with "a" (line 1), or, to put it under "a", remove that value`},
		// What comes before the fault must not mislead the search: a
		// string over several lines, a block scalar, comments, CRLF,
		// characters of several bytes (columns count characters).
		{"after a multi-line string",
			"about: \"one\n  two\n  three\"\nservers:\n  echo:\n    behaviour: echo\n   type: stream\n",
			`7:4: YAML: "type" is at column 4; indent it to column 5 to line up with "behaviour" (line 6), or to column 3 to line up with "echo" (line 5)`},
		{"after a block scalar and comments",
			"# a spec\nabout: |\n  text: with a colon\n\n  more\n# servers:\nservers:\n  echo:  # the one\n    behaviour: echo\n     type: x\n",
			`10:6: YAML: "type" is indented more than "behaviour" (line 9), which has a value already ("echo"); indent it to column 5 to line up with "behaviour" (line 9), or, to put it under "behaviour", remove that value`},
		{"CRLF",
			"servers:\r\n  echo:\r\n    behaviour: echo\r\n   type: stream\r\n",
			`4:4: YAML: "type" is at column 4; indent it to column 5 to line up with "behaviour" (line 3), or to column 3 to line up with "echo" (line 2)`},
		{"characters of several bytes",
			"about: \"é→\"\ntests:\n  - name: \"é→ ü\n",
			`3:11: YAML: the string opened here with " is never closed; end it with "`},
		{"flow mapping after é",
			"tests: [{name: é→, steps: [{sleep: 1s}]\n",
			`1:9: YAML: the mapping opened here with { is never closed; end it with }`},
		{"a list item after a key's value", // yaml.v3: line 2
			"a: b\n- c\n",
			`2:1: YAML: the list item is at column 1, the column of "a" (line 1), which has a value already ("b")`},
		{"a closer too many", // yaml.v3: no line
			"a: [b]]\n",
			`1:7: YAML: this ] closes nothing that is open`},
		{"unknown escape", // yaml.v3: no line
			"a: \"x\\qy\"\n",
			`1:6: YAML: \q is no escape in a double-quoted string; write \\ for a backslash, or use single quotes`},
		{"an error yaml.v3 has no better words for", // yaml.v3: no line
			"%TAG x\n",
			`1:4: YAML: did not find expected '!'`},
	} {
		_, err := Parse("t.yaml", []byte(tc.src), LoadOptions{})
		if got := strings.TrimPrefix(errString(err), "t.yaml:"); got != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.name, got, tc.want)
		}
	}
}

func errString(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

// Duplicate keys are no YAML error to yaml.v3; the decoder reports them.
func TestDuplicateKey(t *testing.T) {
	_, err := Parse("t.yaml", []byte("servers: {}\ntests: []\nservers: {}\n"), LoadOptions{})
	if got := errString(err); !strings.Contains(got, `t.yaml:3:1: spec: duplicate key "servers"`) {
		t.Errorf("got %s", got)
	}
}

// Where the work runs out, or the search cannot find a prefix that fails
// the same way, the error keeps yaml.v3's line, as before.
func TestYAMLErrorFallback(t *testing.T) {
	src := []byte("servers:\n  echo:\n    behaviour: echo\n   type: stream\n")
	var doc yaml.Node
	yerr := yaml.Unmarshal(src, &doc)
	if yerr == nil {
		t.Fatal("no YAML error")
	}
	// However little work there is, the search finds the fault or gives
	// up; it never settles on the wrong place.
	for work := 0; work < 20*len(src); work += 7 {
		f := &syntaxFault{src: src, want: yerr.Error(), work: work}
		if f.locate(1) && (f.line != 4 || f.col != 4) {
			t.Errorf("with %d bytes of work: located at %d:%d, want 4:4", work, f.line, f.col)
		}
	}
	f := &syntaxFault{src: src, want: yerr.Error(), work: len(src) / 2}
	if f.locate(1) {
		t.Errorf("located with too little work: %d:%d", f.line, f.col)
	}
	f = &syntaxFault{src: src, want: yerr.Error(), work: locateWork(len(src))}
	if !f.locate(1) || f.line != 4 || f.col != 4 {
		t.Errorf("located at %d:%d, want 4:4", f.line, f.col)
	}
	err := yamlError("t.yaml", []byte("a: [1\n"), &yaml.TypeError{Errors: []string{"line 1: one", "line 2: two"}})
	if got := errString(err); got != "t.yaml:1:1: YAML: one\nt.yaml:2:1: YAML: two" {
		t.Errorf("got %q", got)
	}
}

// An error is always inside the file, where the CLI can draw a caret,
// though yaml.v3 places an empty value at the very end on a line after the
// last (FuzzParse found "---").
func TestErrorsInsideTheFile(t *testing.T) {
	for _, src := range []string{"---", "--- ", "tests:", "tests:\n", "servers: {e: {behaviour: echo}}\ntests:", "tests: [{name: t, steps:", "a: 'x"} {
		_, err := Parse("t.yaml", []byte(src), LoadOptions{})
		if err == nil {
			t.Errorf("%q: no error", src)
			continue
		}
		checkErrors(t, []byte(src), err)
	}
	if _, err := Parse("t.yaml", []byte("---"), LoadOptions{}); errString(err) != "t.yaml:1:1: the file is empty; expected a spec with servers: and tests:" {
		t.Errorf("---: %v", err)
	}
}
