package runner

import (
	"slices"
	"strings"
	"testing"
)

// TestDecodeNetErrors: every mistake in tls:, proxy:, faults:, seed: and
// starttls is a spec error at the key or value at fault, saying what was
// expected there.
func TestDecodeNetErrors(t *testing.T) {
	const tests = "tests:\n  - name: t\n    steps: [{sleep: 1ms}]\n    servers: [echo]\n"
	for _, tc := range []struct {
		servers string // the servers: mapping, indented by 2
		want    string
	}{
		{"  echo: {behaviour: echo, tls: maybe}", `t.yaml:2:32: server echo: tls: found "maybe", expected true (TLS from the first byte), starttls`},
		{"  echo: {behaviour: echo, tls: {alpn: []}}", `t.yaml:2:39: server echo: tls: alpn: found an empty list`},
		{"  echo: {behaviour: echo, tls: {starttls: yes}}", `server echo: tls: starttls: found "yes", expected true or false`},
		{"  echo: {behaviour: echo, type: dgram, tls: true}", `t.yaml:2:40: server echo: tls: needs a stream server; echo is dgram (TLS over datagrams, DTLS, is not supported)`},
		{"  echo: {behaviour: refuse, tls: true}", `t.yaml:2:29: server echo: tls: behaviour: refuse accepts no connection`},
		{"  echo: {behaviour: echo, tls: starttls}", `server echo: tls: starttls needs behaviour: script, whose starttls: step upgrades the connection; behaviour: echo never would`},
		{"  echo: {behaviour: echo}\n  p: {proxy: echo, tls: true}", `t.yaml:3:20: server p: tls: a proxy forwards bytes as they are, so TLS passes through it; put tls: on echo`},
		{"  echo: {behaviour: echo}\n  p: {proxy: ehco}", `t.yaml:3:14: server p: proxy: unknown server "ehco" (did you mean "echo"?)`},
		{"  echo: {proxy: echo}", `t.yaml:2:17: server echo: proxy: a proxy cannot forward to itself`},
		{"  echo: {proxy: q}\n  q: {proxy: echo}", `server echo: proxy: the proxies forward in a loop (echo -> q -> echo)`},
		{"  echo: {behaviour: echo}\n  p: {proxy: echo, type: dgram}", `t.yaml:3:14: server p: proxy: echo is a stream server, and this proxy is dgram`},
		{"  echo: {behaviour: echo}\n  p: {proxy: echo, behaviour: echo}", `t.yaml:3:7: server p: proxy: beside behaviour: or run:`},
		{"  echo: {behaviour: echo, faults: {delay: 1s}}", `t.yaml:2:27: server echo: faults: goes with proxy: SERVER`},
		{"  echo: {behaviour: echo, seed: 3}", `server echo: seed: goes with proxy: SERVER`},
		{"  echo: {behaviour: echo}\n  p: {proxy: echo, faults: {drop: [1]}}", `t.yaml:3:29: server p: faults: drop: applies to dgram proxies only; a stream proxy has: split, reset_after, delay`},
		{"  echo: {type: dgram, behaviour: echo}\n  p: {proxy: echo, faults: {split: 1}}", `server p: faults: split: applies to stream proxies only; a dgram proxy has: drop, duplicate, reorder, delay`},
		{"  echo: {type: dgram, behaviour: echo}\n  p: {proxy: echo, faults: {drop: [0]}}", `t.yaml:3:36: server p: faults: drop: found 0; positions count from 1`},
		{"  echo: {type: dgram, behaviour: echo}\n  p: {proxy: echo, faults: {drop: []}}", `server p: faults: drop: found an empty list`},
		{"  echo: {type: dgram, behaviour: echo}\n  p: {proxy: echo, faults: {drop: {rate: 1.5}}}", `t.yaml:3:42: server p: faults: drop: rate: found "1.5", expected a probability above 0, at most 1`},
		{"  echo: {type: dgram, behaviour: echo}\n  p: {proxy: echo, faults: {drop: 3}}", `server p: faults: drop: found "3", expected a list of positions`},
		{"  echo: {type: dgram, behaviour: echo}\n  p: {proxy: echo, faults: {dorp: [1]}}", `server p: faults: unknown key "dorp" (did you mean "drop"?)`},
		{"  echo: {type: dgram, behaviour: echo}\n  p: {proxy: echo, faults: {replies: {replies: {}}}}", `server p: faults: replies: unknown key "replies"`},
		{"  echo: {type: dgram, behaviour: echo}\n  p: {proxy: echo, seed: 4, faults: {drop: [1]}}", `t.yaml:3:20: server p: seed: no fault of this proxy is random ({rate: P}), so a seed changes nothing`},
		{"  echo: {behaviour: echo}\n  p: {proxy: echo, faults: {split: 0}}", `server p: faults: split: found 0, expected a piece size of 1 byte or more`},
		{"  echo: {behaviour: echo}\n  p: {proxy: echo, faults: {split: {gap: 1ms}}}", `server p: faults: split: needs size: N`},
		{"  echo: {behaviour: echo}\n  p: {proxy: echo, faults: {reset_after: 0}}", `server p: faults: reset_after: found 0, expected a count of 1 byte or more`},
		{"  echo: {behaviour: echo}\n  p: {proxy: echo, faults: {delay: 5}}", `server p: faults: delay: found "5", expected a positive duration such as 250ms or 2s (a number needs a unit`},
		{"  echo: {behaviour: script, script: [{starttls: }]}", `t.yaml:2:39: starttls: server echo has no certificate; write tls: starttls on it`},
		{"  echo: {behaviour: script, tls: true, script: [{starttls: }]}", `starttls: server echo speaks TLS from the first byte (tls: true); for an upgrade of a plain connection write tls: starttls`},
		{"  echo: {behaviour: script, tls: starttls, script: [{starttls: {alpn: h2}}]}", `starttls: in a server script takes nothing, found a mapping`},
		{"  echo: {behaviour: echo, run: x}", `behaviour: and run: both given`},
		{"  echo: {run: x, tls: true, files: {key: \"k\"}}", `t.yaml:2:42: server echo: files: "key" is the name of a PEM file of its certificate (tls:), {{echo.key}}; choose another name`},
		{"  echo: {behaviour: echo}\n  x: {}", `server x: needs behaviour: (echo, discard, close, hold, refuse, script), run: COMMAND or proxy: SERVER`},
	} {
		wantSpecError(t, tc.servers, "servers:\n"+tc.servers+"\n"+tests, tc.want)
	}
}

// wantSpecError checks that src is a spec error that says want, and that
// every error in it has a position.
func wantSpecError(t *testing.T, what, src, want string) {
	t.Helper()
	_, err := Parse("t.yaml", []byte(src), LoadOptions{})
	if err == nil {
		t.Errorf("%s: no error, want %q", what, want)
		return
	}
	if !strings.Contains(err.Error(), want) {
		t.Errorf("%s:\n got %v\nwant %s", what, err, want)
	}
	for _, e := range SpecErrors(err) {
		if e.Pos.Line == 0 || e.Pos.Col == 0 {
			t.Errorf("%s: error without a position: %v", what, e)
		}
	}
}

// TestDecodeNetStepErrors: connect's tls:, starttls and the TLS
// placeholders in a test's steps.
func TestDecodeNetStepErrors(t *testing.T) {
	const head = "servers:\n  echo: {behaviour: echo, tls: true}\n  plain: {behaviour: echo}\n  udp: {type: dgram, behaviour: echo}\ntests:\n  - name: t\n    steps:\n"
	for _, tc := range []struct {
		step string // a step on line 8, column 9
		want string
	}{
		{`- connect: {to: echo, tls: yes}`, `t.yaml:8:34: connect: tls: found "yes", expected true, or a mapping of server_name, insecure, ca, alpn`},
		{`- connect: {to: udp, tls: true}`, `t.yaml:8:33: connect: tls: needs a stream server; udp is dgram`},
		{`- connect: {to: echo, tls: {sni: x}}`, `t.yaml:8:35: connect: tls: unknown key "sni"; expected one of: server_name, insecure, ca, alpn`},
		{`- connect: {to: echo, tls: {insecure: true, ca: x.pem}}`, `connect: tls: ca: beside insecure: true`},
		{`- connect: {to: echo, tls: {ca: nope.pem}}`, `t.yaml:8:39: connect: tls: ca: stat nope.pem: no such file or directory; expected a PEM file of the CAs to trust`},
		{`- connect: {to: echo, tls: {alpn: [h2, ""]}}`, `connect: tls: alpn: found "", expected a non-empty name`},
		{`- connect: {to: echo, tls: {server_name: "{{nope}}"}}`, `unknown placeholder {{nope}}`},
		{`- send: "{{plain.ca}}"`, `t.yaml:8:15: placeholder {{plain.ca}}: server plain has no certificate; add tls: true to it`},
		{`- connect: udp` + "\n      - starttls:", `t.yaml:9:9: starttls: needs a stream connection; udp is dgram`},
		{`- starttls:`, `t.yaml:8:9: starttls: no connection yet; a connect step must come first`},
		{`- connect: echo` + "\n      - starttls: {on: nope}", `starttls: on: unknown connection "nope"`},
		{`- connect: echo` + "\n      - starttls: {on: echo, tls: true}", `starttls: unknown key "tls"; expected one of: on, server_name, insecure, ca, alpn`},
	} {
		wantSpecError(t, tc.step, head+"      "+tc.step+"\n", tc.want)
	}
}

// TestDecodeProxy: a proxy takes its target's type when it has none of its
// own, uses its target, and keeps its faults in table order.
func TestDecodeProxy(t *testing.T) {
	s := mustParse(t, `servers:
  outer: {proxy: inner, faults: {delay: 1s, drop: {rate: 0.5}, replies: {duplicate: [2]}}, seed: 9}
  inner: {proxy: udp}
  udp: {type: dgram, behaviour: echo}
tests:
  - name: t
    steps: [{connect: outer}]
`)
	outer := s.Server("outer")
	if outer.Type != Dgram || s.Server("inner").Type != Dgram {
		t.Errorf("types: outer %s, inner %s; want dgram, the type of udp behind them", outer.Type, s.Server("inner").Type)
	}
	if got := strings.Join(s.Tests[0].Servers, " "); got != "outer inner udp" {
		t.Errorf("the test uses %q, want outer inner udp: a proxy uses its target", got)
	}
	px := outer.Proxy
	var to, back []string
	for _, f := range px.to {
		to = append(to, f.kind.name)
	}
	for _, f := range px.back {
		back = append(back, f.kind.name)
	}
	if strings.Join(to, " ") != "drop delay" || strings.Join(back, " ") != "duplicate" || px.seed != 9 || px.target != "inner" {
		t.Errorf("proxy: target %s, seed %d, faults %v, replies %v; want inner, 9, [drop delay], [duplicate]", px.target, px.seed, to, back)
	}
}

// TestFaultSchemas: the schema of faults: has every fault of the table,
// and replies:, and nothing else.
func TestFaultSchemas(t *testing.T) {
	want := append(faultNames(true), faultNames(false)...)
	slices.Sort(want)
	want = slices.Compact(append(want, "replies"))
	slices.Sort(want)
	if got := schemaKeys(faultsSchema(true)); !slices.Equal(got, want) {
		t.Errorf("faults: the schema has keys %v, the table %v", got, want)
	}
}
