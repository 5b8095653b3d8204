package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestSIGKILLLeavesNothing kills sockrun with SIGKILL in the middle of a
// test, while it runs a daemonized server and a server that left a
// process of its own behind: every process sockrun started, and every
// process those started, must end with it. Without a PID namespace
// (SOCKRUN_CONTAIN=off, as in a container that forbids one), only the
// programs' leaders do: that is the documented fallback, checked too.
func TestSIGKILLLeavesNothing(t *testing.T) {
	for _, contain := range []string{"", "off"} {
		t.Run("contain="+contain, func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, filepath.Join(dir, "spec.yaml"), `
servers:
  a: {behaviour: echo}
  b: {behaviour: echo}
tests:
  - name: waits
    steps: [{connect: a}, {connect: b}, {sleep: 1m}]
`)
			fifo := filepath.Join(dir, "ready")
			if err := syscall.Mkfifo(fifo, 0o600); err != nil {
				t.Fatal(err)
			}
			sockrun := startSockrun(t, dir, contain, "spec.yaml",
				"--run", "a=echoserver {{port}} -bug daemonize -pidfile pids-a",
				"--run", "b=echoserver {{port}} -bug leavesleeper -pidfile pids-b -ready "+fifo)
			awaitLine(t, fifo) // b listens: a's daemon and b's sleeper run
			before := procsIn(dir)
			if len(before) < 4 { // a's daemon, b, b's sleeper, sockrun
				t.Fatalf("running: %v", before)
			}
			t.Logf("killing sockrun; running: %v", before)
			sockrun.Process.Kill()
			sockrun.Wait()
			var pids []int
			if contain == "" {
				for _, p := range before {
					pid, _ := strconv.Atoi(strings.Fields(p)[0])
					pids = append(pids, pid)
				}
			} else {
				// b's leader (the first PID b wrote) had PDEATHSIG; a's
				// daemon and b's sleeper, orphans handed to sockrun, did
				// not, and outlive it.
				b, _ := os.ReadFile(filepath.Join(dir, "pids-b"))
				leader, _ := strconv.Atoi(strings.Fields(string(b))[0])
				pids = []int{leader}
				defer killAll(dir)
			}
			for _, pid := range pids {
				if !exits(pid, 10*time.Second) {
					t.Errorf("pid %d still runs 10s after sockrun was killed (of %v)", pid, before)
				}
			}
		})
	}
}

// TestClientKillsParent: a client under test that kills its parent with
// SIGKILL. Inside sockrun's PID namespace its parent is the namespace's
// init, which the kernel protects from its signal: sockrun goes on, ends
// the client when its step's time is up, and leaves nothing behind.
// Without the namespace sockrun dies, and the other programs it started
// (the client's siblings) die with it.
func TestClientKillsParent(t *testing.T) {
	for _, contain := range []string{"", "off"} {
		t.Run("contain="+contain, func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, filepath.Join(dir, "spec.yaml"), `
servers:
  s: {behaviour: echo}
tests:
  - name: kills its parent
    steps: [{connect: s}, {run: {cmd: killparent -pidfile pids, timeout: 5s}}]
`)
			sockrun := startSockrun(t, dir, contain, "spec.yaml", "--run", "s=echoserver {{port}} -pidfile pids")
			err := sockrun.Wait()
			out := sockrun.Stdout.(*strings.Builder).String()
			if contain == "" {
				if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
					t.Fatalf("sockrun: %v, want exit status 1\n%s", err, out)
				}
				if !strings.Contains(out, "run: the program did not finish within 5s") {
					t.Errorf("the report does not say the client ran out of time:\n%s", out)
				}
				if left := procsIn(dir); len(left) > 0 {
					t.Errorf("left running: %v", left)
				}
				return
			}
			defer killAll(dir)
			if ws, ok := sockrun.ProcessState.Sys().(syscall.WaitStatus); !ok || ws.Signal() != syscall.SIGKILL {
				t.Fatalf("sockrun: %v, want killed by its client\n%s", err, out)
			}
			// The server (its PID is the first in pids) dies with sockrun.
			b, _ := os.ReadFile(filepath.Join(dir, "pids"))
			server, _ := strconv.Atoi(strings.Fields(string(b))[0])
			if !exits(server, 10*time.Second) {
				t.Errorf("the server, pid %d, still runs after its sockrun was killed", server)
			}
		})
	}
}

// startSockrun starts the sockrun command (this test binary) in dir.
func startSockrun(t *testing.T, dir, contain string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command("sockrun", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "SOCKRUN_CONTAIN="+contain, "NO_COLOR=1")
	cmd.Stdout = new(strings.Builder)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd
}

// awaitLine waits for a line from a FIFO (readLine), for up to 10s.
func awaitLine(t *testing.T, fifo string) {
	t.Helper()
	select {
	case err := <-readLine(fifo):
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the program did not listen within 10s")
	}
}

// exits waits up to d for process pid to exit, with a pidfd: no polling.
func exits(pid int, d time.Duration) bool {
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return true // gone already
	}
	defer unix.Close(fd)
	n, _ := unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}, int(d.Milliseconds()))
	return n > 0
}

// killAll ends what a test knowingly left running.
func killAll(dir string) {
	for _, p := range procsIn(dir) {
		pid, _ := strconv.Atoi(strings.Fields(p)[0])
		syscall.Kill(pid, syscall.SIGKILL)
	}
}

// TestNoInheritedFDs: file descriptors sockrun inherited (here a pipe
// and a file, as fds 3 and 4) do not reach the programs it starts, which
// get 0, 1 and 2 only.
func TestNoInheritedFDs(t *testing.T) {
	for _, contain := range []string{"", "off"} {
		t.Run("contain="+contain, func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, filepath.Join(dir, "spec.yaml"), `
tests:
  - name: fds
    steps:
      - run: {cmd: showenv, timeout: 20s, stdout: {regex: '\A((HOME|LANG|PATH|TERM|TMPDIR)=[^\n]*\n)+cwd ok: true\n\z'}}
`)
			r, w, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			defer w.Close()
			f, err := os.Create(filepath.Join(dir, "leak"))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			cmd := exec.Command("sockrun", "spec.yaml")
			cmd.Dir = dir
			cmd.Env = append(os.Environ(), "SOCKRUN_CONTAIN="+contain, "NO_COLOR=1")
			cmd.ExtraFiles = []*os.File{w, f}
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("sockrun: %v\n%s", err, out)
			}
		})
	}
}
