package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unsafe"
)

// programs are the programs under test that the scripts grade: a correct
// version of each exercise and, with -bug NAME, one classic bug each.
// They behave like the C programs students hand in.
func programs() map[string]func() {
	return map[string]func(){
		"echoserver": echoServer,
		"udpecho":    udpEchoServer,
		"sumserver":  sumServer,
		"echoclient": echoClient,
		"udpclient":  udpClient,
		"catprog":    catProg,
		"tlsclient":  tlsClient,
		"tlsserver":  tlsServer,
		"sleeper":    sleeper,
		"dieby":      dieByName,
		"catserver":  confServer,
		"dualecho":   dualEcho,
		"argsprog": func() {
			for _, a := range os.Args[1:] {
				fmt.Println(a)
			}
		},
		// waitready FIFO: a client that says through FIFO that it runs,
		// then waits to be stopped: a test that is surely running.
		"waitready": func() {
			readyFIFO = os.Args[1]
			listening()
			time.Sleep(time.Hour)
		},
		"detach":         detach,
		"showenv":        func() { fmt.Print(envReport()) },
		"showenv-server": showEnvServer,
		"killparent":     killParent,
		"prying":         prying,
		"cpuburn":        cpuBurn,
		"bigfile":        bigFile,
		"ifaces":         ifaces,
		"bounded":        bounded,
		"spawntree":      spawnTree,
		"memhog":         memHog,
	}
}

// sleeper sleeps for an hour: a background process a program leaves.
func sleeper() { time.Sleep(time.Hour) }

// detach runs its arguments as a program in a session of its own and
// exits at once, without waiting: the second fork of a daemon, whose
// child is handed to a subreaper (or init) when detach exits. With
// -pidfile FILE first, it appends the child's PID to FILE.
func detach() {
	args := os.Args[1:]
	pidfile := ""
	if len(args) > 2 && args[0] == "-pidfile" {
		pidfile, args = args[1], args[2:]
	}
	if len(args) < 1 {
		die("usage: detach [-pidfile FILE] PROGRAM [ARG...]")
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		die("detach: %v", err)
	}
	if pidfile != "" {
		appendPID(pidfile, cmd.Process.Pid)
	}
}

// envReport lists the program's environment, sorted, then the file
// descriptors it inherited beyond 0-2, as "fd N: TARGET" (the Go
// runtime's own epoll, eventfd and cgroup CPU limit files, and the
// directory being read, are left out), then whether it has a working
// directory.
func envReport() string {
	var b strings.Builder
	env := os.Environ()
	slices.Sort(env)
	for _, kv := range env {
		fmt.Fprintln(&b, kv)
	}
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		die("%v", err)
	}
	for _, e := range ents {
		fd, _ := strconv.Atoi(e.Name())
		target, _ := os.Readlink("/proc/self/fd/" + e.Name())
		if fd <= 2 || target == "" || strings.HasPrefix(target, "anon_inode:") ||
			strings.HasPrefix(target, "/proc/") || strings.HasPrefix(target, "/sys/fs/cgroup/") {
			continue
		}
		fmt.Fprintf(&b, "fd %d: %s\n", fd, target)
	}
	wd, _ := os.Getwd()
	fmt.Fprintln(&b, "cwd ok:", wd != "")
	return b.String()
}

// showEnvServer sends each client its envReport, taken at start (before
// it has sockets of its own), and closes.
func showEnvServer() {
	report := envReport()
	addr, bug := progFlags("showenv-server")
	ln := listen(addr, bug)
	acceptClients(ln, bug, func(c net.Conn) {
		c.Write([]byte(report))
		c.Close()
	})
}

// prying is a client that says who it runs as, then tries what a program
// run as another user must not do: read the file args[1] (a spec kept
// private), signal the process that started it; and whether its HOME is
// its own.
func prying() {
	fmt.Println("uid", os.Getuid())
	if _, err := os.ReadFile(os.Args[1]); err != nil {
		fmt.Println("read spec:", err)
	} else {
		fmt.Println("read spec: ok")
	}
	fmt.Println("signal parent:", syscall.Kill(os.Getppid(), 0))
	var st syscall.Stat_t
	if err := syscall.Stat(os.Getenv("HOME"), &st); err != nil {
		fmt.Println("HOME:", err)
	} else {
		fmt.Println("HOME owned by", st.Uid)
	}
}

// cpuBurn spins for ever, on 8 threads: on a loaded machine more
// threads get more of the CPU, so that its CPU limit comes in seconds of
// wall time, not minutes. With -c it dies of SIGXCPU as a C program does;
// Go's runtime ignores the signal.
func cpuBurn() {
	if len(os.Args) > 1 && os.Args[1] == "-c" {
		defaultAction(syscall.SIGXCPU)
	}
	runtime.GOMAXPROCS(8)
	for range 7 {
		go func() {
			for {
			}
		}()
	}
	for {
	}
}

// bigFile writes a file of 1 MiB chunks until something stops it. With
// -c it dies of SIGXFSZ as a C program does; Go's runtime ignores the
// signal, and the write fails with EFBIG.
func bigFile() {
	if os.Args[1] == "-c" {
		defaultAction(syscall.SIGXFSZ)
		os.Args = os.Args[1:]
	}
	f, err := os.Create(os.Args[1])
	if err != nil {
		die("%v", err)
	}
	chunk := make([]byte, 1<<20)
	for {
		if _, err := f.Write(chunk); err != nil {
			die("write: %v", err)
		}
	}
}

// bounded runs a command and checks how it went: bounded SECONDS MIB
// STATUS PROG ARG... runs PROG, passing its output through, and exits 0
// if it exited with STATUS within SECONDS of wall time and its largest
// process (itself, or any it or its children reaped: every program under
// test) peaked under MIB MiB of RSS; otherwise it says which bound broke
// and exits 1. A script runs it with exec, never "! exec".
func bounded() {
	if len(os.Args) < 5 {
		die("usage: bounded SECONDS MIB STATUS PROG [ARG...]")
	}
	secs, _ := strconv.ParseFloat(os.Args[1], 64)
	mib, _ := strconv.ParseInt(os.Args[2], 10, 64)
	want, _ := strconv.Atoi(os.Args[3])
	cmd := exec.Command(os.Args[4], os.Args[5:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		die("bounded: %v", err)
	}
	cmd.Wait()
	took := time.Since(start)
	peak := cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss / 1024 // KiB to MiB
	ok := true
	if got := cmd.ProcessState.ExitCode(); got != want {
		fmt.Fprintf(os.Stderr, "bounded: %s exited with status %d, want %d\n", os.Args[4], got, want)
		ok = false
	}
	if took > time.Duration(secs*float64(time.Second)) {
		fmt.Fprintf(os.Stderr, "bounded: %s took %s, over its bound of %gs\n", os.Args[4], took.Round(time.Millisecond), secs)
		ok = false
	}
	if peak >= mib {
		fmt.Fprintf(os.Stderr, "bounded: its largest process peaked at %d MiB, over its bound of %d MiB\n", peak, mib)
		ok = false
	}
	if !ok {
		os.Exit(1)
	}
}

// spawnTree DEPTH [-exit] starts two copies of itself with one level
// less, the second of each pair in a session of its own, waits until each
// says it is up (with its whole subtree), says "up" itself, and sleeps, or
// with -exit exits: a tree of 2^DEPTH-1 processes, some of which have left
// the program's session.
func spawnTree() {
	depth, _ := strconv.Atoi(os.Args[1])
	if depth > 1 {
		for i := range 2 {
			cmd := exec.Command("spawntree", strconv.Itoa(depth-1))
			cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: i == 1}
			out, err := cmd.StdoutPipe()
			if err == nil {
				err = cmd.Start()
			}
			if err != nil {
				die("spawntree: %v", err)
			}
			if _, err := bufio.NewReader(out).ReadString('\n'); err != nil {
				die("spawntree: a child did not come up: %v", err)
			}
		}
	}
	fmt.Println("up")
	if len(os.Args) > 2 && os.Args[2] == "-exit" {
		os.Exit(0)
	}
	time.Sleep(time.Hour)
}

// memHog allocates and touches memory, 16 MiB at a time, up to 2 GiB,
// then sleeps.
func memHog() {
	var keep [][]byte
	for range 128 {
		b := make([]byte, 16<<20)
		for i := 0; i < len(b); i += 4096 {
			b[i] = 1
		}
		keep = append(keep, b)
	}
	fmt.Println("allocated 2 GiB")
	time.Sleep(time.Hour)
}

// ifaces prints the names of the network interfaces it sees, one a line.
func ifaces() {
	is, err := net.Interfaces()
	if err != nil {
		die("%v", err)
	}
	for _, i := range is {
		fmt.Println(i.Name)
	}
}

// killParent is a client that starts a sleeper of its own, then kills the
// process that started it with SIGKILL, then sleeps. With -pidfile FILE,
// it appends its PID and the sleeper's to FILE first.
func killParent() {
	cmd := exec.Command("sleeper")
	if err := cmd.Start(); err != nil {
		die("%v", err)
	}
	if len(os.Args) == 3 && os.Args[1] == "-pidfile" {
		appendPID(os.Args[2], os.Getpid())
		appendPID(os.Args[2], cmd.Process.Pid)
	}
	syscall.Kill(os.Getppid(), syscall.SIGKILL)
	time.Sleep(time.Hour)
}

// progFlags parses a program's flags: the port (or socket path) first,
// then -bug and -pidfile.
func progFlags(name string) (addr string, bug string) {
	fs := flag.NewFlagSet(name, flag.ExitOnError)
	bugp := fs.String("bug", "", "the bug to have")
	pidfile := fs.String("pidfile", "", "append the PIDs of this program and its children here")
	unix := fs.Bool("unix", false, "the argument is a Unix socket path")
	ready := fs.String("ready", "", "a FIFO to write a line to once listening")
	host := fs.String("host", "127.0.0.1", "the address to bind")
	inheritp := fs.Bool("inherit", false, "serve on the listener inherited as fd 3")
	if len(os.Args) < 2 {
		fmt.Fprintf(os.Stderr, "usage: %s PORT [-bug NAME]\n", name)
		os.Exit(2)
	}
	fs.Parse(os.Args[2:])
	addr = net.JoinHostPort(*host, os.Args[1])
	if *unix {
		addr = os.Args[1]
	}
	if *pidfile != "" {
		appendPID(*pidfile, os.Getpid())
	}
	pidFile, readyFIFO, inherit = *pidfile, *ready, *inheritp
	return addr, *bugp
}

var (
	pidFile, readyFIFO string
	inherit            bool
)

// listening tells the test, through the FIFO, that the program listens:
// opening a FIFO blocks until its reader opens it, so nobody polls.
func listening() {
	if readyFIFO == "" {
		return
	}
	f, err := os.OpenFile(readyFIFO, os.O_WRONLY, 0)
	if err != nil {
		die("ready: %v", err)
	}
	fmt.Fprintln(f, "ready")
	f.Close()
}

func appendPID(file string, pid int) {
	f, err := os.OpenFile(file, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		die("pidfile: %v", err)
	}
	fmt.Fprintln(f, pid)
	f.Close()
}

func die(format string, args ...any) {
	fmt.Fprintf(os.Stderr, format+"\n", args...)
	os.Exit(1)
}

// startup applies the bugs that are about starting and stopping.
func startup(bug string) {
	fmt.Println("server starting")
	switch bug {
	case "exit1":
		die("bind: Address already in use")
	case "slowstart":
		time.Sleep(300 * time.Millisecond)
	case "ignoreterm":
		signal.Ignore(syscall.SIGTERM)
	case "grandchild":
		// A child that inherits stdout and outlives its parent's
		// interest: sockrun must not wait on the pipe for ever.
		cmd := exec.Command("sleeper")
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		if err := cmd.Start(); err != nil {
			die("grandchild: %v", err)
		}
		if pidFile != "" {
			appendPID(pidFile, cmd.Process.Pid)
		}
	case "leavesleeper":
		// A background process that double-forks out of the program's
		// session, and outlives it unless sockrun ends it.
		runProg(append(append([]string{"detach"}, pidArgs()...), "sleeper")...)
	case "sleeperexit1":
		// Leaves a process behind, then fails to bind. Says whether
		// anything a previous attempt started still runs: a retry must
		// not start while it does.
		if pidFile != "" {
			b, _ := os.ReadFile(pidFile)
			for _, f := range strings.Fields(string(b)) {
				if pid, _ := strconv.Atoi(f); pid != os.Getpid() && running(pid) {
					fmt.Printf("a previous attempt still runs: pid %d\n", pid)
				}
			}
		}
		runProg(append(append([]string{"detach"}, pidArgs()...), "sleeper")...)
		die("bind: Address already in use")
	case "daemonize":
		// The classic daemon: the leader starts a copy of itself in a
		// session of its own, which does the serving, and exits 0 at once.
		runProg(append([]string{"detach", "echoserver", os.Args[1]}, pidArgs()...)...)
		os.Exit(0)
	}
}

// running reports whether process pid runs (exists, and is no zombie).
func running(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i > 0 && i+2 < len(s) && s[i+2] != 'Z'
}

// runProg starts a program (played by this binary, from $PATH, so that
// its process is named for it) and waits for it.
func runProg(argv ...string) {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		die("%s: %v", argv[0], err)
	}
}

// pidArgs passes -pidfile on to a child.
func pidArgs() []string {
	if pidFile == "" {
		return nil
	}
	return []string{"-pidfile", pidFile}
}

// forkServe hands the listener to a child that serves with it, and exits
// 0: a server that forks once it listens, and whose parent leaves.
func forkServe(ln net.Listener) {
	f, err := ln.(*net.TCPListener).File()
	if err != nil {
		die("%v", err)
	}
	cmd := exec.Command("echoserver", append([]string{os.Args[1], "-inherit"}, pidArgs()...)...)
	cmd.ExtraFiles = []*os.File{f}
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Start(); err != nil {
		die("%v", err)
	}
	os.Exit(0)
}

// listen opens the server's stream socket; with bug noreuse it does not
// set SO_REUSEADDR (Go sets it by default; C does not).
func listen(addr, bug string) net.Listener {
	network := "tcp"
	if addr[0] == '/' {
		network = "unix"
		if bug != "nounlink" {
			os.Remove(addr) // a stale socket file from the last run
		}
	}
	if host, _, _ := net.SplitHostPort(addr); net.ParseIP(host).To4() != nil {
		network = "tcp4" // Go listens on [::] for "tcp" and 0.0.0.0; C does not
	}
	lc := net.ListenConfig{}
	if bug == "noreuse" {
		lc.Control = func(_, _ string, c syscall.RawConn) error {
			return c.Control(func(fd uintptr) {
				syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 0)
			})
		}
	}
	if bug == "badport" {
		host, port, _ := net.SplitHostPort(addr)
		p, _ := strconv.Atoi(port)
		addr = net.JoinHostPort(host, strconv.Itoa(p+1))
	}
	if inherit {
		ln, err := net.FileListener(os.NewFile(3, "listener"))
		if err != nil {
			die("inherit: %v", err)
		}
		return ln
	}
	ln, err := lc.Listen(context.Background(), network, addr)
	if err != nil {
		die("bind: %v", err)
	}
	listening()
	if bug == "forkserve" {
		forkServe(ln)
	}
	return ln
}

// acceptClients accepts clients: a goroutine each, or one at a time with bug serial.
func acceptClients(ln net.Listener, bug string, handle func(net.Conn)) {
	for {
		c, err := ln.Accept()
		if err != nil {
			die("accept: %v", err)
		}
		switch bug {
		case "serial":
			handle(c)
			continue
		case "exitafterone":
			handle(c)
			os.Exit(0)
		}
		go handle(c)
	}
}

// write writes p, and reports whether to go on with this client. The
// sigpipe bugs are C servers that do not ignore SIGPIPE. Go ignores it on
// sockets and returns EPIPE instead, exactly where the kernel would have
// raised it, so they die there: after the client's FIN and RST, at the
// first failed write; after an RST alone, at the second (the first fails
// with ECONNRESET, no signal). With bug sigpipe the server also ignores
// write errors and reads on, so it writes again; with sigpipe1 and
// sigpipefin it closes the client at its first failed write, which only
// the FIN path kills.
func write(c net.Conn, p []byte, bug string) bool {
	_, err := c.Write(p)
	if err == nil {
		return true
	}
	switch bug {
	case "sigpipe", "sigpipe1", "sigpipefin":
		if errors.Is(err, syscall.EPIPE) {
			dieBy(syscall.SIGPIPE)
		}
	}
	return bug == "sigpipe"
}

func echoServer() {
	addr, bug := progFlags("echoserver")
	startup(bug)
	ln := listen(addr, bug)
	acceptClients(ln, bug, func(c net.Conn) {
		defer c.Close()
		buf := make([]byte, 4096)
		if bug == "fixedbuf" || bug == "sigpipefin" {
			buf = make([]byte, 1024)
		}
		for {
			n, err := c.Read(buf)
			if n > 0 {
				p := buf[:n]
				switch bug {
				case "cstring":
					p = cString(p)
				case "crash":
					crash()
				case "nosend":
					continue // reads, and never answers
				case "highbit":
					// A signed char that ends the message at the first byte > 0x7f.
					for i, b := range p {
						if b > 0x7f {
							p = p[:i]
							break
						}
					}
				}
				if !write(c, p, bug) {
					return
				}
				if bug == "onerecv" {
					return // one recv, one send: the message is done, or so it thinks
				}
				if bug == "fixedbuf" && n == len(buf) {
					return // "the message cannot be longer than the buffer"
				}
			}
			if err == io.EOF {
				if bug == "nohalfclose" {
					time.Sleep(time.Hour)
				}
				return
			}
			if err != nil {
				return
			}
		}
	})
}

// cString is what strlen() sees of a buffer: up to its first NUL.
func cString(p []byte) []byte {
	if i := bytes.IndexByte(p, 0); i >= 0 {
		return p[:i]
	}
	return p
}

// defaultAction resets sig's handler to SIG_DFL, as a C program has it:
// Go's runtime handles SIGSEGV, SIGPIPE, SIGXCPU... itself. A raw
// rt_sigaction: an all-zero struct sigaction is SIG_DFL on every layout.
func defaultAction(sig syscall.Signal) {
	var act [4]uint64
	syscall.RawSyscall6(syscall.SYS_RT_SIGACTION, uintptr(sig), uintptr(unsafe.Pointer(&act)), 0, 8, 0, 0)
}

// crash dies of SIGSEGV, as a C program that dereferences NULL does.
func crash() { dieBy(syscall.SIGSEGV) }

// dieBy ends the program by sig with the default action, as a C program
// that has no handler for it dies.
func dieBy(sig syscall.Signal) {
	defaultAction(sig)
	syscall.Kill(os.Getpid(), sig)
	time.Sleep(time.Second)
	os.Exit(128 + int(sig))
}

func udpEchoServer() {
	addr, bug := progFlags("udpecho")
	startup(bug)
	network := "udp"
	if host, _, _ := net.SplitHostPort(addr); net.ParseIP(host).To4() != nil {
		network = "udp4"
	}
	if addr[0] == '/' {
		network = "unixgram"
	}
	pc, err := net.ListenPacket(network, addr)
	if err != nil {
		die("bind: %v", err)
	}
	listening()
	buf := make([]byte, 65536)
	if bug == "truncate" {
		buf = make([]byte, 512)
	}
	var first net.Addr
	seen := map[string]bool{}
	for {
		n, from, err := pc.ReadFrom(buf)
		if err != nil {
			die("recvfrom: %v", err)
		}
		p := buf[:n]
		switch bug {
		case "noreply":
			continue
		case "crash":
			crash()
		case "drop":
			// Answers only a client's first datagram, as if each were
			// the start of a connection.
			if seen[from.String()] {
				continue
			}
			seen[from.String()] = true
		case "cstring":
			p = cString(p)
		case "onepeer":
			// Remembers the first client's address and answers it ever after.
			if first == nil {
				first = from
			}
			from = first
		case "merge":
			// Waits a while for "the rest of the message" and answers
			// it all in one datagram. The wait is long enough that two
			// datagrams sent one after the other always merge, even on
			// a loaded machine (with 50ms they did not, 1 run in 3); a
			// lone datagram still comes back well within a 2s expect.
			pc.SetReadDeadline(time.Now().Add(time.Second))
			more := make([]byte, 65536)
			if k, _, err := pc.ReadFrom(more); err == nil {
				p = append(append([]byte{}, p...), more[:k]...)
			}
			pc.SetReadDeadline(time.Time{})
		}
		pc.WriteTo(p, from)
	}
}

func sumServer() {
	addr, bug := progFlags("sumserver")
	startup(bug)
	ln := listen(addr, bug)
	acceptClients(ln, bug, func(c net.Conn) {
		defer c.Close()
		req := make([]byte, 8)
		if bug == "wide" {
			req = make([]byte, 16) // 8 bytes a number, where the protocol has 4
		}
		for {
			if bug == "onerecv" {
				// One read is one request, or so it thinks.
				n, err := c.Read(req)
				if err != nil {
					return
				}
				clear(req[n:])
			} else if _, err := io.ReadFull(c, req); err != nil {
				return
			}
			order := binary.ByteOrder(binary.BigEndian)
			if bug == "byteorder" {
				order = binary.LittleEndian // no ntohl, no htonl
			}
			a, b := order.Uint32(req[:4]), order.Uint32(req[len(req)/2:])
			sum := a + b
			if bug == "overflow" && uint64(a)+uint64(b) > 0xffffffff {
				sum = 0xffffffff // "clamped", not wrapped
			}
			reply := make([]byte, 4)
			order.PutUint32(reply, sum)
			if !write(c, reply, bug) || bug == "onereq" {
				return // onereq: one request per connection
			}
		}
	})
}

func echoClient() {
	if len(os.Args) < 2 {
		die("usage: echoclient PORT [-bug NAME]")
	}
	// The bug comes from the environment: a spec passes the client's path
	// as one word (--var client=PATH), with no room for flags.
	bug := os.Getenv("BUG")
	c, err := net.DialTimeout("tcp", "127.0.0.1:"+os.Args[1], 2*time.Second)
	if err != nil {
		fmt.Fprintf(os.Stderr, "connect: %v\n", err)
		if bug == "noerror" {
			os.Exit(0)
		}
		os.Exit(1)
	}
	c.Write([]byte("Test message."))
	var reply []byte
	if bug == "onerecv" {
		buf := make([]byte, 1024)
		n, _ := c.Read(buf)
		reply = buf[:n]
	} else {
		reply, _ = io.ReadAll(c)
	}
	if bug == "format" {
		fmt.Printf("%s\n", reply) // not as the assignment shows
		return
	}
	fmt.Printf("We received this response from the server:\n\"%s\"\n", reply)
}

// udpClient sends "ping" and prints the reply, sending again after 500ms
// of silence, 5 times in all. BUG=notimeout waits for ever for the first
// reply; BUG=noretry gives up after the first try; BUG=forever retries
// for ever.
func udpClient() {
	if len(os.Args) < 2 {
		die("usage: udpclient PORT")
	}
	bug := os.Getenv("BUG")
	c, err := net.Dial("udp", "127.0.0.1:"+os.Args[1])
	if err != nil {
		die("connect: %v", err)
	}
	buf := make([]byte, 65536)
	tries := 5
	if bug == "noretry" {
		tries = 1
	}
	for try := 1; bug == "forever" || try <= tries; try++ {
		c.Write([]byte("ping"))
		if bug != "notimeout" {
			c.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
		}
		n, err := c.Read(buf)
		if err == nil {
			fmt.Printf("%s\n", buf[:n])
			return
		}
	}
	die("no reply after %d tries", tries)
}

// confServer reads its port and greeting from a configuration file
// ("listen PORT", "greeting TEXT" lines), as daemons do, and greets every
// client with a line.
func confServer() {
	if len(os.Args) < 2 {
		die("usage: catserver CONFIG")
	}
	b, err := os.ReadFile(os.Args[1])
	if err != nil {
		die("config: %v", err)
	}
	conf := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, " "); ok {
			conf[k] = v
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:"+conf["listen"])
	if err != nil {
		die("listen: %v", err)
	}
	for {
		c, err := ln.Accept()
		if err != nil {
			die("accept: %v", err)
		}
		fmt.Fprintf(c, "%s\n", conf["greeting"])
		c.Close()
	}
}

// dieByName dies by the signal named in its argument (SIGPIPE...), as a
// C client with no handler for it would.
func dieByName() {
	for sig := syscall.Signal(1); sig < 32; sig++ {
		if len(os.Args) > 1 && "SIG"+strings.ToUpper(strings.TrimPrefix(os.Args[1], "SIG")) == signalNames[sig] {
			dieBy(sig)
		}
	}
	die("dieby: unknown signal %v", os.Args[1:])
}

var signalNames = map[syscall.Signal]string{syscall.SIGPIPE: "SIGPIPE", syscall.SIGSEGV: "SIGSEGV", syscall.SIGABRT: "SIGABRT", syscall.SIGKILL: "SIGKILL"}

// catProg copies its standard input to its standard output, then says
// "done" on standard error: a client program that reads stdin.
func catProg() {
	io.Copy(os.Stdout, os.Stdin)
	fmt.Fprintln(os.Stderr, "done")
}

// dualEcho is one program that serves two sockets, as DNS servers do: a
// TCP echo on the port of its first argument and a UDP echo on the port
// of its second (or the same port).
func dualEcho() {
	if len(os.Args) < 2 {
		die("usage: dualecho TCPPORT [UDPPORT]")
	}
	udpPort := os.Args[1]
	if len(os.Args) > 2 {
		udpPort = os.Args[2]
	}
	ln, err := net.Listen("tcp", "127.0.0.1:"+os.Args[1])
	if err != nil {
		die("listen: %v", err)
	}
	pc, err := net.ListenPacket("udp", "127.0.0.1:"+udpPort)
	if err != nil {
		die("listen udp: %v", err)
	}
	go func() {
		buf := make([]byte, 65536)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				die("recvfrom: %v", err)
			}
			pc.WriteTo(buf[:n], from)
		}
	}()
	for {
		c, err := ln.Accept()
		if err != nil {
			die("accept: %v", err)
		}
		go func() {
			defer c.Close()
			io.Copy(c, c)
		}()
	}
}
