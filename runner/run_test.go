package runner

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// runOne runs the spec in src and returns its only test's result.
func runOne(t *testing.T, ctx context.Context, src string) *TestResult {
	t.Helper()
	spec := mustParse(t, src)
	rep := Run(ctx, []*Spec{spec}, Options{Jobs: 1})
	if len(rep.Files) != 1 || len(rep.Files[0].Tests) != 1 {
		t.Fatalf("want one result, got %+v", rep)
	}
	return rep.Files[0].Tests[0]
}

func TestExpectFailsAtFirstWrongByte(t *testing.T) {
	start := time.Now()
	r := runOne(t, context.Background(), `
servers:
  slow:
    behaviour: script
    script: [{send: "ab"}, {sleep: 10s}, {send: "c"}]
tests:
  - name: t
    steps: [{connect: slow}, {expect: {data: "axc", timeout: 10s}}]
`)
	if r.Passed || r.Failure.Kind != KindMismatch || r.Failure.Offset != 1 {
		t.Fatalf("got %+v, want a mismatch at byte 1", r.Failure)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %v: the expect waited instead of failing at the wrong byte", d)
	}
}

func TestExpectPassesAsSoonAsBytesCome(t *testing.T) {
	start := time.Now()
	r := runOne(t, context.Background(), `
servers:
  s:
    behaviour: script
    script: [{send: "a"}, {sleep: 50ms}, {send: "b"}]
tests:
  - name: t
    steps: [{connect: s}, {expect: {data: "ab", timeout: 10s}}]
`)
	if !r.Passed {
		t.Fatalf("failed: %+v", r.Failure)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %v, want about 50ms: no poll interval", d)
	}
}

func TestFloodOverflowsCleanly(t *testing.T) {
	r := runOne(t, context.Background(), `
servers:
  flood:
    behaviour: script
    # The send has time to fill the buffer even on a loaded machine: the
    # overflow, not the send's deadline, is what this test is about.
    script: [{send: {data: {repeat: 17000000, of: "x"}, timeout: 1m}}]
tests:
  - name: t
    steps: [{connect: flood}, {expect: {contains: "never", timeout: 10s}}]
`)
	if r.Passed || r.Failure.Kind != KindOverflow {
		t.Fatalf("got %+v, want an overflow", r.Failure)
	}
}

func TestCancelInterruptsAtOnce(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	r := runOne(t, ctx, `
servers:
  sink: {behaviour: discard}
tests:
  - name: t
    steps: [{connect: sink}, {expect: {data: "x", timeout: 1m}}]
`)
	if r.Passed || r.Failure.Kind != KindInterrupted {
		t.Fatalf("got %+v, want interrupted", r.Failure)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v after cancel", d)
	}
}

func TestServersStopCompletely(t *testing.T) {
	// A temporary directory of this test's own: other processes' files in
	// the machine's /tmp are none of its business.
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	before := runtime.NumGoroutine()
	spec := mustParse(t, `
servers:
  e: {behaviour: echo}
  u: {type: dgram, behaviour: echo}
  s: {type: dgram, path: s.sock, behaviour: script, script: [{expect: "x"}, {send: "y"}]}
  h: {behaviour: script, loop: true, script: [{expect: "x"}, {send: "y"}]}
tests:
  - name: t
    steps:
      - connect: e
      - send: "hello"
      - connect: u
      - send: "d"
      - connect: s
      - send: "x"
      - expect: "y"
      - connect: h
      - send: "x"
      - expect: "y"
`)
	rep := Run(context.Background(), []*Spec{spec}, Options{})
	if !rep.Passed() {
		t.Fatalf("failed: %+v", rep.Files[0].Tests[0].Failure)
	}
	// Every goroutine a server started has ended when Run returns. A
	// goroutine counts as done a moment before it is gone: give those
	// moments a bounded while.
	after := runtime.NumGoroutine()
	for deadline := time.Now().Add(2 * time.Second); after > before && time.Now().Before(deadline); after = runtime.NumGoroutine() {
		time.Sleep(time.Millisecond)
	}
	if after > before {
		buf := make([]byte, 1<<16)
		t.Errorf("goroutines: %d before, %d after:\n%s", before, after, buf[:runtime.Stack(buf, true)])
	}
	leftovers, _ := os.ReadDir(tmp)
	for _, l := range leftovers {
		t.Errorf("left behind: %s", filepath.Join(tmp, l.Name()))
	}
}

func TestServerScriptFailureFailsTest(t *testing.T) {
	r := runOne(t, context.Background(), `
servers:
  s:
    behaviour: script
    script:
      - expect: "hello"
      - send: "ok"
tests:
  - name: t
    steps: [{connect: s}, {send: "howdy"}, {expect: {data: "ok", timeout: 500ms}}]
`)
	if r.Passed || r.Failure.Server != "s" || r.Failure.Kind != KindMismatch || r.Failure.Pos.Line != 6 {
		t.Fatalf("got %+v, want the server's expect at line 6 to be the reason", r.Failure)
	}
}

func TestRefusedIsItsOwnKind(t *testing.T) {
	spec := mustParse(t, "servers: {e: {behaviour: echo}}\ntests: [{name: t, steps: [{connect: e}]}]\n")
	// A port bound and never listened on, and held so through the test:
	// nobody can listen there (a port that was free a moment ago, another
	// process could take).
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(fd)
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", sa.(*syscall.SockaddrInet4).Port)
	rep := Run(context.Background(), []*Spec{spec}, Options{Addrs: map[string]string{"e": addr}})
	if f := rep.Files[0].Tests[0].Failure; f == nil || f.Kind != KindRefused || !strings.Contains(f.Message, "refused") {
		t.Fatalf("got %+v, want refused", f)
	}
}

func TestLocalhostByName(t *testing.T) {
	r := runOne(t, context.Background(), `
servers:
  u: {host: localhost, type: dgram, behaviour: echo}
tests:
  - name: t
    steps: [{connect: u}, {send: "by name"}, {expect: "by name"}]
`)
	if !r.Passed {
		t.Fatalf("%+v", r.Failure)
	}
}

func TestShardSplitsEvenly(t *testing.T) {
	seen := map[int]int{}
	for k := 1; k <= 3; k++ {
		for i := range 10 {
			if (Shard{K: k, N: 3}).Has(i) {
				seen[i]++
			}
		}
	}
	for i := range 10 {
		if seen[i] != 1 {
			t.Errorf("item %d is in %d shards, want 1", i, seen[i])
		}
	}
	if !(Shard{}).Has(7) {
		t.Error("the zero shard is not the whole list")
	}
}

// TestPoolTakesTurnsOnAFixedPort runs two runs of a spec whose server has a
// fixed port through one pool at once: their tests must take turns on the
// port, across runs, or the second bind fails.
func TestPoolTakesTurnsOnAFixedPort(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	spec := mustParse(t, fmt.Sprintf(`
servers:
  e: {behaviour: echo, port: %d}
  free: {behaviour: echo}
tests:
  - {name: a, steps: [{connect: e}, {send: "a"}, {expect: "a"}]}
  - {name: b, steps: [{connect: e}, {send: "b"}, {expect: "b"}]}
  - {name: c, steps: [{connect: free}, {send: "c"}, {expect: "c"}]}
`, port))
	pool := NewPool(4)
	var wg sync.WaitGroup
	reps := make([]*Report, 3)
	for i := range reps {
		wg.Go(func() { reps[i] = pool.Run(context.Background(), []*Spec{spec}, Options{}) })
	}
	wg.Wait()
	for i, rep := range reps {
		for _, tr := range rep.Files[0].Tests {
			if !tr.Passed {
				t.Errorf("run %d, test %s: %+v", i, tr.Name, tr.Failure)
			}
		}
	}
}
