package runner

import (
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// A tap tells what a served server's clients do, as it happens: each
// connection (or datagram peer) as it comes and goes, and every byte in
// and out. It names each connection SERVER#N, in the order they came.
// Bytes from the client are "sent" and the server's "received", as in a
// test's transcript, so that > is always towards the server.
type tap struct {
	server string
	start  time.Time
	log    func(Event)
	n      atomic.Int64

	mu    sync.Mutex
	peers map[string]string // a datagram peer's address: its name
}

func newTap(server string, start time.Time, log func(Event)) *tap {
	return &tap{server: server, start: start, log: log, peers: map[string]string{}}
}

func (t *tap) event(conn, what string, p []byte) {
	ev := Event{At: time.Since(t.start), Conn: conn, What: what, Size: len(p)}
	if len(p) > 0 {
		ev.Data = append([]byte(nil), p[:min(len(p), maxEventData)]...)
	}
	t.log(ev)
}

func (t *tap) name() string { return t.server + "#" + strconv.FormatInt(t.n.Add(1), 10) }

// conn wraps an accepted connection, which it announces.
func (t *tap) conn(c net.Conn) net.Conn {
	tc := &tapConn{Conn: c, t: t, name: t.name()}
	t.event(tc.name, "open from "+peerName(c.RemoteAddr()), nil)
	return tc
}

// peer returns the name of the datagram peer from, announcing a new one.
func (t *tap) peer(from net.Addr) string {
	key := peerName(from)
	t.mu.Lock()
	name, ok := t.peers[key]
	if !ok {
		name = t.name()
		t.peers[key] = name
	}
	t.mu.Unlock()
	if !ok {
		t.event(name, "open from "+key, nil)
	}
	return name
}

// peerName is a client's address; an unbound Unix socket has none.
func peerName(a net.Addr) string {
	if a == nil || a.String() == "" {
		return "an unnamed socket"
	}
	return a.String()
}

// A tapConn is an accepted connection whose bytes a tap sees.
type tapConn struct {
	net.Conn
	t       *tap
	name    string
	in, out atomic.Int64
	eof     sync.Once // a reader may see the end of stream more than once
	closed  sync.Once
}

func (c *tapConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.in.Add(int64(n))
		c.t.event(c.name, dirSent, p[:n])
	}
	if err == io.EOF {
		c.eof.Do(func() { c.t.event(c.name, "end of stream from the client", nil) })
	}
	return n, err
}

func (c *tapConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	if n > 0 {
		c.out.Add(int64(n))
		c.t.event(c.name, dirReceived, p[:n])
	}
	return n, err
}

// CloseWrite half-closes, as the connection it wraps can.
func (c *tapConn) CloseWrite() error {
	cw, ok := c.Conn.(interface{ CloseWrite() error })
	if !ok {
		return fmt.Errorf("a %s socket cannot be half-closed", c.LocalAddr().Network())
	}
	c.t.event(c.name, "half-close by the server", nil)
	return cw.CloseWrite()
}

// SetLinger sets SO_LINGER on a TCP connection: a close then resets it.
func (c *tapConn) SetLinger(sec int) error {
	if tc, ok := c.Conn.(*net.TCPConn); ok {
		return tc.SetLinger(sec)
	}
	return nil
}

func (c *tapConn) Close() error {
	c.closed.Do(func() {
		c.t.event(c.name, fmt.Sprintf("close (%d bytes in, %d out)", c.in.Load(), c.out.Load()), nil)
	})
	return c.Conn.Close()
}

// A tapPacketConn is a server's packet socket whose writes a tap sees.
type tapPacketConn struct {
	net.PacketConn
	t *tap
}

func (pc tapPacketConn) WriteTo(p []byte, to net.Addr) (int, error) {
	n, err := pc.PacketConn.WriteTo(p, to)
	if err == nil {
		pc.t.event(pc.t.peer(to), dirReceived, p[:n])
	}
	return n, err
}
