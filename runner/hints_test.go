package runner

import (
	"slices"
	"strings"
	"testing"
)

// Each mistake gets one error, at the mistake, saying what to write; none
// of the steps after it adds an error of its own.
func TestOneErrorPerMistake(t *testing.T) {
	if !slices.Equal(stepOptions(connectStep), []string{"to", "as", "tls"}) {
		t.Errorf("connect's options from its forms: %q", stepOptions(connectStep))
	}
	const head = "servers:\n  echo: {behaviour: echo}\ntests:\n"
	for _, tc := range []struct {
		name, tests string
		want        []string
	}{
		{"unknown server, then steps on its connection",
			"  - name: t\n    steps:\n      - connect: ehco\n      - send: hi\n      - expect: hi\n      - close:\n",
			[]string{`6:18: connect: unknown server "ehco" (did you mean "echo"?); expected one of the file's servers: echo`}},
		{"unknown server under a name, then steps on it",
			"  - name: t\n    steps:\n      - connect: {to: nope, as: c}\n      - send: {data: hi, on: c}\n      - close: c\n",
			[]string{`6:23: connect: unknown server "nope"; expected one of the file's servers: echo`}},
		{"connect without to:",
			"  - name: t\n    steps:\n      - connect: {as: c}\n      - send: hi\n",
			[]string{`6:18: connect: needs to: NAME, the server to connect to`}},
		{"a good connect after a bad one is used",
			"  - name: t\n    steps:\n      - connect: nope\n      - connect: echo\n      - send: {data: hi, on: nope}\n      - send: {data: hi, on: other}\n",
			[]string{`6:18: connect: unknown server "nope"`, `9:30: send: on: unknown connection "other"; expected one opened by an earlier connect: echo`}},
		{"an option under the step, not in its mapping",
			"  - name: t\n    steps:\n      - connect: echo\n      - send: hi\n        chunks: 2\n",
			[]string{`8:9: "chunks" is an option of send, so it goes in send's mapping: SEND_FORM`}},
		{"an option beside the step in a flow mapping",
			"  - name: t\n    steps: [{connect: echo, as: e}, {send: hi}]\n",
			[]string{`5:29: "as" is an option of connect, so it goes in connect's mapping: CONNECT_FORM`}},
		{"a list where a name or a mapping belongs",
			"  - name: t\n    steps:\n      - connect: [echo]\n      - send: hi\n",
			[]string{`6:18: connect: found a list, expected a string; write CONNECT_FORMS`}},
		{"options written as a plain value",
			"  - name: t\n    steps:\n      - connect: to: echo\n",
			[]string{`6:20: YAML: a plain value cannot hold ": "; connect's options go in a mapping: CONNECT_FORM`}},
		{"a step at the column of the tests' dash",
			"  - name: t\n    steps:\n      - connect: echo\n  - send: hi\n  - expect: hi\n",
			[]string{`7:5: "send" is a step, but its "-" lines up with the tests' (column 3), so it reads as a test of its own; indent it to column 7 to line up with the steps of test "t" (line 6)`}},
		{"steps not indented under steps:",
			"- name: t\n  steps:\n- connect: echo\n- send: hi\n",
			[]string{`6:3: "connect" is a step, but its "-" lines up with the tests' (column 1), so it reads as a test of its own; indent the steps under steps: of test "t" (line 5) to column 5 or more`}},
		{"a step where the first test belongs",
			"  - connect: echo\n  - name: t\n    steps: [{connect: echo}]\n",
			[]string{`4:5: "connect" is a step, but its "-" lines up with the tests' (column 3), so it reads as a test of its own; steps go in a test's steps: list (- name: NAME, then steps: below it)`}},
	} {
		_, err := Parse("t.yaml", []byte(head+tc.tests), LoadOptions{})
		got := SpecErrors(err)
		if len(got) != len(tc.want) {
			t.Errorf("%s: got %d errors, want %d:\n%v", tc.name, len(got), len(tc.want), err)
			continue
		}
		// The forms come from the step table, as the messages take them.
		forms := strings.NewReplacer("CONNECT_FORMS", strings.Join(connectStep.forms, " or "),
			"CONNECT_FORM", mappingForm(connectStep), "SEND_FORM", mappingForm(sendStep))
		for i, e := range got {
			want := forms.Replace(tc.want[i])
			if s := strings.TrimPrefix(e.Error(), "t.yaml:"); !strings.HasPrefix(s, want) {
				t.Errorf("%s:\n got %s\nwant %s", tc.name, s, want)
			}
		}
	}
}
