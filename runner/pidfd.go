package runner

import (
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// watchExit calls f once, when process pid (started at start) has exited,
// or at once if it has already. It uses a pidfd in Go's poller, so that
// waiting costs no thread, whoever the process's parent is. stop, called
// before then, cancels the call.
func watchExit(pid int, start uint64, f func()) (stop func()) {
	fd, err := unix.PidfdOpen(pid, unix.PIDFD_NONBLOCK)
	if err != nil || !running(pid, start) {
		// Gone already, or a kernel before 5.3: then look every 10ms.
		if err == nil {
			syscall.Close(fd)
		} else if err != syscall.ESRCH && running(pid, start) {
			return pollExit(pid, start, f)
		}
		go f()
		return func() {}
	}
	file := os.NewFile(uintptr(fd), "pidfd")
	rc, err := file.SyscallConn()
	if err != nil {
		file.Close()
		return pollExit(pid, start, f)
	}
	go func() {
		var exited bool
		// A pidfd reads as ready once its process has exited.
		err := rc.Read(func(fd uintptr) bool {
			n, _ := unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}, 0)
			exited = n > 0
			return exited
		})
		file.Close()
		if err == nil && exited {
			f()
		}
	}()
	return func() { file.Close() }
}

func pollExit(pid int, start uint64, f func()) (stop func()) {
	quit := make(chan struct{})
	go func() {
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for running(pid, start) {
			select {
			case <-quit:
				return
			case <-t.C:
			}
		}
		f()
	}()
	return func() { close(quit) }
}
