package runner

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"syscall"

	"golang.org/x/sys/unix"
)

// containEnv tells a sockrun whether it runs inside the PID namespace
// Contain made ("inner"), or must not make one ("off").
const containEnv = "SOCKRUN_CONTAIN"

// Contain makes every program sockrun starts, and every process those
// start, end when sockrun ends, even if sockrun is killed with SIGKILL:
// it runs sockrun again as the first process (init) of a new PID
// namespace, with a /proc of its own, and waits for it. When a
// namespace's init ends, the kernel kills every other process in it; and
// this init is killed when the sockrun that made it ends (PDEATHSIG).
// Inside, a program cannot signal sockrun (to its init, the kernel drops
// any signal it has no handler for) nor see processes outside.
//
// main calls it first. In the outer sockrun it returns the inner one's
// exit status and contained true: main exits with it. In the inner
// sockrun, or where no namespace can be made, it returns contained
// false, and main goes on. A PID namespace needs CAP_SYS_ADMIN, or an
// unprivileged user namespace (then each program runs in a user
// namespace of its own, as the user who ran sockrun); where neither is
// allowed (a
// container's default seccomp profile), sockrun runs as it is, and only
// the programs' leaders die with it (see the README). SOCKRUN_CONTAIN=off
// asks for that.
func Contain() (status int, contained bool) {
	switch os.Getenv(containEnv) {
	case "inner":
		if err := enterInner(); err != nil {
			fmt.Fprintf(os.Stderr, "sockrun: inside its PID namespace: %v\n", err)
			return 2, true
		}
		return 0, false
	case "off":
		return 0, false
	}
	// The signal that ends the inner sockrun is sent when the thread that
	// started it ends: this one, kept until the process exits.
	runtime.LockOSThread()
	alive, keep, err := os.Pipe()
	if err != nil {
		return 0, false
	}
	defer keep.Close()
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT)
	defer signal.Stop(sigs)
	var cmd *exec.Cmd
	for _, userns := range []bool{false, true} {
		cmd = innerCommand(alive, userns)
		if err = cmd.Start(); err == nil {
			break
		}
	}
	alive.Close()
	if err != nil {
		return 0, false // run as we are
	}
	done := make(chan struct{})
	go func() {
		for {
			select {
			case sig := <-sigs:
				// A Ctrl-C at a terminal reaches both; a signal sent to
				// this one is passed on.
				cmd.Process.Signal(sig)
			case <-done:
				return
			}
		}
	}()
	err = cmd.Wait()
	close(done)
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, true
	case errors.As(err, &ee):
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal()), true
		}
		return ee.ExitCode(), true
	}
	fmt.Fprintf(os.Stderr, "sockrun: %v\n", err)
	return 2, true
}

// innerCommand is this sockrun again, in new PID and mount namespaces
// (and a user namespace, for a sockrun that is not privileged). alive is
// the read end of a pipe the outer sockrun holds the other end of.
func innerCommand(alive *os.File, userns bool) *exec.Cmd {
	// By its path, so that ps names it; /proc/self/exe if that is gone.
	exe, err := os.Executable()
	if _, serr := os.Stat(exe); err != nil || serr != nil {
		exe = "/proc/self/exe"
	}
	cmd := exec.Command(exe, os.Args[1:]...)
	cmd.Args[0] = os.Args[0]
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.ExtraFiles = []*os.File{alive} // fd 3
	cmd.Env = append(os.Environ(), containEnv+"=inner")
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWPID | syscall.CLONE_NEWNS}
	if userns {
		cmd.SysProcAttr.Cloneflags |= syscall.CLONE_NEWUSER
		cmd.SysProcAttr.UidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getuid(), Size: 1}}
		cmd.SysProcAttr.GidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getgid(), Size: 1}}
	}
	return cmd
}

// enterInner sets up the inner sockrun: it dies with the outer one, and
// mounts a /proc of its namespace (where sockrun reads its programs'
// processes by the PIDs it sees), privately, so that the host's is
// untouched.
func enterInner() error {
	os.Unsetenv(containEnv)
	if err := unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(syscall.SIGKILL), 0, 0, 0); err != nil {
		return os.NewSyscallError("prctl(PR_SET_PDEATHSIG)", err)
	}
	// The outer sockrun may have died before that: then the pipe it
	// holds reads as ended.
	alive := os.NewFile(3, "alive")
	syscall.SetNonblock(3, true)
	if _, err := alive.Read(make([]byte, 1)); err == nil || !errors.Is(err, syscall.EAGAIN) {
		os.Exit(137)
	}
	alive.Close()
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return os.NewSyscallError("mount / private", err)
	}
	if err := unix.Mount("proc", "/proc", "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		return os.NewSyscallError("mount /proc", err)
	}
	return nil
}

// userNamespaceRoot returns the user ID sockrun has outside when it is
// root of a user namespace it made (the unprivileged way in): then each
// program gets a user namespace of its own where it is that user again,
// with no capabilities over sockrun's namespaces (it could otherwise
// remount /proc under sockrun). ok is false for real root, or outside.
func userNamespaceRoot() (uid, gid int, ok bool) {
	read := func(file string) (int, bool) {
		b, err := os.ReadFile(file)
		if err != nil {
			return 0, false
		}
		var inside, outside, size uint64
		if n, _ := fmt.Sscan(string(b), &inside, &outside, &size); n != 3 || size == 4294967295 || inside != 0 {
			return 0, false
		}
		return int(outside), true
	}
	if os.Getuid() != 0 {
		return 0, 0, false
	}
	uid, ok1 := read("/proc/self/uid_map")
	gid, ok2 := read("/proc/self/gid_map")
	return uid, gid, ok1 && ok2
}
