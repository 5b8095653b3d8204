package runner

import (
	"context"
	"errors"
	"fmt"
	"os"
	"regexp"
	"runtime"
	"strings"
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

// Run runs the tests of every spec and reports what it found. Tests of
// all the specs share one pool of -j workers. It returns when every test
// has ended, its servers stopped and its programs reaped; cancelling ctx
// ends the run early (the tests still running fail as interrupted, the
// rest are not run, and the report is Incomplete, with context.Cause(ctx)
// as the reason).
func Run(ctx context.Context, specs []*Spec, opts Options) *Report {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	rep := &Report{Started: now()}
	start := time.Now()
	var jobs []job
	for _, spec := range specs {
		fr := &FileResult{File: spec.File, Name: spec.Name, About: spec.About}
		tests := Selected(spec, opts)
		fr.Tests = make([]*TestResult, len(tests))
		for i, t := range tests {
			jobs = append(jobs, job{spec: spec, test: t, result: &fr.Tests[i]})
		}
		rep.Files = append(rep.Files, fr)
	}
	runJobs(ctx, jobs, opts)
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

// A job is one test to run, and where its result goes.
type job struct {
	spec   *Spec
	test   *Test
	result **TestResult
}

// runJobs runs jobs, at most opts.Jobs at once. Tests that use a server
// with a fixed address take turns on it: two instances cannot share it.
func runJobs(ctx context.Context, jobs []job, opts Options) {
	n := opts.Jobs
	if n <= 0 {
		n = runtime.NumCPU()
	}
	sem := make(chan struct{}, n)
	fixed := map[*Server]*sync.Mutex{}
	for _, j := range jobs {
		for _, name := range j.test.Servers {
			srv := j.spec.Server(name)
			if _, elsewhere := opts.Addrs[name]; srv.Fixed() && !elsewhere && fixed[srv] == nil {
				fixed[srv] = &sync.Mutex{}
			}
		}
	}
	var wg sync.WaitGroup
	for _, j := range jobs {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			*j.result = notRun(ctx, j.test)
			continue
		}
		wg.Go(func() {
			defer func() { <-sem }()
			// Locks in the order of the file's servers, so that two tests
			// never wait for each other.
			for _, name := range j.test.Servers {
				if mu := fixed[j.spec.Server(name)]; mu != nil {
					mu.Lock()
					defer mu.Unlock()
				}
			}
			r := runTest(ctx, j.spec, j.test, opts)
			if opts.Now != nil {
				r.Duration = 0
			}
			*j.result = r
		})
	}
	wg.Wait()
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

func newResult(t *Test) *TestResult {
	return &TestResult{Name: t.Name, Pos: t.Pos, Points: t.Points, Hidden: t.Hidden, Hint: t.Hint}
}

func notRun(ctx context.Context, t *Test) *TestResult {
	r := newResult(t)
	r.Failure = &Failure{Kind: KindInterrupted, Pos: t.Pos, Message: "not run: " + context.Cause(ctx).Error(), Offset: -1}
	return r
}

// skipReason says why a test cannot run, if it cannot: it needs a var
// that was declared without a value and not given.
func skipReason(t *Test) string {
	if len(t.Needs) == 0 {
		return ""
	}
	var flags []string
	for _, v := range t.Needs {
		flags = append(flags, "--var "+v+"=VALUE")
	}
	what := "the var "
	if len(t.Needs) > 1 {
		what = "the vars "
	}
	return fmt.Sprintf("it needs %s, which nobody gave: run with %s", what+strings.Join(t.Needs, ", "), strings.Join(flags, " "))
}

// runTest runs one test against fresh instances of the servers it uses.
//
// When several things go wrong, the reason reported is the cause, chosen
// by rule and never by comparing clock readings: the test's own failed
// step first (or, when that step saw its connection end, the program
// crash or script failure behind it); then a program under test that
// ended on its own; then a server script step that failed; then a script
// that did not run to its end.
func runTest(ctx context.Context, spec *Spec, t *Test, opts Options) *TestResult {
	res := newResult(t)
	if why := skipReason(t); why != "" {
		res.Skipped = why
		return res
	}
	start := time.Now()
	var log *transcript
	if opts.Verbose {
		log = &transcript{start: start}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	set, err := startServers(ctx, spec, t, t.Timeout, opts)
	output := ""
	if err == nil {
		s := newSession(t.Timeout, set, log)
		err = runSteps(ctx, t.Steps, s, "")
		if err != nil {
			err = set.blame(err, s.target)
		}
		s.closeAll()
		s.cleanup()
		stopped := set.stop()
		output = set.output()
		if err == nil {
			err = stopped.first()
		}
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

func newSession(timeout time.Duration, set *serverSet, log *transcript) *session {
	s := &session{timeout: timeout, conns: map[string]*endpoint{}, servers: set, log: log, env: set.env()}
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

// A stepError is a step that failed, and where.
type stepError struct {
	step   *Step
	server string // the server whose script it is; empty for a test's step
	err    error
}

func (e *stepError) Error() string {
	where := ""
	if e.server != "" {
		where = "server " + e.server + ": "
	}
	return fmt.Sprintf("%s: %s%s", e.step.Pos, where, e.err)
}

func (e *stepError) Unwrap() error { return e.err }

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
			return &stepError{step: st, server: server, err: err}
		}
	}
	return nil
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
	var we *waitingError
	if errors.As(err, &we) {
		f.Message = we.message()
		var inner *expectError
		if errors.As(we.err, &inner) {
			f.Message += ": " + inner.describe()
		}
		return f
	}
	var xe *expectError
	if errors.As(err, &xe) {
		f.Expected, f.Received, f.WantData, f.Offset = xe.want, xe.got, xe.wantB, xe.offset
		f.From, f.WantLen, f.RecvLen = xe.from, xe.wantN, xe.gotN
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
