package runner

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func subs(names ...string) []*Submission {
	var out []*Submission
	for _, n := range names {
		out = append(out, &Submission{Name: n, Dir: "/class/" + n})
	}
	return out
}

func names(ss []*Submission) []string {
	var out []string
	for _, s := range ss {
		out = append(out, s.Name)
	}
	return out
}

func TestShard(t *testing.T) {
	for _, tc := range []struct {
		given []string
		shard Shard
		want  []string
	}{
		{[]string{"a", "b", "c"}, Shard{}, []string{"a", "b", "c"}},
		// Dealt by sorted name, kept in the order given.
		{[]string{"c", "a", "d", "b", "e"}, Shard{K: 1, N: 2}, []string{"c", "a", "e"}},
		{[]string{"c", "a", "d", "b", "e"}, Shard{K: 2, N: 2}, []string{"d", "b"}},
		// Byte order, not the locale's: "B" before "a".
		{[]string{"a", "B"}, Shard{K: 1, N: 2}, []string{"B"}},
		{[]string{"a"}, Shard{K: 3, N: 3}, nil},
	} {
		got := names(ShardSubmissions(subs(tc.given...), tc.shard))
		if !slices.Equal(got, tc.want) {
			t.Errorf("ShardSubmissions(%v, %v) = %v, want %v", tc.given, tc.shard, got, tc.want)
		}
	}
	// Every submission is in exactly one shard.
	all := subs("q", "w", "e", "r", "t", "y", "u")
	seen := map[string]int{}
	for k := 1; k <= 3; k++ {
		for _, s := range ShardSubmissions(all, Shard{K: k, N: 3}) {
			seen[s.Name]++
		}
	}
	for _, s := range all {
		if seen[s.Name] != 1 {
			t.Errorf("%s is in %d shards", s.Name, seen[s.Name])
		}
	}
}

func TestReportNames(t *testing.T) {
	got := ReportNames(subs("alice", "x/alice", "Alice", "bob smith", ".hidden", "é", ".."), ".json")
	want := []string{"alice.json", "alice-2.json", "Alice-3.json", "bob_smith.json", "_hidden.json", "__.json", "_..json"}
	if !slices.Equal(got, want) {
		t.Errorf("ReportNames = %q, want %q", got, want)
	}
}

func TestHeadTail(t *testing.T) {
	var h headTail
	fmt.Fprint(&h, "start\n")
	fmt.Fprint(&h, strings.Repeat("x", 3*buildKeep))
	fmt.Fprint(&h, "end\n")
	s := h.String()
	if !strings.HasPrefix(s, "start\n") || !strings.HasSuffix(s, "end\n") {
		t.Errorf("head or tail lost: %q...%q", s[:10], s[len(s)-10:])
	}
	if !strings.Contains(s, fmt.Sprintf("... (%d bytes cut) ...", 3*buildKeep+10-2*buildKeep)) {
		t.Errorf("no cut note in %d bytes", len(s))
	}
	if len(s) > 2*buildKeep+100 {
		t.Errorf("kept %d bytes, want about %d", len(s), 2*buildKeep)
	}
}

func TestMergeCSV(t *testing.T) {
	in := func(name, body string) MergeInput {
		return MergeInput{Name: name, Data: []byte(strings.Join(CSVHeader, ",") + "\n" + body)}
	}
	var b bytes.Buffer
	err := MergeCSV(&b, []MergeInput{
		in("2.csv", "b,1,2,1,1,\"x;y, z\",\n"),
		in("1.csv", "c,2,2,2,0,,\na,0,2,0,2,,build failed: make: exit status 2\n"),
	})
	want := strings.Join(CSVHeader, ",") + "\na,0,2,0,2,,build failed: make: exit status 2\nb,1,2,1,1,\"x;y, z\",\nc,2,2,2,0,,\n"
	if err != nil || b.String() != want {
		t.Errorf("MergeCSV = %q, %v; want %q", b.String(), err, want)
	}
	for _, tc := range []struct {
		inputs []MergeInput
		err    string
	}{
		{[]MergeInput{in("1.csv", "a,1,1,1,0,,\n"), in("2.csv", "a,1,1,1,0,,\n")}, "submission a is in both 1.csv and 2.csv"},
		{[]MergeInput{{Name: "x.csv", Data: []byte("name,score\n")}}, "x.csv: expected the header"},
		{[]MergeInput{in("1.csv", "a,\"1\n")}, "1.csv: "},
	} {
		err := MergeCSV(&bytes.Buffer{}, tc.inputs)
		if err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("MergeCSV: %v, want an error with %q", err, tc.err)
		}
	}
}

func TestGrade(t *testing.T) {
	spec, err := Parse("g.yaml", []byte(`
servers:
  echo: {behaviour: echo}
tests:
  - name: hidden one
    hidden: true
    steps: [{connect: echo}, {send: "a"}, {expect: "a"}]
  - name: shown one
    steps: [{connect: echo}, {send: "b"}, {expect: "b"}]
`), LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	specs := []*Spec{spec}
	var subs []*Submission
	for _, name := range []string{"ok", "broken", "ok2"} {
		dir := t.TempDir()
		script := "echo built > built\n"
		if name == "broken" {
			script = "echo 'oops: no main' >&2; exit 3\n"
		}
		if err := os.WriteFile(filepath.Join(dir, "build.sh"), []byte(script), 0o644); err != nil {
			t.Fatal(err)
		}
		subs = append(subs, &Submission{Name: name, Dir: dir})
	}
	opts := GradeOptions{Jobs: 2, Build: []string{"sh", "build.sh"}}

	res := Grade(context.Background(), specs, subs, opts)
	if got := []string{res[0].Submission.Name, res[1].Submission.Name, res[2].Submission.Name}; !slices.Equal(got, []string{"ok", "broken", "ok2"}) {
		t.Errorf("results in the order %v, want the order given", got)
	}
	if tot := res[0].Report.Totals(); tot.Score != 2 || res[0].Note() != "" {
		t.Errorf("ok: score %d, note %q; want 2, none", tot.Score, res[0].Note())
	}
	b := res[1]
	if tot := b.Report.Totals(); tot.Score != 0 || tot.MaxScore != 2 || b.Note() != "build failed: sh build.sh: exit status 3" {
		t.Errorf("broken: score %d/%d, note %q", tot.Score, tot.MaxScore, b.Note())
	}
	// The build's output goes with the first test that is not hidden: a
	// hidden test shows no output.
	hidden, shown := b.Report.Files[0].Tests[0], b.Report.Files[0].Tests[1]
	if !strings.Contains(shown.Failure.Output, "oops: no main") || hidden.Failure.Output != "" ||
		!strings.Contains(hidden.Failure.Message, "under shown one") || hidden.Hint != "" {
		t.Errorf("broken: the build's output is not under the shown test: %+v / %+v", hidden.Failure, shown.Failure)
	}

	// Cancelled before it starts: nothing is built, nothing graded, and
	// every result says so.
	for _, s := range subs {
		os.Remove(filepath.Join(s.Dir, "built"))
	}
	ctx, cancel := context.WithCancelCause(context.Background())
	cancel(errors.New("interrupted by SIGINT"))
	for _, r := range Grade(ctx, specs, subs, opts) {
		if r.Graded() || r.Build != nil || r.Note() != "not graded: interrupted by SIGINT" {
			t.Errorf("%s: graded %v, build %v, note %q", r.Submission.Name, r.Graded(), r.Build, r.Note())
		}
		if _, err := os.Stat(filepath.Join(r.Submission.Dir, "built")); err == nil {
			t.Errorf("%s: built after the grading was cancelled", r.Submission.Name)
		}
	}
}
