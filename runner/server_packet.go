package runner

import (
	"net"
	"os"
	"sync"
	"time"
)

func (b *builtin) packetLoop() {
	buf := make([]byte, maxDatagram)
	peers := map[string]*peerConn{}
	for {
		n, from, err := b.pc.ReadFrom(buf)
		if err != nil {
			return // closed by stop
		}
		switch b.srv.Behaviour {
		case "echo":
			if from != nil {
				b.pc.WriteTo(buf[:n], from)
			}
		case "discard":
		case "script":
			key := ""
			if from != nil {
				key = from.String()
			}
			p := peers[key]
			if p == nil {
				p = newPeerConn(b.pc, from, b.ctx.Done())
				peers[key] = p
				b.wg.Go(func() { b.servePeer(p) })
			}
			p.deliver(append([]byte(nil), buf[:n]...))
		}
	}
}

// servePeer runs the script once for each datagram that finds the peer's
// conversation idle; the script's expects read that datagram and any that
// follow from the same peer.
func (b *builtin) servePeer(p *peerConn) {
	e := newEndpoint(b.ctx, b.srv.Name, p, false, nil)
	defer e.close()
	for {
		select {
		case first := <-p.in:
			p.unread(first)
		case <-b.ctx.Done():
			return
		}
		b.script(e)
		if e.closed {
			return
		}
		p.dropUnread() // a datagram the script did not read
	}
}

// A peerConn is the part of a server's packet socket that talks to one
// peer: it reads the datagrams that peer sent and writes to it. It is a
// net.Conn, so that script steps act on it as on any connection.
type peerConn struct {
	pc   net.PacketConn
	peer net.Addr
	in   chan []byte
	done <-chan struct{} // the server is stopping

	mu      sync.Mutex
	pending []byte // a datagram given back by unread
	rdl     time.Time
	wake    chan struct{} // closed when the read deadline changes
	closed  chan struct{}
	once    sync.Once
}

func newPeerConn(pc net.PacketConn, peer net.Addr, done <-chan struct{}) *peerConn {
	return &peerConn{pc: pc, peer: peer, in: make(chan []byte, 64), done: done,
		wake: make(chan struct{}), closed: make(chan struct{})}
}

// deliver queues a datagram; a full queue drops it, as a socket would.
func (p *peerConn) deliver(d []byte) {
	select {
	case p.in <- d:
	default:
	}
}

func (p *peerConn) unread(d []byte) {
	p.mu.Lock()
	p.pending = d
	p.mu.Unlock()
}

func (p *peerConn) dropUnread() { p.unread(nil) }

func (p *peerConn) Read(buf []byte) (int, error) {
	for {
		p.mu.Lock()
		if d := p.pending; d != nil {
			p.pending = nil
			p.mu.Unlock()
			return copy(buf, d), nil
		}
		dl, wake := p.rdl, p.wake
		p.mu.Unlock()
		var expired <-chan time.Time
		var t *time.Timer
		if !dl.IsZero() {
			wait := time.Until(dl)
			if wait <= 0 {
				return 0, os.ErrDeadlineExceeded
			}
			t = time.NewTimer(wait)
			expired = t.C
		}
		n, err, again := 0, error(nil), false
		select {
		case d := <-p.in:
			n = copy(buf, d)
		case <-expired:
			err = os.ErrDeadlineExceeded
		case <-wake:
			again = true
		case <-p.closed:
			err = net.ErrClosed
		case <-p.done:
			err = net.ErrClosed
		}
		if t != nil {
			t.Stop()
		}
		if !again {
			return n, err
		}
	}
}

func (p *peerConn) Write(d []byte) (int, error) {
	select {
	case <-p.closed:
		return 0, net.ErrClosed
	default:
	}
	if p.peer == nil {
		return 0, &net.OpError{Op: "write", Net: p.pc.LocalAddr().Network(), Err: errNoPeerAddr}
	}
	return p.pc.WriteTo(d, p.peer)
}

// errNoPeerAddr: a Unix datagram client that bound no address cannot be
// answered.
var errNoPeerAddr = &net.AddrError{Err: "the client's socket has no address to answer (an unbound Unix datagram socket)"}

func (p *peerConn) Close() error {
	p.once.Do(func() { close(p.closed) })
	return nil
}

func (p *peerConn) LocalAddr() net.Addr  { return p.pc.LocalAddr() }
func (p *peerConn) RemoteAddr() net.Addr { return p.peer }

func (p *peerConn) SetDeadline(t time.Time) error {
	p.SetReadDeadline(t)
	return p.SetWriteDeadline(t)
}

func (p *peerConn) SetReadDeadline(t time.Time) error {
	p.mu.Lock()
	p.rdl = t
	close(p.wake)
	p.wake = make(chan struct{})
	p.mu.Unlock()
	return nil
}

// SetWriteDeadline is a no-op: writes go to the shared packet socket, and
// a datagram write does not wait for the peer.
func (p *peerConn) SetWriteDeadline(t time.Time) error { return nil }
