package runner

import (
	"bytes"
	"slices"
	"strconv"
	"time"
)

// A mutantKind is one classic bug: an entry of the mutant table that
// sockrun audit runs. It says what the bug is, which servers it applies
// to, and how a mutant with the bug is made from a reference. A new bug
// is a new entry; most are a stage or a flag of a mutation.
type mutantKind struct {
	name string
	bug  string // the bug, as the table and the README say it
	how  string // how the mutant is made, for the README
	// client: a bug of a client under test, made in front of the servers
	// its programs reach; else a bug of the server under test.
	client        bool
	stream, dgram bool // the socket types it applies to
	// why says why the bug does not apply to t, or "" if it does.
	why func(t *auditTarget) string
	// mutation is the bug as a mutant in front of server srv: a proxy
	// with departures; nil when rewrite makes it.
	mutation func(srv *Server) *mutation
	// rewrite, instead, returns a copy of the reference srv that has the
	// bug.
	rewrite func(srv *Server) *Server
	// fixture, for a client bug, says which of the servers the client
	// reaches carry it; fixtures names them, for messages.
	fixture  func(srv *Server) bool
	fixtures string
}

// Limits of the buffers of the mutants that truncate.
const (
	streamBuffer   = 64 << 10 // what a connection's replies are cut at
	datagramBuffer = 1 << 10  // what each reply datagram is cut at
)

// mergeWindow is how long a mutant that merges datagrams waits for "the
// rest of the message", as examples/c/udp_echo_server_merge does.
const mergeWindow = 200 * time.Millisecond

// mutantKinds is the table of classic bugs, in the order audit runs and
// reports them: the stream servers', the datagram servers', the clients'.
func mutantKinds() []*mutantKind {
	return []*mutantKind{
		{name: "cstring", stream: true, dgram: true,
			bug: "treats its buffer as a C string: what it sends stops at the first zero byte (strlen, strcpy)",
			how: "a proxy that cuts each piece (each datagram) the reference sends at its first zero byte",
			why: func(t *auditTarget) string {
				if t.script() && !scriptSends(t.srv, func(d *Data) bool { return mayHoldZero(d) }) {
					return "its script sends no zero byte"
				}
				return ""
			},
			mutation: func(*Server) *mutation { return &mutation{back: []*fault{mutantFault("cstring", cutAtZero)}} }},
		{name: "onerecv", stream: true,
			bug:      "serves only the first recv() of a connection: one read taken for the whole message, then close",
			how:      "a proxy that passes the first read of each connection to the reference, half-closes, and closes the connection once the reference has answered",
			mutation: func(*Server) *mutation { return &mutation{firstRead: true} }},
		{name: "onereq", stream: true,
			bug: "serves one request per connection, then closes it",
			how: "the reference's looping script, run once per connection",
			why: func(t *auditTarget) string {
				switch {
				case t.srv.Run != nil:
					return "sockrun cannot tell where a program's requests end (a looping script's: one run of it)"
				case !t.script():
					return "an echo server has no requests: onerecv is its bug"
				case !t.srv.Loop:
					return "its script runs once per connection already (no loop: true)"
				}
				return ""
			},
			rewrite: func(srv *Server) *Server {
				cp := *srv
				cp.Loop = false
				cp.lenient = true
				return &cp
			}},
		{name: "serial", stream: true,
			bug:      "serves one client at a time: the next waits until the current one leaves",
			how:      "a proxy that serves its connections one after another, in the order it accepted them",
			mutation: func(*Server) *mutation { return &mutation{turns: turnSerial} }},
		{name: "once", stream: true,
			bug:      "stops after its first client: no accept() loop",
			how:      "a proxy that serves its first connection only, and once that client has finished sending, stops listening and resets the others",
			mutation: func(*Server) *mutation { return &mutation{turns: turnOnce} }},
		{name: "halfclose", stream: true,
			bug:      "mishandles a half-close: once the client has shut down its sending side, the rest of the echo and the end of the stream never come",
			how:      "a proxy that, from the client's end of stream on, passes nothing to it and never closes",
			mutation: func(*Server) *mutation { return &mutation{mute: true} }},
		{name: "sigpipe", stream: true,
			bug: "dies writing to a client that has gone: SIGPIPE not ignored, send()'s errors not checked",
			how: "a proxy that writes on after a failed write, and at the first write that fails with EPIPE (where SIGPIPE strikes) ends: it stops listening, closes every connection, and the test fails as for a program killed by SIGPIPE",
			why: func(t *auditTarget) string {
				if t.script() {
					// What the bug dies of, a client that leaves while the
					// server still writes, fails a scripted reference too.
					return "its reference is a script, and a script whose client leaves mid-conversation fails the test: no test of this spec can pass its reference and catch this bug (a reference program can: --run)"
				}
				return ""
			},
			mutation: func(*Server) *mutation { return &mutation{sigpipe: true} }},
		{name: "noreuse", stream: true,
			bug: "no SO_REUSEADDR: it cannot bind its port again while old connections linger (TIME_WAIT)",
			how: "a proxy that binds without SO_REUSEADDR; a restart: step restarts it, not the reference",
			why: func(t *auditTarget) string {
				if t.srv.Path != "" {
					return "a Unix socket has no SO_REUSEADDR: nounlink is its bug"
				}
				return ""
			},
			mutation: func(*Server) *mutation { return &mutation{noReuse: true} }},
		{name: "nounlink", stream: true, dgram: true,
			bug: "does not unlink() a stale Unix socket file before bind(): it cannot start again on its path",
			how: "a proxy whose socket file stays when it stops; a restart: step restarts it, not the reference",
			why: func(t *auditTarget) string {
				switch {
				case t.srv.Path == "":
					return "not a Unix socket: noreuse is its bug"
				case t.srv.Path[0] == '@':
					return "an abstract Unix socket has no file"
				}
				return ""
			},
			mutation: func(*Server) *mutation { return &mutation{noUnlink: true} }},
		{name: "truncate", stream: true, dgram: true,
			bug: "truncates large messages: a fixed buffer, " + strconv.Itoa(streamBuffer>>10) + " KiB a connection on a stream, " + strconv.Itoa(datagramBuffer>>10) + " KiB a datagram",
			how: "a proxy that passes the first " + strconv.Itoa(streamBuffer>>10) + " KiB of what the reference sends on a connection and drops the rest, or cuts each datagram it sends at " + strconv.Itoa(datagramBuffer>>10) + " KiB",
			why: func(t *auditTarget) string {
				limit := int64(streamBuffer)
				if t.srv.Type == Dgram {
					limit = datagramBuffer
				}
				if t.script() && !scriptSends(t.srv, func(d *Data) bool { return d.size < 0 || d.size > limit }) {
					if t.srv.Type == Dgram {
						return "its script sends no datagram larger than " + strconv.Itoa(datagramBuffer>>10) + " KiB"
					}
					if t.srv.Loop {
						return "each run of its script sends " + strconv.Itoa(streamBuffer>>10) + " KiB or less"
					}
					return "its script sends " + strconv.Itoa(streamBuffer>>10) + " KiB or less"
				}
				return ""
			},
			mutation: func(srv *Server) *mutation {
				if srv.Type == Dgram {
					return &mutation{back: []*fault{mutantFault("truncate", func() stage { return capDatagrams(datagramBuffer) })}}
				}
				return &mutation{back: []*fault{mutantFault("truncate", func() stage { return capStream(streamBuffer) })}}
			}},
		{name: "byteorder", stream: true, dgram: true,
			bug: "forgets ntohl() and htonl(): it reads and writes the numbers in its own byte order",
			how: "a proxy in front of a reference program that swaps the bytes of each number the client sends, and of each number the reference replies, where the test's DATA has them ({u16: N}, {u32: N}, {u64: N}, len: prefixes)",
			why: func(t *auditTarget) string {
				switch {
				case t.srv.Run == nil && !t.script():
					return "an echo server reads no numbers"
				case t.script():
					return "its reference is a script, which answers only the requests of its table, not the swapped numbers this bug computes with (a reference program can: --run)"
				}
				sends := false
				for _, tt := range t.tests {
					gens, why := testLayouts(t.spec, tt, t.srv.Name)
					if why != "" {
						return why
					}
					for _, g := range gens {
						sends = sends || slices.ContainsFunc(g, (*connLayout).sendsNumbers)
					}
				}
				if !sends {
					return "the spec sends it no number in network byte order"
				}
				return ""
			},
			mutation: func(*Server) *mutation { return &mutation{byteorder: true} }},
		{name: "merge", dgram: true,
			bug: "merges datagrams: it waits for the rest of a message, and answers two datagrams with one",
			how: "a proxy that appends a client's datagram to the one before it if it comes within " + mergeWindow.String(),
			mutation: func(*Server) *mutation {
				return &mutation{to: []*fault{mutantFault("merge", func() stage { return &mergeStage{window: mergeWindow} })}}
			}},
		{name: "onepeer", dgram: true,
			bug:      "replies to the first client's address, whoever sent the datagram",
			how:      "a proxy that sends every reply to the first client it heard from",
			mutation: func(*Server) *mutation { return &mutation{onePeer: true} }},
		{name: "noreply", dgram: true,
			bug:      "never replies: recvfrom()'s address not kept, or sendto() forgotten",
			how:      "a proxy that drops every reply",
			mutation: func(*Server) *mutation { return &mutation{back: []*fault{mutantFault("noreply", dropAll)}} }},
		{name: "client-onerecv", client: true, stream: true,
			bug:      "reads once: one recv() taken for the whole reply",
			how:      "a proxy in front of each stream server the client reaches, that passes the first piece of a reply and then the end of the stream",
			fixture:  func(srv *Server) bool { return srv.Type == Stream && !isFixtureOnly(srv) },
			fixtures: "stream server that answers",
			mutation: func(*Server) *mutation { return &mutation{closeAfterFirst: true} }},
		{name: "client-noerror", client: true, stream: true,
			bug:      "ignores connect errors: a refused connect() goes unreported, and the client exits 0",
			how:      "a port that accepts where the reference refuses, and closes at once: the client reads an empty reply, as one that ignores the refusal",
			fixture:  func(srv *Server) bool { return srv.Behaviour != nil && srv.Behaviour.bindOnly },
			fixtures: "port that refuses connections (behaviour: refuse)",
			mutation: func(*Server) *mutation { return &mutation{acceptOnly: true} }},
		{name: "client-noretry", client: true, dgram: true,
			bug:      "never retries: a lost datagram is never sent again",
			how:      "a proxy in front of each datagram server the client reaches, that passes each client's first datagram only",
			fixture:  func(srv *Server) bool { return srv.Type == Dgram },
			fixtures: "datagram server",
			mutation: func(*Server) *mutation {
				return &mutation{to: []*fault{mutantFault("noretry", firstOnly)}}
			}},
	}
}

// isFixtureOnly reports whether a built-in server is one no bug of a
// server is modelled on: it answers nothing a client asks.
func isFixtureOnly(srv *Server) bool {
	if srv.Run != nil || srv.Proxy != nil || srv.Behaviour == nil {
		return false
	}
	switch srv.Behaviour.name {
	case "echo", "script":
		return false
	}
	return true
}

// socketTypes names the socket types a mutant applies to.
func (k *mutantKind) socketTypes() string { return socketTypes(k.stream, k.dgram) }

// fits reports whether the bug is one of what target t is, a server of
// its socket type or a client: the audit lists those only.
func (k *mutantKind) fits(t *auditTarget) bool {
	switch {
	case t.srv == nil:
		return k.client
	case t.srv.Type == Stream:
		return !k.client && k.stream
	}
	return !k.client && k.dgram
}

// applies says why the bug does not apply to target t, or "".
func (k *mutantKind) applies(t *auditTarget) string {
	if t.srv == nil {
		if !k.client {
			return "a bug of a server"
		}
		if t.skipped != "" {
			return t.skipped
		}
		if len(k.reached(t)) == 0 {
			return "the client reaches no " + k.fixtures
		}
		return ""
	}
	switch {
	case k.client:
		return "a bug of a client"
	case t.srv.Type == Stream && !k.stream:
		return "a bug of datagram servers"
	case t.srv.Type == Dgram && !k.dgram:
		return "a bug of stream servers"
	case t.srv.TLS != nil:
		return "it serves TLS: a mutant sees only encrypted bytes"
	case t.skipped != "":
		return t.skipped
	}
	if k.why != nil {
		return k.why(t)
	}
	return ""
}

// reached returns the servers the client reaches that carry the bug.
func (k *mutantKind) reached(t *auditTarget) []*Server {
	var out []*Server
	for _, f := range t.fixtures {
		if k.fixture(f) {
			out = append(out, f)
		}
	}
	return out
}

// An auditTarget is what a mutant replaces: a server under test, or the
// client under test (through the servers its programs reach).
type auditTarget struct {
	spec     *Spec
	srv      *Server   // the server under test; nil: the client under test
	fixtures []*Server // for the client: the servers its programs name
	tests    []*Test   // the tests that can catch a bug of it, in file order
	skipped  string    // why none of its tests can run, if so
}

// script reports whether the reference is a scripted server.
func (t *auditTarget) script() bool {
	return t.srv.Run == nil && t.srv.Behaviour != nil && t.srv.Behaviour.script
}

// reference says what the reference is, for reports.
func (t *auditTarget) reference() string {
	switch {
	case t.srv == nil:
		return "the programs its run: steps start"
	case t.srv.Run != nil:
		return "program " + t.srv.Run.String()
	}
	return "behaviour " + t.srv.Behaviour.name
}

// auditTargets finds what a spec tests: the servers its tests connect
// to, restart or wait for (through proxies, the server at the end), and
// the client programs its run: steps start, with the servers those name.
func auditTargets(spec *Spec) []*auditTarget {
	under := map[string]bool{}
	named := map[string]bool{}
	clients := map[*Test]bool{}
	for _, t := range spec.Tests {
		for _, st := range t.Steps {
			switch a := st.act.(type) {
			case *connectAction:
				under[spec.end(a.server)] = true
			case restartAction:
				under[spec.end(string(a))] = true
			case *waitAction:
				under[a.server] = true
			case *runAction:
				clients[t] = true
				for _, w := range a.cmd.words {
					for _, seg := range w.segs {
						if seg.server != "" {
							named[seg.server] = true
						}
					}
				}
			}
		}
	}
	var out []*auditTarget
	client := &auditTarget{spec: spec}
	for _, srv := range spec.Servers {
		switch {
		case under[srv.Name] && !isFixtureOnly(srv) && srv.Proxy == nil:
			t := &auditTarget{spec: spec, srv: srv}
			t.tests, t.skipped = runnable(spec, func(tt *Test) bool { return slices.Contains(tt.Servers, srv.Name) })
			out = append(out, t)
		case named[srv.Name] && !under[srv.Name]:
			client.fixtures = append(client.fixtures, srv)
		}
	}
	if len(client.fixtures) > 0 {
		client.tests, client.skipped = runnable(spec, func(tt *Test) bool {
			return clients[tt] && slices.ContainsFunc(client.fixtures, func(f *Server) bool { return slices.Contains(tt.Servers, f.Name) })
		})
		out = append(out, client)
	}
	return out
}

// runnable returns the tests of spec that use and that can run, and if
// none can, why.
func runnable(spec *Spec, uses func(*Test) bool) ([]*Test, string) {
	var out []*Test
	why := ""
	for _, t := range spec.Tests {
		if !uses(t) {
			continue
		}
		if r := skipReason(t); r != "" {
			why = r
			continue
		}
		out = append(out, t)
	}
	if len(out) > 0 {
		why = ""
	} else if why == "" {
		why = "no test uses it"
	} else {
		why = "its tests are skipped: " + why
	}
	return out, why
}

// end follows proxies from server name to the server they forward to.
func (s *Spec) end(name string) string {
	for range len(s.Servers) {
		srv := s.Server(name)
		if srv == nil || srv.Proxy == nil {
			break
		}
		name = srv.Proxy.target
	}
	return name
}

// scriptSends reports whether any send of srv's script holds data that
// has the property.
func scriptSends(srv *Server, has func(*Data) bool) bool {
	var walk func(steps []*Step) bool
	walk = func(steps []*Step) bool {
		for _, st := range steps {
			switch a := st.act.(type) {
			case *sendAction:
				if has(a.data) {
					return true
				}
			case *chooseAction:
				for _, alt := range a.alts {
					if walk(alt.then) {
						return true
					}
				}
			}
		}
		return false
	}
	return walk(srv.Script)
}

// mayHoldZero reports whether data may hold a zero byte: its bytes, if
// they are few and known before the test runs.
func mayHoldZero(d *Data) bool {
	if d.size < 0 || d.size > 1<<20 {
		return true
	}
	b, ok := d.static()
	return !ok || bytes.IndexByte(b, 0) >= 0
}

// mutant returns the spec with the bug in place of target t's reference:
// the servers it affects are replaced by mutants that take their names,
// each in front of its reference, renamed; the tests start both.
func (k *mutantKind) mutant(t *auditTarget) *Spec {
	spec := *t.spec
	spec.Servers = slices.Clone(spec.Servers)
	victims := []*Server{t.srv}
	if t.srv == nil {
		victims = k.reached(t)
	}
	refOf := map[string]string{}
	for _, v := range victims {
		i := slices.Index(spec.Servers, v)
		if k.rewrite != nil {
			spec.Servers[i] = k.rewrite(v)
			continue
		}
		ref := *v
		ref.Name = freeName(&spec, v.Name+"~reference")
		ref.alias = v.Name
		// A scripted reference is no expectation of the test: the mutant
		// is what is tested. A client's servers still are.
		ref.lenient = !k.client
		ref.Port = 0
		if ref.Path != "" && !isBareName(ref.Path) {
			ref.Path = "reference.sock"
		}
		m := k.mutation(v)
		spec.Servers[i] = &Server{Name: v.Name, Pos: v.Pos, Type: v.Type, Host: v.Host, Port: v.Port, Path: v.Path, Ready: v.Ready,
			Behaviour: mutantBehaviour, Proxy: &proxySpec{target: ref.Name, to: m.to, back: m.back, seed: 1, mutant: m}}
		spec.Servers = append(spec.Servers, &ref)
		refOf[v.Name] = ref.Name
	}
	spec.Tests = nil
	for _, tt := range t.tests {
		cp := *tt
		cp.Servers = nil
		for _, name := range tt.Servers {
			cp.Servers = append(cp.Servers, name)
			if ref, ok := refOf[name]; ok {
				cp.Servers = append(cp.Servers, ref)
			}
		}
		spec.Tests = append(spec.Tests, &cp)
	}
	return &spec
}

// freeName returns name, or name with a number, so that no server of
// spec has it.
func freeName(spec *Spec, name string) string {
	free := name
	for i := 2; spec.Server(free) != nil; i++ {
		free = name + strconv.Itoa(i)
	}
	return free
}
