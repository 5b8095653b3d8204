package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

// bgKey keys a script's background processes in its Values.
type bgKey struct{}

// A bgProc is a sockrun that a script started in the background, with
// what it has printed so far.
type bgProc struct {
	cmd  *exec.Cmd
	done chan struct{} // closed once it has exited and its output is read

	mu      sync.Mutex
	stdout  strings.Builder
	stderr  strings.Builder
	lines   []string      // of both, in the order read
	changed chan struct{} // closed when a line comes, then renewed
}

func (p *bgProc) add(line string, to *strings.Builder) {
	p.mu.Lock()
	defer p.mu.Unlock()
	to.WriteString(line + "\n")
	p.lines = append(p.lines, line)
	close(p.changed)
	p.changed = make(chan struct{})
}

// cmdStart runs 'sockrun ARGS...' in the background, in $WORK with the
// script's environment, and waits (10s at most) until a line of its
// stdout or stderr matches REGEX: a server is listening. NAME becomes a
// variable holding the regex's first group (an address), and the name of
// the process for bgstop. A process not stopped is killed when the script
// ends.
//
//	bgstart NAME REGEX sockrun ARGS...
func cmdStart(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 3 || args[2] != "sockrun" || neg {
		ts.Fatalf("usage: bgstart NAME REGEX sockrun ARGS...")
	}
	name := args[0]
	re, err := regexp.Compile(args[1])
	ts.Check(err)
	procs := ts.Value(bgKey{}).(map[string]*bgProc)
	if procs[name] != nil {
		ts.Fatalf("%s is started already", name)
	}
	p := &bgProc{cmd: exec.Command("sockrun", args[3:]...), done: make(chan struct{}), changed: make(chan struct{})}
	p.cmd.Dir = ts.Getenv("WORK")
	p.cmd.Env = os.Environ()
	for _, k := range []string{"PATH", "HOME", "TMPDIR", "NO_COLOR", "SOURCE_DATE_EPOCH"} {
		p.cmd.Env = append(p.cmd.Env, k+"="+ts.Getenv(k))
	}
	stdout, err := p.cmd.StdoutPipe()
	ts.Check(err)
	stderr, err := p.cmd.StderrPipe()
	ts.Check(err)
	ts.Check(p.cmd.Start())
	procs[name] = p
	var readers sync.WaitGroup
	for _, r := range []struct {
		pipe io.Reader
		to   *strings.Builder
	}{{stdout, &p.stdout}, {stderr, &p.stderr}} {
		readers.Go(func() {
			sc := bufio.NewScanner(r.pipe)
			for sc.Scan() {
				p.add(sc.Text(), r.to)
			}
		})
	}
	go func() {
		// Every read must end before Wait closes the pipes.
		readers.Wait()
		p.cmd.Wait()
		close(p.done)
	}()
	ts.Defer(func() {
		p.cmd.Process.Kill()
		<-p.done
	})
	deadline := time.After(10 * time.Second)
	for seen := 0; ; {
		p.mu.Lock()
		lines, changed := p.lines[seen:], p.changed
		p.mu.Unlock()
		for _, line := range lines {
			if m := re.FindStringSubmatch(line); m != nil {
				ts.Setenv(name, m[len(m)-1])
				return
			}
		}
		seen += len(lines)
		select {
		case <-changed:
		case <-p.done:
			ts.Fatalf("sockrun ended before printing a line that matches %q\nstdout:\n%s\nstderr:\n%s", re, p.stdout.String(), p.stderr.String())
		case <-deadline:
			ts.Fatalf("sockrun printed no line that matches %q within 10s", re)
		}
	}
}

// cmdStop ends a process that bgstart started: with SIGINT or SIGTERM, or
// by waiting for it to end by itself (wait), 10s at most. It checks the
// exit status, and makes what the process printed the command's stdout
// and stderr, for cmp and friends.
//
//	bgstop NAME INT|TERM|wait STATUS
func cmdStop(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 3 || neg {
		ts.Fatalf("usage: bgstop NAME INT|TERM|wait STATUS")
	}
	p := ts.Value(bgKey{}).(map[string]*bgProc)[args[0]]
	want, err := strconv.Atoi(args[2])
	if p == nil || err != nil {
		ts.Fatalf("usage: bgstop NAME INT|TERM|wait STATUS, for a NAME that bgstart started")
	}
	switch args[1] {
	case "INT":
		ts.Check(p.cmd.Process.Signal(os.Interrupt))
	case "TERM":
		ts.Check(p.cmd.Process.Signal(syscall.SIGTERM))
	case "wait":
	default:
		ts.Fatalf("usage: bgstop NAME INT|TERM|wait STATUS")
	}
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		ts.Fatalf("sockrun did not end within 10s")
	}
	fmt.Fprint(ts.Stdout(), p.stdout.String())
	fmt.Fprint(ts.Stderr(), p.stderr.String())
	if got := p.cmd.ProcessState.ExitCode(); got != want {
		ts.Fatalf("sockrun exited %d, want %d", got, want)
	}
}
