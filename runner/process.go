package runner

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
)

// stopGrace is how long a program has to end after SIGTERM before its
// process group gets SIGKILL.
const stopGrace = 500 * time.Millisecond

// outputKeep is how much of a program's stdout and stderr is kept at each
// end; the middle of a longer output is dropped.
const outputKeep = 4 << 10

// A proc is a program under test: started in a process group of its own,
// its stdout and stderr captured into bounded buffers, and ended with its
// whole group.
type proc struct {
	name string // "server echo", or "run" for a client program
	argv []string
	cmd  *exec.Cmd
	out  *capBuffer
	err  *capBuffer
	done chan struct{} // closed once the program has exited and is reaped

	mu       sync.Mutex
	state    *os.ProcessState
	waitErr  error
	exitedAt time.Time
	stopping bool // sockrun asked it to end
}

// startProc starts argv. stdin, if not nil, is its standard input (else
// /dev/null); keep is how much of stdout and of stderr to keep whole from
// the start; hint is added to the message if it cannot be started.
func startProc(name string, argv []string, dir string, env []string, stdin []byte, keep int, hint string) (*proc, error) {
	p := &proc{name: name, argv: argv, done: make(chan struct{}),
		out: newCapBuffer(keep, outputKeep), err: newCapBuffer(keep, outputKeep)}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = p.out, p.err
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// A grandchild that keeps stdout open must not keep Wait waiting.
	cmd.WaitDelay = stopGrace
	if err := cmd.Start(); err != nil {
		return nil, &ProgramError{Name: name, Cmd: strings.Join(argv, " "), State: "could not be started: " + startError(err) + hint,
			NotStarted: true}
	}
	p.cmd = cmd
	go func() {
		err := cmd.Wait()
		// The leader is reaped; end whatever else is left in its group.
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		p.mu.Lock()
		p.state, p.waitErr, p.exitedAt = cmd.ProcessState, err, time.Now()
		p.mu.Unlock()
		close(p.done)
	}()
	return p, nil
}

func startError(err error) string {
	var ee *exec.Error
	switch {
	case errors.As(err, &ee) && errors.Is(ee.Err, exec.ErrNotFound):
		return fmt.Sprintf("%q was not found (give a path such as ./%s, or put it on $PATH)", ee.Name, ee.Name)
	case errors.Is(err, os.ErrNotExist):
		var pe *os.PathError
		if errors.As(err, &pe) {
			return fmt.Sprintf("%s does not exist", pe.Path)
		}
		return "no such file: " + err.Error()
	case errors.Is(err, os.ErrPermission):
		return "permission denied (is it executable? chmod +x): " + err.Error()
	}
	return err.Error()
}

// cmdline is the program's command line, for reports.
func (p *proc) cmdline() string { return strings.Join(p.argv, " ") }

// exited reports whether the program has ended.
func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop ends the program's process group: SIGTERM, then SIGKILL after a
// short grace. It returns once the program is reaped.
func (p *proc) stop() {
	p.mu.Lock()
	p.stopping = true
	p.mu.Unlock()
	if p.exited() {
		return
	}
	pid := p.cmd.Process.Pid
	syscall.Kill(-pid, syscall.SIGTERM)
	t := time.NewTimer(stopGrace)
	defer t.Stop()
	select {
	case <-p.done:
		return
	case <-t.C:
	}
	syscall.Kill(-pid, syscall.SIGKILL)
	<-p.done // after SIGKILL, Wait returns within WaitDelay
}

// crashedWhileStopping returns an error if the program, which sockrun was
// stopping, ended by a signal sockrun never sends: SIGPIPE or SIGSEGV are
// a crash even when they come a moment after the test's last step (a
// server that dies of a client's reset does so a few milliseconds later,
// while another thread still serves).
func (p *proc) crashedWhileStopping() error {
	p.mu.Lock()
	st := p.state
	p.mu.Unlock()
	if st == nil {
		return nil
	}
	ws, ok := st.Sys().(syscall.WaitStatus)
	if !ok || !ws.Signaled() || ws.Signal() == syscall.SIGTERM || ws.Signal() == syscall.SIGKILL {
		return nil
	}
	return p.endingError("during the test")
}

// endingError says how the program ended, as an error: when says when
// ("during the test").
func (p *proc) endingError(when string) *ProgramError {
	_, sig := p.ending()
	return &ProgramError{Name: p.name, Cmd: strings.Join(p.argv, " "), State: p.describe(),
		When: when, Output: p.outputTail(p.name), Signaled: sig != 0}
}

// ending returns the program's exit status, or -1 and the signal that
// killed it. It is valid once the program has exited.
func (p *proc) ending() (code int, sig syscall.Signal) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.state == nil {
		return -1, 0
	}
	if ws, ok := p.state.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return -1, ws.Signal()
	}
	return p.state.ExitCode(), 0
}

// describe says how the program ended, in plain words.
func (p *proc) describe() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return describeExit(p.state, p.waitErr)
}

func describeExit(st *os.ProcessState, err error) string {
	if st == nil {
		if err != nil {
			return "failed: " + err.Error()
		}
		return "is still running"
	}
	ws, ok := st.Sys().(syscall.WaitStatus)
	switch {
	case ok && ws.Signaled():
		s := "was killed by signal " + signalName(ws.Signal())
		if ws.CoreDump() {
			s += ", core dumped"
		}
		return s
	case st.ExitCode() >= 0:
		return fmt.Sprintf("exited with status %d", st.ExitCode())
	}
	return st.String()
}

// signals names the signals a program under test is likely to die of.
var signals = map[syscall.Signal]string{
	syscall.SIGHUP: "SIGHUP", syscall.SIGINT: "SIGINT", syscall.SIGQUIT: "SIGQUIT",
	syscall.SIGILL: "SIGILL", syscall.SIGTRAP: "SIGTRAP", syscall.SIGABRT: "SIGABRT",
	syscall.SIGBUS: "SIGBUS", syscall.SIGFPE: "SIGFPE", syscall.SIGKILL: "SIGKILL",
	syscall.SIGUSR1: "SIGUSR1", syscall.SIGSEGV: "SIGSEGV", syscall.SIGUSR2: "SIGUSR2",
	syscall.SIGPIPE: "SIGPIPE", syscall.SIGALRM: "SIGALRM", syscall.SIGTERM: "SIGTERM",
	syscall.SIGXCPU: "SIGXCPU", syscall.SIGXFSZ: "SIGXFSZ", syscall.SIGSYS: "SIGSYS",
}

// signalByName finds a signal by its name, with or without SIG.
func signalByName(name string) (syscall.Signal, bool) {
	name = strings.ToUpper(name)
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	for sig, n := range signals {
		if n == name {
			return sig, true
		}
	}
	return 0, false
}

func signalNames() []string {
	var out []string
	for _, n := range signals {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// signalName names a signal as a student reads it in a man page:
// "SIGSEGV (segmentation fault)".
func signalName(sig syscall.Signal) string {
	name, ok := signals[sig]
	if !ok {
		name = fmt.Sprintf("%d", int(sig))
	}
	return name + " (" + sig.String() + ")"
}

// outputTail returns the program's captured output for a report, headed
// by who printed it; empty if it printed nothing.
func (p *proc) outputTail(who string) string {
	var b strings.Builder
	for _, s := range []struct {
		name string
		buf  *capBuffer
	}{{"stdout", p.out}, {"stderr", p.err}} {
		if text := shorten(s.buf.String(), outputKeep); text != "" {
			fmt.Fprintf(&b, "%s %s:\n%s", who, s.name, text)
			if !strings.HasSuffix(text, "\n") {
				b.WriteString("\n")
			}
		}
	}
	return b.String()
}

// shorten keeps the first and last keep bytes of s, for a report.
func shorten(s string, keep int) string {
	if len(s) <= 2*keep+100 {
		return s
	}
	return fmt.Sprintf("%s\n[... %d bytes not shown ...]\n%s", s[:keep], len(s)-2*keep, s[len(s)-keep:])
}

// A ProgramError is a program under test that ended when it should not
// have, or could not start.
type ProgramError struct {
	Name   string // "server echo", or "run" for a client program
	Cmd    string // the command line
	State  string // how it ended: "exited with status 1", "was killed by signal ..."
	When   string // "before it was ready", "during the test", ...
	Output string // the tail of its stdout and stderr
	// TimedOut says it ran out of time (to finish, or to be ready)
	// rather than ended.
	TimedOut bool
	// NotStarted says it could not be started at all: a setup error.
	NotStarted bool
	// Signaled says it was killed by a signal (a crash), rather than
	// exited with a status.
	Signaled bool
}

func (e *ProgramError) Error() string {
	s := e.Name + ": the program " + e.State
	if e.When != "" {
		s += " " + e.When
	}
	return s
}

// A capBuffer keeps the first head and the last tail bytes written to it:
// a program's output, bounded however much it prints.
type capBuffer struct {
	mu      sync.Mutex
	head    []byte
	tail    []byte
	headMax int
	tailMax int
	total   int64
}

func newCapBuffer(head, tail int) *capBuffer {
	return &capBuffer{headMax: head, tailMax: tail}
}

func (c *capBuffer) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.total += int64(len(p))
	n := len(p)
	if room := c.headMax - len(c.head); room > 0 {
		k := min(room, len(p))
		c.head = append(c.head, p[:k]...)
		p = p[k:]
	}
	if len(p) > 0 {
		// Trim only when the tail is twice its size: one copy per tailMax
		// bytes written, not one per write.
		c.tail = append(c.tail, p...)
		if len(c.tail) > 2*c.tailMax {
			c.tail = append(c.tail[:0], c.tail[len(c.tail)-c.tailMax:]...)
		}
	}
	return n, nil
}

// Bytes returns the head, if nothing was dropped, else nil and false.
func (c *capBuffer) Bytes() ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.total > int64(len(c.head)) {
		return c.head, false
	}
	return c.head, true
}

// String returns what was kept, with a note where bytes were dropped.
func (c *capBuffer) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	tail := c.tail
	if len(tail) > c.tailMax {
		tail = tail[len(tail)-c.tailMax:]
	}
	dropped := c.total - int64(len(c.head)) - int64(len(tail))
	if dropped <= 0 {
		return string(c.head) + string(tail)
	}
	return fmt.Sprintf("%s\n[... %d bytes not shown ...]\n%s", c.head, dropped, tail)
}
