package runner

import (
	"context"
	"fmt"
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

// TestReadmeSpecs checks that every spec in the README (a yaml block with
// tests) decodes, and that the one the README explains line by line, its
// first, passes on the built-in server as the README says.
func TestReadmeSpecs(t *testing.T) {
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var specs []*Spec
	for i, block := range strings.Split(string(b), "```yaml\n")[1:] {
		src, _, ok := strings.Cut(block, "\n```")
		if !ok || !strings.Contains(src, "\ntests:") {
			continue
		}
		s, err := Parse(fmt.Sprintf("README.md yaml block %d", i+1), []byte(src+"\n"), LoadOptions{})
		if err != nil {
			t.Errorf("%v", err)
			continue
		}
		specs = append(specs, s)
	}
	if len(specs) < 2 {
		t.Fatalf("the README has %d specs; want the line-by-line one and more", len(specs))
	}
	rep := Run(context.Background(), specs[:1], Options{})
	if tot := rep.Totals(); !rep.Passed() || tot.Passed != 1 {
		t.Errorf("the README's line-by-line spec: %s", rep.Summary())
	}
}
