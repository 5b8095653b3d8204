package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

// TestMain makes the test binary double as sockrun and as the programs
// under test the scripts grade, so that the scripts need nothing but Go.
func TestMain(m *testing.M) {
	cmds := map[string]func(){
		"sockrun": main,
	}
	for name, prog := range programs() {
		cmds[name] = prog
	}
	testscript.Main(m, cmds)
}

// TestScripts runs every script in testdata/scripts: one user-visible
// behaviour each. UPDATE_GOLDEN=1 rewrites their cmp files in place.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 "../../testdata/scripts",
		RequireExplicitExec: true,
		RequireUniqueNames:  true,
		UpdateScripts:       os.Getenv("UPDATE_GOLDEN") != "",
		Setup: func(env *testscript.Env) error {
			// Keep reports free of colour and of clock times.
			env.Setenv("NO_COLOR", "1")
			env.Setenv("SOURCE_DATE_EPOCH", "1767225600")
			// Under -race, every program this test binary plays would
			// sleep a second as it exits (the race detector's default
			// atexit_sleep_ms), and a client's run step would count it.
			env.Setenv("GORACE", "atexit_sleep_ms=0")
			env.Setenv("SOCKRUN_PASSENV", "GORACE")    // to programs, whose environment is clean
			env.Values[bgKey{}] = map[string]*bgProc{} // start and stop's
			// The course exercises, so that scripts grade programs with them.
			specs, err := filepath.Abs("../../specs")
			env.Setenv("SPECS", specs)
			// Programs run as another user (--user) must reach their
			// binaries and their HOME, under $TMPDIR in $WORK.
			os.Chmod(filepath.Dir(env.WorkDir), 0o711)
			os.Chmod(filepath.Dir(filepath.SplitList(os.Getenv("PATH"))[0]), 0o711)
			return err
		},
		Condition: func(cond string) (bool, error) {
			switch cond {
			case "race":
				return raceDetector, nil
			case "root":
				return os.Geteuid() == 0, nil
			case "ipv6":
				ln, err := net.Listen("tcp6", "[::1]:0")
				if err != nil {
					return false, nil
				}
				ln.Close()
				return true, nil
			}
			return false, fmt.Errorf("unknown condition %q", cond)
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"noprocs":   cmdNoProcs,
			"servedial": cmdServeDial,
			"mkfifo":    cmdMkfifo,
			"readfifo":  cmdReadFIFO,
			"interrupt": cmdInterrupt,
			"bgstart":   cmdStart,
			"bgstop":    cmdStop,
		},
	})
}

// cmdNoProcs fails if a process is left that sockrun started, or that a
// program it started started: any process still running whose working
// directory is the script's $WORK (or below), where sockrun runs its
// programs. PIDs would not do: a program under test sees those of
// sockrun's PID namespace. With PIDFILE, it also checks that the programs
// did run: they write their PIDs there.
func cmdNoProcs(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) > 1 {
		ts.Fatalf("usage: noprocs [PIDFILE]")
	}
	if len(args) == 1 && strings.TrimSpace(ts.ReadFile(args[0])) == "" {
		ts.Fatalf("%s is empty: the programs did not run", args[0])
	}
	alive := procsIn(ts.Getenv("WORK"))
	if (len(alive) > 0) != neg {
		ts.Fatalf("processes still alive: %v", alive)
	}
}

// procsIn lists the running processes (not zombies) whose working
// directory is dir or below it, as "PID (NAME)".
func procsIn(dir string) []string {
	var alive []string
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		cwd, err := os.Readlink(fmt.Sprintf("/proc/%d/cwd", pid))
		if err != nil || (cwd != dir && !strings.HasPrefix(cwd, dir+"/")) {
			continue
		}
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		s := string(stat)
		open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if open < 0 || end+2 >= len(s) || s[end+2] == 'Z' {
			continue
		}
		alive = append(alive, fmt.Sprintf("%d (%s)", pid, s[open+1:end]))
	}
	return alive
}

// cmdMkfifo makes a FIFO: a program under test writes to it once it
// listens, and readfifo waits for that without polling.
func cmdMkfifo(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 {
		ts.Fatalf("usage: mkfifo PATH")
	}
	ts.Check(syscall.Mkfifo(ts.MkAbs(args[0]), 0o600))
}

// cmdReadFIFO blocks until a line can be read from the FIFO args[0], and
// gives up after 10s.
func cmdReadFIFO(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 {
		ts.Fatalf("usage: readfifo PATH")
	}
	done := readLine(ts.MkAbs(args[0]))
	select {
	case err := <-done:
		ts.Check(err)
	case <-time.After(10 * time.Second):
		ts.Fatalf("nothing was written to %s within 10s", args[0])
	}
}

// readLine reads one line from the FIFO at path, in the background: the
// open blocks until a writer comes. The channel gets the outcome.
func readLine(path string) <-chan error {
	done := make(chan error, 1)
	go func() {
		f, err := os.Open(path)
		if err == nil {
			_, err = bufio.NewReader(f).ReadString('\n')
			f.Close()
		}
		done <- err
	}()
	return done
}

// cmdServeDial runs 'sockrun serve SPEC', reads the address it prints,
// sends args[1] and expects it back, then interrupts it with SIGINT and
// checks that it exits 0: serve end to end, with no sleep.
func cmdServeDial(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: servedial SPEC MESSAGE")
	}
	cmd := exec.Command("sockrun", "serve", args[0])
	cmd.Dir = ts.Getenv("WORK")
	cmd.Env = os.Environ()
	out, err := cmd.StdoutPipe()
	ts.Check(err)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	ts.Check(cmd.Start())
	defer cmd.Process.Kill()
	sc := bufio.NewScanner(out)
	if !sc.Scan() {
		ts.Fatalf("serve printed no address; stderr: %s", stderr.String())
	}
	line := sc.Text()
	ts.Logf("serve: %s", line)
	f := strings.Fields(line)
	if len(f) != 3 {
		ts.Fatalf("serve printed %q, expected NAME NETWORK ADDRESS", line)
	}
	c, err := net.DialTimeout(f[1], f[2], 2*time.Second)
	ts.Check(err)
	c.SetDeadline(time.Now().Add(2 * time.Second))
	_, err = c.Write([]byte(args[1]))
	ts.Check(err)
	got := make([]byte, len(args[1]))
	_, err = io.ReadFull(c, got)
	ts.Check(err)
	c.Close()
	if string(got) != args[1] {
		ts.Fatalf("echo: got %q, want %q", got, args[1])
	}
	fmt.Fprintf(ts.Stdout(), "%s %s echoed %q\n", f[0], f[1], got)
	ts.Check(cmd.Process.Signal(os.Interrupt))
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			ts.Fatalf("serve after SIGINT: %v; stderr: %s", err, stderr.String())
		}
	case <-time.After(5 * time.Second):
		ts.Fatalf("serve did not exit within 5s of SIGINT")
	}
}

// cmdInterrupt runs 'sockrun ARGS...' in $WORK with the script's
// environment, waits until a program it started writes to the FIFO
// args[2], sends sockrun the signal args[0] (INT or TERM), and checks that
// it exits with status args[1] within 10s. What sockrun printed becomes
// the command's stdout and stderr, for cmp and friends.
func cmdInterrupt(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 4 || args[3] != "sockrun" || neg {
		ts.Fatalf("usage: interrupt INT|TERM STATUS FIFO sockrun ARGS...")
	}
	sig := map[string]os.Signal{"INT": os.Interrupt, "TERM": syscall.SIGTERM}[args[0]]
	want, err := strconv.Atoi(args[1])
	if sig == nil || err != nil {
		ts.Fatalf("usage: interrupt INT|TERM STATUS FIFO sockrun ARGS...")
	}
	cmd := exec.Command("sockrun", args[4:]...)
	cmd.Dir = ts.Getenv("WORK")
	cmd.Env = os.Environ()
	for _, k := range []string{"PATH", "HOME", "TMPDIR", "NO_COLOR", "SOURCE_DATE_EPOCH"} {
		cmd.Env = append(cmd.Env, k+"="+ts.Getenv(k))
	}
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	ts.Check(cmd.Start())
	defer cmd.Process.Kill()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	fifo := ts.MkAbs(args[2])
	// unblock ends the reader below if nobody ever writes: a FIFO opened
	// for writing and closed gives it end of file.
	unblock := func() {
		if f, err := os.OpenFile(fifo, os.O_RDWR, 0); err == nil {
			f.Close()
		}
	}
	ready := readLine(fifo)
	select {
	case err := <-ready:
		ts.Check(err)
	case err := <-done:
		unblock()
		ts.Fatalf("sockrun ended before the program was ready: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	case <-time.After(10 * time.Second):
		unblock()
		ts.Fatalf("nothing was written to %s within 10s", args[2])
	}
	ts.Check(cmd.Process.Signal(sig))
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		ts.Fatalf("sockrun did not exit within 10s of SIG%s", args[0])
	}
	fmt.Fprint(ts.Stdout(), stdout.String())
	fmt.Fprint(ts.Stderr(), stderr.String())
	if got := cmd.ProcessState.ExitCode(); got != want {
		ts.Fatalf("sockrun exited %d after SIG%s, want %d", got, args[0], want)
	}
}
