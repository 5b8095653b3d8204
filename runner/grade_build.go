package runner

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// A Build is how a submission's build went.
type Build struct {
	Cmd string // the command, as run
	// Output is what it printed, stdout and stderr as they came: the
	// first and last buildKeep bytes of it (a compiler's first errors
	// and its last words are what a student needs).
	Output string
	// Err says why the build failed ("exit status 2", "timed out after
	// 2m0s"); empty when it succeeded.
	Err      string
	Duration time.Duration
}

const buildKeep = 8 << 10

// build runs argv in dir, with timeout, in a process group of its own
// that is killed whole when it times out or ctx is cancelled, and when it
// ends (a make that left a server running must not outlive its build).
func build(ctx context.Context, dir string, argv []string, timeout time.Duration) *Build {
	if timeout <= 0 {
		timeout = DefaultBuildTimeout
	}
	b := &Build{Cmd: strings.Join(argv, " ")}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	out := &headTail{}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	// A grandchild that keeps the output pipe open must not keep Wait
	// waiting once the build is over.
	cmd.WaitDelay = time.Second
	start := time.Now()
	err := cmd.Start()
	if err == nil {
		err = cmd.Wait()
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	b.Duration = time.Since(start)
	b.Output = out.String()
	switch {
	case err == nil:
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		b.Err = fmt.Sprintf("%s timed out after %s", b.Cmd, timeout)
	case ctx.Err() != nil:
		b.Err = fmt.Sprintf("%s was interrupted", b.Cmd)
	case cmd.ProcessState == nil:
		b.Err = fmt.Sprintf("%s could not be started: %v", b.Cmd, unwrapPath(err))
	default:
		b.Err = fmt.Sprintf("%s: %v", b.Cmd, err)
	}
	return b
}

// unwrapPath drops the path error's repetition of the command's name.
func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	var ee *exec.Error
	if errors.As(err, &ee) {
		return ee.Err
	}
	return err
}

// headTail keeps the first and the last buildKeep bytes written to it.
type headTail struct {
	mu   sync.Mutex
	head []byte
	tail []byte // a ring would save copies; build output is small
	cut  int    // bytes dropped between head and tail
}

func (h *headTail) Write(p []byte) (int, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := len(p)
	if room := buildKeep - len(h.head); room > 0 {
		k := min(room, len(p))
		h.head = append(h.head, p[:k]...)
		p = p[k:]
	}
	h.tail = append(h.tail, p...)
	if over := len(h.tail) - buildKeep; over > 0 {
		h.cut += over
		h.tail = append(h.tail[:0], h.tail[over:]...)
	}
	return n, nil
}

func (h *headTail) String() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.cut == 0 {
		return string(h.head) + string(h.tail)
	}
	return fmt.Sprintf("%s\n... (%d bytes cut) ...\n%s", h.head, h.cut, h.tail)
}
