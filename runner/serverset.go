package runner

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"sync"
	"time"
)

// A serverSet is the running instances of the servers one test uses.
type serverSet struct {
	// alias maps a program's further sockets (socket_of:) to the program.
	alias map[string]string
	names []string                  // the servers the test uses, in file order
	inst  map[string]serverInstance // nil for a server given by --addr
	// ids are the certificates made for the servers with tls:; they
	// outlive restarts, so a client that trusts {{NAME.ca}} still does.
	ids map[string]*identity

	mu    sync.Mutex
	addrs map[string]Addr // fixed once all have started
	notes []string        // for the test's result, once stopped
}

// env returns a run-time environment with the servers' addresses as they
// are now: a script may run while later servers are still starting.
func (set *serverSet) env() *env {
	set.mu.Lock()
	defer set.mu.Unlock()
	addrs := make(map[string]Addr, len(set.addrs))
	for k, v := range set.addrs {
		addrs[k] = v
	}
	return newEnv(addrs)
}

// envOf returns the environment of server srv's own placeholders: a
// reference behind a mutant finds itself under the name the mutant took.
func (set *serverSet) envOf(srv *Server) func() *env {
	if srv.alias == "" {
		return set.env
	}
	return func() *env {
		e := set.env()
		e.addrs = srv.ownAddr(e.addrs, e.addrs[srv.Name])
		return e
	}
}

func (set *serverSet) setAddr(name string, a Addr) {
	set.mu.Lock()
	set.addrs[name] = a
	set.mu.Unlock()
}

// startServers starts fresh instances of the servers test t uses. Built-in
// servers bind first, so their ports are known; a program's port is picked
// before any program starts, so programs may name each other's ports.
func startServers(ctx context.Context, spec *Spec, t *Test, timeout time.Duration, opts Options, log *transcript) (*serverSet, error) {
	set := &serverSet{names: t.Servers, inst: map[string]serverInstance{}, addrs: map[string]Addr{}, ids: map[string]*identity{}, alias: map[string]string{}}
	fail := func(err error) (*serverSet, error) {
		set.stop()
		return nil, err
	}
	var builtins, programs []*Server
	for _, name := range t.Servers {
		srv := spec.Server(name)
		if at, ok := opts.Addrs[srv.Name]; ok {
			a, err := parseAddr(srv, at)
			if err != nil {
				return fail(err)
			}
			set.setAddr(srv.Name, a)
			continue
		}
		if srv.SocketOf != nil {
			// Its program binds it: its address is picked, and its
			// readiness waited for, with the program's.
			set.alias[srv.Name] = srv.SocketOf.Name
			continue
		}
		if srv.TLS != nil {
			id, err := newIdentity(srv, srv.TLS.files)
			if err != nil {
				return fail(&setupError{server: srv.Name, err: fmt.Errorf("making its certificate: %w", err)})
			}
			set.ids[srv.Name] = id
		}
		if srv.Run != nil {
			programs = append(programs, srv)
		} else {
			builtins = append(builtins, srv)
		}
	}
	for _, srv := range builtins {
		var b *builtin
		err := inNetns(netnsOf(ctx), func() (err error) {
			b, err = startBuiltin(srv, builtinOpts{timeout: timeout, env: set.envOf(srv), id: set.ids[srv.Name], log: log, ns: netnsOf(ctx)})
			return err
		})
		if err != nil {
			return fail(&setupError{server: srv.Name, err: err})
		}
		set.inst[srv.Name] = b
		set.setAddr(srv.Name, b.addr())
	}
	var cleans []func()
	for _, srv := range programs {
		var a Addr
		var clean func()
		err := inNetns(netnsOf(ctx), func() (err error) {
			a, clean, err = pickProgramAddrs(srv, set)
			return err
		})
		if err == nil {
			var cleanFiles func()
			if a, cleanFiles, err = placeFiles(srv, a); err == nil {
				clean = chain(clean, cleanFiles)
			} else {
				clean()
			}
		}
		if err != nil {
			for _, c := range cleans {
				c()
			}
			return fail(&setupError{server: srv.Name, err: err})
		}
		set.setAddr(srv.Name, set.ids[srv.Name].paths(a))
		cleans = append(cleans, clean)
	}
	for i, srv := range programs {
		p, err := startProgramServer(ctx, srv, set.env().addrs, opts.Dir, cleans[i], false, &opts.Programs)
		if err != nil {
			for _, c := range cleans[i+1:] {
				c()
			}
			return fail(err)
		}
		set.inst[srv.Name] = p
		set.setAddr(srv.Name, p.addr())
		for _, sock := range srv.Sockets {
			set.setAddr(sock.Name, p.sockets[sock.Name])
		}
	}
	return set, nil
}

// pickProgramAddrs picks the address of a program and of its further
// sockets (socket_of:), and records the sockets' in set. A socket with
// port: same gets the program's port number, so that port must be free
// for both socket types: a few tries find one.
func pickProgramAddrs(srv *Server, set *serverSet) (Addr, func(), error) {
	var a Addr
	var clean func()
	var err error
	for range 20 {
		if a, clean, err = pickAddr(srv, nil); err != nil {
			return a, nil, err
		}
		if freeForSockets(srv, a.Port) {
			break
		}
		clean()
		err = fmt.Errorf("found no port free for %s and its sockets with port: same", srv.Name)
	}
	if err != nil {
		return a, nil, err
	}
	for _, sock := range srv.Sockets {
		sa, sclean, err := socketAddr(sock, a)
		if err != nil {
			clean()
			return a, nil, err
		}
		clean = chain(clean, sclean)
		set.setAddr(sock.Name, sa)
	}
	return a, clean, nil
}

// freeForSockets reports whether port is free for each of srv's sockets
// that shares it: when sockrun picked the port, only srv's own type was
// proved free.
func freeForSockets(srv *Server, port int) bool {
	if srv.Port != 0 {
		return true // fixed by the spec: the program's to bind, or fail
	}
	for _, sock := range srv.Sockets {
		if sock.SamePort && probeBind(sock.Network(), net.JoinHostPort(sock.Host, strconv.Itoa(port))) != nil {
			return false
		}
	}
	return true
}

// socketAddr is the address of a program's further socket: its own, or
// with port: same, its program's port on its own host and type.
func socketAddr(sock *Server, prog Addr) (Addr, func(), error) {
	if sock.SamePort {
		return Addr{Network: sock.Network(), Host: sock.Host, Port: prog.Port}, func() {}, nil
	}
	return pickAddr(sock, nil)
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
	if prog, ok := set.alias[name]; ok {
		name = prog // restarting a socket restarts its program
	}
	inst := set.inst[name]
	if inst == nil {
		return fmt.Errorf("server %s is given by --addr: sockrun did not start it, so it cannot restart it", name)
	}
	delete(set.inst, name)
	next, err := inst.restart(ctx, set.env().addrs)
	if err != nil {
		return err
	}
	set.inst[name] = next
	return nil
}

// identity returns the certificate sockrun made for server name, or for
// the server behind it if it is a proxy, or nil.
func (set *serverSet) identity(name string) *identity {
	return set.ids[set.behind(name)]
}

// behind follows proxies from server name to the server they forward to
// in the end: name itself, if it is not a proxy.
func (set *serverSet) behind(name string) string {
	for range len(set.inst) {
		b, ok := set.inst[name].(*builtin)
		if !ok || b.px == nil {
			break
		}
		name = b.srv.Proxy.target
	}
	return name
}

// program returns server name's instance if it is a program under test.
func (set *serverSet) program(name string) *programServer {
	if prog, ok := set.alias[name]; ok {
		name = prog // a further socket of a program: the program
	}
	p, _ := set.inst[name].(*programServer)
	return p
}

// blame finds the cause of a test step's failure err, if it is not the
// step itself. A step that saw its connection end (closed, reset, refused,
// timed out), or a client program that failed, may have failed because a
// program under test died, or because a server's script failed: then
// that is the reason, reported at the step. The question is settled by
// what is known when the step failed, never by a timer: a program is
// dying or dead once its sockets have closed, and a script records its
// failure before its connection closes.
func (set *serverSet) blame(err error, target string) error {
	var se *stepError
	if !errors.As(err, &se) || se.step == nil {
		return err
	}
	switch classify(err) {
	case KindClosed, KindReset, KindRefused, KindTimeout:
	default:
		if se.step.Kind != "run" {
			return err
		}
	}
	suspects := set.names
	if target != "" && se.step.Kind != "run" {
		// Through a proxy, the server behind it is a suspect too.
		suspects = []string{target}
		if behind := set.behind(target); behind != target {
			suspects = append(suspects, behind)
		}
	}
	for _, name := range suspects {
		if p := set.program(name); p != nil && p.dying() {
			// It is on its way out: its ending is known in a moment.
			<-p.proc.done
			if crash := p.exitError(); crash != nil {
				return &stepError{step: se.step, err: crash}
			}
		}
	}
	for _, name := range suspects {
		if b, ok := set.inst[name].(*builtin); ok {
			if f := b.scriptFailure(); f != nil {
				return f
			}
		}
	}
	return err
}

// output returns the captured output of every program server, for a
// failure report.
func (set *serverSet) output() string {
	var out string
	for _, name := range set.names {
		if p := set.program(name); p != nil {
			out += p.proc.outputTail("server " + name)
		}
	}
	return out
}

// stop stops every instance and returns what went wrong while they ran,
// the first of each kind in file order. Programs stop first, then the
// built-in servers in reverse order: a program may be a client of a
// scripted server, whose script is judged only once its clients are gone.
// A proxy is a client of its target, whatever the file order: proxies
// drain first, each before the proxy it forwards to, so that the target
// has everything the test sent before it is judged; they stop last.
func (set *serverSet) stop() stopResult {
	defer func() {
		for _, id := range set.ids {
			id.remove()
		}
	}()
	var all stopResult
	merge := func(r stopResult) {
		all.ended = cmpOr(all.ended, r.ended)
		all.failed = cmpOr(all.failed, r.failed)
		all.waiting = cmpOr(all.waiting, r.waiting)
	}
	results := map[string]stopResult{}
	for _, name := range set.names {
		if p := set.program(name); p != nil {
			results[name] = p.stop()
			set.notes = append(set.notes, p.notes()...)
		}
	}
	proxies := set.proxies()
	for _, b := range proxies {
		b.drain()
	}
	for _, name := range slices.Backward(set.names) {
		if b, ok := set.inst[name].(*builtin); ok && b.px == nil {
			results[name] = b.stop()
		}
	}
	for _, b := range proxies {
		results[b.srv.Name] = b.stop()
	}
	for _, name := range set.names {
		merge(results[name])
	}
	return all
}

// chain returns a function that calls fs in order.
func chain(fs ...func()) func() {
	return func() {
		for _, f := range fs {
			f()
		}
	}
}

// proxies returns the running proxies, each before the proxy it forwards
// to: the farther from the end of a chain, the earlier.
func (set *serverSet) proxies() []*builtin {
	depth := func(b *builtin) int {
		d := 0
		for n := b.srv.Name; d <= len(set.names); d++ {
			next, ok := set.inst[n].(*builtin)
			if !ok || next.px == nil {
				break
			}
			n = next.srv.Proxy.target
		}
		return d
	}
	var out []*builtin
	for _, name := range set.names {
		if b, ok := set.inst[name].(*builtin); ok && b.px != nil {
			out = append(out, b)
		}
	}
	slices.SortStableFunc(out, func(x, y *builtin) int { return depth(y) - depth(x) })
	return out
}

func cmpOr(a, b error) error {
	if a != nil {
		return a
	}
	return b
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
