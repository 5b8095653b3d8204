package runner

import (
	"context"
	"crypto/tls"
	"fmt"
	"sync"
	"time"
)

// A session is what steps act on: the open connections of a test (or the
// one connection of a server script), the servers, and the transcript.
type session struct {
	timeout time.Duration // default deadline of a step
	conns   map[string]*endpoint
	opened  []*endpoint // every endpoint, so that all are closed at the end
	servers *serverSet  // nil in a server script
	env     *env        // addresses and captures, for placeholders
	log     *transcript
	tmpdir  func() (string, error) // a directory for client socket files
	cleanup func()                 // removes it
	// stopping, in a server script, is closed when the test is over: a
	// sleep ends there.
	stopping <-chan struct{}
	// tlsServer, in a server script, is the server's TLS configuration,
	// for a starttls step.
	tlsServer *tls.Config
	// dir is the working directory of client programs (Options.Dir).
	dir string
	// target is the server that the connection used last reaches: when a
	// step fails, the server whose failure may be the cause.
	target string
	// programs say how a run step runs its program.
	programs *ProgramOptions
	// notes are for the test's result (TestResult.Notes).
	notes []string
}

// conn returns the open endpoint called name.
func (s *session) conn(name string) (*endpoint, error) {
	e := s.conns[name]
	if e == nil {
		return nil, fmt.Errorf("connection %s is not open", name)
	}
	s.target = e.server
	return e, nil
}

// capture makes what a matcher captured placeholders of the later steps.
func (s *session) capture(m matcher) {
	if c, ok := m.(capturer); ok {
		for k, v := range c.captured() {
			s.env.captures[k] = v
		}
	}
}

// closeAll closes every endpoint the session opened.
func (s *session) closeAll() {
	for _, e := range s.opened {
		e.close()
	}
}

// stepTimeout is the step's own timeout, or the session's default.
func (s *session) stepTimeout(own time.Duration) time.Duration {
	if own > 0 {
		return own
	}
	return s.timeout
}

// sleep waits for d, or until ctx is done, or (in a server script) the
// test is over.
func (s *session) sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-s.stopping:
		return errStopped
	}
}

// An Event is one entry of a transcript.
type Event struct {
	At   time.Duration // since the test started
	Conn string        // the connection
	What string        // sent, received, connect, close full, ...
	Data []byte        // the bytes, at most maxEventData of them
	Size int           // how many bytes there were in all
}

// maxEventData caps the bytes a transcript keeps of one event.
const maxEventData = 4 << 10

// Directions of transcript events.
const (
	dirSent     = "sent"
	dirReceived = "received"
)

// A transcript records what a test sent and received. A nil transcript
// records nothing, at no cost.
type transcript struct {
	mu     sync.Mutex
	start  time.Time
	events []Event
}

func (t *transcript) add(conn, what string, p []byte) {
	if t == nil || (len(p) == 0 && (what == dirSent || what == dirReceived)) {
		return
	}
	ev := Event{At: time.Since(t.start), Conn: conn, What: what, Size: len(p)}
	if len(p) > 0 {
		ev.Data = append([]byte(nil), p[:min(len(p), maxEventData)]...)
	}
	t.mu.Lock()
	t.events = append(t.events, ev)
	t.mu.Unlock()
}

func (t *transcript) list() []Event {
	if t == nil {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.events
}
