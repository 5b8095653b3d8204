package runner

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

// CSVHeader is the CSV's first row. The first six columns are SPEC.md's;
// note says why a submission scored what it did when that is not its
// tests' doing (its build failed, it was not graded).
var CSVHeader = []string{"submission", "score", "max_score", "passed", "failed", "failed_tests", "note"}

// WriteCSV writes one row per result, in the order given, quoted as RFC
// 4180 says. failed counts the tests that did not pass (skipped ones
// too: they score 0); failed_tests names them, separated by ";", each as
// "spec: test" when there is more than one spec. A submission that was
// not graded has no score, passed or failed: a blank, never a 0 that
// reads as a grade.
func WriteCSV(w io.Writer, results []*GradeResult) error {
	cw := csv.NewWriter(w)
	cw.Write(CSVHeader)
	for _, r := range results {
		cw.Write(row(r))
	}
	cw.Flush()
	return cw.Error()
}

func row(r *GradeResult) []string {
	t := r.Report.Totals()
	if !r.Graded() {
		return []string{r.Submission.Name, "", strconv.Itoa(t.MaxScore), "", "", "", r.Note()}
	}
	var failed []string
	for _, f := range r.Report.Files {
		for _, tr := range f.Tests {
			if tr.Passed {
				continue
			}
			name := tr.Name
			if len(r.Report.Files) > 1 {
				name = f.Name + ": " + name
			}
			failed = append(failed, name)
		}
	}
	return []string{r.Submission.Name, strconv.Itoa(t.Score), strconv.Itoa(t.MaxScore), strconv.Itoa(t.Passed),
		strconv.Itoa(len(failed)), strings.Join(failed, ";"), r.Note()}
}

// IsCSV reports whether data looks like a grades CSV: its first line is
// the header.
func IsCSV(data []byte) bool {
	return bytes.HasPrefix(data, []byte(strings.Join(CSVHeader[:2], ",")+","))
}

// MergeCSV joins the grades CSVs of the shards of one class (grade
// --shard K/N) into one, its rows sorted by submission, byte by byte: the
// order in which a shell lists subs/* in the C locale, and the order
// Shard deals submissions out in. A submission in two inputs is an
// error: the shards overlap.
func MergeCSV(w io.Writer, inputs []MergeInput) error {
	var rows [][]string
	seen := map[string]string{}
	for _, in := range inputs {
		recs, err := csv.NewReader(bytes.NewReader(in.Data)).ReadAll()
		if err != nil {
			return fmt.Errorf("%s: %v", in.Name, err)
		}
		if len(recs) == 0 || !slices.Equal(recs[0], CSVHeader) {
			return fmt.Errorf("%s: expected the header %s", in.Name, strings.Join(CSVHeader, ","))
		}
		for _, rec := range recs[1:] {
			if prev, dup := seen[rec[0]]; dup {
				return fmt.Errorf("submission %s is in both %s and %s: the shards overlap", rec[0], prev, in.Name)
			}
			seen[rec[0]] = in.Name
			rows = append(rows, rec)
		}
	}
	slices.SortFunc(rows, func(a, b []string) int { return strings.Compare(a[0], b[0]) })
	cw := csv.NewWriter(w)
	cw.Write(CSVHeader)
	cw.WriteAll(rows)
	return cw.Error()
}
