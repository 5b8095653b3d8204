package runner

import (
	"context"
	"errors"
	"net"
	"syscall"
	"testing"
	"time"
	"unsafe"
)

// A corked request leaves with the FIN, at the close: the server reads it
// after the FIN, whatever its speed, and its echo reaches a closed socket,
// whose RST makes a later write fail with EPIPE, the error that raises
// SIGPIPE. Without the cork, a fast server would have read and answered
// before the FIN, and met the RST alone (ECONNRESET, no signal).
func TestCorkedRequestLeavesWithTheFIN(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			accepted <- c
		}
		close(accepted)
	}()
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	e := newEndpoint(ctx, "c", conn, true, nil)
	if err := e.setCork(true); err != nil {
		t.Fatal(err)
	}
	if err := e.write(ctx, make([]byte, 24<<10), time.Now().Add(5*time.Second)); err != nil {
		t.Fatal(err)
	}
	srv, ok := <-accepted
	if !ok {
		t.Fatal("accept failed")
	}
	defer srv.Close()
	if n := readable(t, srv); n != 0 {
		t.Fatalf("%d bytes reached the server before the close", n)
	}
	// The server is waiting to read before the request leaves.
	read := make(chan error, 1)
	go func() {
		srv.SetDeadline(time.Now().Add(5 * time.Second))
		_, err := srv.Read(make([]byte, 1024))
		read <- err
	}()
	if err := e.closeHow("full"); err != nil {
		t.Fatal(err)
	}
	if err := <-read; err != nil {
		t.Fatalf("server read: %v", err)
	}
	var werr error
	for i := 0; i < 100 && werr == nil; i++ {
		_, werr = srv.Write(make([]byte, 1024))
	}
	if !errors.Is(werr, syscall.EPIPE) {
		t.Fatalf("the server's writes ended with %v, want EPIPE: an RST after the FIN", werr)
	}
}

func TestSetCorkOnlyOnTCP(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	e := newEndpoint(context.Background(), "p", a, true, nil)
	if err := e.setCork(true); err == nil {
		t.Error("cork on a pipe: no error")
	}
	if err := e.setCork(false); err != nil {
		t.Errorf("no cork on a pipe: %v, want nothing to do", err)
	}
}

// readable returns how many bytes c has received and not read (FIONREAD).
func readable(t *testing.T, c net.Conn) int {
	t.Helper()
	rc, err := c.(*net.TCPConn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var n int32
	var errno syscall.Errno
	rc.Control(func(fd uintptr) {
		_, _, errno = syscall.Syscall(syscall.SYS_IOCTL, fd, syscall.TIOCINQ, uintptr(unsafe.Pointer(&n)))
	})
	if errno != 0 {
		t.Fatal(errno)
	}
	return int(n)
}
