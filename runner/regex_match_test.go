package runner

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestRegexMatcher: the expect's matcher on a buffer that grows read by
// read, as the endpoint gives it, and on whole datagrams.
func TestRegexMatcher(t *testing.T) {
	const more, closed = -1, -2
	for _, tc := range []struct {
		expr  string
		reads []string
		eof   bool
		want  int // bytes consumed, more, closed, or -3-N: a mismatch at byte N
		caps  map[string]string
	}{
		{`\A\xbe\xef`, []string{"\xbe", "\xef!"}, false, 2, nil},
		{`\A\xbe\xef`, []string{"\xbe", "\x00"}, false, -3 - 1, nil},
		{`\A.\z`, []string{"\xc3\xa9"}, false, -3 - 1, nil},
		{`(?s)\A.{12}`, []string{dnsHeader[:5], dnsHeader[5:] + "rest"}, false, 12, nil},
		{`\A.{10}\z`, []string{dnsHeader}, false, -3 - 1, nil}, // . is not the \n at byte 1
		{`(?s)\A.{10}\z`, []string{dnsHeader}, false, -3 - 10, nil},
		{`id=(?P<id>\d+);`, []string{"id=4", "7", "11;more"}, false, 8, map[string]string{"id": "4711"}},
		{`id=(?P<id>\d+);`, []string{"id=4", "7"}, false, more, nil},
		{`id=(?P<id>\d+);`, []string{"id=4", "7"}, true, closed, nil},
		// A match is reported once more bytes could not change it: a
		// greedy repeat at the end waits for the byte that ends it, and
		// $ or \z for the end of the stream. So the same bytes, cut into
		// reads any way, give the same answer and the same capture.
		{`(?P<n>\d+)`, []string{"x1", "2"}, false, more, nil},
		{`(?P<n>\d+)`, []string{"x1", "2", "3y"}, false, 4, map[string]string{"n": "123"}},
		{`(?P<n>\d+)`, []string{"x1", "2"}, true, 3, map[string]string{"n": "12"}},
		{`ok$`, []string{"ok"}, false, more, nil},
		{`ok$`, []string{"ok"}, true, 2, nil},
		{`ok`, []string{"o", "k"}, false, 2, nil},
		{`a|ab`, []string{"a"}, false, 1, nil}, // leftmost-first: a is preferred, final at once
		{`ab|a`, []string{"a"}, false, more, nil},
		{`ab|a`, []string{"a", "c"}, false, 1, nil},
	} {
		m := &regexMatcher{re: mustByteRegexp(tc.expr)}
		var buf []byte
		n, err := 0, errNeedMore
		for i, r := range tc.reads {
			buf = append(buf, r...)
			n, err = m.stream(buf, tc.eof && i == len(tc.reads)-1)
			if err != errNeedMore {
				break
			}
		}
		got := n
		var mm *mismatch
		switch {
		case errors.Is(err, errNeedMore):
			got = more
		case errors.Is(err, errClosedEarly):
			got = closed
		case errors.As(err, &mm):
			got = -3 - mm.offset
		case err != nil:
			t.Errorf("%q on %q: %v", tc.expr, tc.reads, err)
			continue
		}
		if got != tc.want {
			t.Errorf("%q on reads %q: %d (%v), want %d", tc.expr, tc.reads, got, err, tc.want)
		}
		for k, v := range tc.caps {
			if string(m.captured()[k]) != v {
				t.Errorf("%q on %q: captured %q, want %s=%q", tc.expr, tc.reads, m.captured(), k, v)
			}
		}
	}
	m := &regexMatcher{re: mustByteRegexp(`^(?P<n>\xff+)$`)}
	if err := m.whole([]byte("\xff\xff"), "the datagram"); err != nil || string(m.captured()["n"]) != "\xff\xff" {
		t.Errorf("whole datagram: %v, %q", err, m.captured())
	}
	if err := m.whole([]byte("\xff\xfe"), "the datagram"); err == nil {
		t.Error("whole datagram: matched a byte it should not")
	}
}

// TestRegexSpec: in a spec, a regex that cannot work on bytes is a spec
// error at the value's file:line:col, and a double-quoted "\xbe" is the
// byte, as in data.
func TestRegexSpec(t *testing.T) {
	const head = "servers: {e: {behaviour: echo}}\ntests:\n  - name: t\n    steps:\n      - connect: e\n"
	for _, tc := range []struct{ step, want string }{
		{`- expect: {regex: '[é]'}`, "t.yaml:6:25: expect: regex: `[é]`: a class matches one byte, but é is 2 bytes in UTF-8"},
		{`- expect: {regex: '\p{Greek}+'}`, "t.yaml:6:25: expect: regex: `\\p{Greek}`: a class of Unicode characters"},
		{`- expect: {regex: 'a\x{100}'}`, "t.yaml:6:25: expect: regex: `\\x{100}`: not a byte"},
		{`- expect: {regex: '\xff('}`, "t.yaml:6:25: expect: regex: missing closing ): `\\xff(`"},
		{`- expect: {regex: '(?m)^'}`, "t.yaml:6:25: expect: regex: /(?m)^/ matches no bytes at all, so it would always hold"},
		{`- expect: {regex: '[^\x00-\xff]'}`, "t.yaml:6:25: expect: regex: /[^\\x00-\\xff]/ cannot match any bytes"},
		{`- run: {cmd: x, stdout: {regex: '[é]'}}`, "t.yaml:6:39: run: stdout: regex: `[é]`"},
	} {
		_, err := Parse("t.yaml", []byte(head+"      "+tc.step+"\n"), LoadOptions{})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s:\n got %v\nwant %s", tc.step, err, tc.want)
		}
	}
	spec, err := Parse("t.yaml", []byte(head+`      - expect: {regex: "\\A\xbe\xef"}`+"\n"), LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	re := spec.Tests[0].Steps[1].act.(*expectAction).m.(*regexSpec).re
	if loc := re.find([]byte("\xbe\xef")); !slices.Equal(loc, []int{0, 2}) {
		t.Errorf(`double-quoted "\\A\xbe\xef" on the bytes be ef: %v, want [0 2]`, loc)
	}
}

// TestRegexFloodDeadline: a peer floods and the regex never matches; the
// expect ends at its deadline, give or take a slice of matching, however
// slow the regex is per byte. Before, the expect rescanned the whole
// buffer on every read, and a 10s expect took 16.5s.
func TestRegexFloodDeadline(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	defer wg.Wait() // after the listener is closed, below
	defer ln.Close()
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				flood := bytes.Repeat([]byte("lorem ipsum dolor sit amet k=v\n"), 2048)
				for {
					if _, err := c.Write(flood); err != nil {
						return // the client has gone
					}
				}
			}()
		}
	}()
	const timeout = 300 * time.Millisecond
	slow := mustByteRegexp(`(?:\w?){999}(?:\w?){999}Q`) // about 0.1ms a byte: 16 MiB would take half an hour
	inAll, _ := (&unorderedSpec{items: []matchSpec{&regexSpec{re: slow}}}).build(nil)
	for _, tc := range []struct {
		name string
		m    matcher
	}{
		{"a regex", &regexMatcher{re: mustByteRegexp(`(\w+)=(\w+) END`)}},
		{"a slow regex", &regexMatcher{re: slow}},
		{"a slow regex in choose", &anyMatcher{ms: []matcher{&regexMatcher{re: slow}}, chosen: -1}},
		{"a slow regex in unordered", inAll},
	} {
		conn, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		e := newEndpoint(context.Background(), "flood", conn, true, nil)
		start := time.Now()
		err = e.expect(context.Background(), tc.m, timeout)
		took := time.Since(start)
		e.close()
		if !errors.Is(err, os.ErrDeadlineExceeded) && !errors.Is(err, errOverflow) {
			t.Errorf("%s: %v, want a timeout or a full buffer", tc.name, err)
		}
		// The matcher looks at the clock every millisecond or so of work,
		// so it ends a few ms past the deadline; the bound here is issue
		// 9's deadline plus a second, for a loaded machine's scheduler and
		// the race detector. Without the look, a slow regex takes 7s.
		if took > timeout+time.Second {
			t.Errorf("%s: the expect took %v, with a deadline of %v", tc.name, took, timeout)
		}
		t.Logf("%s: ended after %v (deadline %v): %v", tc.name, took.Round(time.Millisecond), timeout, err)
	}
}
