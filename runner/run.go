package runner

import (
	"context"
	"errors"
	"fmt"
	"os"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Options change how specs run.
type Options struct {
	Jobs    int            // tests at once; 0: the number of CPUs
	Filter  *regexp.Regexp // run only the tests whose names match
	Verbose bool           // record a transcript of every byte (-v)
	// Shard, if set, runs only share K of N of the tests: see Shard.
	Shard Shard
	// Addrs are servers already running elsewhere (--addr NAME=HOST:PORT):
	// sockrun neither starts nor stops them.
	Addrs map[string]string
	// Dir is the working directory of the programs under test, and where
	// a relative program path is found: a submission's folder, when
	// grading. Empty: sockrun's own. A server's dir: key, relative to its
	// spec, overrides it.
	Dir string
	// Now is the clock of the report's timestamps; nil: time.Now. Set, it
	// also reports every duration as 0, so that reports are reproducible.
	Now func() time.Time
	// OnTest, if set, is called as each test ends (or is skipped, or not
	// run), from the goroutine that ran it: progress for a grader.
	OnTest func(spec *Spec, r *TestResult)
	// Programs say how programs under test run (--env...).
	Programs ProgramOptions
	// Isolate runs each test in a network namespace of its own (see
	// netns.go): fixed ports then need not run one at a time.
	Isolate bool
}

// A Shard is share K of N (1 <= K <= N) of a list: the items whose
// 0-based index i has i % N == K-1. Round robin spreads the slow tests of
// a spec over the shards; the same list always splits the same way. The
// zero Shard is the whole list.
type Shard struct{ K, N int }

// Has reports whether item i of a list is in the shard.
func (s Shard) Has(i int) bool { return s.N <= 1 || i%s.N == s.K-1 }

// Run runs the tests of every spec and reports what it found, with a pool
// of its own of opts.Jobs workers. It returns when every test has ended,
// its servers stopped and its programs reaped; cancelling ctx ends the run
// early (the tests still running fail as interrupted, the rest are not
// run, and the report is Incomplete, with context.Cause(ctx) as the
// reason).
func Run(ctx context.Context, specs []*Spec, opts Options) *Report {
	jobs := opts.Jobs
	if jobs <= 0 {
		// One spec run is short and often one of many at once (a suite,
		// a CI matrix): one test per CPU, not the grader's adaptive pool.
		jobs = runtime.NumCPU()
	}
	return NewPool(jobs).Run(ctx, specs, opts)
}

// A Pool runs tests, at most its number of workers at once, for any
// number of runs at the same time: a grader runs every submission through
// one pool, so that one submission's waits overlap another's work. Tests
// that use a server with a fixed address take turns on it, across runs.
type Pool struct {
	lim   *limiter
	mu    sync.Mutex
	fixed map[string]*sync.Mutex // a fixed address -> its turns
}

// NewPool returns a pool of jobs workers; 0: as many as fit the machine
// as it is, adapting as it runs (see limiter): from one per CPU, up to 16
// per CPU while the CPUs are mostly idle.
func NewPool(jobs int) *Pool {
	return &Pool{lim: newLimiter(jobs), fixed: map[string]*sync.Mutex{}}
}

// Run runs the tests of every spec on the pool's workers; see the
// package-level Run. opts.Jobs is the pool's, not the run's.
func (p *Pool) Run(ctx context.Context, specs []*Spec, opts Options) *Report {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	rep := &Report{Started: now(), Shard: opts.Shard}
	start := time.Now()
	var jobs []job
	i := 0
	for _, spec := range specs {
		fr := &FileResult{File: spec.File, Name: spec.Name, About: spec.About}
		for _, t := range Selected(spec, opts) {
			if opts.Shard.Has(i) {
				fr.Tests = append(fr.Tests, nil)
				jobs = append(jobs, job{spec: spec, test: t, file: fr, slot: len(fr.Tests) - 1})
			}
			i++
		}
		rep.Files = append(rep.Files, fr)
	}
	defer p.lim.use()()
	p.runJobs(ctx, jobs, opts)
	settle() // nothing of the programs is left when Run returns
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
	spec *Spec
	test *Test
	file *FileResult
	slot int // the index of its result in file.Tests
}

// turns returns the locks of the fixed addresses a test uses, in the
// order of the file's servers, so that two tests never wait for each
// other.
func (p *Pool) turns(j job, opts Options) []*sync.Mutex {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []*sync.Mutex
	for _, name := range j.test.Servers {
		srv := j.spec.Server(name)
		if _, elsewhere := opts.Addrs[name]; !srv.Fixed() || elsewhere || opts.Isolate {
			continue // (with --isolate, each test has the address to itself)
		}
		key := srv.Network() + " " + srv.Host + ":" + strconv.Itoa(srv.Port)
		if srv.Path != "" {
			key = srv.Network() + " " + srv.Path
		}
		if p.fixed[key] == nil {
			p.fixed[key] = &sync.Mutex{}
		}
		out = append(out, p.fixed[key])
	}
	return out
}

// runJobs runs jobs on the pool's workers.
func (p *Pool) runJobs(ctx context.Context, jobs []job, opts Options) {
	done := func(j job, r *TestResult) {
		if opts.Now != nil {
			r.Duration = 0
		}
		j.file.Tests[j.slot] = r
		if opts.OnTest != nil {
			opts.OnTest(j.spec, r)
		}
	}
	var wg sync.WaitGroup
	for _, j := range jobs {
		if !p.lim.acquire(ctx) {
			done(j, notRun(ctx, j.test))
			continue
		}
		wg.Go(func() {
			defer p.lim.release()
			for _, mu := range p.turns(j, opts) {
				mu.Lock()
				defer mu.Unlock()
			}
			done(j, runTest(ctx, j.spec, j.test, opts))
		})
	}
	wg.Wait()
}

// Selected returns the tests of spec that opts.Filter selects.
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
	var set *serverSet
	var err error
	if opts.Isolate {
		ns, nerr := newNetns()
		if nerr != nil {
			err = &setupError{server: "(its network namespace)", err: nerr}
		} else {
			defer ns.close()
			ctx = withNetns(ctx, ns)
		}
	}
	if err == nil {
		set, err = startServers(ctx, spec, t, t.Timeout, opts, log)
	}
	output := ""
	if err == nil {
		s := newSession(t.Timeout, set, log)
		s.dir = opts.Dir
		s.programs = &opts.Programs
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
		res.Notes = append(s.notes, set.notes...)
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
