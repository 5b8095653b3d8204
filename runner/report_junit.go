package runner

import (
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"time"
)

type junitReporter struct{ o ReportOptions }

// The shape follows the JUnit XML that Jenkins (its xunit plugin's
// junit-10.xsd) and Maven Surefire (surefire-test-report.xsd) define:
// only the elements and attributes they declare, so that a consumer that
// validates accepts it. junit_test.go checks the shape.
type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name       string           `xml:"name,attr"`
	File       string           `xml:"file,attr"`
	Tests      int              `xml:"tests,attr"`
	Failures   int              `xml:"failures,attr"`
	Errors     int              `xml:"errors,attr"`
	Skipped    int              `xml:"skipped,attr"`
	Time       string           `xml:"time,attr"`
	Timestamp  string           `xml:"timestamp,attr"`
	Properties *junitProperties `xml:"properties,omitempty"`
	Cases      []junitCase      `xml:"testcase"`
}

type junitProperties struct {
	Property []junitProperty `xml:"property"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Skipped   *junitSkipped `xml:"skipped,omitempty"`
	Failure   *junitProblem `xml:"failure,omitempty"`
	Error     *junitProblem `xml:"error,omitempty"`
}

type junitSkipped struct {
	Message string `xml:"message,attr"`
}

type junitProblem struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Body    string `xml:",chardata"`
}

// junitBody is the failure's text, and where it is.
func junitBody(file string, t *TestResult, o ReportOptions) string {
	body := FailureText(t, o)
	if body != "" && !strings.HasSuffix(body, "\n") {
		body += "\n"
	}
	return body + junitWhere(file, t, o)
}

// junitWhere is the last line of a failure's body: where in the spec to
// look, after a space. Neither schema has a file or line attribute on a
// testcase, so CI tools that annotate a line read it from the body: GitHub's
// mikepenz/action-junit-report takes the last " FILE...:LINE" in it, with
// FILE the suite's file attribute. It is the step that failed, or the test
// itself when the test is hidden or the step is in another file.
func junitWhere(file string, t *TestResult, o ReportOptions) string {
	pos := t.Failure.Pos
	if concealed(t, o) || pos.Line == 0 || pos.File != file {
		pos = t.Pos
	}
	if pos.Line == 0 {
		return ""
	}
	return "at " + safeText(pos.String()) + "\n"
}

func secs(d time.Duration) string { return fmt.Sprintf("%.3f", d.Seconds()) }

// Report writes JUnit XML. Wrong behaviour (wrong bytes, timeout, closed
// early) is a <failure>; a test that could not go on (refused, reset, a
// program that crashed, a setup error) is an <error>; a skipped test is a
// <skipped> with the reason. In an incomplete run, the tests that did not
// finish are <error type="interrupted"> ("not run: ..." for those that
// never started), and every suite has the property incomplete, whose
// value says why.
func (r junitReporter) Report(w io.Writer, rep *Report) error {
	out := junitSuites{Name: "sockrun", Time: secs(rep.Duration)}
	for _, f := range rep.Files {
		s := junitSuite{Name: f.Name, File: f.File, Timestamp: rep.Started.UTC().Format("2006-01-02T15:04:05")}
		var props []junitProperty
		if rep.Incomplete != "" {
			props = append(props, junitProperty{Name: "incomplete", Value: rep.Incomplete})
		}
		if sh := rep.Shard.String(); sh != "" {
			props = append(props, junitProperty{Name: "shard", Value: sh})
		}
		if props != nil {
			s.Properties = &junitProperties{props}
		}
		var total time.Duration
		for _, t := range f.Tests {
			total += t.Duration
			c := junitCase{Name: t.Name, Classname: f.Name, Time: secs(t.Duration)}
			if t.Skipped != "" {
				c.Skipped = &junitSkipped{Message: t.Skipped}
				s.Skipped++
			}
			if fl := t.Failure; fl != nil {
				p := &junitProblem{Message: shortReason(t, r.o), Type: string(fl.Kind), Body: junitBody(f.File, t, r.o)}
				if fl.Kind.IsError() {
					c.Error = p
					s.Errors++
				} else {
					c.Failure = p
					s.Failures++
				}
			}
			s.Cases = append(s.Cases, c)
		}
		s.Tests = len(f.Tests)
		s.Time = secs(total)
		out.Tests += s.Tests
		out.Failures += s.Failures
		out.Errors += s.Errors
		out.Suites = append(out.Suites, s)
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(out); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}
