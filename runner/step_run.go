package runner

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

var runStep = &stepKind{
	name:  "run",
	forms: []string{"run: COMMAND", "run: {cmd: COMMAND, stdin: DATA, stdout: MATCHER, stderr: MATCHER, exit: CODE, timeout: DURATION}"},
	doc: "Run a client program under test to completion, then check its exit status (`exit`: a code, a list of codes, `nonzero` or `any`; default 0) " +
		"and what it printed. `stdout` and `stderr` are matched whole: DATA is exactly the output, `line:` is the output being that one line, " +
		"`contains:` and `regex:` search it, `silence: true` is no output. The command line is split like a shell's, but no shell runs it.",
	decode: decodeRun,
}

// maxOutput is how much of a client program's stdout and stderr is kept
// for matching.
const maxOutput = 1 << 20

type runAction struct {
	cmd     *command
	stdin   *Data
	stdout  *expectAction
	stderr  *expectAction
	exit    []int // allowed exit codes; nil with anyExit or nonzero
	nonzero bool
	anyExit bool
	timeout time.Duration
}

func (a *runAction) String() string { return "run " + a.cmd.String() }

var runKeys = []string{"cmd", "stdin", "stdout", "stderr", "exit", "timeout"}

func decodeRun(d *decoder, key, val *yaml.Node) action {
	a := &runAction{exit: []int{0}}
	n := resolve(val)
	if n == nil || n.Kind != yaml.MappingNode {
		if s, ok := d.str(val, "run"); ok {
			a.cmd = d.command(val, s, "run")
		}
		if a.cmd == nil {
			return nil
		}
		return a
	}
	pairs, _ := d.mapping(n, "run", runKeys...)
	f, _ := splitPairs(pairs, runKeys...)
	if c := f.val("cmd"); c == nil {
		d.errorf(n, "run: needs cmd: COMMAND, the program and its arguments")
	} else if s, ok := d.str(c, "run: cmd"); ok {
		a.cmd = d.command(c, s, "run: cmd")
	}
	if v := f.val("stdin"); v != nil {
		a.stdin = d.data(v, "run: stdin")
	}
	for _, out := range []struct {
		key string
		dst **expectAction
	}{{"stdout", &a.stdout}, {"stderr", &a.stderr}} {
		if v := f.val(out.key); v != nil {
			*out.dst = d.outputMatcher(v, "run: "+out.key)
		}
	}
	if v := f.val("exit"); v != nil {
		d.exitCodes(v, a)
	}
	if v := f.val("timeout"); v != nil {
		a.timeout, _ = d.duration(v, "run: timeout")
	}
	if a.cmd == nil {
		return nil
	}
	return a
}

// outputMatcher decodes a matcher on a program's output.
func (d *decoder) outputMatcher(v *yaml.Node, what string) *expectAction {
	m := &expectAction{form: "data"}
	if n := resolve(v); n.Kind == yaml.MappingNode {
		pairs, _ := d.mapping(n, what, append(append([]string{}, matcherKeys...), dataKeys...)...)
		if !d.matcher(n, pairs, m) {
			return nil
		}
		if m.form == "eof" {
			d.errorf(v, "%s: eof: has no meaning for a program's output, which always ends", what)
		}
		return m
	}
	m.data = d.data(v, what)
	return m
}

func (d *decoder) exitCodes(v *yaml.Node, a *runAction) {
	n := resolve(v)
	switch {
	case n.Kind == yaml.ScalarNode && (n.Value == "nonzero" || n.Value == "any"):
		a.exit, a.nonzero, a.anyExit = nil, n.Value == "nonzero", n.Value == "any"
	case n.Kind == yaml.SequenceNode:
		a.exit = nil
		for _, e := range n.Content {
			if c, ok := d.integer(e, "run: exit", 0, 255, false); ok {
				a.exit = append(a.exit, int(c))
			}
		}
	default:
		if n.Kind == yaml.ScalarNode && n.Tag == "!!str" {
			if _, err := strconv.Atoi(n.Value); err != nil {
				d.errorf(v, "run: exit: found %s, expected a code 0 to 255, a list of codes, nonzero or any", found(v))
				return
			}
		}
		if c, ok := d.integer(v, "run: exit", 0, 255, false); ok {
			a.exit = []int{int(c)}
		}
	}
}

func (a *runAction) run(ctx context.Context, s *session) error {
	argv := a.cmd.fill(s.addrs)
	var stdin []byte
	if a.stdin != nil {
		stdin = a.stdin.bytes(s.addrs)
	}
	timeout := s.stepTimeout(a.timeout)
	p, err := startProc("run", argv, "", nil, stdin, maxOutput, a.cmd.startHint())
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
			When: "(its process group was killed)", Output: p.outputTail("run"), TimedOut: true, at: time.Now()}
	case <-ctx.Done():
		p.stop()
		return context.Cause(ctx)
	}
	out, _ := p.out.Bytes()
	s.log.add("run", "stdout", out)
	s.log.add("run", p.describe(), nil)
	withOut := func(err error) error { return &outputError{err: err, output: p.outputTail("run")} }
	code := p.cmd.ProcessState.ExitCode()
	switch {
	case code < 0:
		return &ProgramError{Name: "run", Cmd: strings.Join(argv, " "), State: p.describe(), Output: p.outputTail("run"), at: time.Now()}
	case a.anyExit:
	case a.nonzero && code == 0:
		return withOut(&exitError{got: code, want: "a nonzero status (an error)"})
	case !a.nonzero && !slices.Contains(a.exit, code):
		want := strconv.Itoa(a.exit[0])
		if len(a.exit) > 1 {
			want = "one of " + strings.Trim(fmt.Sprint(a.exit), "[]")
		}
		return withOut(&exitError{got: code, want: want})
	}
	for _, o := range []struct {
		name string
		m    *expectAction
		buf  *capBuffer
	}{{"stdout", a.stdout, p.out}, {"stderr", a.stderr, p.err}} {
		if o.m == nil {
			continue
		}
		got, whole := o.buf.Bytes()
		if !whole {
			return withOut(fmt.Errorf("%s: the program printed more than %d bytes", o.name, maxOutput))
		}
		m := o.m.matcher(s.addrs)
		if _, silence := m.(silenceMatcher); silence && len(got) == 0 {
			continue
		}
		if err := m.whole(got, o.name); err != nil {
			return withOut(fmt.Errorf("%s: %w", o.name, newExpectError(m, got, err, timeout, false)))
		}
	}
	return nil
}

// An exitError is a client program's exit status other than expected.
type exitError struct {
	got  int
	want string
}

func (e *exitError) Error() string {
	return fmt.Sprintf("the program exited with status %d, expected %s", e.got, e.want)
}

func (e *exitError) Unwrap() error { return errMismatch }

// An outputError carries the output of the program behind an error.
type outputError struct {
	err    error
	output string
}

func (e *outputError) Error() string { return e.err.Error() }
func (e *outputError) Unwrap() error { return e.err }
