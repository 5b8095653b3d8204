package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestAddrUsesARunningServer checks --addr: sockrun tests a server that is
// already running, and neither starts nor stops it.
func TestAddrUsesARunningServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	served := make(chan int, 8)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				n, _ := io.Copy(c, c)
				served <- int(n)
			}()
		}
	}()
	spec := filepath.Join(t.TempDir(), "echo.yaml")
	os.WriteFile(spec, []byte(`
servers:
  echo: {run: ./does-not-exist}
tests:
  - name: via --addr
    steps: [{connect: echo}, {send: "elsewhere"}, {expect: "elsewhere"}, {close: {how: write}}, {expect: {eof: true}}]
`), 0o644)
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{spec, "--addr", "echo=" + ln.Addr().String()}, nil, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, &stdout, &stderr)
	}
	if n := <-served; n != len("elsewhere") {
		t.Errorf("the running server echoed %d bytes", n)
	}
	// It is still running: sockrun did not stop it.
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatalf("the server is gone after the run: %v", err)
	}
	c.Close()

	stdout.Reset()
	stderr.Reset()
	if code := run(context.Background(), []string{spec, "--addr", "nope=127.0.0.1:1"}, nil, &stdout, &stderr); code != exitUsage {
		t.Errorf("--addr for an unknown server: exit %d, want 2", code)
	}
	if !strings.Contains(stderr.String(), `no spec has a server "nope"`) {
		t.Errorf("stderr: %s", &stderr)
	}
}
