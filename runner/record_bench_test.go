package runner

import (
	"context"
	"io"
	"net"
	"testing"
)

// benchBulk is what one op of BenchmarkRecordProxy sends through.
const benchBulk = 4 << 20

// sink is a server that reads each connection to its end, then closes it.
func sink(b *testing.B) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { io.Copy(io.Discard, c); c.Close() }()
		}
	}()
	return ln.Addr().String()
}

// bulk sends benchBulk bytes to addr, half-closes, and waits for the end
// of the server's stream: the whole transfer, through whatever is at addr.
func bulk(b *testing.B, addr string, buf []byte) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write(buf); err != nil {
		b.Fatal(err)
	}
	c.(*net.TCPConn).CloseWrite()
	io.Copy(io.Discard, c)
}

// BenchmarkRecordProxy measures what record costs a bulk transfer, beside
// its floors: hand-written proxies between the same client and server.
// Each op is a fresh proxy, one connection and 4 MiB.
func BenchmarkRecordProxy(b *testing.B) {
	target := sink(b)
	buf := make([]byte, benchBulk)
	floor := func(b *testing.B, copyFn func(w, r net.Conn)) {
		b.SetBytes(benchBulk)
		for b.Loop() {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			done := make(chan struct{})
			go func() {
				defer close(done)
				c, err := ln.Accept()
				if err != nil {
					return
				}
				defer c.Close()
				up, err := net.Dial("tcp", target)
				if err != nil {
					return
				}
				defer up.Close()
				back := make(chan struct{})
				go func() { copyFn(c, up); c.(*net.TCPConn).CloseWrite(); close(back) }()
				copyFn(up, c)
				up.(*net.TCPConn).CloseWrite()
				<-back
			}()
			bulk(b, ln.Addr().String(), buf)
			<-done
			ln.Close()
		}
	}
	// io.Copy between two TCP sockets splices in the kernel: the bytes
	// never reach the proxy, which a recorder cannot do.
	b.Run("floor-splice", func(b *testing.B) { floor(b, func(w, r net.Conn) { io.Copy(w, r) }) })
	// What a recorder cannot do less than: read each chunk, keep a copy,
	// write it on.
	b.Run("floor-keep", func(b *testing.B) {
		floor(b, func(w, r net.Conn) {
			var kept []byte
			p := make([]byte, 64<<10)
			for {
				n, err := r.Read(p)
				kept = append(kept, p[:n]...)
				if _, werr := w.Write(p[:n]); werr != nil || err != nil {
					return
				}
			}
		})
	})
	b.Run("record", func(b *testing.B) {
		b.SetBytes(benchBulk)
		for b.Loop() {
			at := make(chan Addr, 1)
			done := make(chan *Recording, 1)
			go func() {
				rec, err := Record(context.Background(), RecordOptions{To: target, Count: 1, Listening: func(a Addr) { at <- a }})
				if err != nil {
					b.Error(err)
				}
				done <- rec
			}()
			bulk(b, (<-at).String(), buf)
			if rec := <-done; rec == nil || len(rec.Sessions) != 1 {
				b.Fatal("nothing recorded")
			}
		}
	})
}
