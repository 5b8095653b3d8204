package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestCommandsListed checks that the list of commands that "did you mean"
// and completion offer is the set that run's switch dispatches.
func TestCommandsListed(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "main.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var cases []string
	ast.Inspect(f, func(n ast.Node) bool {
		fn, ok := n.(*ast.FuncDecl)
		if !ok || fn.Name.Name != "run" {
			return true
		}
		ast.Inspect(fn.Body, func(n ast.Node) bool {
			sw, ok := n.(*ast.SwitchStmt)
			if !ok {
				return true
			}
			if ix, ok := sw.Tag.(*ast.IndexExpr); !ok || identName(ix.X) != "args" {
				return true
			}
			for _, c := range sw.Body.List {
				for _, e := range c.(*ast.CaseClause).List {
					if lit, ok := e.(*ast.BasicLit); ok {
						s, _ := strconv.Unquote(lit.Value)
						if !strings.HasPrefix(s, "-") {
							cases = append(cases, s)
						}
					}
				}
			}
			return false
		})
		return false
	})
	slices.Sort(cases)
	listed := slices.Sorted(slices.Values(commands))
	if !slices.Equal(cases, listed) {
		t.Errorf("run dispatches %v; commands lists %v", cases, listed)
	}
}

func identName(e ast.Expr) string {
	if id, ok := e.(*ast.Ident); ok {
		return id.Name
	}
	return ""
}

// TestVersionText: the version says what the build info knows, and
// "(devel)" where it knows nothing.
func TestVersionText(t *testing.T) {
	vcs := []debug.BuildSetting{
		{Key: "vcs.revision", Value: "e09bda0c1f8aab8ac762f4d24bf58"},
		{Key: "vcs.time", Value: "2026-11-27T03:47:15Z"},
		{Key: "vcs.modified", Value: "true"},
	}
	for _, tc := range []struct {
		bi   *debug.BuildInfo
		ok   bool
		want string
	}{
		{&debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.2.0"}}, true,
			"sockrun v1.2.0, built with go1.26.8\n"},
		{&debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}, Settings: vcs}, true,
			"sockrun (devel) (revision e09bda0c1f8a, 2026-11-27T03:47:15Z, with uncommitted changes), built with go1.26.8\n"},
		{&debug.BuildInfo{GoVersion: "go1.26.8"}, true, "sockrun (devel), built with go1.26.8\n"},
		{nil, false, "sockrun (devel): the binary carries no build information\n"},
	} {
		if got := versionText(tc.bi, tc.ok); got != tc.want {
			t.Errorf("got %q, want %q", got, tc.want)
		}
	}
}

// TestCompletionBash loads the bash completion into a real bash and asks
// it to complete: commands, flags, a flag's fixed values, and specs.
func TestCompletionBash(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash:", err)
	}
	dir := t.TempDir()
	script := filepath.Join(dir, "sockrun.bash")
	var out strings.Builder
	if code := completion([]string{"bash"}, &out, os.Stderr); code != 0 {
		t.Fatalf("exit %d", code)
	}
	os.WriteFile(script, []byte(out.String()), 0o644)
	for _, f := range []string{"a.yaml", "b.yml", "notes.txt"} {
		os.WriteFile(filepath.Join(dir, f), nil, 0o644)
	}
	os.Mkdir(filepath.Join(dir, "specs"), 0o755)
	for _, tc := range []struct {
		words []string // the last is the word being completed
		want  string
	}{
		{[]string{"sockrun", "ch"}, "check"},
		{[]string{"sockrun", "re"}, "record"},
		{[]string{"sockrun", "--fo"}, "--format"},
		{[]string{"sockrun", "a.yaml", "--format", "j"}, "json junit"},
		{[]string{"sockrun", "record", "--type", ""}, "stream dgram"},
		{[]string{"sockrun", "--run", ""}, ""},
		{[]string{"sockrun", "check", ""}, "a.yaml b.yml specs"},
		{[]string{"sockrun", "x.yaml", "-"}, strings.Join(completionFromUsage(usage).flags, " ")},
	} {
		var words []string
		for _, w := range tc.words {
			words = append(words, strconv.Quote(w))
		}
		cmd := exec.Command(bash, "--norc", "-c", `source sockrun.bash
COMP_WORDS=(`+strings.Join(words, " ")+`); COMP_CWORD=`+strconv.Itoa(len(tc.words)-1)+`
_sockrun
printf '%s\n' "${COMPREPLY[@]}" | sort -u`)
		cmd.Dir = dir
		got, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%v: %v\n%s", tc.words, err, got)
		}
		gotList := strings.Fields(string(got))
		wantList := strings.Fields(tc.want)
		slices.Sort(wantList)
		if !slices.Equal(gotList, wantList) {
			t.Errorf("%v: completes to %v, want %v", tc.words, gotList, wantList)
		}
	}
}

// TestCompletionOtherShells checks that the zsh and fish scripts parse,
// where those shells are installed.
func TestCompletionOtherShells(t *testing.T) {
	for _, shell := range []string{"zsh", "fish"} {
		t.Run(shell, func(t *testing.T) {
			path, err := exec.LookPath(shell)
			if err != nil {
				t.Skipf("no %s: %v", shell, err)
			}
			var out strings.Builder
			if code := completion([]string{shell}, &out, os.Stderr); code != 0 {
				t.Fatalf("exit %d", code)
			}
			cmd := exec.Command(path, "-n")
			cmd.Stdin = strings.NewReader(out.String())
			if got, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("%s -n: %v\n%s", shell, err, got)
			}
		})
	}
}
