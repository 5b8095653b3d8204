package runner

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// A serverInstance is one running instance of a spec's server, started
// fresh for a test and stopped after it.
type serverInstance interface {
	// addr is where the instance serves.
	addr() Addr
	// stop ends the instance and everything it started, and returns once
	// they have ended, with what went wrong while it ran.
	stop() stopResult
	// restart stops the instance and starts a new one on the same address
	// at once. What went wrong with the old one, if anything, comes first.
	restart(ctx context.Context, addrs map[string]Addr) (serverInstance, error)
}

// A stopResult is what a server instance found wrong when it stopped, by
// kind, so that the engine can rank them by cause.
type stopResult struct {
	ended   error // a program that ended on its own, or crashed
	failed  error // a script step that failed: wrong bytes, too many...
	waiting error // a script that did not run to its end
}

func (r stopResult) first() error {
	for _, err := range []error{r.ended, r.failed, r.waiting} {
		if err != nil {
			return err
		}
	}
	return nil
}

// A builtin is a built-in server: a listener or packet socket and a
// goroutine per connection (or per peer) running its behaviour.
type builtin struct {
	srv     *Server
	kind    *behaviourKind
	opts    builtinOpts
	timeout time.Duration // default deadline of a script's steps
	env     func() *env   // the servers' addresses, for a script's placeholders
	tlsConf *tls.Config   // it serves TLS (tls:), or nil
	px      *proxy        // a proxy's forwarding, or nil

	a     Addr
	ln    net.Listener   // stream
	pc    net.PacketConn // dgram
	clean func()         // removes the socket file and its temporary directory
	ctx   context.Context
	// cancel ends everything at once; it comes last, once the scripts in
	// progress have had the test's last bytes (see halt).
	cancel context.CancelFunc
	// stopping is closed when the test is over: no more clients will come,
	// so a script step that waits for anything else than the bytes already
	// sent (a sleep, a datagram) ends there.
	stopping chan struct{}
	loop     chan struct{} // closed when the accept or packet loop returns
	wg       sync.WaitGroup

	mu      sync.Mutex
	conns   map[net.Conn]struct{}
	runs    int   // script runs started
	failure error // the first script step that failed
	waiting error // the first script run cut short
	// onFail, if set, is told of every script failure as it happens
	// (sockrun serve), instead of keeping the first for stop.
	onFail func(error)
	// tap, if set, is told of every connection and byte as it happens
	// (sockrun serve); see Serve.
	tap atomic.Pointer[tap]
	// died is how a mutant that models a crash ended (sockrun audit): a
	// death by SIGPIPE fails the test even after its last step, as a
	// program's does.
	died error

	peers map[string]*peerConn // dgram scripts: one conversation per peer; the packet loop's own

	drained bool // drain has run
	// restarting: the instance stops for a restart, and its clients'
	// connections are dead; nothing waits for them to end.
	restarting bool
	// handover: its socket outlives it, for the instance after a restart.
	handover bool
}

// builtinOpts are what a built-in server instance needs besides its spec.
type builtinOpts struct {
	timeout time.Duration // default deadline of a script's steps
	env     func() *env   // the servers' addresses, for placeholders
	id      *identity     // its certificate, if it has tls:
	log     *transcript   // the test's transcript (-v), or nil
	at      *Addr         // the exact address to bind (a restart), or nil
	ns      *netns        // the test's network namespace (--isolate), or nil
	// ln or pc, if set, is the socket of the instance before a restart,
	// handed over (see restart).
	ln net.Listener
	pc net.PacketConn
}

// startBuiltin binds the server's address (port 0: any free port) and
// starts serving.
func startBuiltin(srv *Server, o builtinOpts) (*builtin, error) {
	b := &builtin{srv: srv, kind: srv.Behaviour, opts: o, timeout: o.timeout, env: o.env, conns: map[net.Conn]struct{}{},
		clean: func() {}, stopping: make(chan struct{}), loop: make(chan struct{}), peers: map[string]*peerConn{}}
	if o.id != nil {
		b.tlsConf = o.id.serverConfig()
	}
	if srv.Proxy != nil {
		b.px = newProxy(b)
	}
	if srv.lenient {
		b.onFail = func(error) {}
	}
	if o.ln != nil || o.pc != nil {
		b.ctx, b.cancel = context.WithCancel(context.Background())
		b.a, b.ln, b.pc = *o.at, o.ln, o.pc
		if b.ln != nil {
			go b.acceptLoop()
		} else {
			go b.packetLoop()
		}
		return b, nil
	}
	a, clean, err := bindAddr(srv, o.at)
	if err != nil {
		return nil, err
	}
	b.clean = clean
	b.ctx, b.cancel = context.WithCancel(context.Background())
	if b.kind.bindOnly {
		close(b.loop)
		bound, release, err := bindOnly(a)
		if err != nil {
			b.cancel()
			clean()
			return nil, fmt.Errorf("server %s: %w", srv.Name, err)
		}
		b.a = o.id.paths(bound)
		b.clean = func() { release(); clean() }
		return b, nil
	}
	lc := net.ListenConfig{}
	m := srv.mutation()
	m.listenConfig(&lc)
	if srv.Type == Stream {
		b.ln, err = lc.Listen(b.ctx, a.Network, a.String())
	} else {
		b.pc, err = lc.ListenPacket(b.ctx, a.Network, a.String())
	}
	if err != nil {
		b.cancel()
		clean()
		return nil, fmt.Errorf("server %s: %w", srv.Name, err)
	}
	if b.ln != nil {
		m.listening(b.ln)
		b.a = o.id.paths(addrOf(b.ln.Addr(), a))
		go b.acceptLoop()
	} else {
		b.a = o.id.paths(addrOf(b.pc.LocalAddr(), a))
		go b.packetLoop()
	}
	return b, nil
}

// bindAddr is the address a server instance binds: its host and port, or
// its Unix path. A bare path name goes in a fresh temporary directory, so
// that instances running at once do not collide.
func bindAddr(srv *Server, at *Addr) (Addr, func(), error) {
	if at != nil && srv.mutation().keepsStale() {
		return *at, func() {}, nil
	}
	if at != nil {
		// A restart: the old instance's socket file may still be there.
		return *at, func() {}, removeStale(at.Path)
	}
	a := Addr{Network: srv.Network(), Host: srv.Host, Port: srv.Port}
	if srv.Path == "" {
		return a, func() {}, nil
	}
	if !isBareName(srv.Path) {
		a.Path = srv.Path
		if err := removeStale(a.Path); err != nil {
			return a, nil, fmt.Errorf("server %s: %w", srv.Name, err)
		}
		return a, removeSocket(a.Path), nil
	}
	dir, err := os.MkdirTemp("", "sockrun-")
	if err != nil {
		return a, nil, err
	}
	a.Path = filepath.Join(dir, srv.Path)
	if len(a.Path) > 107 {
		os.RemoveAll(dir)
		return a, nil, fmt.Errorf("server %s: the socket path %s is longer than Unix sockets allow (107 bytes); set TMPDIR to a shorter directory", srv.Name, a.Path)
	}
	return a, func() { os.RemoveAll(dir) }, nil
}

// isBareName reports whether a Unix path is a bare file name, to be placed
// in a fresh directory. An abstract name (@name) is used as it is.
func isBareName(path string) bool {
	return !strings.ContainsRune(path, '/') && !strings.HasPrefix(path, "@")
}

func removeSocket(path string) func() {
	if path == "" || strings.HasPrefix(path, "@") {
		return func() {}
	}
	return func() { os.Remove(path) }
}

// removeStale removes a socket file left at path by an earlier run; any
// other kind of file stays, and binding then fails with a clear error.
func removeStale(path string) error {
	fi, err := os.Lstat(path)
	if err != nil || fi.Mode()&fs.ModeSocket == 0 {
		return nil
	}
	return os.Remove(path)
}

// addrOf turns the bound address into an Addr: the port the kernel chose
// and, for a host given by name (localhost), the address it resolved to,
// so that clients reach that one (a UDP client does not try the others).
func addrOf(na net.Addr, want Addr) Addr {
	var ip net.IP
	switch v := na.(type) {
	case *net.TCPAddr:
		want.Port, ip = v.Port, v.IP
	case *net.UDPAddr:
		want.Port, ip = v.Port, v.IP
	}
	if net.ParseIP(want.Host) == nil && ip != nil && !ip.IsUnspecified() {
		want.Host = ip.String()
	}
	return want
}

func (b *builtin) addr() Addr { return b.a }

func (b *builtin) stop() stopResult {
	r := b.halt()
	b.clean()
	return r
}

func (b *builtin) restart(ctx context.Context, addrs map[string]Addr) (serverInstance, error) {
	b.mu.Lock()
	b.restarting = true
	b.mu.Unlock()
	// A built-in server sets SO_REUSEADDR, so it would bind again at
	// once; but between its close and that bind, another server's bind
	// of port 0 may be given the port (the old connections, reusable, do
	// not stop it). The new instance takes the old one's socket instead.
	// A mutant whose bug is in that bind binds again, and fails.
	m := b.srv.mutation()
	b.handover = !m.noReuseBind() && (b.ln != nil || b.pc != nil)
	if err := b.halt().first(); err != nil {
		b.clean()
		return nil, err
	}
	o := b.opts
	o.at = &b.a
	if b.handover {
		o.ln, o.pc = b.ln, b.pc
		if b.ln != nil {
			b.ln.(interface{ SetDeadline(time.Time) error }).SetDeadline(time.Time{})
		} else {
			b.pc.SetReadDeadline(time.Time{})
		}
	}
	var nb *builtin
	err := inNetns(o.ns, func() (err error) {
		nb, err = startBuiltin(b.srv, o)
		return err
	})
	if err != nil {
		b.clean()
		return nil, &setupError{server: b.srv.Name, err: err}
	}
	nb.clean = b.clean
	return nb, nil
}

// halt stops serving and waits for every goroutine, but keeps the address
// (a temporary directory) for a restart. It drains the server first, if
// that was not done already.
//
// The test is over when halt is called: its connections are closed and
// its programs have ended. So the clients' last bytes, and the ends of
// their streams, are already on their way to the server. halt lets the
// server take them all, deterministically, before it judges its script:
// the accept loop takes every connection the kernel has completed, the
// packet loop every datagram queued, and a script reading a stream reads
// on to its end. Only then does a script step that would wait for more
// (a sleep, a datagram that will not come) end, and the script is judged
// by where it stopped. No timer decides it.
func (b *builtin) halt() stopResult {
	b.drain()
	if !b.kind.script || b.restarting {
		// Nothing to judge (a restart kills the conversations in
		// progress: see record): end the connections now.
		b.mu.Lock()
		for c := range b.conns {
			c.Close()
		}
		b.mu.Unlock()
	}
	b.wg.Wait()
	b.cancel()
	if b.ln != nil && !b.handover {
		b.ln.Close()
	}
	if b.pc != nil && !b.handover {
		b.pc.Close()
	}
	if b.px != nil {
		b.px.cleanup()
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	r := stopResult{ended: b.died, failed: b.failure, waiting: b.waiting}
	if b.kind.script && b.runs == 0 && r.failed == nil && b.onFail == nil && !b.restarting {
		noun := "no client connected"
		if b.srv.Type == Dgram {
			noun = "no datagram came"
		}
		r.waiting = &waitingError{err: &stepError{step: b.srv.Script[0], server: b.srv.Name, err: errNoClient}, why: noun}
	}
	return r
}

// drain is the first half of halt: the server takes no more clients, and
// the last bytes and the ends of streams the test's clients sent are
// taken. A proxy passes them all on, to its target, before that target
// halts: see serverSet.stop.
func (b *builtin) drain() {
	if b.drained {
		return
	}
	b.drained = true
	// Wake the loop: it takes what is queued, then returns.
	if b.ln != nil {
		b.ln.(interface{ SetDeadline(time.Time) error }).SetDeadline(time.Unix(1, 0))
	}
	if b.pc != nil {
		b.pc.SetReadDeadline(time.Unix(1, 0))
	}
	<-b.loop
	close(b.stopping)
	if b.kind.drain != nil {
		b.kind.drain(b)
	}
}

// errNoClient: a scripted server that nobody used.
var errNoClient = errors.New("the script never ran")

// errStopped: the test ended while a server script step was waiting.
var errStopped = errors.New("the test ended")

// A waitingError is a server script that did not run to its end: a step
// was still waiting (for bytes, a datagram, a client, or the end of a
// sleep) when the test ended, or its client left first.
type waitingError struct {
	err error // the stepError of the step that was waiting
	why string
}

func (e *waitingError) Error() string {
	var se *stepError
	if errors.As(e.err, &se) && se.step != nil {
		return fmt.Sprintf("%s: server %s: %s", se.step.Pos, se.server, e.message())
	}
	return e.err.Error()
}

// message says what happened, without where: a report shows the step.
func (e *waitingError) message() string {
	if errors.Is(e.err, errNoClient) {
		return "the script never ran: " + e.why + " (its first step was waiting)"
	}
	return "the script did not run to its end: this step was still waiting when " + e.why
}

func (e *waitingError) Unwrap() error { return e.err }

// record keeps the outcome of a script run: nil, a failure, or a run cut
// short (a step waiting for what never came).
func (b *builtin) record(err error) {
	if err == nil {
		return
	}
	var cut bool
	var why string
	switch {
	case errors.Is(err, errStopped):
		cut, why = true, "the test ended"
	case errors.Is(err, errClosedEarly):
		cut, why = true, "the client closed the connection"
	case isReset(err):
		cut, why = true, "the client reset the connection"
	case errors.Is(err, os.ErrDeadlineExceeded):
		cut, why = true, "its deadline passed"
	}
	if b.onFail != nil {
		b.onFail(err)
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.restarting {
		// The restart ended the script: a killed server's conversations
		// are over, whatever their scripts still waited for. What failed
		// before was recorded then.
		return
	}
	switch {
	case cut && b.waiting == nil:
		b.waiting = &waitingError{err: err, why: why}
	case !cut && b.failure == nil:
		b.failure = err
	}
}

// scriptFailure returns the script's first real failure so far: the cause
// of what a client of this server saw go wrong.
func (b *builtin) scriptFailure() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.failure
}

// track adds or removes a connection from those stop must close.
func (b *builtin) track(c net.Conn, add bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if add {
		b.conns[c] = struct{}{}
	} else {
		delete(b.conns, c)
	}
}

// serve runs fn in a goroutine that halt waits for.
func (b *builtin) serve(fn func()) { b.wg.Go(fn) }

// script runs the server's script on one connection (or one peer). With
// loop, it runs again until the peer closes; a peer that closes before an
// iteration has received anything ends it quietly.
func (b *builtin) script(e *endpoint) {
	b.mu.Lock()
	b.runs++
	b.mu.Unlock()
	if tc, ok := e.conn.(*tlsConn); ok {
		// The handshake is the script's first step, in effect: a failure
		// is the script's, at the server's tls: key.
		if err := handshake(b.ctx, tc.Conn, deadline(b.ctx, b.timeout), b.timeout, "client", nil); err != nil {
			b.record(&stepError{step: handshakeStep(b.srv), server: b.srv.Name, err: err})
			return
		}
	}
	s := &session{
		timeout:   b.timeout,
		conns:     map[string]*endpoint{b.srv.own(): e},
		env:       b.env(),
		stopping:  b.stopping,
		tlsServer: b.tlsConf,
	}
	for {
		before := e.consumed
		err := runSteps(b.ctx, b.srv.Script, s, b.srv.Name)
		if err != nil {
			quiet := b.srv.Loop && e.consumed == before && len(e.buf) == 0 &&
				(errors.Is(err, errClosedEarly) || isReset(err) || errors.Is(err, errStopped))
			if !quiet {
				b.record(err)
			}
			return
		}
		if !b.srv.Loop || e.closed {
			return
		}
	}
}
