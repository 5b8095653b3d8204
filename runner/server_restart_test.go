package runner

import (
	"context"
	"net"
	"testing"
	"time"
)

// TestRestartKeepsSocket checks that a built-in server comes back from a
// restart on the socket it had: between a close and a new bind, another
// server's bind of port 0 could be given the port (the old connections,
// with SO_REUSEADDR, do not stop it), and a correct server's restart
// would fail for nothing. A mutant whose bug is in that bind binds anew.
func TestRestartKeepsSocket(t *testing.T) {
	for _, typ := range []string{Stream, Dgram} {
		srv := &Server{Name: "echo", Type: typ, Host: "127.0.0.1", Behaviour: lookupBehaviour("echo")}
		b, err := startBuiltin(srv, builtinOpts{timeout: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		nb, err := b.restart(context.Background(), nil)
		if err != nil {
			t.Fatalf("%s: restart: %v", typ, err)
		}
		n := nb.(*builtin)
		if n.ln != b.ln || n.pc != b.pc || n.addr().String() != b.addr().String() {
			t.Errorf("%s: the restarted server has a socket of its own", typ)
		}
		// It serves on it.
		c, err := net.Dial(n.addr().Network, n.addr().String())
		if err != nil {
			t.Fatalf("%s: %v", typ, err)
		}
		c.SetDeadline(time.Now().Add(5 * time.Second))
		c.Write([]byte("x"))
		buf := make([]byte, 1)
		if _, err := c.Read(buf); err != nil || buf[0] != 'x' {
			t.Errorf("%s: after the restart: %q, %v", typ, buf, err)
		}
		c.Close()
		n.stop()
	}
	srv := &Server{Name: "echo", Type: Stream, Host: "127.0.0.1", Behaviour: mutantBehaviour,
		Proxy: &proxySpec{target: "nobody", mutant: &mutation{noReuse: true}}}
	b, err := startBuiltin(srv, builtinOpts{timeout: time.Second, env: func() *env { return newEnv(nil) }})
	if err != nil {
		t.Fatal(err)
	}
	nb, err := b.restart(context.Background(), nil)
	if err != nil {
		t.Fatalf("noreuse, no connection: %v", err)
	}
	if nb.(*builtin).ln == b.ln {
		t.Error("a mutant without SO_REUSEADDR kept its socket across a restart")
	}
	nb.stop()
}
