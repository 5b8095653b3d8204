package runner

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// A serverInstance is one running instance of a spec's server, started
// fresh for a test and stopped after it.
type serverInstance interface {
	// addr is where the instance serves.
	addr() Addr
	// stop ends the instance and everything it started, and returns once
	// they have ended. Its error says what went wrong while it ran: a
	// script step that failed, a program that crashed.
	stop() error
	// restart stops the instance and starts a new one on the same address
	// at once. The error of the old one, if any, comes first.
	restart(ctx context.Context, addrs map[string]Addr) (serverInstance, error)
}

// A builtin is a built-in server: a listener or packet socket and a
// goroutine per connection (or per peer) running its behaviour.
type builtin struct {
	srv     *Server
	timeout time.Duration // default deadline of a script's steps
	addrs   func() map[string]Addr

	a      Addr
	ln     net.Listener   // stream
	pc     net.PacketConn // dgram
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	clean  func() // removes the socket file and its temporary directory

	mu      sync.Mutex
	conns   map[net.Conn]struct{}
	failure error // the first script failure
	// onFail, if set, is told of every script failure as it happens
	// (sockrun serve), instead of keeping the first for stop.
	onFail func(error)

	// running counts script runs in progress; drained, if set, is closed
	// when it falls to zero. See drain.
	running int
	drained chan struct{}
}

// scriptGrace is how long stop lets script runs in progress end on their
// own: by then the test has closed its connections, so a script waiting
// to read sees the end of the stream (or the reset) at once, and how it
// ends is decided, not raced against the stop.
const scriptGrace = 250 * time.Millisecond

// startBuiltin binds the server's address (port 0: any free port) and
// starts serving. at, if set, is the exact address to bind (a restart).
func startBuiltin(srv *Server, at *Addr, timeout time.Duration, addrs func() map[string]Addr) (*builtin, error) {
	b := &builtin{srv: srv, timeout: timeout, addrs: addrs, conns: map[net.Conn]struct{}{}, clean: func() {}}
	a, clean, err := bindAddr(srv, at)
	if err != nil {
		return nil, err
	}
	b.clean = clean
	b.ctx, b.cancel = context.WithCancel(context.Background())
	if srv.Behaviour == "refuse" {
		bound, release, err := bindOnly(a)
		if err != nil {
			b.cancel()
			clean()
			return nil, fmt.Errorf("server %s: %w", srv.Name, err)
		}
		b.a = bound
		b.clean = func() { release(); clean() }
		return b, nil
	}
	lc := net.ListenConfig{}
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
		b.a = addrOf(b.ln.Addr(), a)
		b.wg.Go(b.acceptLoop)
	} else {
		b.a = addrOf(b.pc.LocalAddr(), a)
		b.wg.Go(b.packetLoop)
	}
	return b, nil
}

// bindAddr is the address a server instance binds: its host and port, or
// its Unix path. A bare path name goes in a fresh temporary directory, so
// that instances running at once do not collide.
func bindAddr(srv *Server, at *Addr) (Addr, func(), error) {
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

func (b *builtin) stop() error {
	err := b.halt()
	b.clean()
	return err
}

func (b *builtin) restart(ctx context.Context, addrs map[string]Addr) (serverInstance, error) {
	if err := b.halt(); err != nil {
		b.clean()
		return nil, err
	}
	nb, err := startBuiltin(b.srv, &b.a, b.timeout, b.addrs)
	if err != nil {
		b.clean()
		return nil, &setupError{server: b.srv.Name, err: err}
	}
	nb.clean = b.clean
	return nb, nil
}

// halt stops serving and waits for every goroutine, but keeps the address
// (a temporary directory) for a restart.
func (b *builtin) halt() error {
	b.drain(scriptGrace)
	b.cancel()
	if b.ln != nil {
		b.ln.Close()
	}
	if b.pc != nil {
		b.pc.Close()
	}
	b.mu.Lock()
	for c := range b.conns {
		c.Close()
	}
	b.mu.Unlock()
	b.wg.Wait()
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.failure
}

// fail records a script failure, unless the server is stopping: a script
// cut short by the end of its test has not failed.
func (b *builtin) fail(err error) {
	if err == nil || b.ctx.Err() != nil {
		return
	}
	if b.onFail != nil {
		b.onFail(err)
		return
	}
	b.mu.Lock()
	if b.failure == nil {
		b.failure = err
	}
	b.mu.Unlock()
}

// track adds or removes a connection from those stop must close.
func (b *builtin) track(c net.Conn, add bool) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if add {
		if b.ctx.Err() != nil {
			return false
		}
		b.conns[c] = struct{}{}
	} else {
		delete(b.conns, c)
	}
	return true
}

// drain waits until no script run is in progress, or grace has passed.
func (b *builtin) drain(grace time.Duration) {
	b.mu.Lock()
	if b.running == 0 {
		b.mu.Unlock()
		return
	}
	ch := make(chan struct{})
	b.drained = ch
	b.mu.Unlock()
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-ch:
	case <-t.C:
	}
}

// scriptRunning counts a script run in or out.
func (b *builtin) scriptRunning(delta int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.running += delta
	if b.running == 0 && b.drained != nil {
		close(b.drained)
		b.drained = nil
	}
}

// script runs the server's script on one connection (or one peer). With
// loop, it runs again until the peer closes; a peer that closes before an
// iteration has received anything ends it quietly.
func (b *builtin) script(e *endpoint) {
	b.scriptRunning(1)
	defer b.scriptRunning(-1)
	s := &session{
		timeout: b.timeout,
		conns:   map[string]*endpoint{b.srv.Name: e},
		addrs:   b.addrs(),
	}
	for {
		before := e.consumed
		err := runSteps(b.ctx, b.srv.Script, s, b.srv.Name)
		if err != nil {
			quiet := b.srv.Loop && e.consumed == before && len(e.buf) == 0 &&
				(errors.Is(err, errClosedEarly) || isReset(err))
			if !quiet {
				b.fail(err)
			}
			return
		}
		if !b.srv.Loop || e.closed {
			return
		}
	}
}
