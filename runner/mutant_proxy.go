package runner

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// A mutation is how a mutant server departs from the reference it stands
// in front of (sockrun audit): a proxy's stages on what the server
// receives and sends, and the few ways of serving that no fault of a
// proxy has. An entry of the mutant table sets one or two of them.
type mutation struct {
	to, back []*fault // stages on what the server receives, and on what it sends
	turns    turnRule // which connections it serves, and when

	// firstRead: it reads once from a connection; its reference gets the
	// end of the request, and once it has answered, the server closes
	// the connection.
	firstRead bool
	// mute: once the client half-closes, nothing more reaches it, not
	// even the end of the stream.
	mute bool
	// sigpipe: a send() whose error it does not check, and SIGPIPE not
	// ignored: a write that fails with EPIPE ends the whole server.
	sigpipe bool
	// closeAfterFirst: the client sees the first piece of a reply, then
	// the end of the stream (a client that reads once).
	closeAfterFirst bool
	// acceptOnly: it accepts a connection and half-closes it at once,
	// never reaching its reference (a client that ignores a refused
	// connect sees an empty reply).
	acceptOnly bool
	// onePeer: every reply goes to the first client's address.
	onePeer bool
	// noReuse: it binds without SO_REUSEADDR, so it cannot come back
	// on its port while old connections linger.
	noReuse bool
	// noUnlink: its socket file stays when it ends, and it does not
	// remove a stale one before bind().
	noUnlink bool
	// byteorder: it swaps the bytes of the numbers of what each client
	// sends and of what it replies, where swap says they are (see
	// Spec.forTest).
	byteorder bool
	swap      *swapping
}

// A turnRule says which connections a stream mutant serves, and when.
type turnRule int

const (
	turnAll    turnRule = iota // every connection at once
	turnSerial                 // one at a time, in the order accepted
	turnOnce                   // the first only; then the server ends
)

// mutation returns the mutation of a mutant server, or nil.
func (s *Server) mutation() *mutation {
	if s.Proxy == nil {
		return nil
	}
	return s.Proxy.mutant
}

// listenConfig sets how a mutant binds.
func (m *mutation) listenConfig(lc *net.ListenConfig) {
	if m == nil || !m.noReuse {
		return
	}
	// Go sets SO_REUSEADDR on every listener; a C program does not,
	// unless it asks.
	lc.Control = func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 0)
		})
		if err != nil {
			return err
		}
		return serr
	}
}

// listening applies the mutation to a new listener: a Unix listener of
// Go removes its socket file when it closes, and close() in C does not.
func (m *mutation) listening(ln net.Listener) {
	if ul, ok := ln.(*net.UnixListener); ok && m != nil && m.noUnlink {
		ul.SetUnlinkOnClose(false)
	}
}

// keepsStale reports whether the server leaves a stale socket file where
// it binds, so that its restart fails.
func (m *mutation) keepsStale() bool { return m != nil && m.noUnlink }

// noReuseBind reports whether the server's bug is in how it binds again
// after a restart: it must close its socket and bind anew.
func (m *mutation) noReuseBind() bool { return m != nil && (m.noReuse || m.noUnlink) }

// mutantBehaviour is what a mutant server runs: a proxy in front of its
// reference, with the departures of its mutation. It is not in the
// behaviour table: only sockrun audit makes mutants.
var mutantBehaviour = &behaviourKind{
	name:   "mutant",
	doc:    "a reference server with one classic bug, as a proxy in front of it",
	stream: true, dgram: true,
	conn: mutantConn, packet: proxyPacket, drain: drainProxy,
}

// A mutantState is the state of one instance of a mutant: a restart
// starts afresh, as a restarted program does.
type mutantState struct {
	m *mutation
	b *builtin

	gen int // which instance of the server it is: how many restarts came before

	mu      sync.Mutex
	last    chan struct{}      // the turn of the connection accepted last ends here
	turns   map[net.Conn]mturn // each accepted connection's turn
	index   map[net.Conn]int   // each accepted connection's place in the order of accept
	accepts int                // connections accepted so far
	first   net.Addr           // the first client's address (onePeer)
	gone    chan struct{}      // closed when the server has ended: it serves no more
	end     sync.Once          // closes gone
}

// An mturn is a connection's place in the order of service.
type mturn struct {
	prev  chan struct{} // closed when the connection before it is done; nil: it is the first
	done  chan struct{}
	first bool
}

func newMutantState(m *mutation, b *builtin) *mutantState {
	st := &mutantState{m: m, b: b, turns: map[net.Conn]mturn{}, index: map[net.Conn]int{}, gone: make(chan struct{})}
	if m.swap != nil {
		st.gen = int(m.swap.started.Add(1)) - 1
	}
	return st
}

// accepted gives a connection its place and its turn, in the order of
// accept.
func (st *mutantState) accepted(c net.Conn) {
	if st == nil {
		return
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	st.index[c] = st.accepts
	st.accepts++
	if st.m.turns == turnAll {
		return
	}
	t := mturn{prev: st.last, done: make(chan struct{}), first: st.last == nil}
	st.last = t.done
	st.turns[c] = t
}

// wait waits for connection c's turn, and reports whether the server
// serves it at all.
func (st *mutantState) wait(c net.Conn) bool {
	st.mu.Lock()
	t := st.turns[c]
	st.mu.Unlock()
	switch st.m.turns {
	case turnSerial:
		if t.prev != nil {
			select {
			case <-t.prev:
			case <-st.gone:
			}
		}
	case turnOnce:
		if !t.first {
			// It waits in the backlog, and the server ends first.
			<-st.gone
			return false
		}
	}
	return true
}

// release ends connection c's turn: the server has read the end of its
// stream, or stopped reading it, so a server that serves one client at a
// time goes on to the next, and one that serves only its first ends.
func (st *mutantState) release(c net.Conn) {
	st.mu.Lock()
	t, ok := st.turns[c]
	delete(st.turns, c)
	st.mu.Unlock()
	if !ok {
		return
	}
	close(t.done)
	if st.m.turns == turnOnce && t.first {
		st.stop(nil)
	}
}

// stop ends the server: it takes no more connections, and those it has
// not served are reset, as the kernel resets a dead process's backlog. A
// death (err) also closes every connection it has, as the kernel closes
// a dead process's sockets; a server that ends normally finishes its
// last client first.
func (st *mutantState) stop(err error) {
	st.end.Do(func() {
		b := st.b
		b.mu.Lock()
		if err != nil {
			b.died = err
		}
		var conns []net.Conn
		if err != nil {
			for c := range b.conns {
				conns = append(conns, c)
			}
		}
		b.mu.Unlock()
		if b.ln != nil {
			b.ln.Close()
		}
		for _, c := range conns {
			c.Close()
		}
		close(st.gone)
	})
}

// replyTo is the address the replies to a datagram client go to.
func (st *mutantState) replyTo(from net.Addr) net.Addr {
	if st == nil || !st.m.onePeer {
		return from
	}
	if st.first == nil {
		st.first = from // the packet loop's own: no lock
	}
	return st.first
}

// mutantConn serves one client connection of a mutant: it forwards it to
// the reference and back, as a proxy does, with the mutation's
// departures.
func mutantConn(b *builtin, c net.Conn) {
	px, st := b.px, b.px.mut
	if !st.wait(c) {
		px.forward.Done()
		reset(c)
		return
	}
	if st.m.acceptOnly {
		px.forward.Done()
		st.release(c)
		closeWrite(c)
		io.Copy(io.Discard, c) // until the client closes, or the test ends
		return
	}
	u, err := px.dial(b)
	if err != nil {
		px.forward.Done()
		st.release(c)
		px.log.add(px.name+">"+px.spec.target, "cannot reach it: "+err.Error(), nil)
		reset(c)
		return
	}
	b.track(u, true)
	defer b.track(u, false)
	defer u.Close()
	px.mu.Lock()
	px.clients[c] = u
	if px.draining {
		px.bound(c, u, px.wait)
	}
	px.mu.Unlock()
	mc := &mconn{b: b, st: st, c: c, u: u}
	both := func() { reset(c); reset(u) }
	st.mu.Lock()
	k := st.index[c]
	delete(st.index, c)
	st.mu.Unlock()
	to, back := px.faults(k)
	up := px.newFlow(b, to, true, func(p []byte) error { _, err := u.Write(p); return err }, both)
	down := px.newFlow(b, back, false, mc.send, both)
	done := make(chan struct{})
	go func() {
		defer close(done)
		mc.down(down)
	}()
	mc.up(up)
	px.forward.Done()
	st.release(c)
	<-done
	if mc.muted.Load() {
		<-b.stopping // it never closes: not until the test is over
	}
}

// An mconn is one client connection of a mutant and its connection to
// the reference.
type mconn struct {
	b     *builtin
	st    *mutantState
	c, u  net.Conn
	muted atomic.Bool // nothing more reaches the client
}

// up forwards what the client sends to the reference: each read is one
// recv() of the mutant.
func (mc *mconn) up(f *flow) {
	m := mc.st.m
	buf := make([]byte, 32<<10)
	for {
		n, err := mc.c.Read(buf)
		if n > 0 {
			f.feed(buf[:n])
			if m.firstRead {
				// It reads no more: the reference answers the one
				// request it got.
				f.end()
				closeWrite(mc.u)
				return
			}
		}
		if err != nil {
			f.end()
			switch {
			case f.broken:
			case err == io.EOF:
				if m.mute {
					mc.muted.Store(true)
				}
				closeWrite(mc.u)
			case isReset(err) && m.sigpipe:
				// It has not noticed: it echoes what it read before, and
				// writes to the dead connection.
				closeWrite(mc.u)
			case isReset(err):
				reset(mc.u)
			}
			return
		}
	}
}

// down forwards the reference's replies to the client: each piece is one
// send() of the mutant.
func (mc *mconn) down(f *flow) {
	buf := make([]byte, 32<<10)
	for {
		n, err := mc.u.Read(buf)
		if n > 0 {
			f.feed(buf[:n])
		}
		if err != nil {
			f.end()
			switch {
			case f.broken, mc.muted.Load():
			case err == io.EOF && mc.st.m.firstRead:
				mc.c.Close() // done with this client: close(2), unread bytes and all
			case err == io.EOF:
				closeWrite(mc.c)
			case isReset(err):
				reset(mc.c)
			}
			return
		}
	}
}

// errReadOnce ends the replies to a client that reads once.
var errReadOnce = errors.New("the client reads no more")

// send is one send() of the mutant to its client.
func (mc *mconn) send(p []byte) error {
	m := mc.st.m
	if mc.muted.Load() {
		return nil // dropped
	}
	_, err := mc.c.Write(p)
	switch {
	case err != nil && m.sigpipe && errors.Is(err, syscall.EPIPE):
		mc.st.stop(&ProgramError{Name: "server " + mc.b.srv.Name, State: "was killed by signal " + signalName(syscall.SIGPIPE),
			When: "during the test (a mutant: it wrote to a client that had gone)", Signaled: true})
		return err
	case err != nil && m.sigpipe:
		return nil // the error is not checked: it writes on
	case err == nil && m.closeAfterFirst:
		closeWrite(mc.c)
		return errReadOnce
	}
	return err
}

func closeWrite(c net.Conn) {
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
	}
}

// mutantFault makes a stage of a mutation: a fault of no table.
func mutantFault(name string, mk func() stage) *fault {
	return &fault{kind: &faultKind{name: "mutant " + name}, stage: func(*rand.Rand) stage { return mk() }}
}

// cutAtZero sends each piece up to its first zero byte, as a server that
// sends strlen() bytes of its buffer does.
func cutAtZero() stage {
	return passer(func(p piece, out outlet) {
		if i := bytes.IndexByte(p.data, 0); i >= 0 {
			out.note("cut at a zero byte", p)
			p.data = p.data[:i]
		}
		out.next(p)
	})
}

// capStream passes the first limit bytes of a stream and drops the rest.
func capStream(limit int) stage {
	left := limit
	return passer(func(p piece, out outlet) {
		if len(p.data) > left {
			out.note("drop what is past the buffer in", p)
			p.data = p.data[:left]
		}
		left -= len(p.data)
		if len(p.data) > 0 {
			out.next(p)
		}
	})
}

// capDatagrams cuts each datagram at limit bytes.
func capDatagrams(limit int) stage {
	return passer(func(p piece, out outlet) {
		if len(p.data) > limit {
			out.note("cut", p)
			p.data = p.data[:limit]
		}
		out.next(p)
	})
}

// dropAll passes nothing.
func dropAll() stage {
	return passer(func(p piece, out outlet) { out.note("drop", p) })
}

// firstOnly passes the first datagram of each client, and drops the
// others: they are retries a client that never retries would not send.
func firstOnly() stage {
	return passer(func(p piece, out outlet) {
		if p.seq > 1 {
			out.note("drop (a retry)", p)
			return
		}
		out.next(p)
	})
}

// A mergeStage appends a datagram to the one before it when it comes
// within window: a server that waits for "the rest of the message"
// answers two datagrams with one. A datagram alone goes on when the
// window has passed.
type mergeStage struct {
	window time.Duration

	mu    sync.Mutex
	held  *piece
	out   outlet
	timer *time.Timer
	ended bool
}

func (s *mergeStage) pass(p piece, out outlet) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.held == nil {
		s.held, s.out = &p, out
		s.timer = time.AfterFunc(s.window, s.expire)
		return
	}
	s.timer.Stop()
	h := *s.held
	s.held = nil
	out.note("merge with the one before", p)
	h.data = append(h.data, p.data...)
	out.next(h)
}

// expire lets a datagram that waited alone go on.
func (s *mergeStage) expire() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.held == nil || s.ended {
		return
	}
	h := *s.held
	s.held = nil
	s.out.next(h)
}

func (s *mergeStage) flush(out outlet) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ended = true
	if s.timer != nil {
		s.timer.Stop()
	}
	if s.held != nil {
		out.next(*s.held)
		s.held = nil
	}
}
