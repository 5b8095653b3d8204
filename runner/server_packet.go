package runner

import (
	"errors"
	"net"
	"os"
	"sync"
	"syscall"
	"time"
)

func (b *builtin) packetLoop() {
	defer close(b.loop)
	buf := make([]byte, maxDatagram)
	for {
		n, from, err := b.pc.ReadFrom(buf)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				// halt's wake-up: serve what is queued, then no more.
				b.queued(buf)
				for _, p := range b.peers {
					p.end()
				}
			}
			return
		}
		b.packet(buf[:n], from)
	}
}

// queued serves, without waiting, every datagram in the socket's queue.
// (ReadFrom itself would not try once its deadline has passed.)
func (b *builtin) queued(buf []byte) {
	sc, ok := b.pc.(syscall.Conn)
	if !ok {
		return
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return
	}
	rc.Control(func(fd uintptr) {
		for {
			n, from, err := syscall.Recvfrom(int(fd), buf, syscall.MSG_DONTWAIT)
			if err != nil {
				return
			}
			b.packet(buf[:n], sockaddrToAddr(from))
		}
	})
}

func sockaddrToAddr(sa syscall.Sockaddr) net.Addr {
	switch v := sa.(type) {
	case *syscall.SockaddrInet4:
		return &net.UDPAddr{IP: append(net.IP(nil), v.Addr[:]...), Port: v.Port}
	case *syscall.SockaddrInet6:
		return &net.UDPAddr{IP: append(net.IP(nil), v.Addr[:]...), Port: v.Port}
	case *syscall.SockaddrUnix:
		if v.Name == "" {
			return nil
		}
		return &net.UnixAddr{Name: v.Name, Net: "unixgram"}
	}
	return nil
}

// packet hands a datagram to the behaviour, and tells the tap of it.
func (b *builtin) packet(p []byte, from net.Addr) {
	if t := b.tap.Load(); t != nil {
		t.event(t.peer(from), dirSent, p)
	}
	b.kind.packet(b, p, from)
}

// out is the socket a behaviour answers datagrams on: the tap sees them.
func (b *builtin) out() net.PacketConn {
	if t := b.tap.Load(); t != nil {
		return tapPacketConn{b.pc, t}
	}
	return b.pc
}

func echoPacket(b *builtin, p []byte, from net.Addr) {
	if from != nil {
		b.out().WriteTo(p, from)
	}
}

// scriptPacket hands a datagram to its peer's conversation, which runs
// the script.
func scriptPacket(b *builtin, d []byte, from net.Addr) {
	key := ""
	if from != nil {
		key = from.String()
	}
	p := b.peers[key]
	if p == nil {
		p = newPeerConn(b.out(), from, b.ctx.Done())
		b.peers[key] = p
		b.serve(func() { b.servePeer(p) })
	}
	p.deliver(append([]byte(nil), d...))
}

// servePeer runs the script once for each datagram that finds the peer's
// conversation idle; the script's expects read that datagram and any that
// follow from the same peer.
func (b *builtin) servePeer(p *peerConn) {
	e := newEndpoint(b.ctx, b.srv.Name, p, false, nil)
	defer e.close()
	for {
		var first []byte
		select {
		case first = <-p.in:
		case <-p.ended:
			// Every datagram was delivered before ended closed: take
			// any still queued, else the conversation is over.
			select {
			case first = <-p.in:
			default:
				return
			}
		}
		p.unread(first)
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
	// ended is closed once no more datagrams can come (the test is over
	// and the socket's queue was served): a read of an empty queue ends.
	ended chan struct{}

	mu      sync.Mutex
	pending []byte // a datagram given back by unread
	rdl     time.Time
	wake    chan struct{} // closed when the read deadline changes
	closed  chan struct{}
	once    sync.Once
}

func newPeerConn(pc net.PacketConn, peer net.Addr, done <-chan struct{}) *peerConn {
	return &peerConn{pc: pc, peer: peer, in: make(chan []byte, 64), done: done, ended: make(chan struct{}),
		wake: make(chan struct{}), closed: make(chan struct{})}
}

// deliver queues a datagram; a full queue drops it, as a socket would.
func (p *peerConn) deliver(d []byte) {
	select {
	case p.in <- d:
	default:
	}
}

// end says that no more datagrams will come.
func (p *peerConn) end() { close(p.ended) }

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
		// What is queued comes first, even once the test is over.
		select {
		case d := <-p.in:
			return copy(buf, d), nil
		default:
		}
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
		case <-p.ended:
			again = len(p.in) > 0
			if !again {
				err = errStopped
			}
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
