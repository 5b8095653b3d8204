package runner

import (
	"encoding/xml"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// annotatedLine is the line that GitHub's mikepenz/action-junit-report
// annotates for a failure without a line attribute: the last match in the
// failure's body of a space, any non-spaces, the suite's file, anything,
// a colon and digits (resolveFileAndLine in its src/testParser.ts, at
// 305cd1f), or line 1 without a match.
func annotatedLine(file, body string) int {
	re := regexp.MustCompile(` [^ ]*` + regexp.QuoteMeta(file) + `.*?:\d+`)
	m := re.FindAllString(body, -1)
	if m == nil {
		return 1
	}
	last := m[len(m)-1]
	n, _ := strconv.Atoi(last[strings.LastIndexByte(last, ':')+1:])
	return n
}

// TestJUnitFailureLines checks that a JUnit report makes such an action
// annotate the line of the step that failed (the test's own line, for a
// hidden test), while keeping to the attributes the schemas allow.
func TestJUnitFailureLines(t *testing.T) {
	var b strings.Builder
	rep, _ := NewReporter("junit", ReportOptions{})
	if err := rep.Report(&b, handBuilt(true)); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Suites []struct {
			File  string `xml:"file,attr"`
			Cases []struct {
				Name    string `xml:"name,attr"`
				Failure *struct {
					Body string `xml:",chardata"`
				} `xml:"failure"`
				Error *struct {
					Body string `xml:",chardata"`
				} `xml:"error"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal([]byte(b.String()), &doc); err != nil {
		t.Fatal(err)
	}
	want := map[string]int{"wrong bytes": 10, "hidden one": 15, "stopped": 22, "never started": 24}
	for _, s := range doc.Suites {
		for _, c := range s.Cases {
			body := ""
			switch {
			case c.Failure != nil:
				body = c.Failure.Body
			case c.Error != nil:
				body = c.Error.Body
			default:
				continue
			}
			if got := annotatedLine(s.File, body); got != want[c.Name] {
				t.Errorf("%s: annotated at line %d, want %d:\n%s", c.Name, got, want[c.Name], body)
			}
			delete(want, c.Name)
		}
	}
	if len(want) > 0 {
		t.Errorf("no failure for %v", want)
	}
}
