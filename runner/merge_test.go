package runner

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"
)

func TestInterleave(t *testing.T) {
	names := func(k int) string { return fmt.Sprint("s", k+1) }
	for _, tc := range []struct {
		parts [][]int
		n     int
		want  []int
		err   string
	}{
		{[][]int{{0, 3, 6}, {1, 4}, {2, 5}}, 3, []int{0, 1, 2, 3, 4, 5, 6}, ""},
		{[][]int{{0}, {}, {}}, 3, []int{0}, ""},
		{[][]int{{1, 2}, {3}}, 1, []int{1, 2, 3}, ""}, // not shards: joined
		{[][]int{{0}, {1, 2}}, 2, nil, "s1 has 1 tests and s2 2"},
		{[][]int{{0, 1, 2}, {3}}, 2, nil, "not shards of one run"},
	} {
		got, err := interleave(tc.parts, tc.n, names)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("interleave(%v): %v, want an error with %q", tc.parts, err, tc.err)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("interleave(%v) = %v, %v; want %v", tc.parts, got, err, tc.want)
		}
	}
}

func TestShardOrder(t *testing.T) {
	in := func(names ...string) []MergeInput {
		var out []MergeInput
		for _, n := range names {
			out = append(out, MergeInput{Name: n})
		}
		return out
	}
	order, n, err := shardOrder(in("c", "a", "b"), []string{"3/3", "1/3", "2/3"})
	if err != nil || n != 3 || !slices.Equal(order, []int{1, 2, 0}) {
		t.Errorf("shardOrder = %v, %d, %v; want [1 2 0], 3", order, n, err)
	}
	order, n, err = shardOrder(in("x", "y"), []string{"", ""})
	if err != nil || n != 1 || !slices.Equal(order, []int{0, 1}) {
		t.Errorf("shardOrder of whole runs = %v, %d, %v; want [0 1], 1", order, n, err)
	}
	for _, tc := range []struct {
		shards []string
		err    string
	}{
		{[]string{"1/3", "3/3"}, "shard 2/3 missing"},
		{[]string{"1/2", "1/2"}, "a and b are both shard 1/2"},
		{[]string{"1/2", "2/3"}, "others are of 2 shards"},
		{[]string{"1/2", ""}, "b has no shard"},
		{[]string{"1/2", "x"}, "b: shard"},
	} {
		_, _, err := shardOrder(in("a", "b"), tc.shards)
		if err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("shardOrder(%v): %v, want an error with %q", tc.shards, err, tc.err)
		}
	}
}

func TestParseShard(t *testing.T) {
	for s, want := range map[string]Shard{"1/1": {1, 1}, "2/4": {2, 4}, "4/4": {4, 4}} {
		if got, err := ParseShard(s); err != nil || got != want {
			t.Errorf("ParseShard(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
	for _, s := range []string{"", "0/4", "5/4", "1/0", "-1/2", "1", "a/b", "1/2/3"} {
		if _, err := ParseShard(s); err == nil {
			t.Errorf("ParseShard(%q): no error", s)
		}
	}
}

// An incomplete shard makes the merged report incomplete, in every
// format: no merged score reads as a grade.
func TestMergeIncomplete(t *testing.T) {
	rep := func(k int, incomplete string) *Report {
		r := &Report{Shard: Shard{k, 2}, Incomplete: incomplete, Files: []*FileResult{{File: "a.yaml", Name: "a",
			Tests: []*TestResult{{Name: fmt.Sprint("t", k), Points: 1, Passed: incomplete == ""}}}}}
		if incomplete != "" {
			r.Files[0].Tests[0].Failure = &Failure{Kind: KindInterrupted, Message: "not run: " + incomplete, Offset: -1}
		}
		return r
	}
	for _, format := range MergeFormats() {
		var inputs []MergeInput
		for k, why := range []string{"", "interrupted by SIGINT"} {
			var b bytes.Buffer
			r, _ := NewReporter(format, ReportOptions{})
			if err := r.Report(&b, rep(k+1, why)); err != nil {
				t.Fatal(err)
			}
			inputs = append(inputs, MergeInput{Name: fmt.Sprint(k+1, ".", format), Data: b.Bytes()})
		}
		var out bytes.Buffer
		got, err := Merge(&out, inputs)
		if err != nil || got != format {
			t.Fatalf("Merge(%s) = %s, %v", format, got, err)
		}
		if !strings.Contains(out.String(), "2."+format+": interrupted by SIGINT") {
			t.Errorf("%s: merged report does not say which shard was interrupted:\n%s", format, out.String())
		}
		if format == "gradescope" && !strings.Contains(out.String(), `"score": 0,`) {
			t.Errorf("gradescope: an incomplete merge scores more than 0:\n%s", out.String())
		}
	}
}
