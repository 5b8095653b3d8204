package runner

import (
	"encoding/xml"
	"fmt"
	"io"
	"time"
)

type junitReporter struct{ o ReportOptions }

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
	Name      string      `xml:"name,attr"`
	File      string      `xml:"file,attr"`
	Tests     int         `xml:"tests,attr"`
	Failures  int         `xml:"failures,attr"`
	Errors    int         `xml:"errors,attr"`
	Time      string      `xml:"time,attr"`
	Timestamp string      `xml:"timestamp,attr"`
	Cases     []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	File      string        `xml:"file,attr,omitempty"`
	Line      int           `xml:"line,attr,omitempty"`
	Time      string        `xml:"time,attr"`
	Failure   *junitProblem `xml:"failure,omitempty"`
	Error     *junitProblem `xml:"error,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitProblem struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Body    string `xml:",chardata"`
}

func secs(d time.Duration) string { return fmt.Sprintf("%.3f", d.Seconds()) }

// Report writes JUnit XML. Wrong behaviour (wrong bytes, timeout, closed
// early) is a <failure>; a test that could not go on (refused, reset, a
// program that crashed, a setup error) is an <error>.
func (r junitReporter) Report(w io.Writer, rep *Report) error {
	out := junitSuites{Name: "sockrun", Time: secs(rep.Duration)}
	for _, f := range rep.Files {
		s := junitSuite{Name: f.Name, File: f.File, Timestamp: rep.Started.UTC().Format("2006-01-02T15:04:05")}
		var total time.Duration
		for _, t := range f.Tests {
			total += t.Duration
			c := junitCase{Name: t.Name, Classname: f.Name, File: t.Pos.File, Line: t.Pos.Line, Time: secs(t.Duration)}
			if fl := t.Failure; fl != nil {
				p := &junitProblem{Message: fl.Kind.Describe() + ": " + fl.Message, Type: string(fl.Kind), Body: FailureText(t, r.o)}
				if concealed(t, r.o) {
					p.Message = fl.Kind.Describe() + " (hidden test)"
				}
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
