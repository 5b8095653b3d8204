package runner

import (
	"context"
	"errors"
	"fmt"
	"os"
	"regexp"
	"runtime"
	"sync"
	"time"
)

// Options change how specs run.
type Options struct {
	Jobs    int            // tests at once; 0: the number of CPUs
	Filter  *regexp.Regexp // run only the tests whose names match
	Verbose bool           // record a transcript of every byte (-v)
	// Addrs are servers already running elsewhere (--addr NAME=HOST:PORT):
	// sockrun neither starts nor stops them.
	Addrs map[string]string
	// Now is the clock of the report's timestamps; nil: time.Now. Set, it
	// also reports every duration as 0, so that reports are reproducible.
	Now func() time.Time
}

// Run runs the tests of every spec and reports what it found. It returns
// when every test has ended, its servers stopped and its programs reaped;
// cancelling ctx ends the run early (the tests still running fail as
// interrupted, the rest are not run, and the report is Incomplete, with
// context.Cause(ctx) as the reason).
func Run(ctx context.Context, specs []*Spec, opts Options) *Report {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	rep := &Report{Started: now()}
	start := time.Now()
	for _, spec := range specs {
		rep.Files = append(rep.Files, runFile(ctx, spec, opts))
	}
	rep.Duration = time.Since(start)
	if ctx.Err() != nil {
		// The reason is the caller's: the CLI names the signal.
		rep.Incomplete = context.Cause(ctx).Error()
	}
	if opts.Now != nil {
		rep.Duration = 0 // a fixed clock: keep reports reproducible
	}
	return rep
}

// Selected returns the tests of spec that opts selects.
func Selected(spec *Spec, opts Options) []*Test {
	var out []*Test
	for _, t := range spec.Tests {
		if opts.Filter == nil || opts.Filter.MatchString(t.Name) {
			out = append(out, t)
		}
	}
	return out
}

func runFile(ctx context.Context, spec *Spec, opts Options) *FileResult {
	fr := &FileResult{File: spec.File, Name: spec.Name, About: spec.About}
	tests := Selected(spec, opts)
	fr.Tests = make([]*TestResult, len(tests))
	jobs := opts.Jobs
	if jobs <= 0 {
		jobs = runtime.NumCPU()
	}
	for _, srv := range spec.Servers {
		if _, elsewhere := opts.Addrs[srv.Name]; srv.Fixed() && !elsewhere {
			jobs = 1 // two instances cannot share a fixed address
		}
	}
	sem := make(chan struct{}, jobs)
	var wg sync.WaitGroup
	for i, t := range tests {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			fr.Tests[i] = notRun(ctx, t)
			continue
		}
		wg.Go(func() {
			defer func() { <-sem }()
			r := runTest(ctx, spec, t, opts)
			if opts.Now != nil {
				r.Duration = 0
			}
			fr.Tests[i] = r
		})
	}
	wg.Wait()
	return fr
}

func newResult(t *Test) *TestResult {
	return &TestResult{Name: t.Name, Pos: t.Pos, Points: t.Points, Hidden: t.Hidden, Hint: t.Hint}
}

func notRun(ctx context.Context, t *Test) *TestResult {
	r := newResult(t)
	r.Failure = &Failure{Kind: KindInterrupted, Pos: t.Pos, Message: "not run: " + context.Cause(ctx).Error(), Offset: -1}
	return r
}

// runTest runs one test against fresh instances of the file's servers.
func runTest(ctx context.Context, spec *Spec, t *Test, opts Options) *TestResult {
	res := newResult(t)
	start := time.Now()
	var log *transcript
	if opts.Verbose {
		log = &transcript{start: start}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	set, err := startServers(ctx, spec, t.Timeout, opts)
	output := ""
	if err == nil {
		s := newSession(t.Timeout, set, log)
		err = blameCrash(runSteps(ctx, t.Steps, s, ""), set)
		s.closeAll()
		s.cleanup()
		output = set.output()
		err = earliest(err, set.stop())
	}
	res.Duration = time.Since(start)
	res.Transcript = log.list()
	if err != nil {
		res.Failure = failureOf(err)
		if res.Failure.Pos.File == "" {
			res.Failure.Pos = t.Pos
		}
		if res.Failure.Output == "" {
			res.Failure.Output = output
		}
	}
	res.Passed = res.Failure == nil
	return res
}

// crashGrace is how long a test that saw a connection end waits to learn
// whether a program under test died: the socket closes a moment before the
// exit is reaped.
const crashGrace = 100 * time.Millisecond

// blameCrash returns err, unless err is a step that saw its connection
// end (closed, reset, refused, timed out) because a program under test
// died: then the death is the reason, at that step.
func blameCrash(err error, set *serverSet) error {
	switch classify(err) {
	case KindClosed, KindReset, KindRefused, KindTimeout:
	default:
		return err
	}
	crash := earliest(set.exited(crashGrace))
	if crash == nil {
		return err
	}
	var step *Step
	if se := (*stepError)(nil); errors.As(err, &se) {
		step = se.step
	}
	// Dated as the crash, so that it wins over the same crash found
	// again, without a step, when the set stops.
	at := time.Now()
	if w := (interface{ when() time.Time })(nil); errors.As(crash, &w) {
		at = w.when()
	}
	return &stepError{step: step, err: crash, at: at}
}

func newSession(timeout time.Duration, set *serverSet, log *transcript) *session {
	s := &session{timeout: timeout, conns: map[string]*endpoint{}, servers: set, log: log, addrs: set.addrs}
	var dir string
	s.tmpdir = func() (string, error) {
		if dir != "" {
			return dir, nil
		}
		var err error
		dir, err = os.MkdirTemp("", "sockrun-client-")
		return dir, err
	}
	s.cleanup = func() {
		if dir != "" {
			os.RemoveAll(dir)
		}
	}
	return s
}

// A stepError is a step that failed, where and when.
type stepError struct {
	step   *Step
	server string // the server whose script it is; empty for a test's step
	err    error
	at     time.Time
}

func (e *stepError) Error() string {
	where := ""
	if e.server != "" {
		where = "server " + e.server + ": "
	}
	return fmt.Sprintf("%s: %s%s", e.step.Pos, where, e.err)
}

func (e *stepError) Unwrap() error { return e.err }

func (e *stepError) when() time.Time { return e.at }

// runSteps runs steps in order and stops at the first that fails.
func runSteps(ctx context.Context, steps []*Step, s *session, server string) error {
	for _, st := range steps {
		if err := st.act.run(ctx, s); err != nil {
			var inner *stepError
			if errors.As(err, &inner) {
				// A step of a nested list (choose: then:) is the one to show.
				if inner.server == "" {
					inner.server = server
				}
				return err
			}
			return &stepError{step: st, server: server, err: err, at: time.Now()}
		}
	}
	return nil
}

// earliest returns the error that happened first: the cause of a failure,
// rather than what followed from it. Errors without a time come last.
func earliest(errs ...error) error {
	var best error
	var bestAt time.Time
	for _, err := range errs {
		for _, e := range flatten(err) {
			at := time.Now().Add(time.Hour)
			var w interface{ when() time.Time }
			if errors.As(e, &w) {
				at = w.when()
			}
			if best == nil || at.Before(bestAt) {
				best, bestAt = e, at
			}
		}
	}
	return best
}

func flatten(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, flatten(e)...)
		}
		return out
	}
	return []error{err}
}

// failureOf turns the error that ended a test into its Failure.
func failureOf(err error) *Failure {
	f := &Failure{Kind: classify(err), Message: err.Error(), Offset: -1}
	var se *stepError
	if errors.As(err, &se) {
		f.Server, f.Message = se.server, se.err.Error()
		if se.step != nil {
			f.Pos, f.Step = se.step.Pos, se.step.String()
		}
	}
	var xe *expectError
	if errors.As(err, &xe) {
		f.Expected, f.Received, f.WantData, f.Offset = xe.want, xe.got, xe.wantB, xe.offset
		f.Message = xe.describe()
	}
	var pe *ProgramError
	if errors.As(err, &pe) {
		f.Output = pe.Output
	}
	var oe *outputError
	if errors.As(err, &oe) {
		f.Output = oe.output
	}
	return f
}
