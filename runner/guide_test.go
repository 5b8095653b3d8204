package runner

import (
	"strings"
	"testing"
)

// TestGuide: the guide is doc.go's comment, whole and without comment
// markers, and not the Go package's introduction.
func TestGuide(t *testing.T) {
	g := Guide()
	for _, want := range []string{"# A spec, by example\n", "\tname: echo\n", "\t      - connect: echo\n"} {
		if !strings.Contains(g, want) {
			t.Errorf("the guide lacks %q", want)
		}
	}
	for _, bad := range []string{"\n//", "Package runner", "package runner"} {
		if strings.Contains(g, bad) {
			t.Errorf("the guide holds %q", bad)
		}
	}
	last := strings.TrimSpace(docSource[:strings.Index(docSource, "\npackage runner")])
	lastLine := last[strings.LastIndex(last, "\n")+1:]
	if !strings.HasSuffix(strings.TrimSpace(g), strings.TrimSpace(strings.TrimPrefix(lastLine, "//"))) {
		t.Errorf("the guide does not end with doc.go's last line %q", lastLine)
	}
}

// TestNearest: a near miss gets its suggestion, anything else none.
func TestNearest(t *testing.T) {
	cmds := []string{"check", "serve", "record", "schema", "version", "completion", "help"}
	for _, tc := range []struct{ word, want string }{
		{"chek", "check"}, {"CHECK", "check"}, {"serv", "serve"}, {"recrod", "record"},
		{"rec", "record"}, {"vers", "version"}, {"comp", "completion"},
		{"echo", ""}, {"x", ""}, {"se", ""}, {"specs", ""},
	} {
		got, ok := Nearest(tc.word, cmds)
		if got != tc.want || ok != (tc.want != "") {
			t.Errorf("Nearest(%q) = %q, %v; want %q", tc.word, got, ok, tc.want)
		}
	}
}
