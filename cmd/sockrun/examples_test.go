package main

import (
	"bufio"
	"context"
	"encoding/json"
	"encoding/xml"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sockrun/sockrun/runner"
	"gopkg.in/yaml.v3"
)

// TestCIExamplesCommands checks every CI example in examples/ci: it parses
// as YAML, and each sockrun command in its scripts names a command that
// sockrun has, flags that its usage documents, and a format that exists.
// A plain run of the specs is run as written (with its report sent to a
// temporary file), from the root of the repository, and must pass.
func TestCIExamplesCommands(t *testing.T) {
	files, _ := filepath.Glob("../../examples/ci/*.yml")
	more, _ := filepath.Glob("../../examples/ci/*.yaml")
	files = append(files, more...)
	if len(files) < 2 {
		t.Fatalf("only %d CI examples found", len(files))
	}
	documented := completionFromUsage(usage).flags
	found := 0
	for _, file := range files {
		src, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var doc any
		if err := yaml.Unmarshal(src, &doc); err != nil {
			t.Errorf("%s: %v", file, err)
			continue
		}
		for _, line := range sockrunCommands(doc) {
			found++
			words, err := shellWords(line)
			if err != nil {
				t.Errorf("%s: %q: %v", file, line, err)
				continue
			}
			if len(words) > 1 && !strings.HasPrefix(words[1], "-") && !strings.ContainsAny(words[1], "/.") && !slices.Contains(commands, words[1]) {
				t.Errorf("%s: %q: sockrun has no command %q", file, line, words[1])
			}
			for i, w := range words {
				if !strings.HasPrefix(w, "-") || w == "-" || w == "--" {
					continue
				}
				name, _, _ := strings.Cut(w, "=")
				if !slices.Contains(documented, name) {
					t.Errorf("%s: %q: the flag %s is not in sockrun's usage", file, line, name)
				}
				if (name == "--format" || name == "-format") && (i+1 >= len(words) || !slices.Contains(runner.Formats(), words[i+1])) {
					t.Errorf("%s: %q: --format needs one of %v", file, line, runner.Formats())
				}
			}
			if len(words) > 1 && words[1] == "specs/" && !strings.ContainsAny(line, "$*") {
				runAsWritten(t, file, words)
			}
		}
	}
	if found == 0 {
		t.Error("no sockrun command found in the CI examples")
	}
}

// runAsWritten runs a plain run of the specs from the repository's root,
// as a CI job would, with -o sent to a temporary file. The run must pass
// and a JUnit report must say so.
func runAsWritten(t *testing.T, file string, words []string) {
	t.Helper()
	takes := completionFromUsage(usage).takes
	var args []string
	out := ""
	for i, w := range words[1:] {
		prev := words[i]
		switch {
		case prev == "-o":
			out = filepath.Join(t.TempDir(), filepath.Base(w))
			args = append(args, out)
		case strings.HasPrefix(w, "-") || takes[prev]:
			args = append(args, w) // flags and their values stay as written
		default:
			args = append(args, filepath.Join("../..", w)) // a path from the root
		}
	}
	var stdout, stderr strings.Builder
	if code := run(context.Background(), args, nil, &stdout, &stderr); code != exitPass {
		t.Fatalf("%s: sockrun %s: exit %d\n%s%s", file, strings.Join(words[1:], " "), code, &stdout, &stderr)
	}
	if out == "" {
		return
	}
	report, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var suites struct {
		Tests    int `xml:"tests,attr"`
		Failures int `xml:"failures,attr"`
	}
	if err := xml.Unmarshal(report, &suites); err != nil || suites.Tests == 0 || suites.Failures != 0 {
		t.Errorf("%s: the JUnit report has %d tests, %d failures (%v)", file, suites.Tests, suites.Failures, err)
	}
}

// sockrunCommands returns the sockrun commands in a YAML document's
// strings: each line, or part of a line after && or ;, that begins with
// "sockrun ". (YAML comments are not strings: a command in a comment is
// an example, not a step.)
func sockrunCommands(doc any) []string {
	var out []string
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for _, x := range v {
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		case string:
			for _, line := range strings.Split(v, "\n") {
				for _, part := range strings.FieldsFunc(strings.ReplaceAll(line, "&&", ";"), func(r rune) bool { return r == ';' }) {
					if part = strings.TrimSpace(part); strings.HasPrefix(part, "sockrun ") {
						out = append(out, part)
					}
				}
			}
		}
	}
	walk(doc)
	slices.Sort(out)
	return out
}

// shellWords splits a command line as a POSIX shell would, for quotes
// (no expansions).
func shellWords(s string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == ' ' || c == '\t':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		case c == '\'' || c == '"':
			j := strings.IndexByte(s[i+1:], c)
			if j < 0 {
				return nil, os.ErrInvalid
			}
			cur.WriteString(s[i+1 : i+1+j])
			i += j + 1
			inWord = true
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}

// TestDockerfile checks the graders' image without a Docker engine: every
// instruction is one Docker knows, the first is FROM, COPY --from names
// an earlier stage, what it copies exists in the repository, the package
// it builds is sockrun's, and its CMD is a sockrun command. Where the npm
// dockerfile-utils linter is on PATH, it lints the file too.
func TestDockerfile(t *testing.T) {
	const file = "../../examples/docker/Dockerfile"
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	known := []string{"FROM", "RUN", "CMD", "LABEL", "EXPOSE", "ENV", "ADD", "COPY", "ENTRYPOINT", "VOLUME", "USER", "WORKDIR", "ARG", "ONBUILD", "STOPSIGNAL", "HEALTHCHECK", "SHELL"}
	var instrs [][2]string // keyword, arguments, continuations joined
	sc := bufio.NewScanner(f)
	var cont string
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if cont == "" && (line == "" || strings.HasPrefix(line, "#")) {
			continue
		}
		if strings.HasSuffix(line, `\`) {
			cont += strings.TrimSuffix(line, `\`) + " "
			continue
		}
		line = cont + line
		cont = ""
		kw, args, _ := strings.Cut(line, " ")
		instrs = append(instrs, [2]string{kw, strings.TrimSpace(args)})
	}
	if cont != "" {
		t.Error("the last line is continued")
	}
	if len(instrs) == 0 || instrs[0][0] != "FROM" {
		t.Fatalf("the first instruction is not FROM: %v", instrs)
	}
	stages := map[string]bool{}
	builds := false
	for _, in := range instrs {
		kw, args := in[0], in[1]
		if !slices.Contains(known, kw) {
			t.Errorf("unknown instruction %s", kw)
		}
		fields := strings.Fields(args)
		switch kw {
		case "FROM":
			if len(fields) == 3 && strings.EqualFold(fields[1], "AS") {
				stages[fields[2]] = true
			}
		case "COPY":
			src := fields[:len(fields)-1]
			if from, ok := strings.CutPrefix(src[0], "--from="); ok {
				if !stages[from] {
					t.Errorf("COPY --from=%s: no such stage before it", from)
				}
				continue
			}
			for _, s := range src {
				if _, err := os.Stat(filepath.Join("../..", s)); err != nil {
					t.Errorf("COPY %s: %v", s, err)
				}
			}
		case "RUN":
			if strings.Contains(args, "go build") {
				builds = true
				if !strings.Contains(args, "./cmd/sockrun") {
					t.Errorf("it builds something else than ./cmd/sockrun: %s", args)
				}
			}
		case "CMD":
			var argv []string
			if err := json.Unmarshal([]byte(args), &argv); err != nil || len(argv) < 2 || argv[0] != "sockrun" || !slices.Contains(commands, argv[1]) {
				t.Errorf("CMD %s: expected a sockrun command, in exec form (%v)", args, err)
			}
		}
	}
	if !builds {
		t.Error("no stage builds sockrun")
	}
	if lint, err := exec.LookPath("dockerfile-utils"); err == nil {
		if out, err := exec.Command(lint, "lint", file).CombinedOutput(); err != nil {
			t.Errorf("dockerfile-utils lint: %v\n%s", err, out)
		}
	}
}
