package runner

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"time"
)

// A programServer is a server that is a program under test.
type programServer struct {
	srv   *Server
	proc  *proc
	a     Addr
	clean func()
	// ended is cancelled once the program has ended, so that a datagram
	// socket talking to it stops waiting for a reply.
	ended context.Context
	base  string // the working directory it was given (Options.Dir)
	// sockets are the addresses of its further sockets (socket_of:).
	sockets map[string]Addr
	opts    *ProgramOptions
	left    []string // the notes of the instances before a restart
}

func (p *programServer) addr() Addr { return p.a }

// startProgramServer starts srv's program to serve at addrs[srv.Name] and
// waits until it serves there. A program that exits first fails at once,
// with its output; if sockrun picked the port, it tries once more on
// another (something else may have taken the port meanwhile). On a
// restart the address is kept, whatever happens.
// clean removes what the address needed (a temporary directory); the
// server owns it from now on.
func startProgramServer(ctx context.Context, srv *Server, addrs map[string]Addr, base string, clean func(), restart bool, opts *ProgramOptions) (*programServer, error) {
	a := addrs[srv.Name]
	var earlier string // what an earlier attempt left behind, for the report
	for attempt := 1; ; attempt++ {
		// The first attempt has ended as a whole (stop waits for that)
		// before a second starts: never two copies at once.
		p, err := tryProgramServer(ctx, srv, a, addrs, base, restart, opts)
		if err == nil {
			p.clean = clean
			return p, nil
		}
		// Another port can help a program that exited early, perhaps
		// because the port was taken; not one that could not start.
		pe, crashed := err.(*ProgramError)
		retry := attempt == 1 && !restart && srv.Port == 0 && srv.Path == "" && crashed && !pe.NotStarted && !pe.TimedOut
		if crashed {
			pe.Output += earlier
			earlier = pe.left
		}
		if !retry {
			clean()
			return nil, err
		}
		// A port needs no cleaning: clean keeps the files, to be written
		// again for the new port.
		var next Addr
		var nextClean func()
		perr := inNetns(netnsOf(ctx), func() (err error) {
			next, nextClean, err = pickAddr(srv, &a)
			return err
		})
		if perr != nil {
			clean()
			return nil, err
		}
		next.Files = a.Files // the certificate's files (tls:) too
		a, clean = next, chain(clean, nextClean)
		addrs = withAddr(addrs, srv.Name, a)
		for _, sock := range srv.Sockets {
			if sock.SamePort {
				sa := addrs[sock.Name]
				sa.Port = a.Port
				addrs = withAddr(addrs, sock.Name, sa)
			}
		}
	}
}

// own is the name the server's own steps and placeholders know it by:
// its name, or the name a mutant took from it.
func (s *Server) own() string {
	if s.alias != "" {
		return s.alias
	}
	return s.Name
}

// ownAddr returns a copy of addrs with the server's own address replaced,
// under its alias too, if it has one.
func (s *Server) ownAddr(addrs map[string]Addr, a Addr) map[string]Addr {
	out := withAddr(addrs, s.Name, a)
	if s.alias != "" {
		out[s.alias] = a
	}
	return out
}

// withAddr returns a copy of addrs with name's address replaced.
func withAddr(addrs map[string]Addr, name string, a Addr) map[string]Addr {
	out := make(map[string]Addr, len(addrs))
	for k, v := range addrs {
		out[k] = v
	}
	out[name] = a
	return out
}

func tryProgramServer(ctx context.Context, srv *Server, a Addr, addrs map[string]Addr, base string, restart bool, opts *ProgramOptions) (*programServer, error) {
	e := newEnv(srv.ownAddr(addrs, a))
	if err := writeFiles(srv, e); err != nil {
		return nil, err
	}
	argv, err := srv.Run.fill(e)
	if err != nil {
		return nil, err
	}
	dir, environ, err := programDirEnv(srv, e, base)
	if err != nil {
		return nil, err
	}
	name := "server " + srv.Name
	// The whole output, up to maxOutput, so that a wait: step can match it.
	p, err := startProc(procConfig{name: name, argv: argv, dir: dir, env: environ, keep: maxOutput,
		hint: srv.Run.startHint(), server: true, opts: opts, limits: srv.Limits, ns: netnsOf(ctx)})
	if err != nil {
		return nil, err
	}
	// Ready once it serves every socket it has, within ready: all told.
	sockets := map[string]Addr{}
	deadline := time.Now().Add(srv.Ready)
	ok, elsewhere, err := waitReady(ctx, p, a, srv.Ready)
	where := a.String()
	for _, sock := range srv.Sockets {
		if !ok || err != nil {
			break
		}
		sa := addrs[sock.Name]
		sockets[sock.Name] = sa
		if ok, elsewhere, err = waitReady(ctx, p, sa, max(time.Until(deadline), 0)); !ok {
			// The one it does not serve, for the report.
			a, where = sa, fmt.Sprintf("%s %s (its socket %s)", sa.Network, sa, sock.Name)
		}
	}
	exited := p.exited() // before stop, which ends it either way
	if ok && err == nil && !exited {
		ended, cancel := context.WithCancel(context.Background())
		go func() { <-p.done; cancel() }()
		return &programServer{srv: srv, proc: p, a: a, ended: ended, base: base, opts: opts, sockets: sockets}, nil
	}
	p.stop()
	if err != nil {
		return nil, err
	}
	pe := &ProgramError{Name: name, Cmd: strings.Join(argv, " "), Output: p.outputTail(name), Code: -1}
	switch {
	case exited && restart:
		pe = p.endingError("")
		why := "A server that does not set SO_REUSEADDR cannot bind a port whose old connections are still in TIME_WAIT."
		if a.Path != "" {
			why = "A Unix socket path stays taken while its file exists: a server must unlink() it before bind()."
		}
		pe.When = fmt.Sprintf("when restarted, before it served on %s again: could it not bind the address? (%s)", a, why)
	case exited:
		pe = p.endingError("")
		pe.When = fmt.Sprintf("before it served on %s", a)
		if elsewhere != "" {
			pe.When += fmt.Sprintf(" (it %s %s: %s)", listensVerb(a), elsewhere, bindAdvice(a))
		}
	default:
		pe.TimedOut = true
		pe.Code, pe.Signal = -1, 0
		pe.State = fmt.Sprintf("did not serve on %s within %s", where, srv.Ready)
		pe.When = fmt.Sprintf("(ready: %s); does it take the port from its arguments, as %q does?", srv.Ready, srv.Run)
		if elsewhere != "" {
			pe.When = fmt.Sprintf("(ready: %s): it %s %s, not on %s: %s", srv.Ready, listensVerb(a), elsewhere, a, bindAdvice(a))
		}
	}
	for _, n := range p.notes(name) {
		pe.left += n + "\n"
	}
	pe.Output += pe.left
	return nil, pe
}

// listensVerb says what a program does with a socket that would serve a.
func listensVerb(a Addr) string {
	if a.Network == "udp" || a.Network == "unixgram" {
		return "is bound to"
	}
	return "listens on"
}

// bindAdvice says what to do about a program that serves elsewhere.
func bindAdvice(a Addr) string {
	if a.Path != "" {
		return "bind the path you were given"
	}
	return "bind the address you were given"
}

// programDirEnv resolves a program's working directory (relative to the
// spec file) and its extra environment.
func programDirEnv(srv *Server, e *env, base string) (string, []string, error) {
	dir := base
	if srv.Dir != nil {
		var err error
		if dir, err = srv.Dir.fill(e); err != nil {
			return "", nil, err
		}
		if !filepath.IsAbs(dir) {
			dir = filepath.Join(filepath.Dir(srv.Pos.File), dir)
		}
	}
	var environ []string
	for _, k := range keys(srv.Env) {
		v, err := srv.Env[k].fill(e)
		if err != nil {
			return "", nil, err
		}
		environ = append(environ, k+"="+v)
	}
	return dir, environ, nil
}

// exitError returns the program's ending as an error if it ended on its
// own, while sockrun had not asked it to.
func (p *programServer) exitError() error {
	if e := p.proc.exitError("during the test"); e != nil {
		return e
	}
	return nil
}

// dying reports whether the program has ended or is ending, without
// waiting: a connection of its that reset or reached its end may then
// have done so because the program died (see proc.dying: its leader is
// gone or going, and none of its processes that still runs serves).
func (p *programServer) dying() bool { return p.proc.dying() }

func (p *programServer) stop() stopResult {
	err := p.exitError()
	p.proc.stop()
	if err == nil {
		err = p.proc.crashedWhileStopping()
	}
	p.clean()
	return stopResult{ended: err}
}

// restart stops the program and starts it again on the same address at
// once. Its old connections may still be in TIME_WAIT, and a Unix socket
// file may still be there: a server that does not set SO_REUSEADDR (or
// unlink its path) fails to come back, which is what restart tests.
func (p *programServer) restart(ctx context.Context, addrs map[string]Addr) (serverInstance, error) {
	// addrs: the other servers' addresses, for placeholders in run:.
	err := p.exitError()
	p.proc.stop()
	if err == nil {
		err = p.proc.crashedWhileStopping()
	}
	if err != nil {
		p.clean()
		return nil, err
	}
	next, err := startProgramServer(ctx, p.srv, withAddr(addrs, p.srv.Name, p.a), p.base, p.clean, true, p.opts)
	if err != nil {
		return nil, err
	}
	next.left = append(p.left, p.proc.notes("server "+p.srv.Name)...)
	return next, nil
}

// notes are the notes of this server's instances, for the test's result.
func (p *programServer) notes() []string {
	return append(append([]string(nil), p.left...), p.proc.notes("server "+p.srv.Name)...)
}
