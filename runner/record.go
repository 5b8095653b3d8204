package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// DefaultPause is how long a side of a recorded session must stay quiet
// for its next bytes to start a new step.
const DefaultPause = 100 * time.Millisecond

// RecordOptions say what Record proxies, and when it stops.
type RecordOptions struct {
	To     string // the server's address, HOST:PORT
	Type   string // Stream (TCP, the default) or Dgram (UDP)
	Listen string // where clients come, HOST:PORT; empty: a free port on 127.0.0.1
	// Count stops the recording once this many sessions have ended (a
	// stream session ends when both sides have closed); 0: no limit.
	Count int
	// Idle stops the recording once nothing has passed (no connection,
	// no byte, no datagram) for this long; 0: never.
	Idle time.Duration
	// Pause is how long one side must stay quiet for its next bytes to be
	// a step of their own; 0: DefaultPause.
	Pause time.Duration
	// Listening, if set, is called once Record listens, with where.
	Listening func(Addr)
	// Log, if set, is told of every session's start and end and of every
	// byte that passes, as it happens, from any goroutine. Conn names
	// the session ("session#2"); sent is the client's, received the
	// server's.
	Log func(Event)
	// Warn, if set, is told of what went wrong on the way without
	// stopping the recording: a session whose server could not be
	// reached.
	Warn func(error)
}

// A Recording is what Record saw: each session's bytes, in order.
type Recording struct {
	Type     string // Stream or Dgram
	To       string // the server's address
	Sessions []*RecordedSession
	// Stopped says why the recording ended: "interrupted by SIGINT",
	// "2 sessions ended", "idle for 5s".
	Stopped string
	pause   time.Duration
}

// A RecordedSession is one client's conversation with the server: a
// connection, or (dgram) the datagrams of one client address.
type RecordedSession struct {
	Peer string // the client's address
	// Cut says the recording stopped while the session was still open.
	Cut bool
	// Full says the recording stopped keeping this session's bytes, at
	// maxRecorded in all: it went on forwarding them.
	Full   bool
	mu     sync.Mutex
	events []recEvent
}

// maxRecorded caps the bytes a recording keeps, in all its sessions: as
// much as one DATA of a spec may describe. A flood beyond it is forwarded
// but not written.
const maxRecorded = maxData

// A recEvent is one thing that passed in a session.
type recEvent struct {
	at   time.Duration // since the recording started
	side side
	kind recKind
	data []byte
}

// side says which side of a session did something.
type side int

const (
	sideClient side = iota
	sideServer
)

// recKind is what a recEvent is.
type recKind int

const (
	recData  recKind = iota // bytes, or one datagram
	recEOF                  // the side closed its end of the stream
	recReset                // the side reset the connection
)

func (s *RecordedSession) add(ev recEvent) {
	s.mu.Lock()
	if !s.Full {
		s.events = append(s.events, ev)
	}
	s.mu.Unlock()
}

// keep adds the bytes p that side sent, unless the recording holds
// maxRecorded bytes already: then the session is Full, and keeps nothing
// more.
func (r *recorder) keep(s *RecordedSession, from side, p []byte) {
	if r.kept.Add(int64(len(p))) > r.limit {
		s.mu.Lock()
		full := s.Full
		s.Full = true
		s.mu.Unlock()
		if !full {
			r.warn(fmt.Errorf("%s: the recording holds %d bytes, as much as a spec's data may: the rest of the session is forwarded, not recorded", s.Peer, r.limit))
		}
		return
	}
	s.add(recEvent{at: time.Since(r.start), side: from, kind: recData, data: append([]byte(nil), p...)})
}

// A recordStop says why a recording stopped by itself.
type recordStop string

func (r recordStop) Error() string { return string(r) }

// Record proxies clients to the server at o.To, recording every session,
// until ctx is done or o says to stop (Count, Idle). It returns the
// recording once every connection it proxied is closed. An error means
// it could not start: nothing was recorded.
func Record(ctx context.Context, o RecordOptions) (*Recording, error) {
	if o.Type == "" {
		o.Type = Stream
	}
	if o.Pause <= 0 {
		o.Pause = DefaultPause
	}
	if o.Listen == "" {
		o.Listen = "127.0.0.1:0"
	}
	if o.Type == Dgram && o.Count > 0 {
		return nil, errors.New("a datagram session has no end to count; stop the recording with --idle or Ctrl-C")
	}
	network := map[string]string{Stream: "tcp", Dgram: "udp"}[o.Type]
	if network == "" {
		return nil, fmt.Errorf("type %q: expected %s or %s", o.Type, Stream, Dgram)
	}
	if _, _, err := net.SplitHostPort(o.To); err != nil {
		return nil, fmt.Errorf("--to %s: %v; expected HOST:PORT", o.To, err)
	}
	r := &recorder{o: o, network: network, start: time.Now(), conns: map[net.Conn]struct{}{}, limit: maxRecorded}
	r.ctx, r.stop = context.WithCancelCause(ctx)
	defer r.stop(nil)
	r.touch()
	var lc net.ListenConfig
	var where net.Addr
	if o.Type == Stream {
		ln, err := lc.Listen(r.ctx, network, o.Listen)
		if err != nil {
			return nil, err
		}
		where = ln.Addr()
		r.wg.Go(func() { r.acceptLoop(ln) })
		context.AfterFunc(r.ctx, func() { ln.Close() })
	} else {
		pc, err := lc.ListenPacket(r.ctx, network, o.Listen)
		if err != nil {
			return nil, err
		}
		where = pc.LocalAddr()
		r.wg.Go(func() { r.packetLoop(pc) })
		context.AfterFunc(r.ctx, func() { pc.Close() })
	}
	if o.Idle > 0 {
		r.wg.Go(r.watchIdle)
	}
	if o.Listening != nil {
		o.Listening(addrOf(where, Addr{Network: network}))
	}
	<-r.ctx.Done()
	r.closeAll()
	r.wg.Wait()
	rec := &Recording{Type: o.Type, To: o.To, Sessions: r.sessions, pause: o.Pause}
	rec.Stopped = context.Cause(r.ctx).Error()
	return rec, nil
}

// A recorder is one recording in progress.
type recorder struct {
	o       RecordOptions
	network string
	start   time.Time
	ctx     context.Context // done when the recording stops
	stop    context.CancelCauseFunc
	wg      sync.WaitGroup
	last    atomic.Int64 // when something last passed, in ns since start
	kept    atomic.Int64 // the bytes recorded, in all sessions
	limit   int64        // what kept may reach: maxRecorded

	mu       sync.Mutex
	sessions []*RecordedSession
	ended    int
	conns    map[net.Conn]struct{} // open sockets, closed when it stops
}

// touch notes that something passed now.
func (r *recorder) touch() { r.last.Store(int64(time.Since(r.start))) }

// watchIdle stops the recording once nothing has passed for o.Idle. Its
// timer is set to when that would be, never polled.
func (r *recorder) watchIdle() {
	t := time.NewTimer(r.o.Idle)
	defer t.Stop()
	for {
		select {
		case <-r.ctx.Done():
			return
		case <-t.C:
			quiet := time.Since(r.start) - time.Duration(r.last.Load())
			if quiet >= r.o.Idle {
				r.stop(recordStop("idle for " + r.o.Idle.String()))
				return
			}
			t.Reset(r.o.Idle - quiet)
		}
	}
}

func (r *recorder) log(s *RecordedSession, what string, p []byte) {
	if r.o.Log == nil {
		return
	}
	ev := Event{At: time.Since(r.start), Conn: s.Peer, What: what, Size: len(p)}
	if len(p) > 0 {
		ev.Data = append([]byte(nil), p[:min(len(p), maxEventData)]...)
	}
	r.o.Log(ev)
}

func (r *recorder) warn(err error) {
	if r.o.Warn != nil {
		r.o.Warn(err)
	}
}

// newSession adds a session, in the order clients came, and names it.
func (r *recorder) newSession(peer net.Addr) *RecordedSession {
	r.mu.Lock()
	s := &RecordedSession{Peer: "session#" + strconv.Itoa(len(r.sessions)+1)}
	r.sessions = append(r.sessions, s)
	r.mu.Unlock()
	r.log(s, "open from "+peer.String(), nil)
	return s
}

// dropSession removes a session that never reached the server.
func (r *recorder) dropSession(s *RecordedSession) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, t := range r.sessions {
		if t == s {
			r.sessions = append(r.sessions[:i], r.sessions[i+1:]...)
			return
		}
	}
}

// track adds or removes a socket from those closed when it stops. Once
// stopped, a new socket is closed at once and track reports false.
func (r *recorder) track(c net.Conn, add bool) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !add {
		delete(r.conns, c)
		return true
	}
	if r.ctx.Err() != nil {
		c.Close()
		return false
	}
	r.conns[c] = struct{}{}
	return true
}

func (r *recorder) closeAll() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for c := range r.conns {
		c.Close()
	}
}

// sessionEnded counts a session that ended by itself, and stops the
// recording at the count asked for.
func (r *recorder) sessionEnded(s *RecordedSession) {
	r.log(s, "close", nil)
	r.mu.Lock()
	r.ended++
	n := r.ended
	r.mu.Unlock()
	if r.o.Count > 0 && n >= r.o.Count {
		r.stop(recordStop(plural(n, "session") + " ended"))
	}
}

func (r *recorder) acceptLoop(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			if r.ctx.Err() == nil {
				r.stop(fmt.Errorf("accepting: %w", err))
			}
			return
		}
		r.touch()
		if !r.track(c, true) {
			return
		}
		r.wg.Go(func() { r.proxyStream(c) })
	}
}

// proxyStream forwards one client connection to the server and back,
// recording both directions. An end of stream is passed on as a
// half-close, a reset as a reset, so that each side sees what the other
// did.
func (r *recorder) proxyStream(c net.Conn) {
	defer r.track(c, false)
	defer c.Close()
	s := r.newSession(c.RemoteAddr())
	var d net.Dialer
	up, err := d.DialContext(r.ctx, r.network, r.o.To)
	if err != nil {
		if r.ctx.Err() == nil {
			r.warn(fmt.Errorf("%s: the server at %s could not be reached, so the session is not recorded: %w", s.Peer, r.o.To, err))
			r.dropSession(s)
			abort(c)
		}
		return
	}
	if !r.track(up, true) {
		s.Cut = true
		return
	}
	defer r.track(up, false)
	defer up.Close()
	var wg sync.WaitGroup
	var fromClient, fromServer bool
	wg.Go(func() { fromClient = r.pump(s, sideClient, c, up) })
	wg.Go(func() { fromServer = r.pump(s, sideServer, up, c) })
	wg.Wait()
	if !fromClient || !fromServer {
		s.Cut = true
		return
	}
	r.sessionEnded(s)
}

// pump copies what from says to to, recording it as from's side, until
// from's stream ends. It reports whether it ended by itself (an end of
// stream, a reset) rather than because the recording stopped.
func (r *recorder) pump(s *RecordedSession, from side, src, dst net.Conn) bool {
	buf := make([]byte, 64<<10)
	what := map[side]string{sideClient: dirSent, sideServer: dirReceived}[from]
	for {
		n, err := src.Read(buf)
		if n > 0 {
			r.touch()
			r.keep(s, from, buf[:n])
			r.log(s, what, buf[:n])
			if _, werr := dst.Write(buf[:n]); werr != nil {
				// The other side is gone: its own pump says how.
				// Closing both ends that pump's wait, if any.
				abort(src)
				abort(dst)
				return r.ctx.Err() == nil
			}
		}
		if err == nil {
			continue
		}
		r.touch()
		switch {
		case r.ctx.Err() != nil:
			return false
		case err == io.EOF:
			s.add(recEvent{at: time.Since(r.start), side: from, kind: recEOF})
			if cw, ok := dst.(interface{ CloseWrite() error }); ok {
				cw.CloseWrite()
			}
		case isReset(err):
			s.add(recEvent{at: time.Since(r.start), side: from, kind: recReset})
			abort(dst)
		case errors.Is(err, net.ErrClosed):
			// The other pump closed it, having seen its side go.
		default:
			r.warn(fmt.Errorf("%s: %w", s.Peer, err))
			abort(dst)
		}
		return true
	}
}

// abort closes c with a reset (SO_LINGER 0), as a peer that reset would.
func abort(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	c.Close()
}

// A dgramPeer is one client address of a datagram recording: its session
// and the socket that talks to the server for it.
type dgramPeer struct {
	s  *RecordedSession
	up net.Conn
}

// packetLoop forwards each client's datagrams to the server through a
// socket of that client's own, so that the server's replies to it can be
// told apart and sent back to it.
func (r *recorder) packetLoop(pc net.PacketConn) {
	peers := map[string]*dgramPeer{}
	buf := make([]byte, maxDatagram)
	for {
		n, from, err := pc.ReadFrom(buf)
		if err != nil {
			if r.ctx.Err() == nil {
				r.stop(fmt.Errorf("reading datagrams: %w", err))
			}
			for _, p := range peers {
				p.s.Cut = true
			}
			return
		}
		r.touch()
		p := peers[from.String()]
		if p == nil {
			s := r.newSession(from)
			up, err := net.Dial(r.network, r.o.To)
			if err != nil {
				r.warn(fmt.Errorf("%s: the server at %s could not be reached: %w", s.Peer, r.o.To, err))
				r.dropSession(s)
				continue
			}
			if !r.track(up, true) {
				return
			}
			p = &dgramPeer{s: s, up: up}
			peers[from.String()] = p
			r.wg.Go(func() { r.replies(p, pc, from) })
		}
		r.keep(p.s, sideClient, buf[:n])
		r.log(p.s, dirSent, buf[:n])
		p.up.Write(buf[:n])
	}
}

// replies sends the server's datagrams for one client back to it.
func (r *recorder) replies(p *dgramPeer, pc net.PacketConn, to net.Addr) {
	defer r.track(p.up, false)
	buf := make([]byte, maxDatagram)
	for {
		n, err := p.up.Read(buf)
		if err != nil {
			if r.ctx.Err() != nil || !errors.Is(err, syscall.ECONNREFUSED) {
				return
			}
			// An ICMP "port unreachable" for an earlier datagram.
			r.warn(fmt.Errorf("%s: nothing listens at %s", p.s.Peer, r.o.To))
			continue
		}
		r.touch()
		r.keep(p.s, sideServer, buf[:n])
		r.log(p.s, dirReceived, buf[:n])
		pc.WriteTo(buf[:n], to)
	}
}
