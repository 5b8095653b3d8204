package runner

import (
	"context"
	"fmt"
	"time"

	"gopkg.in/yaml.v3"
)

var waitStep = &stepKind{
	name:  "wait",
	forms: []string{"wait: NAME", "wait: {server: NAME, exit: CODE, stdout: MATCHER, stderr: MATCHER, timeout: DURATION}"},
	doc: "Wait for server NAME's program to end by itself, then check its exit status (`exit:` as in `run`, default 0) and what it printed " +
		"(matched whole). A program that serves once and exits is then no failure: this is how a one-shot server (inetd-style) is tested.",
	decode: decodeWait,
	schema: func() js {
		return anyOf(ref("name"), object(js{"server": ref("name"), "exit": ref("exit"), "stdout": ref("matcher"),
			"stderr": ref("matcher"), "timeout": ref("duration")}, "server"))
	},
}

type waitAction struct {
	server  string
	exit    exitRule
	stdout  matchSpec
	stderr  matchSpec
	timeout time.Duration
}

func (a *waitAction) String() string { return "wait for server " + a.server + " to end" }

var waitKeys = []string{"server", "exit", "stdout", "stderr", "timeout"}

func decodeWait(d *decoder, key, val *yaml.Node) action {
	a := &waitAction{exit: exitRule{codes: []int{0}}}
	nameNode := val
	n := resolve(val)
	if n != nil && n.Kind == yaml.MappingNode {
		pairs, _ := d.mapping(n, "wait", waitKeys...)
		f, _ := splitPairs(pairs, waitKeys...)
		if nameNode = f.val("server"); nameNode == nil {
			d.errorf(n, "wait: needs server: NAME, the program server to wait for")
			return nil
		}
		if v := f.val("exit"); v != nil {
			a.exit = d.exitRule(v)
		}
		if v := f.val("stdout"); v != nil {
			a.stdout = d.matchValue(v, matchUse{what: "wait: stdout", output: true})
		}
		if v := f.val("stderr"); v != nil {
			a.stderr = d.matchValue(v, matchUse{what: "wait: stderr", output: true})
		}
		if v := f.val("timeout"); v != nil {
			a.timeout, _ = d.duration(v, "wait: timeout")
		}
	}
	name, ok := d.name(nameNode, "wait")
	if !ok {
		return nil
	}
	srv := d.servers[name]
	if srv == nil {
		d.errorf(nameNode, "wait: unknown server %q%s; expected one of the file's servers%s", name, didYouMean(name, keys(d.servers)), listOf(keys(d.servers)))
		return nil
	}
	d.use(srv)
	a.server = name
	return a
}

func (a *waitAction) run(ctx context.Context, s *session) error {
	s.target = a.server
	p := s.servers.program(a.server)
	if p == nil {
		return fmt.Errorf("wait: server %s is not a program sockrun started (a built-in server, or one given by --addr)", a.server)
	}
	timeout := s.stepTimeout(a.timeout)
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-p.proc.done:
	case <-t.C:
		return &ProgramError{Name: "server " + a.server, Cmd: p.proc.cmdline(), State: fmt.Sprintf("did not end within %s", timeout),
			When: "(wait:)", Output: p.proc.outputTail("server " + a.server), TimedOut: true}
	case <-ctx.Done():
		return context.Cause(ctx)
	}
	// Its ending is the test's to judge now, not a surprise at the stop.
	p.proc.mu.Lock()
	p.proc.stopping = true
	p.proc.mu.Unlock()
	s.log.add(a.server, p.proc.describe(), nil)
	withOut := func(err error) error { return &outputError{err: err, output: p.proc.outputTail("server " + a.server)} }
	code, sig := p.proc.ending()
	if !a.exit.accepts(code, sig) {
		return withOut(&exitError{got: p.proc.describe(), want: a.exit.String()})
	}
	return checkOutput(s, p.proc, a.stdout, a.stderr, timeout, withOut)
}
