package runner

import (
	"io"
	"net"
	"strings"
)

// A behaviourKind is one built-in server behaviour: an entry of the
// behaviour table. It says which sockets it serves and how it serves a
// connection or a datagram; the decoder, the reference and "did you mean"
// all read the table.
type behaviourKind struct {
	name   string
	doc    string
	stream bool // serves stream sockets
	dgram  bool // serves datagram sockets
	// bindOnly: the address is bound but never listened on, so every
	// connection is refused.
	bindOnly bool
	// script: it runs the server's script:, and the script is an
	// expectation of the test (see builtin.expectation).
	script bool
	conn   func(b *builtin, c net.Conn)              // one accepted connection
	packet func(b *builtin, p []byte, from net.Addr) // one datagram; p is reused after
	// drain, if set, is the first half of stopping (see builtin.drain):
	// a proxy passes on what its clients sent before its target stops.
	drain func(b *builtin)
}

// behaviourKinds is the table of built-in behaviours, in the reference's
// order.
func behaviourKinds() []*behaviourKind {
	return []*behaviourKind{
		{name: "echo", doc: "sends back every byte (every datagram) it receives; when a stream client half-closes, the rest and then end-of-stream",
			stream: true, dgram: true, conn: func(_ *builtin, c net.Conn) { echoStream(c) }, packet: echoPacket},
		{name: "discard", doc: "reads and drops everything",
			stream: true, dgram: true, conn: func(_ *builtin, c net.Conn) { io.Copy(io.Discard, c) }, packet: func(*builtin, []byte, net.Addr) {}},
		{name: "close", doc: "accepts a connection and closes it at once",
			stream: true, conn: func(*builtin, net.Conn) {}},
		{name: "hold", doc: "accepts a connection and holds it open, never reading or writing, until the test ends: a peer that never reads, whose buffers fill up",
			stream: true, conn: func(b *builtin, _ net.Conn) { <-b.stopping }},
		{name: "refuse", doc: "binds the port without listening: every connection is refused (a port where nobody listens)",
			stream: true, bindOnly: true},
		{name: "script", doc: "runs `script:` from the server's side, once per connection (stream) or per datagram (dgram); the test fails if the script did not run to its end",
			stream: true, dgram: true, script: true, conn: scriptConn, packet: scriptPacket},
	}
}

func lookupBehaviour(name string) *behaviourKind {
	for _, k := range behaviourKinds() {
		if k.name == name {
			return k
		}
	}
	return nil
}

func behaviourNames() []string {
	var out []string
	for _, k := range behaviourKinds() {
		out = append(out, k.name)
	}
	return out
}

// socketTypes names the socket types a behaviour serves, for messages.
func (k *behaviourKind) socketTypes() string {
	var t []string
	if k.stream {
		t = append(t, Stream)
	}
	if k.dgram {
		t = append(t, Dgram)
	}
	return strings.Join(t, " or ")
}
