// Package grade grades a class: every submission's folder against the
// same specs, decoded once, through one pool of workers, so that one
// submission's waits (gaps, sleeps, deadlines) overlap another's work.
//
// A submission is built first (GradeOptions.Build, in its folder, with a
// timeout), then its tests run with the folder as the programs' working
// directory. A build that fails scores 0, with its output, and never stops
// the others. The results come back in the order the submissions were
// given, whatever order they finished in, so that the same class always
// gives the same CSV.
package runner

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"
)

// GradeOptions change how a class is graded.
type GradeOptions struct {
	// Run is how each submission's tests run. Its Dir is set to each
	// submission's folder; its Jobs and Shard are not used (Jobs is the
	// pool's; a grader shards submissions, see Shard).
	Run Options
	// Jobs bounds the tests running at once across all submissions; 0:
	// as many as fit the machine, adapting as it runs (see NewPool).
	Jobs int
	// Build, if set, is the command run in each submission's folder
	// before its tests, as its words (no shell).
	Build []string
	// BuildTimeout bounds each build; 0: DefaultBuildTimeout.
	BuildTimeout time.Duration
	// OnTest, if set, is called as each test of a submission ends.
	OnTest func(sub *Submission, r *TestResult)
	// OnDone, if set, is called as each submission is graded (or found
	// not gradable), from the goroutine that graded it.
	OnDone func(r *GradeResult)
}

// DefaultBuildTimeout bounds a build when GradeOptions.BuildTimeout is 0: a
// student's make takes seconds; one that hangs must not hold the class.
const DefaultBuildTimeout = 2 * time.Minute

// When -j is not given, the pool adapts (see limiter): from one test per
// CPU up to 16 per CPU while the run queue is short. Grading is mostly
// waiting (a spec's own gaps, sleeps and deadlines, programs starting and
// stopping), so more tests than CPUs overlap the waits; but tests measure
// time, and a CPU that is oversubscribed, by sockrun or by anything else,
// stretches it until correct programs fail. A fixed -j cannot know what
// else the machine is doing: on 2 cores, -j 24 graded 500 submissions of
// echo.yaml in 58 s when the machine was quiet but failed correct tests
// under a load of 20 to 33; adaptive, 53 s quiet, and beside a CPU hog
// the same scores as without (BENCHMARKS.md).

// A Submission is a folder to grade.
type Submission struct {
	Name string // as given on the command line, cleaned: the CSV's submission column
	Dir  string // absolute path of the folder
}

// NewSubmissions makes submissions of folders given on the command line.
// A path that is not a folder is an error: it is a grader's typo, better
// found before a minute of grading than as a row of zeros.
func NewSubmissions(paths []string) ([]*Submission, error) {
	var out []*Submission
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if !fi.IsDir() {
			return nil, fmt.Errorf("%s: not a folder; a submission is the folder of a student's files", p)
		}
		abs, err := filepath.Abs(p)
		if err != nil {
			return nil, err
		}
		out = append(out, &Submission{Name: filepath.Clean(p), Dir: abs})
	}
	return out, nil
}

// Shard returns share sh of the submissions: round robin over them sorted
// by name, byte by byte, so that every machine of a class graded in
// shards picks the same ones, whatever order its shell or find(1) listed
// the folders in. The share keeps the order given.
func ShardSubmissions(subs []*Submission, sh Shard) []*Submission {
	if sh.N <= 1 {
		return subs
	}
	sorted := slices.Clone(subs)
	slices.SortStableFunc(sorted, func(a, b *Submission) int { return strings.Compare(a.Name, b.Name) })
	in := map[*Submission]bool{}
	for i, s := range sorted {
		if sh.Has(i) {
			in[s] = true
		}
	}
	var out []*Submission
	for _, s := range subs {
		if in[s] {
			out = append(out, s)
		}
	}
	return out
}

// A GradeResult is what grading one submission found.
type GradeResult struct {
	Submission *Submission
	// Build is the build's outcome; nil when there is no build, or it
	// never ran (the grading was interrupted first).
	Build *Build
	// Report holds the submission's tests. When the build failed, every
	// test failed as not run, with the build's output.
	Report *Report
}

// Graded reports whether the submission has a grade: its run finished.
func (r *GradeResult) Graded() bool { return r.Report.Incomplete == "" }

// Note is why the submission scored what it did, when that is not the
// tests' doing: its build failed, its program could not run at all (no
// test got past setting up, all for one reason), or it was not graded.
func (r *GradeResult) Note() string {
	switch {
	case !r.Graded():
		return "not graded: " + r.Report.Incomplete
	case r.Build != nil && r.Build.Err != "":
		return "build failed: " + r.Build.Err
	}
	why := ""
	for _, f := range r.Report.Files {
		for _, t := range f.Tests {
			if t.Failure == nil || t.Failure.Kind != KindError || (why != "" && t.Failure.Message != why) {
				return ""
			}
			why = t.Failure.Message
		}
	}
	if why == "" {
		return ""
	}
	return "could not run: " + why
}

// Grade grades every submission against specs and returns their results
// in the order given. It returns once every test has ended and every
// program it started is reaped. Cancelling ctx ends it early: the
// submissions being graded are incomplete, the rest are not graded (no
// build runs), and every result says so.
func Grade(ctx context.Context, specs []*Spec, subs []*Submission, opts GradeOptions) []*GradeResult {
	pool := NewPool(opts.Jobs)
	jobs := pool.lim.max
	// At most jobs submissions are under way at once: enough that a free
	// worker always finds a test waiting (each submission under way has
	// one running or waiting), few enough that submissions finish in
	// about the order given, which is what an interruption keeps.
	underway := make(chan struct{}, jobs)
	// Builds are compilers: CPU-bound, so one per CPU.
	builds := make(chan struct{}, runtime.NumCPU())
	results := make([]*GradeResult, len(subs))
	var wg sync.WaitGroup
	for i, sub := range subs {
		select {
		case underway <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			results[i] = gradeOne(ctx, pool, specs, sub, opts, builds)
			continue
		}
		wg.Go(func() {
			defer func() { <-underway }()
			results[i] = gradeOne(ctx, pool, specs, sub, opts, builds)
		})
	}
	wg.Wait()
	return results
}

// gradeOne builds and tests one submission.
func gradeOne(ctx context.Context, pool *Pool, specs []*Spec, sub *Submission, opts GradeOptions, builds chan struct{}) *GradeResult {
	res := &GradeResult{Submission: sub}
	run := opts.Run
	run.Dir, run.Shard = sub.Dir, Shard{}
	if opts.OnTest != nil {
		run.OnTest = func(_ *Spec, r *TestResult) { opts.OnTest(sub, r) }
	}
	if len(opts.Build) > 0 && ctx.Err() == nil {
		select {
		case builds <- struct{}{}:
			res.Build = build(ctx, sub.Dir, opts.Build, opts.BuildTimeout)
			<-builds
		case <-ctx.Done():
		}
	}
	if res.Build != nil && res.Build.Err != "" && ctx.Err() == nil {
		res.Report = buildFailed(specs, run, res.Build)
		if opts.OnTest != nil {
			for _, f := range res.Report.Files {
				for _, t := range f.Tests {
					opts.OnTest(sub, t)
				}
			}
		}
	} else {
		// Cancelled, Run reports every test as not run, at once.
		res.Report = pool.Run(ctx, specs, run)
	}
	res.Report.Submission = sub.Name
	if opts.OnDone != nil {
		opts.OnDone(res)
	}
	return res
}

// buildFailed is the report of a submission whose build failed: every
// test fails as not run, and one of them carries the build's output (the
// first that is not hidden, since a hidden test shows no output), so
// that each format shows the score (0), the maximum and why.
func buildFailed(specs []*Spec, opts Options, b *Build) *Report {
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	rep := &Report{Started: now()}
	var all []*TestResult
	for _, spec := range specs {
		fr := &FileResult{File: spec.File, Name: spec.Name, About: spec.About}
		for _, t := range Selected(spec, opts) {
			f := &Failure{Kind: KindError, Pos: t.Pos, Offset: -1,
				Message: "not run: the build failed: " + b.Err}
			// No hint: it names a bug in a program that never ran.
			tr := &TestResult{Name: t.Name, Pos: t.Pos, Points: t.Points, Hidden: t.Hidden, Failure: f}
			fr.Tests = append(fr.Tests, tr)
			all = append(all, tr)
		}
		rep.Files = append(rep.Files, fr)
	}
	shown := max(slices.IndexFunc(all, func(t *TestResult) bool { return !t.Hidden }), 0)
	for i, t := range all {
		if i == shown {
			t.Failure.Output = "build output (" + b.Cmd + "):\n" + b.Output
		} else {
			t.Failure.Message += " (the build's output is under " + all[shown].Name + ")"
		}
	}
	return rep
}
