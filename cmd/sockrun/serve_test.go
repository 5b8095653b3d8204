package main

import (
	"strings"
	"testing"

	"github.com/sockrun/sockrun/runner"
)

// TestExposed: serve and record warn about an address other machines can
// reach, and only about such.
func TestExposed(t *testing.T) {
	for _, tc := range []struct {
		a    runner.Addr
		warn bool
	}{
		{runner.Addr{Host: "127.0.0.1", Port: 7}, false},
		{runner.Addr{Host: "127.0.0.2", Port: 7}, false},
		{runner.Addr{Host: "::1", Port: 7}, false},
		{runner.Addr{Host: "localhost", Port: 7}, false},
		{runner.Addr{Path: "/tmp/echo.sock"}, false},
		{runner.Addr{Host: "0.0.0.0", Port: 7}, true},
		{runner.Addr{Host: "::", Port: 7}, true},
		{runner.Addr{Host: "192.0.2.1", Port: 7}, true},
		{runner.Addr{Host: "example.org", Port: 7}, true},
	} {
		if got := exposed(tc.a); (got != "") != tc.warn {
			t.Errorf("exposed(%s) = %q, want a warning: %v", tc.a, got, tc.warn)
		}
	}
}

// TestEventLog: bytes only with -v; colour only when asked for; a
// peer's control characters never reach the terminal.
func TestEventLog(t *testing.T) {
	events := []runner.Event{
		{Conn: "echo#1", What: "open from 127.0.0.1:5"},
		{Conn: "echo#1", What: "sent", Data: []byte("hi\x1b[2J"), Size: 6},
		{Conn: "echo#1", What: "received", Data: []byte("hi"), Size: 2},
		{Conn: "echo#1", What: "close\x1b]0;title\a"},
	}
	for _, tc := range []struct {
		verbose, color bool
		lines          int
	}{{false, false, 2}, {true, false, 4}, {true, true, 4}} {
		var b strings.Builder
		l := &eventLog{w: &b, verbose: tc.verbose, color: tc.color}
		for _, ev := range events {
			l.print(ev)
		}
		out := b.String()
		if n := strings.Count(out, "\n"); n != tc.lines {
			t.Errorf("verbose %v: %d lines, want %d:\n%s", tc.verbose, n, tc.lines, out)
		}
		if got := strings.Contains(out, "\x1b[3"); got != tc.color {
			t.Errorf("colour %v: coloured: %v:\n%q", tc.color, got, out)
		}
		if strings.Contains(out, "\x1b[2J") || strings.Contains(out, "\x1b]0") || strings.Contains(out, "\a") {
			t.Errorf("a control sequence reached the log: %q", out)
		}
	}
}
