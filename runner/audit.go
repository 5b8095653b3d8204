package runner

import (
	"context"
	"runtime"
	"sync"
	"time"
)

// AuditOptions change how specs are audited.
type AuditOptions struct {
	// Jobs is how many tests run at once, across every spec and mutant;
	// 0: DefaultAuditJobs per CPU.
	Jobs int
}

// DefaultAuditJobs is how many tests an audit runs at once per CPU when
// not told: most of a mutant's tests wait for a deadline, not for a CPU.
const DefaultAuditJobs = 8

// An AuditReport is what sockrun audit found: for each spec, whether its
// reference passes, and for each thing it tests, which test caught each
// classic bug. Reporters read it and nothing else.
type AuditReport struct {
	Specs []*SpecAudit
	// Incomplete, when not empty, says that the audit was interrupted,
	// and why: its verdicts are no verdict.
	Incomplete string
}

// A SpecAudit is the audit of one spec.
type SpecAudit struct {
	File string
	Name string
	// Reference is the run of the spec against its reference: every test
	// must pass (or be skipped), else the audit means nothing.
	Reference *FileResult
	Targets   []*TargetAudit
}

// A TargetAudit is the audit of one thing a spec tests: a server, or the
// client its run: steps start.
type TargetAudit struct {
	Server    string // the server under test; "" for the client
	Reference string // what the reference is: "behaviour echo", "program ..."
	// Through names the servers a client under test reaches.
	Through []string
	Mutants []*MutantResult
}

// A MutantResult is the verdict on one mutant.
type MutantResult struct {
	Name string
	Bug  string
	// NotApplicable, when not empty, says why the bug does not apply to
	// this target: the mutant did not run.
	NotApplicable string
	// Caught is the first test, in file order, that failed the mutant;
	// nil if none did (the bug survives the spec).
	Caught *TestResult
	// Unfinished: the audit was interrupted before a verdict.
	Unfinished bool
	// Duration is how long its tests took, one after another: no
	// schedule of the audit can end before its longest mutant has run.
	Duration time.Duration
}

// Survived reports whether the mutant ran and no test failed it.
func (m *MutantResult) Survived() bool {
	return m.NotApplicable == "" && m.Caught == nil && !m.Unfinished
}

// ReferenceFailures returns the tests the reference failed.
func (s *SpecAudit) ReferenceFailures() []*TestResult {
	var out []*TestResult
	for _, t := range s.Reference.Tests {
		if t.Failure != nil {
			out = append(out, t)
		}
	}
	return out
}

// Passed reports whether the audit is complete, every reference passes
// its spec, and every mutant that applies was caught.
func (r *AuditReport) Passed() bool {
	if r.Incomplete != "" {
		return false
	}
	for _, s := range r.Specs {
		if len(s.ReferenceFailures()) > 0 {
			return false
		}
		for _, t := range s.Targets {
			for _, m := range t.Mutants {
				if m.Survived() || m.Unfinished {
					return false
				}
			}
		}
	}
	return true
}

// Audit runs each spec against its reference, and against a mutant of
// the reference for each classic bug of the mutant table that applies to
// what the spec tests: each mutant runs the spec's tests that use it in
// file order, and stops at the first that fails it. Every test of every
// run goes through one pool. A spec whose reference fails a test has no
// verdict on its mutants. Cancelling ctx ends the audit early, with the
// report Incomplete.
func Audit(ctx context.Context, specs []*Spec, opts AuditOptions) *AuditReport {
	jobs := opts.Jobs
	if jobs <= 0 {
		jobs = DefaultAuditJobs * runtime.NumCPU()
	}
	pool := NewPool(jobs)
	var runOpts Options
	rep := &AuditReport{}
	var wg sync.WaitGroup
	for _, spec := range specs {
		sa := &SpecAudit{File: spec.File, Name: spec.Name}
		rep.Specs = append(rep.Specs, sa)
		// The mutants run beside the reference, and stop if it fails:
		// the reference almost always passes, and waiting for it would
		// add its slowest test to every mutant's time.
		specCtx, failed := context.WithCancel(ctx)
		var specWG sync.WaitGroup
		specWG.Go(func() {
			sa.Reference = pool.Run(ctx, []*Spec{spec}, runOpts).Files[0]
			if len(sa.ReferenceFailures()) > 0 {
				failed()
			}
		})
		for _, t := range auditTargets(spec) {
			ta := &TargetAudit{Reference: t.reference()}
			if t.srv != nil {
				ta.Server = t.srv.Name
			}
			for _, f := range t.fixtures {
				ta.Through = append(ta.Through, f.Name)
			}
			sa.Targets = append(sa.Targets, ta)
			for _, k := range mutantKinds() {
				if !k.fits(t) {
					continue
				}
				mr := &MutantResult{Name: k.name, Bug: k.bug, NotApplicable: k.applies(t)}
				ta.Mutants = append(ta.Mutants, mr)
				if mr.NotApplicable != "" {
					continue
				}
				ms := k.mutant(t)
				specWG.Go(func() { mr.Caught, mr.Unfinished, mr.Duration = firstFailure(specCtx, pool, ms, runOpts) })
			}
		}
		wg.Go(func() {
			specWG.Wait()
			failed() // nothing waits on it any more
		})
	}
	wg.Wait()
	if ctx.Err() != nil {
		rep.Incomplete = context.Cause(ctx).Error()
	}
	return rep
}

// firstFailure runs the tests of spec one after another, in file order,
// until one fails, and returns it; nil if every test passed. unfinished
// says that ctx ended it first.
func firstFailure(ctx context.Context, pool *Pool, spec *Spec, opts Options) (caught *TestResult, unfinished bool, took time.Duration) {
	for _, t := range spec.Tests {
		r := pool.Run(ctx, []*Spec{spec.forTest(t)}, opts).Files[0].Tests[0]
		took += r.Duration
		switch {
		case r.Unfinished() || ctx.Err() != nil:
			return nil, true, took
		case r.Failure != nil:
			return r, false, took
		}
	}
	return nil, false, took
}
