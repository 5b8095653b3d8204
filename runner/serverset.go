package runner

import (
	"context"
	"errors"
	"fmt"
	"net"
	"reflect"
	"strconv"
	"time"
)

// A serverSet is the running instances of a spec's servers for one test.
type serverSet struct {
	names []string
	inst  map[string]serverInstance // nil for a server given by --addr
	addrs map[string]Addr           // fixed once all have started
}

// startServers starts fresh instances of every server of spec. Built-in
// servers bind first, so their ports are known; a program's port is picked
// before any program starts, so programs may name each other's ports.
func startServers(ctx context.Context, spec *Spec, timeout time.Duration, opts Options) (*serverSet, error) {
	set := &serverSet{inst: map[string]serverInstance{}, addrs: map[string]Addr{}}
	addrs := func() map[string]Addr { return set.addrs }
	fail := func(err error) (*serverSet, error) {
		set.stop()
		return nil, err
	}
	for _, srv := range spec.Servers {
		set.names = append(set.names, srv.Name)
		if at, ok := opts.Addrs[srv.Name]; ok {
			a, err := parseAddr(srv, at)
			if err != nil {
				return fail(err)
			}
			set.addrs[srv.Name] = a
		}
	}
	for _, srv := range spec.Servers {
		if _, ok := set.addrs[srv.Name]; ok || srv.Run != nil {
			continue
		}
		b, err := startBuiltin(srv, nil, timeout, addrs)
		if err != nil {
			return fail(&setupError{server: srv.Name, err: err})
		}
		set.inst[srv.Name] = b
		set.addrs[srv.Name] = b.addr()
	}
	var progs []*Server
	var cleans []func()
	for _, srv := range spec.Servers {
		if _, ok := set.addrs[srv.Name]; !ok && srv.Run != nil {
			a, clean, err := pickAddr(srv, nil)
			if err != nil {
				return fail(&setupError{server: srv.Name, err: err})
			}
			set.addrs[srv.Name] = a
			progs = append(progs, srv)
			cleans = append(cleans, clean)
		}
	}
	for i, srv := range progs {
		p, err := startProgramServer(ctx, srv, set.addrs, cleans[i], false)
		if err != nil {
			for _, c := range cleans[i+1:] {
				c()
			}
			return fail(err)
		}
		set.inst[srv.Name] = p
		set.addrs[srv.Name] = p.addr()
	}
	return set, nil
}

// parseAddr reads an --addr value: HOST:PORT, or a path for a Unix server.
func parseAddr(srv *Server, at string) (Addr, error) {
	a := Addr{Network: srv.Network()}
	if srv.Path != "" {
		a.Path = at
		return a, nil
	}
	host, port, err := net.SplitHostPort(at)
	if err != nil {
		return a, fmt.Errorf("--addr %s=%s: %w; expected HOST:PORT", srv.Name, at, err)
	}
	a.Host = host
	if a.Port, err = strconv.Atoi(port); err != nil || a.Port <= 0 || a.Port > 65535 {
		return a, fmt.Errorf("--addr %s=%s: %q is not a port number", srv.Name, at, port)
	}
	return a, nil
}

// restart stops server name and starts it again on the same address.
func (set *serverSet) restart(ctx context.Context, name string) error {
	inst := set.inst[name]
	if inst == nil {
		return fmt.Errorf("server %s is given by --addr: sockrun did not start it, so it cannot restart it", name)
	}
	delete(set.inst, name)
	next, err := inst.restart(ctx, set.addrs)
	if err != nil {
		return err
	}
	set.inst[name] = next
	return nil
}

// exited waits up to grace for a program server to end by itself, and
// returns its error if one did: the reason behind a connection that a
// test saw close or reset.
func (set *serverSet) exited(grace time.Duration) error {
	var chans []<-chan struct{}
	for _, inst := range set.inst {
		if p, ok := inst.(*programServer); ok {
			chans = append(chans, p.proc.done)
		}
	}
	if len(chans) == 0 {
		return nil
	}
	t := time.NewTimer(grace)
	defer t.Stop()
	// Wait for one to end, not all: one crash is reason enough.
	cases := []reflect.SelectCase{{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(t.C)}}
	for _, ch := range chans {
		cases = append(cases, reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(ch)})
	}
	reflect.Select(cases)
	var errs []error
	for _, name := range set.names {
		if p, ok := set.inst[name].(*programServer); ok {
			if err := p.exitError(); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// output returns the captured output of every program server, for a
// failure report.
func (set *serverSet) output() string {
	var out string
	for _, name := range set.names {
		if p, ok := set.inst[name].(*programServer); ok {
			out += p.proc.outputTail("server " + name)
		}
	}
	return out
}

// stop stops every instance, in reverse order, and returns what went wrong
// while they ran.
func (set *serverSet) stop() error {
	var errs []error
	for i := len(set.names) - 1; i >= 0; i-- {
		if inst := set.inst[set.names[i]]; inst != nil {
			errs = append(errs, inst.stop())
		}
	}
	return errors.Join(errs...)
}

// A setupError is a server that could not start.
type setupError struct {
	server string
	err    error
}

func (e *setupError) Error() string {
	return "server " + e.server + " could not start: " + e.err.Error()
}

func (e *setupError) Unwrap() error { return e.err }
