package runner

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestMutantApplies checks which bugs apply to which targets, and why the
// others do not: the table is what decides what an audit demands.
func TestMutantApplies(t *testing.T) {
	const echo = `
servers:
  echo: {behaviour: echo}
tests:
  - name: t
    steps: [{connect: echo}, {send: "x"}, {expect: "x"}]
`
	const unix = `
servers:
  echo: {behaviour: echo, path: e.sock}
tests:
  - name: t
    steps: [{connect: echo}, {send: "x"}, {expect: "x"}]
`
	const dgram = `
servers:
  echo: {type: dgram, behaviour: echo}
tests:
  - name: t
    steps: [{connect: echo}, {send: "x"}, {expect: "x"}]
`
	const table = `
servers:
  sum:
    behaviour: script
    loop: true
    script:
      - choose:
          - expect: "a"
            then: [{send: "b"}]
  big:
    behaviour: script
    script: [{expect: "a"}, {send: {repeat: 70000, of: "z"}}]
tests:
  - name: t
    steps: [{connect: sum}, {send: "a"}, {expect: "b"}, {connect: big}, {send: "a"}, {expect: {length: 70000}}]
`
	const through = `
servers:
  echo: {behaviour: echo}
  lossy: {proxy: echo, faults: {split: 1}}
tests:
  - name: t
    steps: [{connect: lossy}, {send: "x"}, {expect: "x"}]
`
	const client = `
vars: {client: ~}
servers:
  whole: {behaviour: script, script: [{expect: "q"}, {send: "r"}]}
  nobody: {behaviour: refuse}
tests:
  - name: t
    steps: [{run: "{{client}} {{whole.port}} {{nobody.port}}"}]
`
	for _, tc := range []struct {
		spec    string
		vars    map[string]string
		target  string // a server; "" for the client
		mutant  string
		why     string // a part of why it does not apply; "" if it does
		missing bool   // the mutant is not listed for the target at all
	}{
		{echo, nil, "echo", "cstring", "", false},
		{echo, nil, "echo", "onereq", "an echo server has no requests", false},
		{echo, nil, "echo", "noreuse", "", false},
		{echo, nil, "echo", "nounlink", "not a Unix socket", false},
		{echo, nil, "echo", "truncate", "", false},
		{echo, nil, "echo", "merge", "", true},
		{unix, nil, "echo", "noreuse", "a Unix socket has no SO_REUSEADDR", false},
		{unix, nil, "echo", "nounlink", "", false},
		{dgram, nil, "echo", "merge", "", false},
		{dgram, nil, "echo", "nounlink", "not a Unix socket", false},
		{dgram, nil, "echo", "serial", "", true},
		{table, nil, "sum", "onereq", "", false},
		{table, nil, "sum", "cstring", "its script sends no zero byte", false},
		{table, nil, "sum", "truncate", "each run of its script sends 64 KiB or less", false},
		{table, nil, "sum", "sigpipe", "its reference is a script", false},
		{table, nil, "big", "truncate", "", false},
		{table, nil, "big", "onereq", "runs once per connection already", false},
		{through, nil, "echo", "onerecv", "", false},
		{client, nil, "", "client-onerecv", "its tests are skipped", false},
		{client, map[string]string{"client": "c"}, "", "client-onerecv", "", false},
		{client, map[string]string{"client": "c"}, "", "client-noerror", "", false},
		{client, map[string]string{"client": "c"}, "", "client-noretry", "the client reaches no datagram server", false},
		{client, map[string]string{"client": "c"}, "", "cstring", "", true},
	} {
		spec, err := Parse("t.yaml", []byte(tc.spec), LoadOptions{Vars: tc.vars})
		if err != nil {
			t.Fatalf("%s: %v", tc.spec, err)
		}
		var target *auditTarget
		for _, at := range auditTargets(spec) {
			if at.srv == nil && tc.target == "" || at.srv != nil && at.srv.Name == tc.target {
				target = at
			}
		}
		if target == nil {
			t.Errorf("%s, %q: not a target", tc.mutant, tc.target)
			continue
		}
		k := mutantKinds()[slices.IndexFunc(mutantKinds(), func(k *mutantKind) bool { return k.name == tc.mutant })]
		if !k.fits(target) {
			if !tc.missing {
				t.Errorf("%s on %q: not listed", tc.mutant, tc.target)
			}
			continue
		}
		if tc.missing {
			t.Errorf("%s on %q: listed, and it is no bug of such a target", tc.mutant, tc.target)
		}
		why := k.applies(target)
		switch {
		case tc.why == "" && why != "":
			t.Errorf("%s on %q: n/a (%s), expected it to apply", tc.mutant, tc.target, why)
		case tc.why != "" && !strings.Contains(why, tc.why):
			t.Errorf("%s on %q: n/a %q, expected %q", tc.mutant, tc.target, why, tc.why)
		}
	}
}

// TestAuditTargets checks what a spec tests: the server behind a proxy
// the tests connect to, never a fixture, and the client with the servers
// its programs name.
func TestAuditTargets(t *testing.T) {
	spec, err := Parse("t.yaml", []byte(`
vars: {client: c}
servers:
  echo: {behaviour: echo}
  lossy: {proxy: echo}
  sink: {behaviour: discard}
  pong: {type: dgram, behaviour: script, script: [{expect: "ping"}, {send: "pong"}]}
  silent: {type: dgram, behaviour: discard}
tests:
  - name: server
    steps: [{connect: lossy}, {send: "x"}, {expect: "x"}, {connect: sink}]
  - name: client
    steps: [{run: "{{client}} {{pong.port}} {{silent.port}}"}]
`), LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, at := range auditTargets(spec) {
		var tests []string
		for _, tt := range at.tests {
			tests = append(tests, tt.Name)
		}
		if at.srv != nil {
			got = append(got, "server "+at.srv.Name+": "+strings.Join(tests, ","))
			continue
		}
		var through []string
		for _, f := range at.fixtures {
			through = append(through, f.Name)
		}
		got = append(got, "client through "+strings.Join(through, ",")+": "+strings.Join(tests, ","))
	}
	want := []string{"server echo: server", "client through pong,silent: client"}
	if !slices.Equal(got, want) {
		t.Errorf("targets:\n got %q\nwant %q", got, want)
	}
}

// TestMutantSpec checks how a mutant takes its place: it has the server's
// name and address, its reference a name of its own, any port, the old
// name for its own placeholders, and every test that used the server
// starts the reference too.
func TestMutantSpec(t *testing.T) {
	spec, err := Parse("t.yaml", []byte(`
servers:
  echo: {behaviour: echo, port: 7007}
  other: {behaviour: echo}
tests:
  - name: t
    steps: [{connect: echo}, {connect: other}]
`), LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	target := auditTargets(spec)[0]
	for _, k := range mutantKinds() {
		if !k.fits(target) || k.applies(target) != "" {
			continue
		}
		ms := k.mutant(target)
		var names []string
		for _, s := range ms.Servers {
			names = append(names, s.Name)
		}
		tests := ms.Tests[0].Servers
		switch {
		case k.rewrite != nil:
			continue
		case !slices.Equal(names, []string{"echo", "other", "echo~reference"}):
			t.Errorf("%s: servers %q", k.name, names)
		case !slices.Equal(tests, []string{"echo", "echo~reference", "other"}):
			t.Errorf("%s: the test starts %q", k.name, tests)
		}
		mut, ref := ms.Server("echo"), ms.Server("echo~reference")
		if mut.Port != 7007 || mut.Proxy == nil || mut.Proxy.target != ref.Name || mut.mutation() == nil {
			t.Errorf("%s: the mutant is %+v", k.name, mut)
		}
		if ref.Port != 0 || ref.alias != "echo" || !ref.lenient || ref.Behaviour.name != "echo" {
			t.Errorf("%s: the reference is %+v", k.name, ref)
		}
		if spec.Server("echo").Proxy != nil || len(spec.Servers) != 2 {
			t.Errorf("%s: the spec itself changed", k.name)
		}
	}
}

// stageRun passes datagrams (or reads) through a stage and returns what
// came out, at once, and after its flush.
func stageRun(st stage, in ...string) []string {
	f := &flow{in: make(chan piece, 64), stages: []stage{st}}
	for i, s := range in {
		f.passFrom(0, piece{data: []byte(s), seq: i + 1})
	}
	st.flush(outlet{f, 0})
	close(f.in)
	var out []string
	for p := range f.in {
		out = append(out, string(p.data))
	}
	return out
}

// TestMutantStages checks the stages that carry the bugs a proxy can.
func TestMutantStages(t *testing.T) {
	for _, tc := range []struct {
		name string
		st   stage
		in   []string
		want []string
	}{
		{"cstring", cutAtZero(), []string{"ab\x00cd", "ef", "\x00x"}, []string{"ab", "ef", ""}},
		{"truncate stream", capStream(5), []string{"abc", "defg", "h"}, []string{"abc", "de"}},
		{"truncate dgram", capDatagrams(3), []string{"abcdef", "ab"}, []string{"abc", "ab"}},
		{"noreply", dropAll(), []string{"a", "b"}, nil},
		{"noretry", firstOnly(), []string{"ping", "ping", "ping"}, []string{"ping"}},
		{"merge", &mergeStage{window: time.Hour}, []string{"first", "second", "third"}, []string{"firstsecond", "third"}},
	} {
		if got := stageRun(tc.st, tc.in...); !slices.Equal(got, tc.want) {
			t.Errorf("%s: %q -> %q, want %q", tc.name, tc.in, got, tc.want)
		}
	}
}

// TestMergeAlone checks that a datagram with none after it goes on once
// the window has passed, alone: a server that waits for the rest of a
// message answers a lone one late, not never.
func TestMergeAlone(t *testing.T) {
	f := &flow{in: make(chan piece, 64)}
	st := &mergeStage{window: time.Millisecond}
	f.stages = []stage{st}
	f.passFrom(0, piece{data: []byte("alone"), seq: 1})
	select {
	case p := <-f.in:
		if !bytes.Equal(p.data, []byte("alone")) {
			t.Errorf("got %q", p.data)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the lone datagram never went on")
	}
}

// TestNumbersAndSwaps checks where the byteorder mutant finds numbers in
// DATA (repeats walked only where the window meets them, len: prefixes)
// and how it swaps them as a stream passes: a number split between two
// reads waits for the rest.
func TestNumbersAndSwaps(t *testing.T) {
	spec, err := Parse("t.yaml", []byte(`
servers:
  sum: {run: ./sum}
  udp: {type: dgram, run: ./udp}
tests:
  - name: t
    steps:
      - connect: {to: sum, as: a}
      - send: [{u32: 0x01020304}, "ab", {u16: 0x0506}, {u8: 7}, {u32le: 8}]
      - expect: {u32: 9}
      - send: {repeat: 1000, of: [{u16: 0x0a0b}, "c"]}
      - expect: {len: u16, of: "xyz"}
      - expect: {regex: "."}
      - expect: {u32: 10}
      - restart: sum
      - connect: {to: sum, as: b}
      - send: {data: {u64: 1}, chunks: [3]}
      - connect: {to: udp, as: late}
      - connect: {to: udp, as: early}
      - send: {data: {u16: 1}, on: early}
      - send: {data: {u16: 2}, on: late}
`), LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tt := spec.Tests[0]
	gens, why := testLayouts(spec, tt, "sum")
	if why != "" || len(gens) != 2 || len(gens[0]) != 1 || len(gens[1]) != 1 {
		t.Fatalf("sum's layouts: %v, %q", gens, why)
	}
	a := gens[0][0]
	var got []int64
	numbersIn(a.up, 0, 1<<40, func(at int64, w int) { got = append(got, at, int64(w)) })
	want := []int64{0, 4, 6, 2}
	for k := int64(0); k < 1000; k++ {
		want = append(want, 13+3*k, 2)
	}
	if !slices.Equal(got, want) {
		t.Errorf("numbers sent: %v..., want %v...", got[:min(8, len(got))], want[:8])
	}
	// A window in the middle of the repeat: only the numbers in it.
	got = nil
	numbersIn(a.up, 1000, 1010, func(at int64, w int) { got = append(got, at) })
	if !slices.Equal(got, []int64{1000, 1003, 1006, 1009}) {
		t.Errorf("numbers in [1000, 1010): %v", got)
	}
	// The expects: a u32, then a len: u16 prefix; the regex ends what is known.
	got = nil
	numbersIn(a.down, 0, 1<<40, func(at int64, w int) { got = append(got, at, int64(w)) })
	if !slices.Equal(got, []int64{0, 4, 4, 2}) || !a.downEnd {
		t.Errorf("numbers expected: %v (known to the end: %v)", got, !a.downEnd)
	}
	// Datagram clients in the order they first send, not connect.
	udp, _ := testLayouts(spec, tt, "udp")
	if len(udp[0]) != 2 || udp[0][0].up[0].size != 2 || udp[0][1] == udp[0][0] {
		t.Errorf("udp layouts: %+v", udp[0])
	}
	var early []byte
	numbersIn(udp[0][0].up, 0, 2, func(int64, int) { early = append(early, 1) })
	if p, _ := udp[0][0].up[0].static(); p[1] != 1 || len(early) != 1 {
		t.Errorf("the first client to send is not 'early': %v", p)
	}

	sw := &swapStage{layout: a.up}
	out := stageRun(sw, "\x01\x02", "\x03\x04ab\x05", "\x06\x07")
	if strings.Join(out, "|") != "\x04\x03\x02\x01ab|\x06\x05\x07" {
		t.Errorf("swapped stream: %q", out)
	}
	dg := &swapStage{layout: udp[0][0].up, dgram: true}
	if out := stageRun(dg, "\x00\x01", "\x00\x02"); !slices.Equal(out, []string{"\x01\x00", "\x00\x02"}) {
		t.Errorf("swapped datagrams: %q", out)
	}
	if _, why := testLayouts(spec, &Test{Steps: []*Step{{act: &runAction{}}}}, "sum"); why == "" {
		t.Error("a test that runs a program has layouts")
	}
}
