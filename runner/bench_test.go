package runner

import (
	"bytes"
	"context"
	"io"
	"net"
	"testing"
	"time"
)

// The expect loop against a hand-written floor: the same round trip to the
// same built-in echo server, once through an endpoint (write, then expect
// with a data matcher, deciding on every read) and once through a bare
// net.Conn (Write, io.ReadFull, bytes.Equal). Compare the two in one run:
//
//	go test -run XXX -bench Roundtrip -count 5 ./runner
func benchRoundtrip(b *testing.B, size int, viaEndpoint bool) {
	srv := &Server{Name: "echo", Type: Stream, Host: "127.0.0.1", Behaviour: lookupBehaviour("echo")}
	echo, err := startBuiltin(srv, builtinOpts{timeout: time.Second, env: func() *env { return newEnv(nil) }})
	if err != nil {
		b.Fatal(err)
	}
	defer echo.stop()
	conn, err := net.Dial("tcp", echo.addr().String())
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	msg := bytes.Repeat([]byte("0123456789abcdef"), size/16+1)[:size]
	ctx := context.Background()
	e := newEndpoint(ctx, "echo", conn, true, nil)
	got := make([]byte, size)
	b.SetBytes(int64(size))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if viaEndpoint {
			if err := e.write(ctx, msg, time.Now().Add(time.Second)); err != nil {
				b.Fatal(err)
			}
			// A matcher is made afresh for each expect, as a step does.
			if err := e.expect(ctx, newDataMatcher(msg), time.Second); err != nil {
				b.Fatal(err)
			}
			continue
		}
		conn.SetDeadline(time.Now().Add(time.Second))
		if _, err := conn.Write(msg); err != nil {
			b.Fatal(err)
		}
		if _, err := io.ReadFull(conn, got); err != nil {
			b.Fatal(err)
		}
		if !bytes.Equal(got, msg) {
			b.Fatal("echo differs")
		}
	}
}

func BenchmarkRoundtrip13B(b *testing.B) {
	b.Run("floor", func(b *testing.B) { benchRoundtrip(b, 13, false) })
	b.Run("endpoint", func(b *testing.B) { benchRoundtrip(b, 13, true) })
}

func BenchmarkRoundtrip64KiB(b *testing.B) {
	b.Run("floor", func(b *testing.B) { benchRoundtrip(b, 64<<10, false) })
	b.Run("endpoint", func(b *testing.B) { benchRoundtrip(b, 64<<10, true) })
}
