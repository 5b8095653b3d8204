package runner

import (
	"strings"
	"testing"
)

func TestTextReportColour(t *testing.T) {
	rep := &Report{Files: []*FileResult{{File: "f.yaml", Name: "f", Tests: []*TestResult{
		{Name: "good", Points: 1, Passed: true},
		{Name: "bad", Points: 1, Failure: &Failure{Kind: KindTimeout, Message: "slow", Offset: -1}},
	}}}}
	for _, colour := range []bool{true, false} {
		var b strings.Builder
		if err := (textReporter{ReportOptions{Color: colour}}).Report(&b, rep); err != nil {
			t.Fatal(err)
		}
		if got := strings.Contains(b.String(), "\x1b["); got != colour {
			t.Errorf("Color: %v, yet escape codes present: %v\n%s", colour, got, b.String())
		}
	}
}

func TestUnknownFormat(t *testing.T) {
	if _, err := NewReporter("xml", ReportOptions{}); err == nil || !strings.Contains(err.Error(), "expected one of: gradescope, json, junit, prairielearn, tap, text") {
		t.Errorf("got %v", err)
	}
}
