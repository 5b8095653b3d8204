package runner

import (
	"context"
	"errors"
	"io"
	"net"
	"syscall"
	"testing"
	"time"
)

// A half-close of a connection that the peer has already reset is not an
// error: the peer has left, and the next read says so. A client that sends
// a request and leaves (the SIGPIPE test) must not fail on a server that
// dropped the connection first.
func TestHalfCloseAfterPeerReset(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		c.Read(make([]byte, 1)) // the client is connected
		c.(*net.TCPConn).SetLinger(0)
		c.Close() // an RST
	}()
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	conn.Write([]byte("x"))
	// Wait for the reset itself, not for a while.
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := conn.Read(make([]byte, 1)); !errors.Is(err, syscall.ECONNRESET) && err != io.EOF {
		t.Fatalf("read: %v, want the peer's reset", err)
	}
	e := newEndpoint(context.Background(), "c", conn, true, nil)
	defer e.close()
	if err := e.closeHow("write"); err != nil {
		t.Errorf("close write after the peer's reset: %v, want no error", err)
	}
}
