package runner

import (
	"encoding/json"
	"encoding/xml"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// consumerCases are reports to hand to each format's usual consumer, and
// whether that consumer must take the run for a pass.
func consumerCases() []struct {
	name string
	rep  *Report
	pass bool
} {
	passing := handBuilt(false)
	passing.Files[0].Tests = slices.DeleteFunc(passing.Files[0].Tests, func(t *TestResult) bool { return t.Failure != nil })
	// Interrupted after every test had its verdict: still no grade.
	lateSignal := handBuilt(false)
	lateSignal.Files[0].Tests = passing.Files[0].Tests
	lateSignal.Incomplete = "interrupted by SIGINT"
	return []struct {
		name string
		rep  *Report
		pass bool
	}{
		{"passed and skipped", passing, true},
		{"failed", handBuilt(false), false},
		{"incomplete", handBuilt(true), false},
		{"incomplete, every verdict in", lateSignal, false},
	}
}

func tapOf(t *testing.T, rep *Report) string {
	t.Helper()
	var b strings.Builder
	if err := (tapReporter{}).Report(&b, rep); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestTAPWithProve hands TAP reports to Perl's prove, Debian's default
// TAP harness: it must pass a passing run (skips included), and fail a
// failing or incomplete one.
func TestTAPWithProve(t *testing.T) {
	prove, err := exec.LookPath("prove")
	if err != nil {
		t.Skip("perl's prove is not installed (Debian: apt-get install perl): TAP is not checked against it")
	}
	for _, c := range consumerCases() {
		t.Run(c.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "report.tap")
			if err := os.WriteFile(file, []byte(tapOf(t, c.rep)), 0o644); err != nil {
				t.Fatal(err)
			}
			// --exec cat: the "test program" prints the report.
			out, err := exec.Command(prove, "--exec", "cat", file).CombinedOutput()
			var exit *exec.ExitError
			if err != nil && !errors.As(err, &exit) {
				t.Fatal(err)
			}
			passed := err == nil && strings.Contains(string(out), "Result: PASS")
			if passed != c.pass {
				t.Errorf("prove passed the run: %v, want %v\n%s", passed, c.pass, out)
			}
			if strings.Contains(string(out), "Parse errors") {
				t.Errorf("prove found parse errors:\n%s", out)
			}
			if c.rep.Incomplete != "" && !strings.Contains(string(out), "Bailout called") {
				t.Errorf("prove does not say the run was cut short:\n%s", out)
			}
		})
	}
}

// TestTAPWithTapParser hands TAP reports to the npm tap-parser, through
// testdata/tapcheck.cjs. It needs node and tap-parser: SOCKRUN_TAP_PARSER
// names a folder whose node_modules has it (scripts/tap-consumers installs
// it there and runs this test; .ci/run does too, where npm can).
func TestTAPWithTapParser(t *testing.T) {
	dir := os.Getenv("SOCKRUN_TAP_PARSER")
	node, err := exec.LookPath("node")
	if dir == "" || err != nil {
		t.Skip("node or SOCKRUN_TAP_PARSER is missing: TAP is not checked against tap-parser (scripts/tap-consumers does it)")
	}
	script, err := filepath.Abs(filepath.Join("testdata", "tapcheck.cjs"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range consumerCases() {
		t.Run(c.name, func(t *testing.T) {
			cmd := exec.Command(node, script)
			cmd.Env = append(os.Environ(), "NODE_PATH="+filepath.Join(dir, "node_modules"))
			cmd.Stdin = strings.NewReader(tapOf(t, c.rep))
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("%v: %s", err, out)
			}
			var res struct {
				OK                      bool
				Count, Pass, Fail, Skip int
				Bailout                 string
				Failures                []string
			}
			if err := json.Unmarshal(out, &res); err != nil {
				t.Fatalf("%v: %s", err, out)
			}
			tot := c.rep.Totals()
			if res.OK != c.pass || res.Count != tot.Tests() || res.Skip != tot.Skipped {
				t.Errorf("tap-parser: %s; want ok %v, %d tests, %d skipped", out, c.pass, tot.Tests(), tot.Skipped)
			}
			if (res.Bailout != "") != (c.rep.Incomplete != "") {
				t.Errorf("tap-parser: bail out %q, want one only when incomplete", res.Bailout)
			}
		})
	}
}

// An xmlNode is an element of a parsed XML document.
type xmlNode struct {
	name  string
	attrs map[string]string
	kids  []*xmlNode
	text  string
}

func parseXML(t *testing.T, doc string) *xmlNode {
	t.Helper()
	dec := xml.NewDecoder(strings.NewReader(doc))
	root := &xmlNode{}
	stack := []*xmlNode{root}
	for {
		tok, err := dec.Token()
		if err != nil {
			if err.Error() == "EOF" {
				break
			}
			t.Fatalf("not XML: %v\n%s", err, doc)
		}
		top := stack[len(stack)-1]
		switch tok := tok.(type) {
		case xml.StartElement:
			n := &xmlNode{name: tok.Name.Local, attrs: map[string]string{}}
			for _, a := range tok.Attr {
				n.attrs[a.Name.Local] = a.Value
			}
			top.kids = append(top.kids, n)
			stack = append(stack, n)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			top.text += string(tok)
		}
	}
	if len(root.kids) != 1 {
		t.Fatalf("want one root element, got %d", len(root.kids))
	}
	return root.kids[0]
}

// junitRule is what JUnit's common schemas allow of one element: the
// intersection of Jenkins' junit-10.xsd (xunit plugin) and Maven
// Surefire's surefire-test-report.xsd, so that both accept the file.
type junitRule struct {
	required, optional []string
	kids               []string // child elements, in the order allowed
}

var junitRules = map[string]junitRule{
	"testsuites": {optional: []string{"name", "time", "tests", "failures", "errors"}, kids: []string{"testsuite"}},
	"testsuite": {required: []string{"name", "tests", "failures", "errors", "skipped"},
		optional: []string{"time", "timestamp", "hostname", "id", "package", "file", "group"},
		kids:     []string{"properties", "testcase"}},
	"properties": {kids: []string{"property"}},
	"property":   {required: []string{"name", "value"}},
	"testcase": {required: []string{"name", "time"}, optional: []string{"classname", "group"},
		kids: []string{"failure", "skipped", "error", "system-out", "system-err"}},
	"failure":    {required: []string{"type"}, optional: []string{"message"}},
	"error":      {required: []string{"type"}, optional: []string{"message"}},
	"skipped":    {optional: []string{"message"}},
	"system-out": {},
	"system-err": {},
}

// surefireTime is the schemas' SUREFIRE_TIME: seconds, at most three
// decimals.
var surefireTime = regexp.MustCompile(`^(([0-9]{0,3},)*[0-9]{3}|[0-9]{0,3})*(\.[0-9]{0,3})?$`)

func checkJUnit(t *testing.T, n *xmlNode, path string) {
	rule, ok := junitRules[n.name]
	if !ok {
		t.Errorf("%s: element <%s> is not in the JUnit schemas", path, n.name)
		return
	}
	for _, a := range rule.required {
		if _, ok := n.attrs[a]; !ok {
			t.Errorf("%s: <%s> lacks the required attribute %s", path, n.name, a)
		}
	}
	for a, v := range n.attrs {
		if !slices.Contains(rule.required, a) && !slices.Contains(rule.optional, a) {
			t.Errorf("%s: <%s> has the attribute %s, which the schemas do not allow", path, n.name, a)
		}
		if a == "time" && !surefireTime.MatchString(v) {
			t.Errorf("%s: time=%q is not SUREFIRE_TIME", path, v)
		}
	}
	last := -1
	for _, k := range n.kids {
		i := slices.Index(rule.kids, k.name)
		if i < 0 {
			t.Errorf("%s: <%s> may not hold <%s>", path, n.name, k.name)
			continue
		}
		if i < last {
			t.Errorf("%s: <%s> comes after an element the schemas put after it", path, k.name)
		}
		last = i
		checkJUnit(t, k, path+"/"+k.name)
	}
	if n.name == "testsuite" {
		count := map[string]int{}
		cases := 0
		for _, c := range n.kids {
			if c.name != "testcase" {
				continue
			}
			cases++
			for _, p := range c.kids {
				count[p.name]++
			}
		}
		for attr, want := range map[string]int{"tests": cases, "failures": count["failure"], "errors": count["error"], "skipped": count["skipped"]} {
			if got, _ := strconv.Atoi(n.attrs[attr]); got != want {
				t.Errorf("%s: %s=%q, but there are %d", path, attr, n.attrs[attr], want)
			}
		}
	}
}

// TestJUnitShape checks the JUnit reports of every case against the
// rules of the common schemas, and that an incomplete run is marked.
func TestJUnitShape(t *testing.T) {
	for _, c := range consumerCases() {
		t.Run(c.name, func(t *testing.T) {
			c.rep.Duration = 1234567 * time.Microsecond
			var b strings.Builder
			if err := (junitReporter{}).Report(&b, c.rep); err != nil {
				t.Fatal(err)
			}
			root := parseXML(t, b.String())
			checkJUnit(t, root, root.name)
			marked := strings.Contains(b.String(), `<property name="incomplete" value="`+c.rep.Incomplete+`"`)
			if marked != (c.rep.Incomplete != "") {
				t.Errorf("incomplete property present: %v, want %v\n%s", marked, c.rep.Incomplete != "", b.String())
			}
		})
	}
}
