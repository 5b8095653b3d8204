package runner

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
)

// stopGrace is how long a program has to end after SIGTERM before it gets
// SIGKILL.
const stopGrace = 500 * time.Millisecond

// outputKeep is how much of a program's stdout and stderr is kept at each
// end; the middle of a longer output is dropped.
const outputKeep = 4 << 10

// A proc is a program under test: its leader (the process sockrun
// started, in a process group of its own) and every process descended from it,
// even one that left the session or double-forked (see tree.go). Its
// stdout and stderr are captured into bounded buffers.
type proc struct {
	name string // "server echo", or "run" for a client program
	argv []string
	cmd  *exec.Cmd
	pid  int    // the leader's
	born uint64 // the leader's start time, which tells it from a later process with its pid
	out  *capBuffer
	err  *capBuffer
	// done is closed once the program as a whole has ended: its leader
	// has been reaped, every other process of it has ended, and its
	// output has been read to the end.
	done chan struct{}
	// leaderGone is closed once the leader has been reaped.
	leaderGone chan struct{}

	k         *keeper
	cgroup    string // its cgroup's directory; "" if it has none
	cgroupRel string // that cgroup as /proc/PID/cgroup names it
	wd        int32  // the inotify watch on its cgroup.events
	sb        *sandbox
	markers   []string // environment entries that only its processes carry
	readers   sync.WaitGroup
	pipes     []*os.File // the read ends of stdout and stderr

	eval   sync.Mutex // one evaluation of the rule (tree.go) at a time
	limits Limits     // in force

	mu       sync.Mutex
	state    *os.ProcessState // the leader's
	waitErr  error
	exitedAt time.Time
	stopping bool // sockrun asked it to end
	// readying is true while sockrun waits for a server to serve: a
	// leader that exits 0 meanwhile may have left a daemon to do it.
	readying bool
	target   *target           // where it serves, once it has
	known    map[int]uint64    // without a cgroup: its processes seen, pid -> start time
	reaped   map[int]orphanEnd // its processes that sockrun reaped as subreaper
	holders  map[int]bool      // the processes seen serving once its leader had exited
	watching map[int]func()    // exit watches on holders, and how to stop each
	daemon   bool              // its leader exited 0 while another of its processes served
	ended    bool              // it is over: what is left of it is being ended
	left     []string          // what it left behind: "pid 1234 (redis-server)"
	warning  string            // what could not be done for it, for the test's notes
	finished bool              // done is closed or about to be
}

// An orphanEnd is how a process of a program that sockrun reaped ended.
type orphanEnd struct {
	comm string
	ws   syscall.WaitStatus
}

// A procConfig is what starts a program.
type procConfig struct {
	name  string   // "server echo", or "run"
	argv  []string // the command line
	dir   string   // its working directory; "" is sockrun's
	env   []string // the spec's env: entries
	stdin []byte   // its standard input; nil is /dev/null
	keep  int      // how much of stdout and stderr to keep whole from the start
	hint  string   // added to the message if it cannot be started
	// server says that sockrun will wait for it to serve (waitReady).
	server bool
	opts   *ProgramOptions
	limits Limits // the spec's; over the defaults, under opts.Limits
	ns     *netns // the test's network namespace (--isolate), or nil
}

// startProc starts a program. It returns once the leader runs.
func startProc(c procConfig) (*proc, error) {
	k := getKeeper()
	p := &proc{name: c.name, argv: c.argv, k: k, done: make(chan struct{}), leaderGone: make(chan struct{}),
		out: newCapBuffer(c.keep, outputKeep), err: newCapBuffer(c.keep, outputKeep),
		readying: c.server, known: map[int]uint64{}, reaped: map[int]orphanEnd{},
		holders: map[int]bool{}, watching: map[int]func(){}}
	notStarted := func(err error) (*proc, error) {
		return nil, &ProgramError{Name: c.name, Cmd: strings.Join(c.argv, " "), State: "could not be started: " + err.Error() + c.hint,
			NotStarted: true, Code: -1}
	}
	var u *ProgramUser
	p.limits = DefaultLimits.over(c.limits)
	if c.opts != nil {
		u = c.opts.User
		p.limits = p.limits.over(c.opts.Limits)
	}
	sb, err := newSandbox(u)
	if err != nil {
		return notStarted(fmt.Errorf("its private HOME: %w", err))
	}
	p.sb = sb
	env := sb.environ(c.opts, c.env)
	for _, kv := range env {
		// An orphan sockrun never saw being born still carries these.
		if kv == "HOME="+sb.dir || kv == "TMPDIR="+sb.dir {
			p.markers = append(p.markers, kv)
		}
	}
	outR, outW, err1 := os.Pipe()
	errR, errW, err2 := os.Pipe()
	if err := errors.Join(err1, err2); err != nil {
		sb.remove()
		return notStarted(err)
	}
	p.pipes = []*os.File{outR, errR}
	var stdinW *os.File
	cmd := exec.Command(c.argv[0], c.argv[1:]...)
	cmd.Dir, cmd.Env = c.dir, env
	// The program writes to pipes sockrun reads itself, so that Wait
	// returns when the leader ends, whoever else still holds them.
	cmd.Stdout, cmd.Stderr = outW, errW
	if c.stdin != nil {
		r, w, err := os.Pipe()
		if err != nil {
			closeAll(outR, outW, errR, errW)
			sb.remove()
			return notStarted(err)
		}
		cmd.Stdin, stdinW = r, w
		defer r.Close()
	}
	// A process group of its own, for SIGTERM (not a session: setsid()
	// makes a scheduler autogroup, which doubled the cost of a start).
	// Pdeathsig ends the leader if sockrun dies, even by SIGKILL (see
	// Contain for its descendants).
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if u != nil {
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: u.Uid, Gid: u.Gid, Groups: u.Groups}
	}
	if k.userns != nil {
		cmd.SysProcAttr.Cloneflags = syscall.CLONE_NEWUSER
		cmd.SysProcAttr.UidMappings, cmd.SysProcAttr.GidMappings = k.userns, k.groups
	}
	var cgfd *os.File
	if k.cgroupDir != "" {
		if dir, err := makeCgroup(k.cgroupDir); err == nil {
			if cgfd, err = os.Open(dir); err == nil {
				p.cgroup, p.cgroupRel = dir, k.cgroupRel+"/"+dir[len(k.cgroupDir)+1:]
				cmd.SysProcAttr.UseCgroupFD, cmd.SysProcAttr.CgroupFD = true, int(cgfd.Fd())
			} else {
				removeCgroup(dir)
			}
		}
	}
	k.starting.RLock()
	var limErr error
	start := func(cmd *exec.Cmd) (err, limErr error) {
		// The program is born in the namespace of the thread that forks.
		nerr := inNetns(c.ns, func() error {
			err, limErr = startLimited(cmd, p.limits)
			return nil
		})
		return errors.Join(nerr, err), limErr
	}
	err, limErr = start(cmd)
	if err != nil && p.cgroup != "" {
		// A cgroup sockrun may make but not start a process in (a
		// threaded or misconfigured subtree): track this one instead.
		cmd = rebuild(cmd)
		cmd.SysProcAttr.UseCgroupFD = false
		err, limErr = start(cmd)
		cgfd.Close()
		removeCgroup(p.cgroup)
		p.cgroup, cgfd = "", nil
	}
	if limErr != nil {
		p.warning = "its limits could not be set, and it ran without them: " + limErr.Error()
	}
	if err == nil {
		p.cmd, p.pid = cmd, cmd.Process.Pid
		st, _ := readStat(p.pid, 0)
		p.born = st.start
		p.known[p.pid] = st.start
		k.add(p)
	}
	k.starting.RUnlock()
	if cgfd != nil {
		cgfd.Close()
	}
	outW.Close()
	errW.Close()
	if err != nil {
		closeAll(outR, errR, stdinW)
		if p.cgroup != "" {
			removeCgroup(p.cgroup)
		}
		sb.remove()
		return nil, &ProgramError{Name: c.name, Cmd: strings.Join(c.argv, " "), State: "could not be started: " + startError(err) + c.hint,
			NotStarted: true, Code: -1}
	}
	if p.cgroup != "" {
		if k.watch(p) != nil {
			// Without its events, look for the end as without a cgroup.
			p.cgroup = ""
		}
	}
	if stdinW != nil {
		// Not waited for: the write ends when the program has read it
		// all, or with EPIPE once nothing of the program is left.
		go func() {
			stdinW.Write(c.stdin)
			stdinW.Close()
		}()
	}
	for i, r := range p.pipes {
		dst := []*capBuffer{p.out, p.err}[i]
		p.readers.Add(1)
		go func() {
			defer p.readers.Done()
			io.Copy(dst, r)
		}()
	}
	go func() {
		err := cmd.Wait()
		p.mu.Lock()
		p.state, p.waitErr, p.exitedAt = cmd.ProcessState, err, time.Now()
		p.mu.Unlock()
		k.leaderReaped(p.pid)
		close(p.leaderGone)
		p.changed()
	}()
	return p, nil
}

// rebuild returns a fresh Cmd like c, which has failed to start (a Cmd
// starts once).
func rebuild(c *exec.Cmd) *exec.Cmd {
	n := exec.Command(c.Path, c.Args[1:]...)
	n.Args, n.Dir, n.Env = c.Args, c.Dir, c.Env
	n.Stdin, n.Stdout, n.Stderr = c.Stdin, c.Stdout, c.Stderr
	attr := *c.SysProcAttr
	n.SysProcAttr = &attr
	return n
}

func closeAll(files ...*os.File) {
	for _, f := range files {
		if f != nil {
			f.Close()
		}
	}
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

// exited reports whether the program as a whole has ended.
func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop ends the program and returns once it has ended as a whole. Its
// parts (the leader's process group, and the process groups of the
// processes that serve for it, as a daemon's) get SIGTERM, and SIGKILL
// after a short grace; then every other process of it that is still
// running has been left behind, and is killed.
func (p *proc) stop() {
	p.mu.Lock()
	p.stopping = true
	p.mu.Unlock()
	if p.exited() {
		return
	}
	ms := p.members()
	groups := map[int]bool{p.pid: true}
	for _, m := range ms {
		if m.pgrp != p.pid {
			// A process outside the leader's group may serve for it:
			// look (sock_diag and fds cost more than the list).
			for _, h := range p.servingNow() {
				groups[h.pgrp] = true
			}
			break
		}
	}
	var parts []member
	for _, m := range ms {
		if groups[m.pgrp] {
			parts = append(parts, m)
		}
	}
	p.signal(groups, parts, syscall.SIGTERM)
	if !p.waitFor(parts, stopGrace) {
		p.signal(groups, parts, syscall.SIGKILL)
		p.waitFor(parts, stopGrace)
	}
	p.endRest()
	<-p.done
}

// signal sends sig to the process groups (never sockrun's own) and to
// the processes.
func (p *proc) signal(groups map[int]bool, ps []member, sig syscall.Signal) {
	own := syscall.Getpgrp()
	for g := range groups {
		if g > 1 && g != own {
			signalGroup(g, sig)
		}
	}
	for _, m := range ps {
		if running(m.pid, m.start) {
			syscall.Kill(m.pid, sig)
		}
	}
}

// waitFor waits until the leader has been reaped and the processes have
// ended, or until d has passed; it reports whether they ended.
func (p *proc) waitFor(ps []member, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	left := make(chan struct{}, len(ps))
	for _, m := range ps {
		stop := watchExit(m.pid, m.start, func() { left <- struct{}{} })
		defer stop()
	}
	select {
	case <-p.leaderGone:
	case <-t.C:
		return false
	}
	for range ps {
		select {
		case <-left:
		case <-t.C:
			return false
		}
	}
	return true
}

// crashedWhileStopping returns an error if the program, which sockrun was
// stopping, ended by a signal sockrun never sends: SIGPIPE or SIGSEGV are
// a crash even when they come a moment after the test's last step (a
// server that dies of a client's reset does so a few milliseconds later,
// while another thread still serves).
func (p *proc) crashedWhileStopping() error {
	ws, ok := p.endStatus()
	if !ok || !ws.Signaled() || ws.Signal() == syscall.SIGTERM || ws.Signal() == syscall.SIGKILL {
		return nil
	}
	return p.endingError("during the test")
}

// endStatus is how the program ended: its leader's status, or, if it had
// daemonized, that of the last process that served for it which sockrun
// reaped. ok is false while it runs, or if that is not known.
func (p *proc) endStatus() (syscall.WaitStatus, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.state == nil {
		return 0, false
	}
	ws, ok := p.state.Sys().(syscall.WaitStatus)
	if !p.daemon {
		return ws, ok
	}
	for pid := range p.holders {
		if e, ok := p.reaped[pid]; ok {
			return e.ws, true
		}
	}
	return 0, false
}

// ending returns the program's exit status, or -1 and the signal that
// killed it (see endStatus). It is valid once the program has ended.
func (p *proc) ending() (code int, sig syscall.Signal) {
	ws, ok := p.endStatus()
	switch {
	case !ok:
		return -1, 0
	case ws.Signaled():
		return -1, ws.Signal()
	}
	return ws.ExitStatus(), 0
}

// describe says how the program ended, in plain words.
func (p *proc) describe() string {
	p.mu.Lock()
	daemon, st, err, stopping := p.daemon, p.state, p.waitErr, p.stopping
	p.mu.Unlock()
	if !daemon {
		s := describeExit(st, err)
		if st == nil {
			return s
		}
		if ws, ok := st.Sys().(syscall.WaitStatus); ok {
			if hit := p.limits.limitHit(ws, st.UserTime()+st.SystemTime(), stopping); hit != "" {
				s += ": " + hit
			}
		}
		return s
	}
	if ws, ok := p.endStatus(); ok {
		return "(its leader had left a daemon to serve) " + describeStatus(ws)
	}
	return "(its leader had left a daemon to serve) ended: its daemon is gone"
}

// exitError returns the program's end as an error if it has ended on its
// own, without sockrun asking it to: nil while it runs, or once stop was
// called. The error says how it ended (status or signal, also in its Code
// and Signal fields) and carries its output.
func (p *proc) exitError(when string) *ProgramError {
	p.mu.Lock()
	stopping := p.stopping
	p.mu.Unlock()
	if stopping || !p.exited() {
		return nil
	}
	return p.endingError(when)
}

// endingError says how the program ended, as an error: when says when
// ("during the test").
func (p *proc) endingError(when string) *ProgramError {
	e := &ProgramError{Name: p.name, Cmd: strings.Join(p.argv, " "), State: p.describe(), When: when,
		Output: p.outputTail(p.name), Code: -1}
	if ws, ok := p.endStatus(); ok {
		if ws.Signaled() {
			e.Signal, e.Signaled = ws.Signal(), true
		} else {
			e.Code = ws.ExitStatus()
		}
	}
	return e
}

// notes are what a test's result says of the program, who being its name:
// what it left behind, what could not be done for it.
func (p *proc) notes(who string) []string {
	n := leftNotes(who, p.leftBehind())
	if p.warning != "" {
		n = append(n, who+": "+p.warning)
	}
	return n
}

// leftBehind names the processes the program left running when its
// leader ended, which sockrun then ended: "pid 1234 (redis-server)".
// Complete once done is closed.
func (p *proc) leftBehind() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.left...)
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
	syscall.SIGVTALRM: "SIGVTALRM", syscall.SIGPROF: "SIGPROF", syscall.SIGSTKFLT: "SIGSTKFLT",
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

func describeStatus(ws syscall.WaitStatus) string {
	if ws.Signaled() {
		s := "was killed by signal " + signalName(ws.Signal())
		if ws.CoreDump() {
			s += ", core dumped"
		}
		return s
	}
	return fmt.Sprintf("exited with status %d", ws.ExitStatus())
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
	// Code is its exit status, or -1 if it was killed by a signal, or
	// has not ended.
	Code int
	// Signal is the signal that killed it, or 0.
	Signal syscall.Signal
	left   string // what it left behind, as notes, also in Output
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
