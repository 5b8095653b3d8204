package runner

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
)

// A MergeInput is one report to merge: its name (a file name, for
// errors) and its content.
type MergeInput struct {
	Name string
	Data []byte
}

// MergeFormats are the formats Merge reads.
func MergeFormats() []string { return []string{"gradescope", "json", "junit"} }

// Merge joins reports of one format into one, and returns the format it
// found. Reports of the shards of one run (--shard K/N, every shard once)
// become the report the whole run would have written: the tests in the
// order of the specs, the counts and scores added up, the run incomplete
// if any shard was. Reports without a shard are joined in the order given.
// A missing or repeated shard, or shards of different runs, are an error:
// a merged grade must not silently lack tests.
//
// The merged duration is the longest shard's: the shards ran side by
// side, so that is how long the whole run took.
func Merge(w io.Writer, inputs []MergeInput) (string, error) {
	if len(inputs) == 0 {
		return "", errors.New("nothing to merge")
	}
	format := sniffFormat(inputs[0].Data)
	for _, in := range inputs[1:] {
		if f := sniffFormat(in.Data); f != format {
			return "", fmt.Errorf("%s is %s, but %s is %s: merge reports of one format", inputs[0].Name, orUnknown(format), in.Name, orUnknown(f))
		}
	}
	var err error
	switch format {
	case "json":
		err = mergeJSON(w, inputs)
	case "gradescope":
		err = mergeGradescope(w, inputs)
	case "junit":
		err = mergeJUnit(w, inputs)
	default:
		err = fmt.Errorf("%s: not a report sockrun can merge; expected one of: %s", inputs[0].Name, strings.Join(MergeFormats(), ", "))
	}
	return format, err
}

func orUnknown(format string) string {
	if format == "" {
		return "of no format sockrun merges"
	}
	return format
}

// sniffFormat names the format of a report by its shape: JUnit is XML,
// sockrun's JSON has files, Gradescope's has tests and execution_time.
func sniffFormat(data []byte) string {
	data = bytes.TrimSpace(data)
	if bytes.HasPrefix(data, []byte("<")) {
		return "junit"
	}
	var probe struct {
		Files         json.RawMessage `json:"files"`
		Tests         json.RawMessage `json:"tests"`
		ExecutionTime json.RawMessage `json:"execution_time"`
	}
	if json.Unmarshal(data, &probe) != nil {
		return ""
	}
	switch {
	case probe.Files != nil:
		return "json"
	case probe.Tests != nil && probe.ExecutionTime != nil:
		return "gradescope"
	}
	return ""
}

// shardOrder checks that the inputs are the shards of one run, each once,
// or none a shard, and returns the inputs' indices in shard order.
func shardOrder(inputs []MergeInput, shards []string) ([]int, int, error) {
	order := make([]int, len(inputs))
	for i := range order {
		order[i] = i
	}
	if !slices.ContainsFunc(shards, func(s string) bool { return s != "" }) {
		return order, 1, nil // separate runs: joined in the order given
	}
	n := 0
	byK := map[int]int{}
	for i, s := range shards {
		if s == "" {
			return nil, 0, fmt.Errorf("%s has no shard, but others have: merge the shards of one run", inputs[i].Name)
		}
		sh, err := ParseShard(s)
		if err != nil {
			return nil, 0, fmt.Errorf("%s: shard %v", inputs[i].Name, err)
		}
		if n == 0 {
			n = sh.N
		}
		if sh.N != n {
			return nil, 0, fmt.Errorf("%s is shard %s, but others are of %d shards: merge the shards of one run", inputs[i].Name, s, n)
		}
		if j, dup := byK[sh.K]; dup {
			return nil, 0, fmt.Errorf("%s and %s are both shard %s", inputs[j].Name, inputs[i].Name, s)
		}
		byK[sh.K] = i
	}
	var missing []string
	for k := 1; k <= n; k++ {
		if _, ok := byK[k]; !ok {
			missing = append(missing, fmt.Sprintf("%d/%d", k, n))
		}
	}
	if missing != nil {
		return nil, 0, fmt.Errorf("shard %s missing: a merged report would lack its tests", strings.Join(missing, ", "))
	}
	for k := 1; k <= n; k++ {
		order[k-1] = byK[k]
	}
	return order, n, nil
}

// interleave undoes Shard's round robin: the i-th item of shard k (in
// shard order) was item i*n + k-1 of the whole list. Shards of one list
// differ in length by at most one, the first ones longest; anything else
// is shards of different runs.
func interleave[T any](parts [][]T, n int, names func(int) string) ([]T, error) {
	if n <= 1 {
		var out []T
		for _, p := range parts {
			out = append(out, p...)
		}
		return out, nil
	}
	for k := 1; k < len(parts); k++ {
		if d := len(parts[0]) - len(parts[k]); d < 0 || d > 1 || len(parts[k]) > len(parts[k-1]) {
			return nil, fmt.Errorf("%s has %d tests and %s %d: not shards of one run", names(0), len(parts[0]), names(k), len(parts[k]))
		}
	}
	var out []T
	for i := 0; i < len(parts[0]); i++ {
		for k := range parts {
			if i < len(parts[k]) {
				out = append(out, parts[k][i])
			}
		}
	}
	return out, nil
}

// joinReasons joins the shards' reasons for being incomplete.
func joinReasons(reasons []string, names []string) string {
	var out []string
	for i, r := range reasons {
		if r != "" {
			out = append(out, names[i]+": "+r)
		}
	}
	return strings.Join(out, "; ")
}

type located[T any] struct {
	file int // the index of its file or suite
	item T
}

func mergeJSON(w io.Writer, inputs []MergeInput) error {
	reps := make([]jsonReport, len(inputs))
	shards := make([]string, len(inputs))
	for i, in := range inputs {
		if err := json.Unmarshal(in.Data, &reps[i]); err != nil {
			return fmt.Errorf("%s: %v", in.Name, err)
		}
		shards[i] = reps[i].Shard
	}
	order, n, err := shardOrder(inputs, shards)
	if err != nil {
		return err
	}
	out := jsonReport{Started: reps[order[0]].Started, Submission: reps[order[0]].Submission}
	var parts [][]located[jsonTest]
	var reasons, names []string
	for _, i := range order {
		r := reps[i]
		if n > 1 && !sameFiles(r.Files, reps[order[0]].Files) {
			return fmt.Errorf("%s and %s ran different specs: not shards of one run", inputs[order[0]].Name, inputs[i].Name)
		}
		if r.Started.Before(out.Started) {
			out.Started = r.Started
		}
		out.DurationMS = max(out.DurationMS, r.DurationMS)
		if r.Submission != out.Submission {
			out.Submission = ""
		}
		reasons, names = append(reasons, r.Incomplete), append(names, inputs[i].Name)
		var part []located[jsonTest]
		base := len(out.Files)
		if n > 1 {
			base = 0
		}
		for fi, f := range r.Files {
			if n <= 1 || i == order[0] {
				out.Files = append(out.Files, jsonFile{File: f.File, Name: f.Name, About: f.About})
			}
			for _, t := range f.Tests {
				part = append(part, located[jsonTest]{base + fi, t})
			}
		}
		parts = append(parts, part)
	}
	all, err := interleave(parts, n, func(k int) string { return inputs[order[k]].Name })
	if err != nil {
		return err
	}
	for _, lt := range all {
		f := &out.Files[lt.file]
		t := lt.item
		f.Tests = append(f.Tests, t)
		f.Score += t.Score
		f.MaxScore += t.Points
		out.Score += t.Score
		out.MaxScore += t.Points
		switch {
		case t.Passed:
			out.Passed++
		case t.Skipped != "":
			out.Skipped++
		case t.Failure != nil && t.Failure.Kind == KindInterrupted:
			out.Unfinished++
		default:
			out.Failed++
		}
	}
	for i := range out.Files {
		if out.Files[i].Tests == nil {
			out.Files[i].Tests = []jsonTest{}
		}
	}
	if out.Files == nil {
		out.Files = []jsonFile{}
	}
	out.Incomplete = joinReasons(reasons, names)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

func sameFiles(a, b []jsonFile) bool {
	return slices.EqualFunc(a, b, func(x, y jsonFile) bool { return x.File == y.File && x.Name == y.Name })
}

func mergeGradescope(w io.Writer, inputs []MergeInput) error {
	reps := make([]gsResults, len(inputs))
	shards := make([]string, len(inputs))
	for i, in := range inputs {
		if err := json.Unmarshal(in.Data, &reps[i]); err != nil {
			return fmt.Errorf("%s: %v", in.Name, err)
		}
		if x := reps[i].ExtraData; x != nil {
			shards[i] = x.Shard
		}
	}
	order, n, err := shardOrder(inputs, shards)
	if err != nil {
		return err
	}
	var parts [][]gsTest
	var reasons, names []string
	out := gsResults{OutputFormat: "text"}
	for _, i := range order {
		r := reps[i]
		out.ExecutionTime = max(out.ExecutionTime, r.ExecutionTime)
		reason := ""
		if r.ExtraData != nil {
			reason = r.ExtraData.Incomplete
		}
		reasons, names = append(reasons, reason), append(names, inputs[i].Name)
		parts = append(parts, r.Tests)
	}
	out.Tests, err = interleave(parts, n, func(k int) string { return inputs[order[k]].Name })
	if err != nil {
		return err
	}
	var t Totals
	for _, gt := range out.Tests {
		t.Score += gt.Score
		t.MaxScore += gt.MaxScore
		switch {
		case gt.Status == "passed":
			t.Passed++
		case strings.HasPrefix(gt.Output, "skipped: "):
			t.Skipped++
		default:
			t.Failed++
		}
	}
	if out.Tests == nil {
		out.Tests = []gsTest{}
	}
	out.Score = float64(t.Score)
	if incomplete := joinReasons(reasons, names); incomplete != "" {
		// As an incomplete run's report: 0, and no grade.
		out.Score = 0
		out.Output = "INCOMPLETE: " + incomplete + ". This is not a grade: grade the submission again."
		out.ExtraData = &gsExtra{Incomplete: incomplete}
	} else {
		counts := fmt.Sprintf("%d passed, %d failed", t.Passed, t.Failed)
		if t.Skipped > 0 {
			counts += fmt.Sprintf(", %d skipped", t.Skipped)
		}
		out.Output = fmt.Sprintf("score %d/%d: %s", t.Score, t.MaxScore, counts)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

func mergeJUnit(w io.Writer, inputs []MergeInput) error {
	reps := make([]junitSuites, len(inputs))
	shards := make([]string, len(inputs))
	for i, in := range inputs {
		if err := xml.Unmarshal(in.Data, &reps[i]); err != nil {
			return fmt.Errorf("%s: %v", in.Name, err)
		}
		for _, s := range reps[i].Suites {
			if v := s.property("shard"); v != "" {
				shards[i] = v
			}
		}
	}
	order, n, err := shardOrder(inputs, shards)
	if err != nil {
		return err
	}
	out := junitSuites{Name: "sockrun"}
	var parts [][]located[junitCase]
	var reasons, names []string
	var longest float64
	for _, i := range order {
		r := reps[i]
		if n > 1 && !slices.EqualFunc(r.Suites, reps[order[0]].Suites, func(a, b junitSuite) bool { return a.Name == b.Name && a.File == b.File }) {
			return fmt.Errorf("%s and %s ran different specs: not shards of one run", inputs[order[0]].Name, inputs[i].Name)
		}
		if d, err := strconv.ParseFloat(r.Time, 64); err == nil {
			longest = max(longest, d)
		}
		reason := ""
		base := len(out.Suites)
		if n > 1 {
			base = 0
		}
		var part []located[junitCase]
		for si, s := range r.Suites {
			if v := s.property("incomplete"); v != "" {
				reason = v
			}
			if n <= 1 || i == order[0] {
				out.Suites = append(out.Suites, junitSuite{Name: s.Name, File: s.File, Timestamp: s.Timestamp})
			} else if s.Timestamp < out.Suites[si].Timestamp {
				out.Suites[si].Timestamp = s.Timestamp
			}
			for _, c := range s.Cases {
				part = append(part, located[junitCase]{base + si, c})
			}
		}
		reasons, names = append(reasons, reason), append(names, inputs[i].Name)
		parts = append(parts, part)
	}
	all, err := interleave(parts, n, func(k int) string { return inputs[order[k]].Name })
	if err != nil {
		return err
	}
	totals := make([]time.Duration, len(out.Suites))
	for _, lc := range all {
		s := &out.Suites[lc.file]
		c := lc.item
		s.Cases = append(s.Cases, c)
		s.Tests++
		switch {
		case c.Failure != nil:
			s.Failures++
		case c.Error != nil:
			s.Errors++
		case c.Skipped != nil:
			s.Skipped++
		}
		if d, err := strconv.ParseFloat(c.Time, 64); err == nil {
			totals[lc.file] += time.Duration(d * float64(time.Second))
		}
	}
	incomplete := joinReasons(reasons, names)
	for i := range out.Suites {
		s := &out.Suites[i]
		s.Time = secs(totals[i])
		if incomplete != "" {
			s.Properties = &junitProperties{[]junitProperty{{Name: "incomplete", Value: incomplete}}}
		}
		out.Tests += s.Tests
		out.Failures += s.Failures
		out.Errors += s.Errors
	}
	out.Time = secs(time.Duration(longest * float64(time.Second)))
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(out); err != nil {
		return err
	}
	_, err = io.WriteString(w, "\n")
	return err
}

// property is the value of the suite's property name, or empty.
func (s junitSuite) property(name string) string {
	if s.Properties == nil {
		return ""
	}
	for _, p := range s.Properties.Property {
		if p.Name == name {
			return p.Value
		}
	}
	return ""
}
