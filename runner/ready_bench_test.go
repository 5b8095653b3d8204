package runner

import (
	"context"
	"errors"
	"flag"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Starting a program under test against a hand-written floor, in one run:
//
//	go test -run XXX -bench ProgramStart -benchtime 200x ./runner
//
// floor: fork/exec the server, connect until a connection succeeds (a
// retry every 100µs), kill it and reap it. sockrun: pick its port,
// startProc, waitReady (sock_diag, no connection), stop. Each iteration
// does both, one after the other, so that both meet the same load on a
// shared machine; the figures are the medians of each, and their ratio.
// With a tiny Go server (this test binary, re-executed) and, where cc is
// found, the C echo server of examples/c; on a quiet machine and with 20k
// loopback connections in TIME_WAIT (made once, closed by the client
// side). scripts/bench-ready runs it; BENCHMARKS.md has the figures.
func BenchmarkProgramStart(b *testing.B) {
	servers := map[string][]string{"go": append([]string{os.Args[0]}, benchServeArgs...)}
	if cc, err := exec.LookPath("cc"); err == nil {
		exe := filepath.Join(b.TempDir(), "echo_server")
		out, err := exec.Command(cc, "-O2", "-o", exe, "../examples/c/echo_server.c", "-lpthread").CombinedOutput()
		if err != nil {
			b.Fatalf("cc: %v\n%s", err, out)
		}
		servers["c"] = []string{exe}
	}
	for _, load := range []string{"quiet", "timewait"} {
		for _, lang := range []string{"go", "c"} {
			argv, ok := servers[lang]
			if !ok {
				continue
			}
			b.Run(load+"/"+lang, func(b *testing.B) {
				if load == "timewait" {
					makeTimeWait(b, 20000)
				}
				var floor, ours []time.Duration
				for i := range b.N {
					// Alternate which goes first, so that neither always
					// follows the other's cleanup.
					for k := range 2 {
						t0 := time.Now()
						if (i+k)%2 == 0 {
							floorStart(b, argv)
							floor = append(floor, time.Since(t0))
						} else {
							sockrunStart(b, argv)
							ours = append(ours, time.Since(t0))
						}
					}
				}
				f, o := median(floor), median(ours)
				b.ReportMetric(float64(f.Microseconds())/1000, "floor-ms")
				b.ReportMetric(float64(o.Microseconds())/1000, "sockrun-ms")
				b.ReportMetric(float64(o)/float64(f), "ratio")
			})
		}
	}
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// benchServeArgs make this test binary a tiny echo server: it runs only
// TestBenchServe, which serves on the port that follows them.
var benchServeArgs = []string{"-test.run=^TestBenchServe$"}

// TestBenchServe is the server program of the benchmarks when this binary
// is run with benchServeArgs and a port; otherwise it has nothing to do.
func TestBenchServe(t *testing.T) {
	if flag.NArg() != 1 {
		t.Skip("the benchmarks' server program; run with a port")
	}
	benchServe(flag.Arg(0))
}

func benchServe(port string) {
	ln, err := net.Listen("tcp", "127.0.0.1:"+port)
	if err != nil {
		os.Exit(1)
	}
	for {
		c, err := ln.Accept()
		if err != nil {
			os.Exit(1)
		}
		go func() {
			buf := make([]byte, 4096)
			for {
				n, err := c.Read(buf)
				if err != nil {
					c.Close()
					return
				}
				c.Write(buf[:n])
			}
		}()
	}
}

func benchPort(b *testing.B) int {
	port, err := freePort(Addr{Network: "tcp", Host: "127.0.0.1"}, nil)
	if err != nil {
		b.Fatal(err)
	}
	return port
}

// floorStart is the least a start can cost: fork/exec, a first
// successful connect, kill and reap.
func floorStart(b *testing.B, argv []string) {
	port := strconv.Itoa(benchPort(b))
	cmd := exec.Command(argv[0], append(argv[1:], port)...)
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.Dial("tcp", "127.0.0.1:"+port)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			b.Fatal(err)
		}
		time.Sleep(100 * time.Microsecond)
	}
	cmd.Process.Kill()
	cmd.Wait()
}

// sockrunStart is what sockrun does for each test's program server.
func sockrunStart(b *testing.B, argv []string) {
	a := Addr{Network: "tcp", Host: "127.0.0.1", Port: benchPort(b)}
	p, err := startProc(procConfig{name: "server bench", argv: append(argv[:len(argv):len(argv)], strconv.Itoa(a.Port)),
		keep: outputKeep, server: true})
	if err != nil {
		b.Fatal(err)
	}
	ok, _, err := waitReady(context.Background(), p, a, 5*time.Second)
	if !ok || err != nil {
		b.Fatalf("not ready: %v", err)
	}
	p.stop()
}

var timeWait struct {
	sync.Mutex
	made int
}

// makeTimeWait leaves n loopback connections in TIME_WAIT on the machine
// (they last 60s): each is connected and closed by its client side
// first, which is the side that waits.
func makeTimeWait(b *testing.B, n int) {
	b.StopTimer()
	defer b.StartTimer()
	timeWait.Lock()
	defer timeWait.Unlock()
	if timeWait.made >= n && countTimeWait() >= n {
		return
	}
	// A few listeners, so that the connections spread over more 4-tuples
	// than one destination's share of the ephemeral ports.
	var lns []net.Listener
	for range 4 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		defer ln.Close()
		lns = append(lns, ln)
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				go func() {
					c.Read(make([]byte, 1)) // the client's FIN
					c.Close()
				}()
			}
		}()
	}
	for i := 0; countTimeWait() < n; i++ {
		var wg sync.WaitGroup
		for j := range 500 {
			wg.Go(func() {
				c, err := net.Dial("tcp", lns[j%len(lns)].Addr().String())
				if err != nil {
					if !errors.Is(err, syscall.EADDRNOTAVAIL) {
						b.Error(err)
					}
					return
				}
				c.Close()
			})
		}
		wg.Wait()
		if i > 200 {
			b.Fatalf("could not make %d connections in TIME_WAIT (%d)", n, countTimeWait())
		}
	}
	timeWait.made = countTimeWait()
	b.Logf("%d connections in TIME_WAIT on the machine", timeWait.made)
}

// countTimeWait counts the TCP sockets in TIME_WAIT on the machine.
func countTimeWait() int {
	const tcpfTimeWait = 1 << 6
	n := 0
	for _, family := range []uint8{syscall.AF_INET, syscall.AF_INET6} {
		req := make([]byte, inetDiagReqLen)
		req[0], req[1] = family, syscall.IPPROTO_TCP
		req[4] = tcpfTimeWait
		sockDiag(req, func([]byte) { n++ })
	}
	return n
}

// BenchmarkIsolate: the cost of --isolate per test, against the same
// test without it, in one run: a test of a built-in echo server (connect,
// send, expect) with and without a network namespace of its own,
// alternately; the medians and their ratio.
//
//	go test -run XXX -bench Isolate -benchtime 200x ./runner
func BenchmarkIsolate(b *testing.B) {
	if err := CanIsolate(); err != nil {
		b.Skip(err)
	}
	spec, err := Parse("bench.yaml", []byte(`
servers: {e: {behaviour: echo}}
tests: [{name: t, steps: [{connect: e}, {send: "x"}, {expect: "x"}]}]
`), LoadOptions{})
	if err != nil {
		b.Fatal(err)
	}
	var plain, isolated []time.Duration
	for i := range b.N {
		for k := range 2 {
			iso := (i+k)%2 == 1
			t0 := time.Now()
			rep := Run(context.Background(), []*Spec{spec}, Options{Jobs: 1, Isolate: iso})
			d := time.Since(t0)
			if !rep.Passed() {
				b.Fatalf("isolate %v: %+v", iso, rep.Files[0].Tests[0].Failure)
			}
			if iso {
				isolated = append(isolated, d)
			} else {
				plain = append(plain, d)
			}
		}
	}
	p, o := median(plain), median(isolated)
	b.ReportMetric(float64(p.Microseconds())/1000, "plain-ms")
	b.ReportMetric(float64(o.Microseconds())/1000, "isolated-ms")
	b.ReportMetric(float64(o)/float64(p), "ratio")
}
