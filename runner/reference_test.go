package runner

import (
	"os"
	"strings"
	"testing"
)

const (
	refBegin = "<!-- reference: made by runner.Reference from the tables; UPDATE_GOLDEN=1 go test ./runner rewrites it -->\n"
	refEnd   = "<!-- end of reference -->"
)

// TestReference checks that the README's reference is the one the tables
// make. UPDATE_GOLDEN=1 rewrites it.
func TestReference(t *testing.T) {
	const path = "../README.md"
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	i, j := strings.Index(readme, refBegin), strings.Index(readme, refEnd)
	if i < 0 || j < i {
		t.Fatalf("README.md has no step reference between %q and %q", refBegin, refEnd)
	}
	got, want := readme[i+len(refBegin):j], Reference()
	if got == want {
		return
	}
	if os.Getenv("UPDATE_GOLDEN") != "" {
		if err := os.WriteFile(path, []byte(readme[:i+len(refBegin)]+want+readme[j:]), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("README.md's reference is stale; run UPDATE_GOLDEN=1 go test ./runner\ngot:\n%s\nwant:\n%s", got, want)
}

// TestDocNamesEveryStep checks that the package doc teaches every step.
func TestDocNamesEveryStep(t *testing.T) {
	b, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range stepKinds() {
		if !strings.Contains(string(b), "- "+k.name+":") {
			t.Errorf("doc.go shows no example of step %s", k.name)
		}
	}
	for _, b2 := range behaviourNames() {
		if !strings.Contains(string(b), b2) {
			t.Errorf("doc.go does not mention behaviour %s", b2)
		}
	}
}

const (
	mutBegin = "<!-- mutants: made by runner.MutantReference from the mutant table; UPDATE_GOLDEN=1 go test ./runner rewrites it -->\n"
	mutEnd   = "<!-- end of mutants -->"
)

// TestMutantReference checks that the README's mutant table is the one
// the mutant table makes. UPDATE_GOLDEN=1 rewrites it.
func TestMutantReference(t *testing.T) {
	const path = "../README.md"
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	i, j := strings.Index(readme, mutBegin), strings.Index(readme, mutEnd)
	if i < 0 || j < i {
		t.Fatalf("README.md has no mutant table between %q and %q", mutBegin, mutEnd)
	}
	got, want := readme[i+len(mutBegin):j], MutantReference()
	if got == want {
		return
	}
	if os.Getenv("UPDATE_GOLDEN") != "" {
		if err := os.WriteFile(path, []byte(readme[:i+len(mutBegin)]+want+readme[j:]), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("README.md's mutant table is stale; run UPDATE_GOLDEN=1 go test ./runner\ngot:\n%s\nwant:\n%s", got, want)
}
