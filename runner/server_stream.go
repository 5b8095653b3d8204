package runner

import (
	"errors"
	"io"
	"net"
)

func (b *builtin) acceptLoop() {
	for {
		c, err := b.ln.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return // closed by stop
		}
		if !b.track(c, true) {
			c.Close()
			return
		}
		b.wg.Go(func() {
			defer b.track(c, false)
			defer c.Close()
			b.serveConn(c)
		})
	}
}

// serveConn runs the behaviour on one accepted connection.
func (b *builtin) serveConn(c net.Conn) {
	switch b.srv.Behaviour {
	case "echo":
		echoStream(c)
	case "discard":
		io.Copy(io.Discard, c)
	case "close":
		// Accept, then close at once: the deferred Close does it.
	case "script":
		e := newEndpoint(b.ctx, b.srv.Name, c, true, nil)
		defer e.close()
		b.script(e)
	}
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
