package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// TestKits runs the grading kits of examples/ end to end, each in a
// temporary folder laid out as its platform lays out its own, with a real
// C submission: the results file must parse and carry the right score.
func TestKits(t *testing.T) {
	for _, tool := range []string{"cc", "make", "sh", "bash"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("no %s on this machine: the grading kits are not run", tool)
		}
	}
	repo, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	// One sockrun for both kits, built as Gradescope's setup.sh builds it.
	bin := t.TempDir()
	ag := filepath.Join(t.TempDir(), "autograder")
	copyDir(t, filepath.Join(repo, "examples/gradescope"), filepath.Join(ag, "source"))
	env := append(os.Environ(), "AUTOGRADER="+ag, "SOCKRUN_SRC="+repo, "SOCKRUN_BIN="+bin,
		"PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	script(t, env, ag, filepath.Join(ag, "source/setup.sh"))

	t.Run("gradescope", func(t *testing.T) {
		t.Parallel()
		writeFile(t, filepath.Join(ag, "source/spec.yaml"), kitSpec)
		submission(t, repo, filepath.Join(ag, "submission"), "")
		if _, err := os.Stat(filepath.Join(ag, "submission/Makefile")); err == nil {
			t.Fatal("the submission has a Makefile: make's own rule is what the kit relies on")
		}
		// Gradescope runs the copy in /autograder, from /autograder.
		script(t, env, ag, filepath.Join(ag, "source/run_autograder"))
		var res struct {
			Score         *float64 `json:"score"`
			ExecutionTime float64  `json:"execution_time"`
			Tests         []struct {
				Name     string  `json:"name"`
				Score    float64 `json:"score"`
				MaxScore float64 `json:"max_score"`
				Status   string  `json:"status"`
			} `json:"tests"`
		}
		readJSON(t, filepath.Join(ag, "results/results.json"), &res)
		if res.Score == nil || *res.Score != 4 || len(res.Tests) != 3 || res.ExecutionTime <= 0 {
			t.Fatalf("results.json: score %v, %d tests, execution_time %v; want 4, 3 tests, > 0", res.Score, len(res.Tests), res.ExecutionTime)
		}
		for _, tc := range res.Tests {
			if tc.Status != "passed" || tc.Score != tc.MaxScore {
				t.Errorf("test %q: %s, %v/%v", tc.Name, tc.Status, tc.Score, tc.MaxScore)
			}
		}
	})

	t.Run("prairielearn", func(t *testing.T) {
		t.Parallel()
		grade := filepath.Join(t.TempDir(), "grade")
		copyDir(t, filepath.Join(repo, "examples/prairielearn/serverFilesCourse"), filepath.Join(grade, "serverFilesCourse"))
		copyDir(t, filepath.Join(repo, "examples/prairielearn/questions/echo-server/tests"), filepath.Join(grade, "tests"))
		writeFile(t, filepath.Join(grade, "tests/spec.yaml"), kitSpec)
		copyFile(t, filepath.Join(bin, "sockrun"), filepath.Join(grade, "serverFilesCourse/sockrun/sockrun"))
		// The student's server copies its buffer as a C string: the test
		// of zero bytes (2 points of 4) fails.
		submission(t, repo, filepath.Join(grade, "student"), "BUG_CSTRING")
		var info struct {
			ExternalGradingOptions struct{ Entrypoint string }
		}
		readJSON(t, filepath.Join(repo, "examples/prairielearn/questions/echo-server/info.json"), &info)
		entry := strings.Replace(info.ExternalGradingOptions.Entrypoint, "/grade", grade, 1)
		script(t, append(os.Environ(), "GRADE="+grade), grade, entry)
		var res struct {
			Gradable bool     `json:"gradable"`
			Score    *float64 `json:"score"`
			Message  string   `json:"message"`
			Tests    []struct {
				Name      string `json:"name"`
				Points    int    `json:"points"`
				MaxPoints int    `json:"max_points"`
				Output    string `json:"output"`
			} `json:"tests"`
		}
		readJSON(t, filepath.Join(grade, "results/results.json"), &res)
		if !res.Gradable || res.Score == nil || *res.Score != 0.5 || len(res.Tests) != 3 {
			t.Fatalf("results.json: gradable %v, score %v, %d tests; want true, 0.5, 3 tests", res.Gradable, res.Score, len(res.Tests))
		}
		for _, tc := range res.Tests {
			failed := tc.Points < tc.MaxPoints
			if failed != (tc.Name == "zero bytes survive") {
				t.Errorf("test %q: %d/%d", tc.Name, tc.Points, tc.MaxPoints)
			}
			if failed && !strings.Contains(tc.Output, "expected:") {
				t.Errorf("test %q failed without saying what was expected:\n%s", tc.Name, tc.Output)
			}
		}
	})
}

// kitSpec is what the kits grade with: the echo exercise's tests that no
// deadline decides, so that a loaded machine cannot change the score
// (specs/echo.yaml's own are graded by TestCPrograms).
const kitSpec = `
servers:
  echo: {behaviour: echo}
tests:
  - name: one message comes back
    steps: [{connect: echo}, {send: "Test message."}, {expect: "Test message."}]
  - name: zero bytes survive
    points: 2
    steps: [{connect: echo}, {send: "bin\x00ary"}, {expect: {hex: "62696e 00 617279"}}]
  - name: clients one after another
    steps:
      - connect: {to: echo, as: first}
      - send: "one"
      - expect: "one"
      - close: first
      - connect: {to: echo, as: second}
      - send: "two"
      - expect: "two"
`

// submission lays out a student's submission in dir: the course's echo
// server in C, alone, with the bug named by bug (a -D flag of the
// source) written into it, as a student's code would have it.
func submission(t *testing.T, repo, dir, bug string) {
	src := filepath.Join(repo, "examples/c/echo_server.c")
	if _, err := os.Stat(src); err != nil {
		src = filepath.Join(repo, "testdata/c/echo_server.c")
	}
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if bug != "" {
		data = append([]byte("#define "+bug+"\n"), data...)
	}
	writeFile(t, filepath.Join(dir, "echo_server.c"), string(data))
}

// script runs a kit's script from dir and fails the test, with its
// output, if it fails.
func script(t *testing.T, env []string, dir, path string) {
	t.Helper()
	cmd := exec.Command(path)
	cmd.Dir, cmd.Env = dir, env
	out, err := cmd.CombinedOutput()
	t.Logf("%s:\n%s", filepath.Base(path), out)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v\n%s", path, err, data)
	}
}

func copyDir(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.WalkDir(from, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		copyFile(t, p, filepath.Join(to, rel))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(from)
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, data, fi.Mode().Perm()); err != nil {
		t.Fatal(err)
	}
}

func writeFile(t *testing.T, path, s string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestCIExamples checks that the CI examples of grading in shards parse
// as YAML and hand each machine its own shard, 1-based, and merge them.
func TestCIExamples(t *testing.T) {
	for file, want := range map[string][]string{
		"github-actions.yml":   {"--shard ${{ matrix.shard }}/4", "shard: [1, 2, 3, 4]", "sockrun merge"},
		"gitlab-ci.yml":        {`--shard "$CI_NODE_INDEX/$CI_NODE_TOTAL"`, "parallel: 4", "sockrun merge"},
		"k8s-indexed-job.yaml": {"shard=$((JOB_COMPLETION_INDEX + 1))", `--shard "$shard/4"`, "completionMode: Indexed", "completions: 4", "sockrun merge"},
	} {
		data, err := os.ReadFile(filepath.Join("../../examples/ci", file))
		if err != nil {
			t.Fatal(err)
		}
		var doc map[string]any
		if err := yaml.Unmarshal(data, &doc); err != nil {
			t.Errorf("%s: %v", file, err)
		}
		if len(doc) == 0 {
			t.Errorf("%s: empty", file)
		}
		for _, w := range want {
			if !strings.Contains(string(data), w) {
				t.Errorf("%s does not have %q", file, w)
			}
		}
	}
}
