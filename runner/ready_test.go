package runner

import (
	"net"
	"os"
	"os/exec"
	"runtime"
	"syscall"
	"testing"
)

// TestReadinessOwnsTheSocket: a socket listening on the program's port is
// not the program serving, unless the program's process group holds it.
// (Two sockruns at once may pick the same port.)
func TestReadinessOwnsTheSocket(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("readiness reads /proc/net on Linux only")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	a := Addr{Network: "tcp", Host: "127.0.0.1", Port: ln.Addr().(*net.TCPAddr).Port}
	inodes := procNetSockets(a)
	if len(inodes) != 1 {
		t.Fatalf("found %d listening sockets on port %d, want 1", len(inodes), a.Port)
	}
	if !holds(os.Getpid(), inodes) {
		t.Fatal("the test process holds its own listener, but holds says no")
	}
	stranger := exec.Command("sleep", "10")
	stranger.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := stranger.Start(); err != nil {
		t.Skip("no sleep program:", err)
	}
	defer stranger.Wait()
	defer stranger.Process.Kill()
	if groupHolds(stranger.Process.Pid, inodes) {
		t.Error("another process's listener was taken for the program's")
	}

	// A Unix socket: the same.
	path := t.TempDir() + "/s.sock"
	ul, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer ul.Close()
	uinodes := procNetSockets(Addr{Network: "unix", Path: path})
	if len(uinodes) != 1 || !holds(os.Getpid(), uinodes) || groupHolds(stranger.Process.Pid, uinodes) {
		t.Errorf("unix: inodes %v", uinodes)
	}
}
