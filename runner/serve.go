package runner

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
)

// Serve runs spec's built-in servers (those named, or all) until ctx is
// done. ready is called with each server's address once all are serving;
// failed with each script failure as it happens. It returns once every
// server has stopped.
func Serve(ctx context.Context, spec *Spec, names []string, ready func(name string, a Addr), failed func(error)) error {
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
		b.onFail = failed
		running = append(running, b)
		mu.Lock()
		addrs[srv.Name] = b.addr()
		mu.Unlock()
	}
	for _, b := range running {
		ready(b.srv.Name, b.addr())
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
