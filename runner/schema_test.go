package runner

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/txtar"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"
)

const schemaFile = "../specs/sockrun.schema.json"

// TestSchemaFile checks that the schema shipped beside the exercises is
// the one the tables make. UPDATE_GOLDEN=1 rewrites it.
func TestSchemaFile(t *testing.T) {
	got, err := os.ReadFile(schemaFile)
	if err == nil && bytes.Equal(got, Schema()) {
		return
	}
	if os.Getenv("UPDATE_GOLDEN") != "" {
		if err := os.WriteFile(schemaFile, Schema(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("%s is stale (%v); run UPDATE_GOLDEN=1 go test ./runner", schemaFile, err)
}

// TestSchemaKeys checks that the schema allows exactly the keys the
// decoder does, where the two are written apart.
func TestSchemaKeys(t *testing.T) {
	sorted := func(s []string) []string { s = slices.Clone(s); slices.Sort(s); return s }
	for _, tc := range []struct {
		what   string
		schema js
		keys   []string
	}{
		{"server", serverSchema(), serverKeys},
		{"test", testSchema(), testKeys},
	} {
		if got, want := schemaKeys(tc.schema), sorted(tc.keys); !slices.Equal(got, want) {
			t.Errorf("%s: the schema has keys %v, the decoder %v", tc.what, got, want)
		}
	}
	for _, k := range stepKinds() {
		if k.schema == nil {
			t.Errorf("step %s has no schema", k.name)
		}
	}
	if got, want := schemaKeys(js{"properties": matcherProps()}), sorted(append(matcherNames(), dataKeys()...)); !slices.Equal(got, want) {
		t.Errorf("matchers: the schema has keys %v, the decoder %v", got, want)
	}
}

func compileSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(Schema()))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("sockrun.schema.json", doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("sockrun.schema.json")
	if err != nil {
		t.Fatalf("the schema does not compile: %v", err)
	}
	return sch
}

// asJSON turns YAML into the value a JSON Schema validator reads.
func asJSON(t *testing.T, src []byte) any {
	t.Helper()
	var v any
	if err := yaml.Unmarshal(src, &v); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	out, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestSchemaValidatesEverySpec: every spec that sockrun accepts, in specs/,
// examples/protocols and the testdata scripts, validates against the schema.
func TestSchemaValidatesEverySpec(t *testing.T) {
	sch := compileSchema(t)
	check := func(name string, src []byte) {
		if _, err := Parse(name, src, LoadOptions{Programs: map[string]string{}}); err != nil {
			return // an error case; the decoder speaks for it
		}
		if err := sch.Validate(asJSON(t, src)); err != nil {
			t.Errorf("%s: sockrun accepts it, the schema does not: %v", name, err)
		}
	}
	specs, _ := filepath.Glob("../specs/*.yaml")
	for _, f := range specs {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		check(f, src)
	}
	if len(specs) == 0 {
		t.Fatal("no specs found")
	}
	// The protocol examples are specs, every one: one that sockrun
	// rejected would be skipped by check, so it fails here instead.
	examples, _ := filepath.Glob("../examples/protocols/*.yaml")
	for _, f := range examples {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Parse(f, src, LoadOptions{Programs: map[string]string{}}); err != nil {
			t.Errorf("%s: %v", f, err)
		}
		check(f, src)
	}
	if len(examples) == 0 {
		t.Fatal("no examples found in examples/protocols")
	}
	scripts, _ := filepath.Glob("../testdata/scripts/*.txtar")
	n := 0
	for _, f := range scripts {
		a, err := txtar.ParseFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, file := range a.Files {
			if strings.HasSuffix(file.Name, ".yaml") {
				check(f+":"+file.Name, file.Data)
				n++
			}
		}
	}
	if n < 20 {
		t.Errorf("only %d specs found in the scripts", n)
	}
}

// TestSchemaRejects shows the schema can fail: what the decoder rejects
// for its shape, the schema rejects too.
func TestSchemaRejects(t *testing.T) {
	sch := compileSchema(t)
	for _, src := range []string{
		"tests: [{name: t, steps: [{conect: e}]}]",
		"servers: {e: {behavior: echo}}\ntests: [{name: t, steps: [{connect: e}]}]",
		"servers: {e: {behaviour: mirror}}\ntests: [{name: t, steps: [{connect: e}]}]",
		"tests: [{name: t, steps: [{sleep: 2}]}]",
		"tests: [{name: t, steps: [{send: {u16: 1, hexx: 2}}]}]",
		"tests: [{name: t, steps: [{expect: {regex: a, linne: b}}]}]",
		"tests: [{name: t, steps: [{connect: e, send: x}]}]",
		"tests: [{name: t}]",
	} {
		if err := sch.Validate(asJSON(t, []byte(src))); err == nil {
			t.Errorf("the schema accepts %q", src)
		}
	}
}
