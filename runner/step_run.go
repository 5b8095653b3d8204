package runner

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"gopkg.in/yaml.v3"
)

var runStep = &stepKind{
	name:  "run",
	forms: []string{"run: COMMAND", "run: {cmd: COMMAND, stdin: DATA, stdout: MATCHER, stderr: MATCHER, exit: CODE, timeout: DURATION, limits: LIMITS}"},
	doc: "Run a client program under test to completion, then check its exit status (`exit`: a code, a list of codes, `nonzero`, `any` " +
		"or `{signal: SIGPIPE}`; default 0) and what it printed. `stdout` and `stderr` are matched whole: DATA is exactly the output, " +
		"`line:` is the output being that one line, `contains:` and `regex:` search it, `silence: true` is no output. " +
		"COMMAND is a command line, split like a shell's but never given to one, or a list of words used as they are. " +
		"`limits` bound it as a server's do (`{cpu: 10s, memory: 512MiB, procs: 64, fsize: 64MiB}`); whatever it leaves running when it exits is ended.",
	decode: decodeRun,
	schema: func() js {
		return anyOf(ref("command"), object(js{"cmd": ref("command"), "stdin": ref("data"), "stdout": ref("matcher"),
			"stderr": ref("matcher"), "exit": ref("exit"), "timeout": ref("duration"), "limits": limitsSchema()}, "cmd"))
	},
}

// maxOutput is how much of a client program's stdout and stderr is kept
// for matching.
const maxOutput = 1 << 20

type runAction struct {
	cmd     *command
	stdin   *Data
	stdout  matchSpec
	stderr  matchSpec
	exit    exitRule
	timeout time.Duration
	limits  Limits
}

func (a *runAction) String() string { return "run " + a.cmd.String() }

// An exitRule is what a run step accepts as the program's ending.
type exitRule struct {
	codes   []int          // these exit statuses (the default: 0)
	nonzero bool           // any status but 0
	any     bool           // any ending at all, a signal too
	signal  syscall.Signal // killed by this signal
}

func (r exitRule) String() string {
	switch {
	case r.any:
		return "any ending"
	case r.nonzero:
		return "a nonzero status (an error)"
	case r.signal != 0:
		return "death by " + signalName(r.signal)
	case len(r.codes) == 1:
		return "status " + strconv.Itoa(r.codes[0])
	}
	return "one of the statuses " + strings.Trim(fmt.Sprint(r.codes), "[]")
}

// accepts reports whether a program that ended with status code (-1: by
// a signal) or signal sig ends as the rule wants.
func (r exitRule) accepts(code int, sig syscall.Signal) bool {
	switch {
	case r.any:
		return true
	case r.signal != 0:
		return sig == r.signal
	case code < 0:
		return false
	case r.nonzero:
		return code != 0
	}
	return slices.Contains(r.codes, code)
}

var runKeys = []string{"cmd", "stdin", "stdout", "stderr", "exit", "timeout", "limits"}

func decodeRun(d *decoder, key, val *yaml.Node) action {
	a := &runAction{exit: exitRule{codes: []int{0}}}
	n := resolve(val)
	if n == nil || n.Kind != yaml.MappingNode {
		a.cmd = d.commandValue(val, "run")
		if a.cmd == nil {
			return nil
		}
		return a
	}
	pairs, _ := d.mapping(n, "run", runKeys...)
	f, _ := splitPairs(pairs, runKeys...)
	if c := f.val("cmd"); c == nil {
		d.errorf(n, "run: needs cmd: COMMAND, the program and its arguments")
	} else {
		a.cmd = d.commandValue(c, "run: cmd")
	}
	if v := f.val("stdin"); v != nil {
		a.stdin = d.sendData(v, "run: stdin")
	}
	if v := f.val("stdout"); v != nil {
		a.stdout = d.matchValue(v, matchUse{what: "run: stdout", output: true})
	}
	if v := f.val("stderr"); v != nil {
		a.stderr = d.matchValue(v, matchUse{what: "run: stderr", output: true})
	}
	if v := f.val("exit"); v != nil {
		a.exit = d.exitRule(v)
	}
	if v := f.val("timeout"); v != nil {
		a.timeout, _ = d.duration(v, "run: timeout")
	}
	if v := f.val("limits"); v != nil {
		a.limits = d.limits(v, "run: limits")
	}
	if a.cmd == nil {
		return nil
	}
	return a
}

// exitRule decodes exit: a code, a list of codes, nonzero, any, or
// {signal: NAME}.
func (d *decoder) exitRule(v *yaml.Node) exitRule {
	const want = "expected a code 0 to 255, a list of codes, nonzero, any or {signal: SIGPIPE}"
	n := resolve(v)
	switch {
	case n.Kind == yaml.ScalarNode && (n.Value == "nonzero" || n.Value == "any"):
		return exitRule{nonzero: n.Value == "nonzero", any: n.Value == "any"}
	case n.Kind == yaml.SequenceNode:
		var r exitRule
		for _, e := range n.Content {
			if c, ok := d.integer(e, "run: exit", 0, 255, false); ok {
				r.codes = append(r.codes, int(c))
			}
		}
		if len(n.Content) == 0 {
			d.errorf(v, "run: exit: found an empty list; %s", want)
		}
		return r
	case n.Kind == yaml.MappingNode:
		pairs, _ := d.mapping(n, "run: exit", "signal")
		if len(pairs) == 0 {
			d.errorf(v, "run: exit: found an empty mapping; %s", want)
			return exitRule{codes: []int{0}}
		}
		name, ok := d.str(pairs[0].val, "run: exit: signal")
		if !ok {
			return exitRule{codes: []int{0}}
		}
		sig, ok := signalByName(name)
		if !ok {
			d.errorf(pairs[0].val, "run: exit: signal: unknown signal %q%s; expected a name such as SIGPIPE, SIGSEGV or SIGKILL", name, didYouMean(strings.ToUpper(name), signalNames()))
			return exitRule{codes: []int{0}}
		}
		return exitRule{signal: sig}
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!str" {
		if _, err := strconv.Atoi(n.Value); err != nil {
			d.errorf(v, "run: exit: found %s, %s", found(v), want)
			return exitRule{codes: []int{0}}
		}
	}
	c, _ := d.integer(v, "run: exit", 0, 255, false)
	return exitRule{codes: []int{int(c)}}
}

func (a *runAction) run(ctx context.Context, s *session) error {
	argv, err := a.cmd.fill(s.env)
	if err != nil {
		return err
	}
	var stdin []byte
	if a.stdin != nil {
		p, err := a.stdin.resolve(s.env)
		if err != nil {
			return err
		}
		stdin = p.bytes(0, p.size)
	}
	timeout := s.stepTimeout(a.timeout)
	p, err := startProc(procConfig{name: "run", argv: argv, dir: s.dir, stdin: stdin, keep: maxOutput, hint: a.cmd.startHint(),
		opts: s.programs, limits: a.limits, ns: netnsOf(ctx)})
	if err != nil {
		return err
	}
	s.log.add("run", "start "+strings.Join(argv, " "), nil)
	defer p.stop()
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-p.done:
	case <-t.C:
		p.stop()
		return &ProgramError{Name: "run", Cmd: strings.Join(argv, " "), State: fmt.Sprintf("did not finish within %s", timeout),
			When: "(it was killed, with every process it started)", Output: p.outputTail("run"), TimedOut: true}
	case <-ctx.Done():
		p.stop()
		return context.Cause(ctx)
	}
	out, _ := p.out.Bytes()
	s.log.add("run", "stdout", out)
	s.log.add("run", p.describe(), nil)
	withOut := func(err error) error { return &outputError{err: err, output: p.outputTail("run")} }
	s.notes = append(s.notes, p.notes("run")...)
	code, sig := p.ending()
	if !a.exit.accepts(code, sig) {
		if code < 0 && a.exit.signal == 0 && !a.exit.any {
			// Killed by a signal nobody expected: a crash, not a status.
			return p.endingError("")
		}
		return withOut(&exitError{got: p.describe(), want: a.exit.String()})
	}
	return checkOutput(s, p, a.stdout, a.stderr, timeout, withOut)
}

// checkOutput matches a program's whole stdout and stderr, once it has
// ended.
func checkOutput(s *session, p *proc, stdout, stderr matchSpec, timeout time.Duration, withOut func(error) error) error {
	for _, o := range []struct {
		name string
		m    matchSpec
		buf  *capBuffer
	}{{"stdout", stdout, p.out}, {"stderr", stderr, p.err}} {
		if o.m == nil {
			continue
		}
		got, whole := o.buf.Bytes()
		if !whole {
			return withOut(fmt.Errorf("%s: the program printed more than %d bytes", o.name, maxOutput))
		}
		m, err := o.m.build(s.env)
		if err != nil {
			return err
		}
		if _, silence := m.(silenceMatcher); silence && len(got) == 0 {
			continue
		}
		if err := m.whole(got, o.name); err != nil {
			return withOut(fmt.Errorf("%s: %w", o.name, newExpectError(m, got, 0, err, timeout, false)))
		}
		s.capture(m)
	}
	return nil
}

// An exitError is a client program's ending other than expected.
type exitError struct {
	got  string // how it ended: "exited with status 1"
	want string
}

func (e *exitError) Error() string {
	return fmt.Sprintf("the program %s, expected %s", e.got, e.want)
}

// An outputError carries the output of the program behind an error.
type outputError struct {
	err    error
	output string
}

func (e *outputError) Error() string { return e.err.Error() }
func (e *outputError) Unwrap() error { return e.err }
