package runner

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// With --isolate each test runs in a network namespace of its own, with
// only loopback up: its programs reach nothing else, nothing else reaches
// them, and two tests may use the same fixed port at once. A socket
// belongs to the namespace of the thread that creates it, and a process
// to that of the thread that forks it: so every socket of a test (its
// servers', its connections', readiness's netlink queries) is made, and
// every program started, by a goroutine locked to a thread that has
// entered the test's namespace for that moment (inNetns).

// A netns is a network namespace, held open by a file descriptor.
type netns struct {
	f *os.File
}

type netnsKey struct{}

// withNetns returns ctx carrying ns, for the sockets made under it.
func withNetns(ctx context.Context, ns *netns) context.Context {
	return context.WithValue(ctx, netnsKey{}, ns)
}

// netnsOf returns the namespace ctx carries, or nil.
func netnsOf(ctx context.Context) *netns {
	ns, _ := ctx.Value(netnsKey{}).(*netns)
	return ns
}

// newNetns makes a network namespace with loopback up.
func newNetns() (ns *netns, err error) {
	runtime.LockOSThread()
	home, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		runtime.UnlockOSThread()
		return nil, err
	}
	defer home.Close()
	if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
		runtime.UnlockOSThread()
		return nil, os.NewSyscallError("unshare(CLONE_NEWNET)", err)
	}
	defer func() {
		// A thread that cannot go back is left to die with its goroutine.
		if unix.Setns(int(home.Fd()), unix.CLONE_NEWNET) == nil {
			runtime.UnlockOSThread()
		}
	}()
	f, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		return nil, err
	}
	if err := loopbackUp(); err != nil {
		f.Close()
		return nil, err
	}
	return &netns{f: f}, nil
}

// loopbackUp brings up lo in the calling thread's namespace.
func loopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return os.NewSyscallError("socket", err)
	}
	defer unix.Close(fd)
	var req [40]byte // struct ifreq: name[16], then flags
	copy(req[:], "lo")
	if _, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.SIOCGIFFLAGS, uintptr(unsafe.Pointer(&req[0]))); e != 0 {
		return os.NewSyscallError("ioctl(SIOCGIFFLAGS lo)", e)
	}
	*(*uint16)(unsafe.Pointer(&req[16])) |= unix.IFF_UP
	if _, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.SIOCSIFFLAGS, uintptr(unsafe.Pointer(&req[0]))); e != 0 {
		return os.NewSyscallError("ioctl(SIOCSIFFLAGS lo up)", e)
	}
	return nil
}

func (ns *netns) close() { ns.f.Close() }

// inNetns runs f on a thread that is in ns for the while (f must not
// start goroutines that make sockets, which would run elsewhere). A nil
// ns runs f as it is.
func inNetns(ns *netns, f func() error) error {
	if ns == nil {
		return f()
	}
	runtime.LockOSThread()
	home, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		runtime.UnlockOSThread()
		return err
	}
	defer home.Close()
	if err := unix.Setns(int(ns.f.Fd()), unix.CLONE_NEWNET); err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("entering the test's network namespace: %w", os.NewSyscallError("setns", err))
	}
	defer func() {
		if unix.Setns(int(home.Fd()), unix.CLONE_NEWNET) == nil {
			runtime.UnlockOSThread()
		}
	}()
	return f()
}

// CanIsolate says why --isolate cannot work here, or nil: it takes
// CAP_SYS_ADMIN, which sockrun has as root or as root of the user
// namespace Contain made.
func CanIsolate() error {
	ns, err := newNetns()
	if err != nil {
		if err, ok := err.(*os.SyscallError); ok && err.Err == syscall.EPERM {
			return fmt.Errorf("--isolate: the kernel refused a network namespace (%v): run sockrun as root, "+
				"or where unprivileged user namespaces are allowed (not with SOCKRUN_CONTAIN=off, nor in a container whose seccomp profile forbids them)", err)
		}
		return fmt.Errorf("--isolate: %w", err)
	}
	ns.close()
	return nil
}
