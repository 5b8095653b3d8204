package runner

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
	"gopkg.in/yaml.v3"
)

// Limits bound what one program instance may use, each through a
// resource limit (setrlimit) of its processes. A zero field means the
// default (DefaultLimits); Unlimited means none.
type Limits struct {
	// CPU is the CPU time of each of its processes (RLIMIT_CPU): SIGXCPU
	// when it is used up, SIGKILL a second of CPU later.
	CPU time.Duration
	// Memory is the private writable memory (heap, stacks, anonymous
	// maps) of each of its processes (RLIMIT_DATA): allocations past it
	// fail. Not address space (RLIMIT_AS): Go and Java reserve far more
	// of that than they use.
	Memory int64
	// Procs is how many processes its user may have (RLIMIT_NPROC): the
	// kernel counts every process of the user, and never limits root, so
	// it bounds a fork bomb only with --user.
	Procs int64
	// FSize is the largest file it may write (RLIMIT_FSIZE): SIGXFSZ past it.
	FSize int64
}

// Unlimited, as a field of Limits, means no limit.
const Unlimited = -1

// DefaultLimits are the limits of a program that neither its spec nor
// the command line limit: generous for a student's server or client, and
// a bound on a runaway one.
var DefaultLimits = Limits{CPU: 60 * time.Second, Memory: 1 << 30, Procs: 256, FSize: 256 << 20}

// LimitNames are the names of the limits, as specs and --limit give them.
var LimitNames = []string{"cpu", "memory", "procs", "fsize"}

// SetLimit sets the limit called name from its text: a duration for cpu
// ("10s"), a size for memory and fsize ("512MiB", "64MB", "4096"), a
// count for procs; "unlimited" for none.
func (l *Limits) SetLimit(name, value string) error {
	if value == "unlimited" {
		switch name {
		case "cpu":
			l.CPU = Unlimited
		case "memory":
			l.Memory = Unlimited
		case "procs":
			l.Procs = Unlimited
		case "fsize":
			l.FSize = Unlimited
		default:
			return fmt.Errorf("no limit %q; expected one of %s", name, strings.Join(LimitNames, ", "))
		}
		return nil
	}
	switch name {
	case "cpu":
		d, err := time.ParseDuration(value)
		if err != nil || d < time.Second {
			return fmt.Errorf("cpu: found %q, expected a duration of at least 1s, such as 10s, or unlimited", value)
		}
		l.CPU = d
	case "memory", "fsize":
		n, err := parseSize(value)
		if err != nil {
			return fmt.Errorf("%s: %v", name, err)
		}
		if name == "memory" {
			l.Memory = n
		} else {
			l.FSize = n
		}
	case "procs":
		n, err := strconv.ParseInt(value, 10, 64)
		if err != nil || n < 1 {
			return fmt.Errorf("procs: found %q, expected a number of processes, 1 or more, or unlimited", value)
		}
		l.Procs = n
	default:
		return fmt.Errorf("no limit %q; expected one of %s", name, strings.Join(LimitNames, ", "))
	}
	return nil
}

// parseSize reads "512MiB", "64MB", "1GiB", "4096" (bytes).
func parseSize(s string) (int64, error) {
	units := []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"B", 1}, {"", 1}}
	for _, u := range units {
		if num, ok := strings.CutSuffix(s, u.suffix); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(num), 10, 64)
			if err != nil || n < 1 || n > (1<<62)/u.mult {
				break
			}
			return n * u.mult, nil
		}
	}
	return 0, fmt.Errorf("found %q, expected a size such as 512MiB, 64MB or 4096 (bytes), or unlimited", s)
}

// over returns l with the limits o sets in place of l's.
func (l Limits) over(o Limits) Limits {
	if o.CPU != 0 {
		l.CPU = o.CPU
	}
	if o.Memory != 0 {
		l.Memory = o.Memory
	}
	if o.Procs != 0 {
		l.Procs = o.Procs
	}
	if o.FSize != 0 {
		l.FSize = o.FSize
	}
	return l
}

// rlimits are the resource limits that carry l out.
func (l Limits) rlimits() map[int]unix.Rlimit {
	lim := func(n int64) unix.Rlimit {
		if n <= 0 {
			return unix.Rlimit{Cur: unix.RLIM_INFINITY, Max: unix.RLIM_INFINITY}
		}
		return unix.Rlimit{Cur: uint64(n), Max: uint64(n)}
	}
	cpu := lim(int64(l.CPU / time.Second))
	if l.CPU > 0 {
		cpu.Max = cpu.Cur + 1 // SIGXCPU first, which a program may catch; then SIGKILL
	}
	return map[int]unix.Rlimit{unix.RLIMIT_CPU: cpu, unix.RLIMIT_DATA: lim(l.Memory),
		unix.RLIMIT_NPROC: lim(l.Procs), unix.RLIMIT_FSIZE: lim(l.FSize)}
}

// startLimited starts cmd with the limits in force from its first
// instruction: the child stops at exec (ptrace), the limits are set on
// it (prlimit), and it is let go. Setting them after a plain start would
// leave a moment in which the program could fork children beyond them.
// A ptrace request must come from the tracing thread: the one that
// forked.
//
// Without CAP_SYS_RESOURCE (some containers drop it), root cannot set the
// limits of a program run as another user (--user): then it runs without
// them, and limErr says so.
func startLimited(cmd *exec.Cmd, l Limits) (err, limErr error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	cmd.SysProcAttr.Ptrace = true
	if err := cmd.Start(); err != nil {
		return err, nil
	}
	pid := cmd.Process.Pid
	// Look without reaping: if it died, os/exec's Wait must find it.
	var info unix.Siginfo
	for {
		err := unix.Waitid(unix.P_PID, pid, &info, unix.WSTOPPED|unix.WEXITED|unix.WNOWAIT|unix.WALL, nil)
		if err != syscall.EINTR {
			break
		}
	}
	const cldTrapped = 4 // CLD_TRAPPED: a ptrace stop
	if info.Code != cldTrapped {
		return nil, nil // it died at exec; Wait will say how
	}
	var ws syscall.WaitStatus
	syscall.Wait4(pid, &ws, syscall.WALL, nil) // the stop itself
	for res, rl := range l.rlimits() {
		if e := unix.Prlimit(pid, res, &rl, nil); e != nil && limErr == nil {
			limErr = os.NewSyscallError("prlimit", e)
		}
	}
	syscall.PtraceDetach(pid)
	return nil, limErr
}

// limitHit names the limit a program ran into, from how it ended, for
// its failure: "it used its 10s of CPU time (limits: cpu)"; "" if none.
func (l Limits) limitHit(ws syscall.WaitStatus, cpu time.Duration, stopping bool) string {
	switch {
	case !ws.Signaled():
	case ws.Signal() == syscall.SIGXCPU, ws.Signal() == syscall.SIGKILL && !stopping && l.CPU > 0 && cpu >= l.CPU:
		return fmt.Sprintf("it used its %s of CPU time (limits: cpu)", l.CPU)
	case ws.Signal() == syscall.SIGXFSZ:
		return fmt.Sprintf("it wrote a file past its %s (limits: fsize)", sizeText(l.FSize))
	}
	return ""
}

// sizeText writes a size as a limit is written.
func sizeText(n int64) string {
	for _, u := range []struct {
		s string
		m int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if n >= u.m && n%u.m == 0 {
			return fmt.Sprintf("%d%s", n/u.m, u.s)
		}
	}
	return fmt.Sprintf("%d bytes", n)
}

// limitsSchema is the schema of a limits: mapping.
func limitsSchema() js {
	size := described(anyOf(strSchema(), intSchema(1, 1<<62)), `a size: 512MiB, 64MB, 4096 (bytes), or "unlimited"`)
	return described(object(js{
		"cpu":    described(strSchema(), `CPU time, a duration of 1s or more, or "unlimited" (default 60s)`),
		"memory": described(size, "private writable memory (default 1GiB)"),
		"procs":  described(anyOf(intSchema(1, 1<<31), strSchema()), `processes of its user, or "unlimited" (default 256)`),
		"fsize":  described(size, "the largest file it may write (default 256MiB)"),
	}), "resource limits of each process of the program")
}

// limits decodes a limits: mapping: {cpu: 10s, memory: 512MiB, procs: 64,
// fsize: 64MiB}.
func (d *decoder) limits(n *yaml.Node, what string) Limits {
	var l Limits
	pairs, _ := d.mapping(n, what, LimitNames...)
	for _, p := range pairs {
		if s, ok := d.str(p.val, what+": "+p.name); ok {
			if err := l.SetLimit(p.name, s); err != nil {
				d.errorf(p.val, "%s: %v", what, err)
			}
		}
	}
	return l
}
