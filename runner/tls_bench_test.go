package runner

import (
	"context"
	"crypto/tls"
	"net"
	"testing"
	"time"
)

// The cost of TLS for a built-in server, against hand-written floors in
// the same run:
//
//	go test -run XXX -bench 'Start|Connect' -count 5 ./runner
//
// BenchmarkStart: a built-in echo started and stopped, as for each test,
// with and without tls: true (the certificate made at start, and with its
// PEM files when a placeholder names them). BenchmarkConnect: a connect
// to it, with and without a TLS handshake, against a bare net.Dial.
func BenchmarkStart(b *testing.B) {
	srv := &Server{Name: "echo", Type: Stream, Host: "127.0.0.1", Behaviour: lookupBehaviour("echo")}
	tlsSrv := *srv
	tlsSrv.TLS = &serverTLS{}
	start := func(b *testing.B, srv *Server, id bool, files bool) {
		for range b.N {
			o := builtinOpts{timeout: time.Second, env: func() *env { return newEnv(nil) }}
			if id {
				var err error
				if o.id, err = newIdentity(srv, files); err != nil {
					b.Fatal(err)
				}
			}
			e, err := startBuiltin(srv, o)
			if err != nil {
				b.Fatal(err)
			}
			e.stop()
			o.id.remove()
		}
	}
	b.Run("floor", func(b *testing.B) { start(b, srv, false, false) })
	b.Run("tls", func(b *testing.B) { start(b, &tlsSrv, true, false) })
	b.Run("tls+files", func(b *testing.B) { start(b, &tlsSrv, true, true) })
}

func BenchmarkConnect(b *testing.B) {
	srv := &Server{Name: "echo", Type: Stream, Host: "127.0.0.1", Behaviour: lookupBehaviour("echo"), TLS: &serverTLS{}}
	id, err := newIdentity(srv, false)
	if err != nil {
		b.Fatal(err)
	}
	echo, err := startBuiltin(srv, builtinOpts{timeout: time.Second, env: func() *env { return newEnv(nil) }, id: id})
	if err != nil {
		b.Fatal(err)
	}
	defer echo.stop()
	plain, err := startBuiltin(&Server{Name: "plain", Type: Stream, Host: "127.0.0.1", Behaviour: lookupBehaviour("echo")},
		builtinOpts{timeout: time.Second, env: func() *env { return newEnv(nil) }})
	if err != nil {
		b.Fatal(err)
	}
	defer plain.stop()
	ctx := context.Background()
	b.Run("floor", func(b *testing.B) {
		for range b.N {
			c, err := net.Dial("tcp", plain.addr().String())
			if err != nil {
				b.Fatal(err)
			}
			c.Close()
		}
	})
	b.Run("tls-floor", func(b *testing.B) {
		// crypto/tls by hand: the least a TLS connect can cost.
		for range b.N {
			c, err := tls.Dial("tcp", echo.addr().String(), &tls.Config{RootCAs: id.pool, ServerName: "127.0.0.1"})
			if err != nil {
				b.Fatal(err)
			}
			c.Close()
		}
	})
	b.Run("tls", func(b *testing.B) {
		c := &clientTLS{}
		for range b.N {
			conn, err := net.Dial("tcp", echo.addr().String())
			if err != nil {
				b.Fatal(err)
			}
			e := newEndpoint(ctx, "echo", conn, true, nil)
			cfg, err := c.config(newEnv(nil), id, echo.addr())
			if err != nil {
				b.Fatal(err)
			}
			if err := e.startTLS(ctx, cfg, true, time.Now().Add(time.Second), time.Second); err != nil {
				b.Fatal(err)
			}
			e.close()
		}
	})
}
