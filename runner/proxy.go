package runner

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// A proxySpec is what a proxy: server does: it forwards every connection
// (stream) or every client's datagrams (dgram) to server target, and
// applies faults on the way there and on the way back.
type proxySpec struct {
	target string
	to     []*fault // on the way to target
	back   []*fault // on the replies, from target back to the client
	seed   uint64   // of the random faults ({rate: P})
	// mutant, if set, makes the proxy a mutant of its target: the target
	// with one classic bug (sockrun audit).
	mutant *mutation
}

// proxyBehaviour is what a proxy server runs. It is not in the behaviour
// table: a spec writes proxy: NAME, not behaviour:.
var proxyBehaviour = &behaviourKind{
	name:   "proxy",
	doc:    "forwards to another server, with faults on the way",
	stream: true, dgram: true,
	conn: proxyConn, packet: proxyPacket, drain: drainProxy,
}

// A proxy is the forwarding state of one proxy instance.
type proxy struct {
	spec *proxySpec
	name string
	log  *transcript

	// forward counts the streams whose client-to-target half still runs:
	// drain waits for them. accepted adds to it, before the accept loop
	// ends, so that drain's Wait comes after every Add.
	forward sync.WaitGroup

	mu       sync.Mutex
	clients  map[net.Conn]net.Conn // a stream client -> its connection to the target
	draining bool                  // drain has begun: bound what is left
	wait     time.Duration         // how long, then: the script timeout, or 0 for a restart
	tmp      string                // where the sockets of unixgram upstreams live

	peers map[string]*proxyPeer // dgram: one per client address; the packet loop's own

	mut *mutantState // a mutant's state, or nil
}

func newProxy(b *builtin) *proxy {
	px := &proxy{spec: b.srv.Proxy, name: b.srv.Name, log: b.opts.log, clients: map[net.Conn]net.Conn{}, peers: map[string]*proxyPeer{}}
	if m := b.srv.Proxy.mutant; m != nil {
		px.mut = newMutantState(m, b)
	}
	return px
}

// dial opens a connection to the target, as it is now.
func (px *proxy) dial(b *builtin) (net.Conn, error) {
	a, ok := b.env().addrs[px.spec.target]
	if !ok {
		return nil, fmt.Errorf("server %s is not running in this test", px.spec.target)
	}
	d := net.Dialer{Timeout: b.timeout}
	if a.Network == "unixgram" {
		// A datagram server answers only a socket with an address.
		px.mu.Lock()
		if px.tmp == "" {
			var err error
			if px.tmp, err = os.MkdirTemp("", "sockrun-proxy-"); err != nil {
				px.mu.Unlock()
				return nil, err
			}
		}
		path := filepath.Join(px.tmp, strconv.Itoa(len(px.peers))+".sock")
		px.mu.Unlock()
		d.LocalAddr = &net.UnixAddr{Name: path, Net: "unixgram"}
	}
	// In the test's network namespace, from this goroutine's thread, and
	// without a second goroutine (whose socket would be made elsewhere).
	var c net.Conn
	if b.opts.ns != nil {
		d.FallbackDelay = -1
	}
	err := inNetns(b.opts.ns, func() (err error) {
		c, err = d.DialContext(b.ctx, a.Network, a.String())
		return err
	})
	return c, err
}

// cleanup removes the upstream sockets' directory, once all are closed.
func (px *proxy) cleanup() {
	if px.tmp != "" {
		os.RemoveAll(px.tmp)
	}
}

// proxyConn forwards one client connection to the target and back. Each
// half runs until its source ends; an end of stream goes on as a
// half-close, a reset as a reset.
func proxyConn(b *builtin, c net.Conn) {
	px := b.px
	u, err := px.dial(b)
	if err != nil {
		px.forward.Done()
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
	both := func() { reset(c); reset(u) }
	up := px.newFlow(b, px.spec.to, true, func(p []byte) error { _, err := u.Write(p); return err }, both)
	down := px.newFlow(b, px.spec.back, false, func(p []byte) error { _, err := c.Write(p); return err }, both)
	done := make(chan struct{})
	go func() {
		defer close(done)
		down.pump(u, c)
	}()
	up.pump(c, u)
	px.forward.Done()
	<-done
}

// pump reads src until it ends and feeds what comes to the flow; then
// it passes the end on to dst: a half-close after an end of stream, a
// reset after a reset.
func (f *flow) pump(src, dst net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			f.feed(buf[:n])
		}
		if err != nil {
			f.end()
			switch {
			case f.broken:
			case err == io.EOF:
				if cw, ok := dst.(interface{ CloseWrite() error }); ok {
					cw.CloseWrite()
				}
			case isReset(err):
				reset(dst)
			}
			return
		}
	}
}

// reset aborts a connection with an RST, where it can.
func reset(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	c.Close()
}

// bound gives a stream still open when the test has ended a deadline:
// its client has closed, in a test, but `sockrun serve` waits for no one.
func (px *proxy) bound(c, u net.Conn, d time.Duration) {
	c.SetReadDeadline(time.Now().Add(d))
	u.SetWriteDeadline(time.Now().Add(d))
}

// drainProxy passes on everything the clients sent: each stream to its
// end, each datagram still held or delayed. The replies keep flowing
// until the proxy halts, after its target.
func drainProxy(b *builtin) {
	px := b.px
	px.mu.Lock()
	px.draining = true
	px.wait = b.timeout
	if b.restarting {
		px.wait = 0
	}
	for c, u := range px.clients {
		px.bound(c, u, px.wait)
	}
	px.mu.Unlock()
	px.forward.Wait()
	for _, p := range px.peers {
		p.up.end()
	}
}

// A proxyPeer is one client of a datagram proxy: its own socket to the
// target, so that the target's replies find their way back.
type proxyPeer struct {
	u        net.Conn
	up, down *flow
}

// proxyPacket forwards one datagram from a client to the target.
func proxyPacket(b *builtin, d []byte, from net.Addr) {
	px := b.px
	key := ""
	if from != nil {
		key = from.String()
	}
	p := px.peers[key]
	if p == nil {
		u, err := px.dial(b)
		if err != nil {
			px.log.add(px.name+">"+px.spec.target, "cannot reach it: "+err.Error(), nil)
			return
		}
		b.track(u, true)
		p = &proxyPeer{u: u}
		faultsTo, faultsBack := px.faults(len(px.peers))
		p.up = px.newFlow(b, faultsTo, true, func(d []byte) error { _, err := u.Write(d); return err }, nil)
		to := px.mut.replyTo(from)
		p.down = px.newFlow(b, faultsBack, false, func(d []byte) error {
			if to == nil {
				return errNoPeerAddr
			}
			_, err := b.pc.WriteTo(d, to)
			return err
		}, nil)
		px.peers[key] = p
		b.serve(func() { p.replies() })
	}
	p.up.feed(d)
}

// replies forwards the target's datagrams back to the client, until the
// proxy halts and closes the socket.
func (p *proxyPeer) replies() {
	buf := make([]byte, maxDatagram)
	for {
		n, err := p.u.Read(buf)
		if err != nil {
			if errors.Is(err, syscall.ECONNREFUSED) {
				continue // the target's port was closed for a moment: no reply
			}
			p.down.end()
			return
		}
		p.down.feed(buf[:n])
	}
}
