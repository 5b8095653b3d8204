package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"

	"github.com/sockrun/sockrun/runner"
)

// serve runs a spec's built-in servers until interrupted: their addresses
// on stdout, one line each (NAME NETWORK ADDRESS, for scripts), and what
// their clients do on stderr, live.
func serve(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("sockrun serve")
	var lf loadFlags
	lf.register(fs)
	var names list
	fs.Var(&names, "server", "serve only server NAME")
	verbose := fs.Bool("v", false, "log every byte")
	files, err := parse(fs, args)
	if err != nil {
		return usageError(stderr, err)
	}
	if len(files) != 1 {
		return usageError(stderr, errors.New("serve: expected exactly one spec file"))
	}
	specs, code := load(files, lf, stderr)
	if code != exitPass {
		return code
	}
	log := newEventLog(stderr, *verbose)
	err = runner.Serve(ctx, specs[0], runner.ServeOptions{
		Names: names,
		Ready: func(name string, a runner.Addr) {
			if ca := a.Files["ca"]; ca != "" {
				// A TLS server: a client poked by hand needs its CA.
				fmt.Fprintf(stdout, "%s %s %s ca=%s\n", name, a.Network, a, ca)
			} else {
				fmt.Fprintf(stdout, "%s %s %s\n", name, a.Network, a)
			}
			if warning := exposed(a); warning != "" {
				log.note(fmt.Sprintf("warning: server %s %s", name, warning))
			}
		},
		Failed: func(err error) { log.note(err.Error()) },
		Log:    log.print,
	})
	if err != nil {
		return usageError(stderr, err)
	}
	return exitPass
}

// exposed says, when a is reachable from other machines, so: built-in
// servers and the recording proxy are for tests, not for a network.
func exposed(a runner.Addr) string {
	if a.Path != "" || a.Host == "localhost" {
		return ""
	}
	ip := net.ParseIP(a.Host)
	if ip != nil && ip.IsLoopback() {
		return ""
	}
	return fmt.Sprintf("listens on %s, which is not a loopback address: other machines can reach it", a)
}

// An eventLog prints events live on a terminal or a log, one line each,
// from any goroutine: without -v the connections as they come and go,
// with -v every byte too.
type eventLog struct {
	mu      sync.Mutex
	w       io.Writer
	color   bool
	verbose bool
}

func newEventLog(w io.Writer, verbose bool) *eventLog {
	return &eventLog{w: w, color: colorful(w), verbose: verbose}
}

// ANSI colours of the live log: the client's bytes, the server's, and
// the connections' comings and goings.
const (
	ansiClient = "\x1b[36m" // cyan
	ansiServer = "\x1b[32m" // green
	ansiConn   = "\x1b[1m"  // bold
	ansiWarn   = "\x1b[33m" // yellow
	ansiReset  = "\x1b[0m"
)

func (l *eventLog) print(ev runner.Event) {
	bytes := ev.What == "sent" || ev.What == "received"
	if bytes && !l.verbose {
		return
	}
	color := ansiConn
	switch ev.What {
	case "sent":
		color = ansiClient
	case "received":
		color = ansiServer
	}
	l.line(color, runner.EventText(ev))
}

// note prints a message of sockrun's own among the events.
func (l *eventLog) note(msg string) { l.line(ansiWarn, "sockrun: "+msg) }

func (l *eventLog) line(color, s string) {
	// Lines may come from a peer; a terminal must not take them as
	// commands (EventText escapes the bytes themselves).
	s = strings.Map(func(r rune) rune {
		if r < 0x20 && r != '\t' || r == 0x7f {
			return '?'
		}
		return r
	}, s)
	if l.color {
		s = color + s + ansiReset
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintln(l.w, s)
}
