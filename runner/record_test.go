package runner

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"
)

// TestRecordedSteps checks where a recorded session's steps begin and
// end: at a change of direction, at a pause, at every datagram; and how
// each way of closing is written.
func TestRecordedSteps(t *testing.T) {
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	data := func(at int, s side, p string) recEvent {
		return recEvent{at: ms(at), side: s, kind: recData, data: []byte(p)}
	}
	end := func(at int, s side, k recKind) recEvent { return recEvent{at: ms(at), side: s, kind: k} }
	for _, tc := range []struct {
		name   string
		dgram  bool
		cut    bool
		events []recEvent
		want   string
	}{
		{"request and reply, then the client closes", false, false, []recEvent{
			data(0, sideClient, "hel"), data(1, sideClient, "lo\n"), data(2, sideServer, "hello\n"),
			end(3, sideClient, recEOF), end(4, sideServer, recEOF),
		}, `- connect: server
- send: "hello\n"
- expect: "hello\n"
- close:
`},
		{"a pause on one side ends a step", false, false, []recEvent{
			data(0, sideClient, "a"), data(300, sideClient, "b"), data(301, sideServer, "x"), data(302, sideServer, "y"),
		}, `- connect: server
- send: "a"
- send: "b"
- expect: "xy"
`},
		{"the server sends after the client's end of stream: a half-close", false, false, []recEvent{
			data(0, sideClient, "abc"), end(1, sideClient, recEOF), data(2, sideServer, "abc"), end(3, sideServer, recEOF),
		}, `- connect: server
- send: "abc"
- close: {how: write}
- expect: "abc"
- expect: {eof: true}
`},
		{"the server closes first", false, false, []recEvent{
			data(0, sideServer, "bye\n"), end(1, sideServer, recEOF), end(2, sideClient, recEOF),
		}, `- connect: server
- expect: "bye\n"
- expect: {eof: true}
- close:
`},
		{"the client resets", false, false, []recEvent{
			data(0, sideClient, "x"), end(1, sideClient, recReset), data(2, sideServer, "never"),
		}, `- connect: server
- send: "x"
- close: {how: reset}
`},
		{"the server resets", false, false, []recEvent{
			data(0, sideClient, "x"), end(1, sideServer, recReset),
		}, `- connect: server
- send: "x"
# here the server reset the connection
`},
		{"cut by the end of the recording", false, true, []recEvent{
			data(0, sideClient, "x"),
		}, `- connect: server
- send: "x"
# the recording stopped here, with the connection still open
`},
		{"datagrams are one step each", true, true, []recEvent{
			data(0, sideClient, "a"), data(1, sideClient, "b"), data(2, sideServer, "a"), data(3, sideServer, "b"),
		}, `- connect: server
- send: "a"
- send: "b"
- expect: "a"
- expect: "b"
`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &RecordedSession{events: tc.events, Cut: tc.cut}
			var b strings.Builder
			for _, st := range s.steps(!tc.dgram, DefaultPause) {
				b.WriteString(st.yaml(""))
			}
			if got := b.String(); got != tc.want {
				t.Errorf("got\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}

// TestRecordKeepsAtMost: past the recording's limit, a session keeps no
// more bytes (nor the end of its stream), says so once, and its test ends
// with a comment that says so.
func TestRecordKeepsAtMost(t *testing.T) {
	var warned []error
	r := &recorder{limit: 10, o: RecordOptions{Warn: func(err error) { warned = append(warned, err) }}}
	s := &RecordedSession{Peer: "session#1"}
	r.keep(s, sideClient, []byte("12345"))
	r.keep(s, sideServer, []byte("12345"))
	r.keep(s, sideClient, []byte("6"))
	r.keep(s, sideServer, []byte("7"))
	s.add(recEvent{side: sideClient, kind: recEOF})
	if len(s.events) != 2 || !s.Full || len(warned) != 1 {
		t.Fatalf("kept %d events, full %v, %d warnings; want 2, true, 1", len(s.events), s.Full, len(warned))
	}
	var b strings.Builder
	for _, st := range s.steps(true, DefaultPause) {
		b.WriteString(st.yaml(""))
	}
	if want := "- connect: server\n- send: \"12345\"\n- expect: \"12345\"\n# the recording kept no more of this session: it held as much as a spec's data may\n"; b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}

// TestRecordedData checks that recorded bytes are written readably (text
// as text, anything else as hex) and read back as exactly those bytes, in
// a spec that the decoder and the schema both accept.
func TestRecordedData(t *testing.T) {
	sch := compileSchema(t)
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	for _, tc := range []struct {
		data []byte
		hex  bool
	}{
		{[]byte("hello\n"), false},
		{[]byte("bin\x00ary\xff data"), false},
		{[]byte("\x00\x00\x00\x07\x00\xff"), true},
		{all, true},
		{[]byte("port {{port}} and {{ x }}"), true},
		{[]byte(`quotes " and \ backslashes`), false},
		{[]byte("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n  folded: a leading space\r\n\tand a tab\r\n\r\nbody"), false},
		{[]byte(strings.Repeat("a line of text\n", 20)), false},
	} {
		rec := &Recording{Type: Stream, To: "127.0.0.1:1", pause: DefaultPause, Sessions: []*RecordedSession{{
			events: []recEvent{{side: sideClient, kind: recData, data: tc.data}},
		}}}
		src := rec.Spec("data.yaml", "")
		if got := bytes.Contains(src, []byte("{hex:")); got != tc.hex {
			t.Errorf("%q: written as hex: %v, want %v:\n%s", tc.data, got, tc.hex, src)
		}
		spec, err := Parse("rec.yaml", src, LoadOptions{Addrs: map[string]string{RecordedServer: "127.0.0.1:1"}})
		if err != nil {
			t.Fatalf("%q: %v\n%s", tc.data, err, src)
		}
		got, ok := spec.Tests[0].Steps[1].act.(*sendAction).data.static()
		if !ok || !bytes.Equal(got, tc.data) {
			t.Errorf("%q: read back as %q\n%s", tc.data, got, src)
		}
		if err := sch.Validate(asJSON(t, src)); err != nil {
			t.Errorf("%q: the schema rejects it: %v\n%s", tc.data, err, src)
		}
	}
}

// serveSpec serves a spec's built-in servers (Serve, as sockrun serve
// does) until the test ends, and returns the first one's address.
func serveSpec(t *testing.T, src string) Addr {
	t.Helper()
	spec, err := Parse("ref.yaml", []byte(src), LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan Addr, len(spec.Servers))
	done := make(chan error, 1)
	go func() {
		done <- Serve(ctx, spec, ServeOptions{Ready: func(_ string, a Addr) { ready <- a }, Failed: func(error) {}})
	}()
	t.Cleanup(func() { cancel(); <-done })
	select {
	case a := <-ready:
		return a
	case err := <-done:
		t.Fatalf("serve: %v", err)
	}
	return Addr{}
}

// recordInBackground starts Record and returns where it listens, and a
// function that waits for the recording (after stopping it, if stop).
func recordInBackground(t *testing.T, o RecordOptions) (Addr, func(stop bool) *Recording) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	listening := make(chan Addr, 1)
	o.Listening = func(a Addr) { listening <- a }
	o.Warn = func(err error) { t.Errorf("record warns: %v", err) }
	type result struct {
		rec *Recording
		err error
	}
	done := make(chan result, 1)
	go func() {
		rec, err := Record(ctx, o)
		done <- result{rec, err}
	}()
	t.Cleanup(cancel)
	var at Addr
	select {
	case at = <-listening:
	case r := <-done:
		t.Fatalf("record: %v", r.err)
	}
	return at, func(stop bool) *Recording {
		if stop {
			cancel()
		}
		select {
		case r := <-done:
			if r.err != nil {
				t.Fatal(r.err)
			}
			return r.rec
		case <-time.After(10 * time.Second):
			t.Fatal("the recording did not end within 10s")
		}
		return nil
	}
}

// runAgainst runs spec source src with each server given by addrs, and
// returns the report.
func runAgainst(t *testing.T, src []byte, addrs map[string]string) *Report {
	t.Helper()
	spec, err := Parse("run.yaml", src, LoadOptions{Addrs: addrs})
	if err != nil {
		t.Fatalf("%v\n%s", err, src)
	}
	return Run(context.Background(), []*Spec{spec}, Options{Addrs: addrs, Jobs: 1})
}

// failures lists the failures of a report, for messages.
func failures(r *Report) string {
	var b strings.Builder
	for _, f := range r.Files {
		for _, t := range f.Tests {
			if t.Failure != nil {
				fmt.Fprintf(&b, "%s: %s\n", t.Name, FailureText(t, ReportOptions{}))
			}
		}
	}
	return b.String()
}

// TestRecordReplays records a session through the proxy, end to end on
// real sockets, against a scripted server that greets, answers text and
// binary, and says goodbye after the client's half-close. The recorded
// spec passes against that server and fails against one that answers
// differently.
func TestRecordReplays(t *testing.T) {
	const script = `
servers:
  ref:
    behaviour: script
    script:
      - send: "HELLO %s\r\n"
      - expect: {line: "ADD 2 3"}
      - send: "5\n"
      - expect: [{u32: 7}, "\x00\xff"]
      - send: [{u16: 513}, "\x00\x01\xfe"]
      - expect: {eof: true}
      - send: "bye\n"
tests: [{name: unused, steps: [{connect: ref}]}]
`
	ref := serveSpec(t, fmt.Sprintf(script, "sockrun"))
	at, wait := recordInBackground(t, RecordOptions{To: ref.String(), Count: 1})
	client := []byte(`
servers:
  ref: {}
tests:
  - name: talk
    steps:
      - connect: ref
      - expect: "HELLO sockrun\r\n"
      - send: "ADD 2 3\n"
      - expect: "5\n"
      - send: [{u32: 7}, "\x00\xff"]
      - expect: [{u16: 513}, "\x00\x01\xfe"]
      - close: {how: write}
      - expect: "bye\n"
      - expect: {eof: true}
`)
	if rep := runAgainst(t, client, map[string]string{"ref": at.String()}); !rep.Passed() {
		t.Fatalf("the client failed through the proxy:\n%s", failures(rep))
	}
	rec := wait(false) // Count: 1 ends it
	if rec.Stopped != "1 session ended" {
		t.Errorf("stopped: %q, want %q", rec.Stopped, "1 session ended")
	}
	src := rec.Spec("talk.yaml", "sockrun record --to "+ref.String())
	want := `tests:
  - name: session 1
    steps:
      - connect: server
      - expect: "HELLO sockrun\r\n"
      - send: "ADD 2 3\n"
      - expect: "5\n"
      - send: {hex: "00 00 00 07 00 ff"}
      - expect: {hex: "02 01 00 01 fe"}
      - close: {how: write}
      - expect: "bye\n"
      - expect: {eof: true}
`
	if _, tests, _ := strings.Cut(string(src), "\ntests:\n"); "tests:\n"+tests != want {
		t.Errorf("recorded:\n%s\nwant the tests:\n%s", src, want)
	}
	if err := compileSchema(t).Validate(asJSON(t, src)); err != nil {
		t.Errorf("the schema rejects the recording: %v\n%s", err, src)
	}
	if rep := runAgainst(t, src, map[string]string{RecordedServer: ref.String()}); !rep.Passed() {
		t.Errorf("the replay failed against the server it was recorded from:\n%s\n%s", failures(rep), src)
	}
	other := serveSpec(t, fmt.Sprintf(script, "someone else"))
	rep := runAgainst(t, src, map[string]string{RecordedServer: other.String()})
	if rep.Passed() {
		t.Fatalf("the replay passed against a server that greets differently:\n%s", src)
	}
	if f := rep.Files[0].Tests[0].Failure; f.Kind != KindMismatch || f.Pos.Line != strings.Count(string(src[:bytes.Index(src, []byte("HELLO"))]), "\n")+1 {
		t.Errorf("the replay failed with %s at %s, want a mismatch at the greeting's expect:\n%s", f.Kind, f.Pos, failures(rep))
	}
}

// TestRecordDatagrams records a UDP conversation: each datagram one step,
// the recording stopped by cancelling it (Ctrl-C).
func TestRecordDatagrams(t *testing.T) {
	ref := serveSpec(t, "servers: {echo: {type: dgram, behaviour: echo}}\ntests: [{name: unused, steps: [{connect: echo}]}]")
	at, wait := recordInBackground(t, RecordOptions{To: ref.String(), Type: Dgram})
	client := []byte(`
servers:
  echo: {type: dgram}
tests:
  - name: talk
    steps:
      - connect: echo
      - send: "one"
      - expect: "one"
      - send: {hex: "00 01 02 03"}
      - expect: {hex: "00 01 02 03"}
`)
	if rep := runAgainst(t, client, map[string]string{"echo": at.String()}); !rep.Passed() {
		t.Fatalf("the client failed through the proxy:\n%s", failures(rep))
	}
	src := wait(true).Spec("udp.yaml", "")
	want := `tests:
  - name: session 1
    steps:
      - connect: server
      - send: "one"
      - expect: "one"
      - send: {hex: "00 01 02 03"}
      - expect: {hex: "00 01 02 03"}
`
	if _, tests, _ := strings.Cut(string(src), "\ntests:\n"); "tests:\n"+tests != want {
		t.Errorf("recorded:\n%s\nwant the tests:\n%s", src, want)
	}
	if rep := runAgainst(t, src, map[string]string{RecordedServer: ref.String()}); !rep.Passed() {
		t.Errorf("the replay failed against the server it was recorded from:\n%s\n%s", failures(rep), src)
	}
	other := serveSpec(t, `
servers:
  nope:
    type: dgram
    behaviour: script
    script: [{expect: {regex: "(?s).+"}}, {send: "nope"}]
tests: [{name: unused, steps: [{connect: nope}]}]`)
	rep := runAgainst(t, src, map[string]string{RecordedServer: other.String()})
	if f := rep.Files[0].Tests[0].Failure; f == nil || f.Kind != KindMismatch {
		t.Errorf("the replay against a server that answers differently: %v, want a mismatch:\n%s", f, src)
	}
}

// TestRecordStops checks the ways a recording ends by itself, and what
// it refuses.
func TestRecordStops(t *testing.T) {
	ref := serveSpec(t, "servers: {echo: {behaviour: echo}}\ntests: [{name: unused, steps: [{connect: echo}]}]")
	rec, err := Record(context.Background(), RecordOptions{To: ref.String(), Idle: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if rec.Stopped != "idle for 20ms" || len(rec.Sessions) != 0 {
		t.Errorf("stopped %q with %d sessions, want idle for 20ms and none", rec.Stopped, len(rec.Sessions))
	}
	for _, o := range []RecordOptions{
		{To: ref.String(), Type: Dgram, Count: 1},
		{To: "no-port", Type: Stream},
		{To: ref.String(), Type: "raw"},
	} {
		if _, err := Record(context.Background(), o); err == nil {
			t.Errorf("Record(%+v) started", o)
		}
	}
}

// TestRecordCutsOpenSessions: a session still open when the recording
// stops is kept, and its test says so.
func TestRecordCutsOpenSessions(t *testing.T) {
	ref := serveSpec(t, "servers: {echo: {behaviour: echo}}\ntests: [{name: unused, steps: [{connect: echo}]}]")
	at, wait := recordInBackground(t, RecordOptions{To: ref.String()})
	rep := runAgainst(t, []byte(`
servers: {echo: {}}
tests:
  - name: open
    steps: [{connect: echo}, {send: "x"}, {expect: "x"}]
`), map[string]string{"echo": at.String()})
	if !rep.Passed() {
		t.Fatal(failures(rep))
	}
	// The test has ended and closed its connection, so the session may
	// have ended too: record a second one that stays open.
	c, err := net.Dial("tcp", at.String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte("y")); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Read(make([]byte, 1)); err != nil { // the echo came: the proxy has seen both
		t.Fatal(err)
	}
	src := string(wait(true).Spec("cut.yaml", ""))
	if !strings.Contains(src, "  - name: session 2\n    steps:\n      - connect: server\n      - send: \"y\"\n      - expect: \"y\"\n      # the recording stopped here, with the connection still open\n") {
		t.Errorf("the open session is not written as cut:\n%s", src)
	}
}
