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
}

func (p *programServer) addr() Addr { return p.a }

// startProgramServer starts srv's program to serve at addrs[srv.Name] and
// waits until it serves there. A program that exits first fails at once,
// with its output; if sockrun picked the port, it tries once more on
// another (something else may have taken the port meanwhile). On a
// restart the address is kept, whatever happens.
// clean removes what the address needed (a temporary directory); the
// server owns it from now on.
func startProgramServer(ctx context.Context, srv *Server, addrs map[string]Addr, clean func(), restart bool) (*programServer, error) {
	a := addrs[srv.Name]
	for attempt := 1; ; attempt++ {
		p, err := tryProgramServer(ctx, srv, a, addrs, restart)
		if err == nil {
			p.clean = clean
			return p, nil
		}
		// Another port can help a program that exited early, perhaps
		// because the port was taken; not one that could not start.
		pe, crashed := err.(*ProgramError)
		retry := attempt == 1 && !restart && srv.Port == 0 && srv.Path == "" && crashed && !pe.NotStarted && !pe.TimedOut
		if !retry {
			clean()
			return nil, err
		}
		clean()
		next, nextClean, perr := pickAddr(srv, &a)
		if perr != nil {
			return nil, err
		}
		a, clean = next, nextClean
		addrs = withAddr(addrs, srv.Name, a)
	}
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

func tryProgramServer(ctx context.Context, srv *Server, a Addr, addrs map[string]Addr, restart bool) (*programServer, error) {
	addrs = withAddr(addrs, srv.Name, a)
	argv := srv.Run.fill(addrs)
	dir, env := programDirEnv(srv, addrs)
	name := "server " + srv.Name
	p, err := startProc(name, argv, dir, env, nil, outputKeep, srv.Run.startHint())
	if err != nil {
		return nil, err
	}
	ok, err := waitReady(ctx, p, a, srv.Ready)
	exited := p.exited() // before stop, which ends it either way
	if ok && err == nil && !exited {
		return &programServer{srv: srv, proc: p, a: a}, nil
	}
	p.stop()
	if err != nil {
		return nil, err
	}
	pe := &ProgramError{Name: name, Cmd: strings.Join(argv, " "), Output: p.outputTail(name), at: time.Now()}
	switch {
	case exited && restart:
		pe.State = p.describe()
		why := "A server that does not set SO_REUSEADDR cannot bind a port whose old connections are still in TIME_WAIT."
		if a.Path != "" {
			why = "A Unix socket path stays taken while its file exists: a server must unlink() it before bind()."
		}
		pe.When = fmt.Sprintf("when restarted, before it served on %s again: could it not bind the address? (%s)", a, why)
	case exited:
		pe.State = p.describe()
		pe.When = fmt.Sprintf("before it served on %s", a)
	default:
		pe.TimedOut = true
		pe.State = fmt.Sprintf("did not serve on %s within %s", a, srv.Ready)
		pe.When = fmt.Sprintf("(ready: %s); does it take the port from its arguments, as %q does?", srv.Ready, srv.Run)
	}
	return nil, pe
}

// programDirEnv resolves a program's working directory (relative to the
// spec file) and its extra environment.
func programDirEnv(srv *Server, addrs map[string]Addr) (string, []string) {
	dir := ""
	if srv.Dir != nil {
		dir = srv.Dir.fill(addrs)
		if !filepath.IsAbs(dir) {
			dir = filepath.Join(filepath.Dir(srv.Pos.File), dir)
		}
	}
	var env []string
	for _, k := range keys(srv.Env) {
		env = append(env, k+"="+srv.Env[k].fill(addrs))
	}
	return dir, env
}

// exitError returns the program's ending as an error if it ended on its
// own, while sockrun had not asked it to.
func (p *programServer) exitError() error {
	pr := p.proc
	pr.mu.Lock()
	stopping, at := pr.stopping, pr.exitedAt
	pr.mu.Unlock()
	if stopping || !pr.exited() {
		return nil
	}
	return &ProgramError{Name: pr.name, Cmd: strings.Join(pr.argv, " "), State: pr.describe(),
		When: "during the test", Output: pr.outputTail(pr.name), at: at}
}

func (p *programServer) stop() error {
	err := p.exitError()
	p.proc.stop()
	if err == nil {
		err = p.proc.crashedWhileStopping()
	}
	p.clean()
	return err
}

// restart stops the program and starts it again on the same address at
// once. Its old connections may still be in TIME_WAIT, and a Unix socket
// file may still be there: a server that does not set SO_REUSEADDR (or
// unlink its path) fails to come back, which is what restart tests.
func (p *programServer) restart(ctx context.Context, addrs map[string]Addr) (serverInstance, error) {
	err := p.exitError()
	p.proc.stop()
	if err == nil {
		err = p.proc.crashedWhileStopping()
	}
	if err != nil {
		p.clean()
		return nil, err
	}
	return startProgramServer(ctx, p.srv, withAddr(addrs, p.srv.Name, p.a), p.clean, true)
}
