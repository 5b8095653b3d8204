package runner

import (
	"bytes"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"
)

// RecordedServer is the name of the server in a recorded spec.
const RecordedServer = "server"

// Spec writes the recording as a spec: one server, with neither
// behaviour nor run (the command line gives it: --addr or --run), and one
// test per session, in the order the clients came. file is where it
// will be written (its base name is the spec's name); command, if set,
// the command line that recorded it, for the header.
//
// The client's bytes are sends, the server's expects. A step ends where
// the other side speaks, or where its side paused (RecordOptions.Pause);
// a datagram is a step of its own. Text is written as a double-quoted
// string with escapes, anything else as {hex: ...}. An end of stream is a
// close (a half-close, close: {how: write}, when the server still sent
// after it), or an expect of eof; a reset a close: {how: reset}.
func (r *Recording) Spec(file, command string) []byte {
	var b bytes.Buffer
	stream := r.Type != Dgram
	var tests [][]recStep
	slowest := time.Duration(0)
	for _, s := range r.Sessions {
		steps := s.steps(stream, r.pause)
		for _, st := range steps {
			slowest = max(slowest, st.wait)
		}
		tests = append(tests, steps)
	}
	if command != "" {
		fmt.Fprintf(&b, "# Recorded by: %s\n#\n", command)
	}
	fmt.Fprintf(&b, `# Replay it against the server it was recorded from:
#   sockrun %[3]s --addr %[1]s=%[2]s
# or against a program under test, which sockrun starts and stops:
#   sockrun %[3]s --run %[1]s='./my_server {{port}}'
#
# Each test is one session as it was recorded: the client's bytes are
# sends, the server's are expects. A reply that changes from run to run
# (a time, an id, a counter) fails the replay until it is masked in its
# expect: {any: N} matches any N bytes, as in
#   expect: ["id=", {any: 8}, "\n"]
# and a regex matches what varies in length, as in
#   expect: {regex: "id=[0-9]+\n"}
`, RecordedServer, r.To, file)
	name := strings.TrimSuffix(filepath.Base(file), filepath.Ext(file))
	if !plainName.MatchString(name) || slices.Contains([]string{"true", "false", "null", "yes", "no", "on", "off"}, strings.ToLower(name)) {
		name = quote([]byte(name))
	}
	fmt.Fprintf(&b, "name: %s\n", name)
	if slowest > DefaultTimeout/2 {
		// Leave the slowest reply twice the time it took, in whole
		// seconds.
		t := (2*slowest + time.Second - 1).Truncate(time.Second)
		fmt.Fprintf(&b, "timeout: %s  # the slowest reply took %s\n", t, slowest.Round(time.Millisecond))
	}
	fmt.Fprintf(&b, "\nservers:\n  %s:\n    type: %s\n\ntests:\n", RecordedServer, r.Type)
	for i, steps := range tests {
		fmt.Fprintf(&b, "  - name: session %d\n    steps:\n", i+1)
		for _, st := range steps {
			b.WriteString(st.yaml("      "))
		}
	}
	return b.Bytes()
}

// plainName matches a name that YAML reads as a string without quotes.
var plainName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.-]*$`)

// A recStep is one step of a recorded test.
type recStep struct {
	kind string // connect, send, expect, eof, close, or # (a comment)
	data []byte // send and expect; the text of a comment
	how  string // close: "", write or reset
	wait time.Duration
}

// steps turns a session's events into steps.
func (s *RecordedSession) steps(stream bool, pause time.Duration) []recStep {
	out := []recStep{{kind: "connect"}}
	var cur *recStep
	var curSide side
	var last time.Duration // when the current step's last bytes came
	prev := time.Duration(-1)
	flush := func() {
		if cur != nil {
			out = append(out, *cur)
			cur = nil
		}
	}
	for i, ev := range s.events {
		switch ev.kind {
		case recData:
			if stream && cur != nil && curSide == ev.side && ev.at-last < pause {
				cur.data = append(cur.data, ev.data...)
				last = ev.at
				break
			}
			flush()
			cur = &recStep{kind: "send", data: append([]byte(nil), ev.data...)}
			if ev.side == sideServer {
				cur.kind = "expect"
				if prev >= 0 {
					cur.wait = ev.at - prev
				}
			}
			curSide, last = ev.side, ev.at
			if !stream {
				flush()
			}
		case recEOF:
			flush()
			if ev.side == sideServer {
				out = append(out, recStep{kind: "eof"})
				break
			}
			if !serverSendsAfter(s.events[i+1:]) {
				// Nothing came after: whether the client closed or
				// only half-closed, a full close replays it.
				return append(out, recStep{kind: "close"})
			}
			out = append(out, recStep{kind: "close", how: "write"})
		case recReset:
			flush()
			if ev.side == sideClient {
				return append(out, recStep{kind: "close", how: "reset"})
			}
			return append(out, recStep{kind: "#", data: []byte("here the server reset the connection")})
		}
		prev = ev.at
	}
	flush()
	if s.Full {
		return append(out, recStep{kind: "#", data: []byte("the recording kept no more of this session: it held as much as a spec's data may")})
	}
	if s.Cut && stream {
		out = append(out, recStep{kind: "#", data: []byte("the recording stopped here, with the connection still open")})
	}
	return out
}

// serverSendsAfter reports whether the server sent bytes among evs.
func serverSendsAfter(evs []recEvent) bool {
	for _, ev := range evs {
		if ev.side == sideServer && ev.kind == recData {
			return true
		}
	}
	return false
}

// yaml writes the step as an item of a steps: list, at indent.
func (st recStep) yaml(indent string) string {
	switch st.kind {
	case "connect":
		return indent + "- connect: " + RecordedServer + "\n"
	case "eof":
		return indent + "- expect: {eof: true}\n"
	case "close":
		if st.how == "" {
			return indent + "- close:\n"
		}
		return indent + "- close: {how: " + st.how + "}\n"
	case "#":
		return indent + "# " + string(st.data) + "\n"
	}
	return indent + "- " + st.kind + ": " + recordedData(st.data, indent+"    ") + "\n"
}

// recordedData writes bytes as DATA: text as a double-quoted string
// (escapes for the bytes that are not printable), broken after each
// newline when it is long; anything else as {hex: ...}, 16 bytes a line.
// Continuation lines start at indent. Text that holds a placeholder
// ({{port}}) is written as hex, which is never filled in.
func recordedData(p []byte, indent string) string {
	if !textual(p) || placeholderRE.Match(p) {
		var h strings.Builder
		h.WriteString(`{hex: "`)
		for i, c := range p {
			switch {
			case i == 0:
			case i%16 == 0 && len(p) > 16:
				// A line break in a double-quoted string folds into
				// a space, which hex allows.
				h.WriteString("\n" + indent)
			default:
				h.WriteByte(' ')
			}
			fmt.Fprintf(&h, "%02x", c)
		}
		h.WriteString(`"}`)
		return h.String()
	}
	lines := bytes.SplitAfter(p, []byte("\n"))
	if len(p) <= 60 || len(lines) < 2 {
		return quote(p)
	}
	var q strings.Builder
	q.WriteByte('"')
	for i, line := range lines {
		if len(line) == 0 {
			continue
		}
		s := quote(line)
		s = s[1 : len(s)-1]
		if i > 0 {
			// An escaped line break joins the lines and drops the next
			// line's leading blanks, so a leading space is escaped.
			q.WriteString("\\\n" + indent)
			if s[0] == ' ' {
				s = `\x20` + s[1:]
			}
		}
		q.WriteString(s)
	}
	q.WriteByte('"')
	return q.String()
}

// textual reports whether p reads as text: at least 3 bytes in 4 are
// printable ASCII, a newline, a carriage return or a tab.
func textual(p []byte) bool {
	n := 0
	for _, c := range p {
		if (c >= 0x20 && c < 0x7f) || c == '\n' || c == '\r' || c == '\t' {
			n++
		}
	}
	return 4*n >= 3*len(p)
}
