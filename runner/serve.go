package runner

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"
)

// ServeOptions say which servers Serve runs, and whom it tells what.
type ServeOptions struct {
	Names []string // the servers to run; none: every built-in one
	// Ready is called with each server's address once all are serving.
	Ready func(name string, a Addr)
	// Failed, if set, is told of each script failure as it happens.
	Failed func(error)
	// Log, if set, is told of every connection (or datagram peer) as it
	// comes and goes, and of every byte in and out, as it happens, from
	// any goroutine. Conn names the connection: SERVER#N, numbered in
	// the order they came. The client's bytes are "sent" and the
	// server's "received", as in a test's transcript; the other events
	// are "open from ADDR", "end of stream from the client", "half-close
	// by the server" and "close (N bytes in, M out)".
	Log func(Event)
}

// Serve runs spec's built-in servers until ctx is done. It returns once
// every server has stopped.
func Serve(ctx context.Context, spec *Spec, o ServeOptions) error {
	names := o.Names
	var chosen []*Server
	for _, name := range names {
		srv := spec.Server(name)
		if srv == nil {
			return fmt.Errorf("--server %s: %s has no server %q%s", name, spec.File, name, listOf(serverNames(spec)))
		}
		if srv.Run != nil {
			return fmt.Errorf("--server %s: it is a program under test (run:), not a built-in server", name)
		}
		chosen = append(chosen, srv)
	}
	if len(names) == 0 {
		for _, srv := range spec.Servers {
			if srv.Run == nil {
				chosen = append(chosen, srv)
			}
		}
	}
	if len(chosen) == 0 {
		return fmt.Errorf("%s has no built-in server to serve", spec.File)
	}
	var mu sync.Mutex
	addrs := map[string]Addr{}
	snapshot := func() *env {
		mu.Lock()
		defer mu.Unlock()
		return newEnv(maps.Clone(addrs))
	}
	start := time.Now()
	var running []*builtin
	defer func() {
		for _, b := range slices.Backward(running) {
			// Interrupted: end what clients are still doing at once,
			// rather than letting their scripts run to their deadlines.
			b.cancel()
			b.stop()
		}
	}()
	for _, srv := range chosen {
		var id *identity
		if srv.TLS != nil {
			// Its files are written whatever names them: a client
			// poked by hand needs the CA (ready prints where).
			var err error
			if id, err = newIdentity(srv, true); err != nil {
				return fmt.Errorf("server %s: making its certificate: %w", srv.Name, err)
			}
			defer id.remove()
		}
		b, err := startBuiltin(srv, builtinOpts{timeout: spec.Timeout, env: snapshot, id: id})
		if err != nil {
			return err
		}
		b.onFail = o.Failed
		if o.Log != nil {
			// Set before Ready tells anyone where the server is.
			b.tap.Store(newTap(srv.Name, start, o.Log))
		}
		running = append(running, b)
		mu.Lock()
		addrs[srv.Name] = b.addr()
		mu.Unlock()
	}
	for _, b := range running {
		o.Ready(b.srv.Name, b.addr())
	}
	<-ctx.Done()
	return nil
}

func serverNames(spec *Spec) []string {
	var out []string
	for _, s := range spec.Servers {
		out = append(out, s.Name)
	}
	return out
}
