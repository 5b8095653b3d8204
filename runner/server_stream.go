package runner

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"os"
	"syscall"
)

func (b *builtin) acceptLoop() {
	defer close(b.loop)
	for {
		c, err := b.ln.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				// halt's wake-up: the test is over, but connections the
				// kernel completed before it ended are still owed a
				// serving.
				for _, c := range b.backlog() {
					b.accepted(c)
				}
			}
			return
		}
		b.accepted(c)
	}
}

func (b *builtin) accepted(c net.Conn) {
	if t := b.tap.Load(); t != nil {
		c = t.conn(c)
	}
	b.track(c, true)
	if b.px != nil {
		b.px.forward.Add(1) // before the loop ends: see proxy.forward
		b.px.mut.accepted(c)
	}
	b.serve(func() {
		defer b.track(c, false)
		defer c.Close()
		conn := c
		if b.tlsConf != nil && !b.srv.TLS.starttls {
			conn = &tlsConn{Conn: tls.Server(c, b.tlsConf), raw: c}
		}
		b.kind.conn(b, conn)
	})
}

// backlog accepts, without waiting, every connection in the listener's
// queue. (Accept itself would not try once its deadline has passed.)
func (b *builtin) backlog() []net.Conn {
	sc, ok := b.ln.(syscall.Conn)
	if !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	var out []net.Conn
	rc.Control(func(fd uintptr) {
		for {
			nfd, _, err := syscall.Accept4(int(fd), syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC)
			if err != nil {
				return
			}
			f := os.NewFile(uintptr(nfd), "accepted")
			c, err := net.FileConn(f)
			f.Close()
			if err == nil {
				out = append(out, c)
			}
		}
	})
	return out
}

// scriptConn runs the script on one accepted connection.
func scriptConn(b *builtin, c net.Conn) {
	e := newEndpoint(b.ctx, b.srv.Name, c, true, nil)
	defer e.close()
	b.script(e)
}

// echoStream sends back every byte it receives, in order. When the client
// half-closes, it sends the rest and then half-closes too, so the client
// reads its whole echo and then end-of-stream.
func echoStream(c net.Conn) {
	buf := make([]byte, 64<<10)
	for {
		n, err := c.Read(buf)
		if n > 0 {
			if _, werr := c.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err == io.EOF {
			if cw, ok := c.(interface{ CloseWrite() error }); ok {
				cw.CloseWrite()
			}
			return
		}
		if err != nil {
			return
		}
	}
}
