package runner

import (
	"fmt"
	"io"
	"sync"
	"time"
)

// Progress tells a grader how grading goes. On a terminal (live) it keeps
// one line up to date: submissions done of all, how many are below full
// marks so far, and about how long is left; elsewhere (a log, CI) it
// writes a plain line per submission graded. Its methods may be called
// from any goroutine.
type Progress struct {
	w     io.Writer
	live  bool
	start time.Time

	mu                sync.Mutex
	subs, done, below int
	tests, testsDone  int
	lastDraw          time.Time
	drawn             bool
}

// NewProgress starts showing the progress of grading subs submissions of
// tests tests each on w.
func NewProgress(w io.Writer, live bool, subs, tests int) *Progress {
	return &Progress{w: w, live: live, start: time.Now(), subs: subs, tests: subs * tests}
}

// Test counts a finished test: on a terminal, the time left is estimated
// from tests, which finish more evenly than submissions.
func (p *Progress) Test(*Submission, *TestResult) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.testsDone++
	// A redraw per test would flood a slow terminal; ten a second is live.
	if p.live && time.Since(p.lastDraw) >= 100*time.Millisecond {
		p.draw()
	}
}

// Done counts a graded submission.
func (p *Progress) Done(r *GradeResult) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !r.Graded() {
		return // the closing line counts them
	}
	p.done++
	t := r.Report.Totals()
	if t.Score < t.MaxScore {
		p.below++
	}
	if p.live {
		p.draw()
		return
	}
	note := ""
	if n := r.Note(); n != "" {
		note = " (" + n + ")"
	}
	fmt.Fprintf(p.w, "graded %d/%d %s: %d/%d%s\n", p.done, p.subs, r.Submission.Name, t.Score, t.MaxScore, note)
}

func (p *Progress) draw() {
	p.lastDraw, p.drawn = time.Now(), true
	left := ""
	if p.testsDone > 0 && p.testsDone < p.tests {
		elapsed := time.Since(p.start)
		rest := time.Duration(float64(elapsed) * float64(p.tests-p.testsDone) / float64(p.testsDone))
		left = fmt.Sprintf(", about %s left", rest.Round(time.Second))
	}
	fmt.Fprintf(p.w, "\r\x1b[Kgrading: %d/%d submissions done, %d below full marks%s", p.done, p.subs, p.below, left)
}

// Finish ends the live line and writes the closing line: how many were
// graded, how long it took, and what did not get a grade.
func (p *Progress) Finish(results []*GradeResult) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.live && p.drawn {
		fmt.Fprint(p.w, "\r\x1b[K")
	}
	graded, full, failedBuild := 0, 0, 0
	for _, r := range results {
		if !r.Graded() {
			continue
		}
		graded++
		if t := r.Report.Totals(); t.Score == t.MaxScore {
			full++
		}
		if r.Build != nil && r.Build.Err != "" {
			failedBuild++
		}
	}
	msg := fmt.Sprintf("graded %d of %d submissions in %s: %d with full marks, %d below", graded, len(results),
		time.Since(p.start).Round(100*time.Millisecond), full, graded-full)
	if failedBuild > 0 {
		msg += fmt.Sprintf(" (%d did not build)", failedBuild)
	}
	if n := len(results) - graded; n > 0 {
		msg += fmt.Sprintf("; %d not graded", n)
	}
	fmt.Fprintln(p.w, msg)
}
