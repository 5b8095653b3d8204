package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
	"time"
)

// A Report is what one run of sockrun found: a result per spec file.
// Reporters read it and nothing else.
type Report struct {
	Files    []*FileResult
	Started  time.Time
	Duration time.Duration
	// Incomplete, when not empty, says that the run ended before every
	// test had its verdict, and why ("interrupted by SIGINT"). Such a
	// report is no grade, and every format says so.
	Incomplete string
	// Shard is the share of the tests this run had (--shard K/N); the
	// zero Shard is all of them. Reports say it, so that their shards
	// can be merged and a missing one noticed.
	Shard Shard
	// Submission names the submission graded (its folder), when grading.
	Submission string
}

// A FileResult holds the results of one spec file's tests, in file order.
type FileResult struct {
	File  string
	Name  string
	About string
	Tests []*TestResult
}

// A TestResult is the verdict on one test.
type TestResult struct {
	Name     string
	Pos      Pos // where the test is declared
	Points   int // what the test is worth
	Hidden   bool
	Hint     string
	Passed   bool
	Duration time.Duration
	Failure  *Failure // nil when Passed
	// Transcript is every byte sent and received, when asked for (-v).
	Transcript []Event
	// Skipped, when not empty, says that the test did not run, why, and
	// how to make it run ("needs the client under test: give it with
	// --var client=PATH"). A skipped test has no Failure, scores 0 and
	// counts in the maximum score, but does not make the run fail.
	Skipped string
	// Notes are what sockrun noticed that did not decide the verdict:
	// "server echo left a background process: pid 1234 (redis-server); ended".
	Notes []string
}

// Score is Points if the test passed, else 0: a test scores all or nothing.
func (t *TestResult) Score() int {
	if t.Passed {
		return t.Points
	}
	return 0
}

// Unfinished reports whether the test has no verdict because the run was
// interrupted: it was stopped part way, or never started.
func (t *TestResult) Unfinished() bool {
	return t.Failure != nil && t.Failure.Kind == KindInterrupted
}

// A Failure says why a test failed.
type Failure struct {
	Kind    Kind
	Pos     Pos    // the step that failed
	Step    string // the step, in a few words
	Server  string // the server whose script or program failed, if any
	Message string // the reason in one sentence
	// Expected and Received describe an expect that did not hold.
	Expected string
	Received []byte
	WantData []byte // the expected bytes, for a side-by-side hex dump
	Offset   int    // first differing byte, or -1
	// From is where WantData and Received start in what the expect read:
	// 0, unless they are windows of a long payload around Offset; WantLen
	// and RecvLen are then the whole lengths.
	From             int
	WantLen, RecvLen int
	// Output is the tail of a program's stdout and stderr, if a program
	// was involved.
	Output string
}

// A Kind is the reason kind of a failure.
type Kind string

// The kinds of failure. Mismatch, Status, Timeout, Closed, Overflow,
// Waiting and TLS are wrong behaviour; Refused, Reset, Exited, Crashed and Error
// mean the test could not go on.
const (
	KindMismatch    Kind = "mismatch"    // wrong bytes
	KindStatus      Kind = "status"      // a client program's exit status other than expected
	KindTimeout     Kind = "timeout"     // nothing decided before the deadline
	KindClosed      Kind = "closed"      // the peer closed before the expect held
	KindOverflow    Kind = "overflow"    // the receive buffer filled up
	KindWaiting     Kind = "waiting"     // a server script did not run to its end
	KindTLS         Kind = "tls"         // a TLS handshake failed: bad certificate, wrong name, no common ALPN...
	KindRefused     Kind = "refused"     // connection refused
	KindReset       Kind = "reset"       // connection reset, or broken pipe
	KindExited      Kind = "exited"      // a program under test exited when it should not have
	KindCrashed     Kind = "crashed"     // a program under test was killed by a signal
	KindError       Kind = "error"       // the test could not run: a setup error
	KindInterrupted Kind = "interrupted" // the run was cancelled (Ctrl-C)
)

// Describe names the kind in plain words.
func (k Kind) Describe() string {
	switch k {
	case KindMismatch:
		return "wrong bytes"
	case KindStatus:
		return "wrong exit status"
	case KindWaiting:
		return "server script waiting"
	case KindExited:
		return "program exited"
	case KindTimeout:
		return "timeout"
	case KindClosed:
		return "closed early"
	case KindOverflow:
		return "too much data"
	case KindTLS:
		return "TLS handshake failed"
	case KindRefused:
		return "connection refused"
	case KindReset:
		return "connection reset"
	case KindCrashed:
		return "program crashed"
	case KindInterrupted:
		return "interrupted"
	}
	return "error"
}

// IsError reports whether the kind means the test could not go on, rather
// than that the behaviour was wrong (JUnit's <error> against <failure>).
func (k Kind) IsError() bool {
	switch k {
	case KindRefused, KindReset, KindExited, KindCrashed, KindError, KindInterrupted:
		return true
	}
	return false
}

// classify names the kind of a step's error. It is the one place that
// knows which errors mean what.
func classify(err error) Kind {
	var pe *ProgramError
	var we *waitingError
	var xe *exitError
	switch {
	case errors.As(err, &we):
		return KindWaiting
	case errors.As(err, &pe) && pe.TimedOut:
		return KindTimeout
	case errors.As(err, &pe) && pe.NotStarted:
		return KindError
	case errors.As(err, &pe) && pe.Signaled:
		return KindCrashed
	case errors.As(err, &pe):
		return KindExited
	case errors.As(err, &xe):
		return KindStatus
	case errors.Is(err, errMismatch), errors.Is(err, errNotSilent):
		return KindMismatch
	case errors.Is(err, errOverflow):
		return KindOverflow
	case errors.Is(err, context.Canceled):
		return KindInterrupted
	case errors.Is(err, os.ErrDeadlineExceeded), errors.Is(err, context.DeadlineExceeded):
		return KindTimeout
	case errors.Is(err, syscall.ECONNREFUSED):
		return KindRefused
	case isReset(err):
		return KindReset
	case errors.Is(err, errClosedEarly), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return KindClosed
	case errors.As(err, new(*tlsError)):
		return KindTLS
	}
	return KindError
}

// describeCause says how an expect ended, for its message: "byte 4
// differs", "it did not arrive within 2s".
func describeCause(cause error, wait time.Duration) string {
	var mm *mismatch
	switch {
	case errors.As(cause, &mm):
		return mm.why
	case errors.Is(cause, errNotSilent):
		return "bytes arrived"
	case errors.Is(cause, os.ErrDeadlineExceeded):
		return fmt.Sprintf("it did not arrive within %s", wait)
	case errors.Is(cause, errClosedEarly), errors.Is(cause, io.EOF):
		var ce *closedError
		if errors.As(cause, &ce) && ce.want >= 0 {
			return ce.Error()
		}
		return "the peer closed the connection first"
	case errors.Is(cause, errOverflow):
		return fmt.Sprintf("%d bytes arrived without a match (the limit)", maxBuffer)
	case errors.Is(cause, syscall.ECONNREFUSED):
		return "the connection was refused (nothing listens there)"
	case isReset(cause):
		return "the peer reset the connection"
	case errors.Is(cause, context.Canceled):
		return "the run was interrupted"
	case errors.As(cause, new(*ProgramError)):
		return "its peer ended: " + cause.Error()
	}
	return cause.Error()
}
