package runner

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// through decodes a dgram proxy's faults: and passes datagrams 1..n
// (stream: reads) through the stages of one flow, and says what came out:
// "1 3 3 2" for the datagrams' numbers, "he|ll|o" for a stream's pieces.
func through(t *testing.T, typ, faults string, seed uint64, feed []string) string {
	t.Helper()
	seedKey := ""
	if seed != 0 {
		seedKey = fmt.Sprintf(", seed: %d", seed)
	}
	s := mustParse(t, fmt.Sprintf("servers:\n  t: {type: %s, behaviour: echo}\n  p: {proxy: t, faults: %s%s}\ntests: [{name: t, steps: [{connect: p}]}]\n", typ, faults, seedKey))
	px := s.Server("p").Proxy
	f := &flow{in: make(chan piece, 1000), stream: typ == Stream}
	for _, ft := range px.to {
		f.stages = append(f.stages, ft.stage(newRand(px.seed, ft.kind.name, true)))
	}
	for _, d := range feed {
		f.feed([]byte(d))
	}
	for i, st := range f.stages {
		st.flush(outlet{f, i})
	}
	close(f.in)
	var out []string
	for p := range f.in {
		if p.reset {
			out = append(out, "RESET")
			continue
		}
		out = append(out, string(p.data))
	}
	sep := " "
	if f.stream {
		sep = "|"
	}
	return strings.Join(out, sep)
}

func numbers(n int) []string {
	var out []string
	for i := 1; i <= n; i++ {
		out = append(out, fmt.Sprint(i))
	}
	return out
}

// TestFaultStages: what each fault delivers, exactly.
func TestFaultStages(t *testing.T) {
	for _, tc := range []struct {
		typ, faults string
		feed        []string
		want        string
	}{
		{Dgram, "{drop: [1, 3]}", numbers(4), "2 4"},
		{Dgram, "{duplicate: [2]}", numbers(3), "1 2 2 3"},
		{Dgram, "{reorder: [1]}", numbers(3), "2 1 3"},
		{Dgram, "{reorder: [1, 2]}", numbers(4), "3 1 2 4"},
		{Dgram, "{reorder: [3]}", numbers(3), "1 2 3"}, // held to the end, then let go
		// Positions are those the client sent: what is dropped is not
		// duplicated, and a duplicate is held back with its original.
		{Dgram, "{drop: [2], duplicate: [2, 3], reorder: [3]}", numbers(4), "1 4 3 3"},
		{Dgram, "{delay: 1ms, drop: [1]}", numbers(2), "2"},
		{Stream, "{split: 2}", []string{"hello", "abc"}, "he|ll|o|ab|c"},
		{Stream, "{reset_after: 4}", []string{"ab", "cdef", "gh"}, "ab|cd|RESET"},
		{Stream, "{reset_after: 2}", []string{"ab", "cd"}, "ab|RESET"},
		{Stream, "{split: 3, reset_after: 4}", []string{"abcdef"}, "abc|d|RESET"},
	} {
		if got := through(t, tc.typ, tc.faults, 0, tc.feed); got != tc.want {
			t.Errorf("%s through %v: got %q, want %q", tc.faults, tc.feed, got, tc.want)
		}
	}
}

// TestFaultSeeds: random faults are the same for the same seed, run after
// run, and another seed gives another pattern.
func TestFaultSeeds(t *testing.T) {
	const faults = "{drop: {rate: 0.3}, duplicate: {rate: 0.2}, reorder: {rate: 0.2}}"
	first := through(t, Dgram, faults, 7, numbers(40))
	for range 5 {
		if again := through(t, Dgram, faults, 7, numbers(40)); again != first {
			t.Fatalf("seed 7 gave %q, then %q", first, again)
		}
	}
	if first == strings.Join(numbers(40), " ") {
		t.Errorf("seed 7 changed nothing: %q", first)
	}
	if other := through(t, Dgram, faults, 8, numbers(40)); other == first {
		t.Errorf("seeds 7 and 8 gave the same: %q", first)
	}
	// Drops come before the others, and draw only for what they see: the
	// datagrams a drop lets through with seed 7 are the same whatever
	// else is added.
	dropped := func(s string) string {
		got := map[string]bool{}
		for _, w := range strings.Fields(s) {
			got[w] = true
		}
		var out []string
		for _, n := range numbers(40) {
			if !got[n] {
				out = append(out, n)
			}
		}
		return strings.Join(out, " ")
	}
	alone := through(t, Dgram, "{drop: {rate: 0.3}}", 7, numbers(40))
	if dropped(alone) != dropped(first) {
		t.Errorf("drop with seed 7 lost %q alone, %q beside other faults", dropped(alone), dropped(first))
	}
}

// TestTLSFiles: {{NAME.ca}}, cert and key are PEM files that exist while
// the test runs and are removed with its servers.
func TestTLSFiles(t *testing.T) {
	s := mustParse(t, "servers:\n  echo: {behaviour: echo, tls: true}\ntests: [{name: t, steps: [{run: [\"true\", \"{{echo.ca}}\", \"{{echo.cert}}\", \"{{echo.key}}\"]}]}]\n")
	set, err := startServers(context.Background(), s, s.Tests[0], time.Second, Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	a := set.env().addrs["echo"]
	for _, path := range []string{a.Files["ca"], a.Files["cert"], a.Files["key"]} {
		b, err := os.ReadFile(path)
		if err != nil || !strings.Contains(string(b), "-----BEGIN ") {
			t.Errorf("%s: %v, %.30q; want a PEM file", path, err, b)
		}
	}
	if fi, err := os.Stat(a.Files["key"]); err == nil && fi.Mode().Perm() != 0o600 {
		t.Errorf("the key is mode %v, want 0600", fi.Mode().Perm())
	}
	set.stop()
	if _, err := os.Stat(filepath.Dir(a.Files["ca"])); !os.IsNotExist(err) {
		t.Errorf("%s is still there after the servers stopped: %v", filepath.Dir(a.Files["ca"]), err)
	}
}

// TestNothingLeaks: after a run through proxies (streams and datagrams,
// with every fault) and TLS, no goroutine of the engine is left, and no
// file descriptor.
func TestNothingLeaks(t *testing.T) {
	s := mustParse(t, `servers:
  echo: {behaviour: echo, tls: true}
  p: {proxy: echo, faults: {split: 1, delay: 5ms}}
  plain: {behaviour: echo}
  cut: {proxy: plain, faults: {replies: {reset_after: 3}}}
  r: {proxy: plain, faults: {split: 1}}
  smtp:
    tls: starttls
    behaviour: script
    script: [{expect: "STARTTLS\n"}, {starttls: }, {send: "ok\n"}]
  udp: {type: dgram, behaviour: echo}
  q: {proxy: udp, faults: {drop: [1], duplicate: [2], reorder: [3], delay: 5ms}}
  hold: {behaviour: hold}
  h: {proxy: hold}
tests:
  - name: tls through a proxy
    steps:
      - connect: {to: p, tls: true}
      - send: "hello"
      - expect: "hello"
  - name: a reset through a proxy
    steps:
      - connect: cut
      - send: "hello"
      - expect: "hel"
  - name: a restart of a proxy with a connection open
    timeout: 20s
    steps:
      - connect: r
      - send: "x"
      - expect: "x"
      - restart: r
      - connect: {to: r, as: again}
      - send: "y"
      - expect: "y"
  - name: starttls
    steps:
      - connect: smtp
      - send: "STARTTLS\n"
      - starttls:
      - expect: "ok\n"
  - name: datagrams
    steps:
      - connect: q
      - send: "1"
      - send: "2"
      - send: "3"
      - send: "4"
      - expect: "2"
  - name: a flood into a target that never reads
    timeout: 300ms
    steps:
      - connect: h
      - send: {data: {repeat: 100000, of: "0123456789"}, partial: true}
`)
	fds := func() int {
		es, _ := os.ReadDir("/proc/self/fd")
		return len(es)
	}
	before := fds()
	start := time.Now()
	rep := Run(context.Background(), []*Spec{s}, Options{Jobs: 2})
	// The restart does not wait for the connection still open: 20s (its
	// test's timeout) would mean that it did.
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("the run took %s: the restart of a proxy waited for its open connection", took)
	}
	for _, r := range rep.Files[0].Tests {
		if !r.Passed {
			t.Errorf("%s: %v", r.Name, r.Failure)
		}
	}
	// Goroutines that have ended may take a moment to leave the list:
	// wait for them, up to a bound.
	var left []string
	for deadline := time.Now().Add(5 * time.Second); ; {
		left = left[:0]
		buf := make([]byte, 1<<20)
		for _, g := range strings.Split(string(buf[:runtime.Stack(buf, true)]), "\n\n") {
			if strings.Contains(g, "sockrun/runner.") && !strings.Contains(g, "TestNothingLeaks") {
				left = append(left, g)
			}
		}
		if len(left) == 0 || time.Now().After(deadline) {
			break
		}
		runtime.Gosched()
		time.Sleep(time.Millisecond)
	}
	if len(left) > 0 {
		t.Errorf("%d goroutines left:\n%s", len(left), strings.Join(left, "\n\n"))
	}
	if after := fds(); after > before {
		t.Errorf("%d file descriptors before the run, %d after", before, after)
	}
}
