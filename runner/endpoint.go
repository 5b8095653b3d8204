package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync/atomic"
	"syscall"
	"time"
)

// maxBuffer caps what an endpoint holds received and not yet consumed: a
// peer that floods fails the expect cleanly instead of growing it forever.
const maxBuffer = 16 << 20

// maxDatagram is the largest datagram an endpoint reads whole.
const maxDatagram = 1 << 17

// An endpoint is one side of a conversation: a connected socket and what it
// has received. Client steps and server scripts both act on endpoints.
type endpoint struct {
	name   string
	server string // the server it reaches (a client's); empty in a script
	conn   net.Conn
	stream bool
	buf    []byte // received, not yet consumed: a window on store
	store  []byte // the array buf lives in, kept between reads
	eof    bool   // the peer closed its side (stream)
	rerr   error  // a read error that ends reading (reset...)
	closed bool   // closed by us, fully
	corked bool   // TCP_CORK is set: writes wait for a later send or close
	// consumed counts the expects that held, so that a looping script can
	// tell a peer that left between requests from one that left mid-way.
	consumed int
	log      *transcript
	stop     func() bool // ends the context watch
	after    func()      // run after Close: removes a temporary socket file
	// peerEnded, if set, says why the program this datagram socket talks
	// to has ended (and so why no datagram will come); see watchPeer.
	peerEnded atomic.Pointer[error]
}

// watchPeer makes a read of a datagram socket end as soon as the program
// serving its peer address ends: no reply can come then, and a datagram
// socket sees no end of stream. why gives the program's ending.
func (e *endpoint) watchPeer(ended context.Context, why func() error) {
	stop := context.AfterFunc(ended, func() {
		err := why()
		e.peerEnded.Store(&err)
		e.conn.SetReadDeadline(time.Unix(1, 0))
	})
	prev := e.stop
	e.stop = func() bool { stop(); return prev() }
}

// newEndpoint wraps conn. A cancelled ctx wakes any read or write at once.
func newEndpoint(ctx context.Context, name string, conn net.Conn, stream bool, log *transcript) *endpoint {
	e := &endpoint{name: name, conn: conn, stream: stream, log: log}
	e.stop = context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	return e
}

// deadline is now+timeout, or ctx's deadline if that is sooner.
func deadline(ctx context.Context, timeout time.Duration) time.Time {
	dl := time.Now().Add(timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(dl) {
		return d
	}
	return dl
}

// write sends p in one write (one datagram on a dgram socket).
func (e *endpoint) write(ctx context.Context, p []byte, dl time.Time) error {
	if e.closed {
		return errConnClosed(e.name)
	}
	e.conn.SetWriteDeadline(dl)
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	n, err := e.conn.Write(p)
	e.log.add(e.name, dirSent, p[:n])
	if err != nil {
		return ctxErr(ctx, err)
	}
	return nil
}

// writePayload writes bytes [from, to) of p: on a stream as they are made,
// a block at a time; on a datagram socket as one datagram.
func (e *endpoint) writePayload(ctx context.Context, p *payload, from, to int64, dl time.Time) error {
	if !e.stream {
		if to-from > maxDatagram {
			return fmt.Errorf("a datagram of %d bytes is larger than a datagram can be (%d)", to-from, maxDatagram)
		}
		return e.write(ctx, p.bytes(from, to), dl)
	}
	return p.each(from, to, func(b []byte, _ bool, _ int64) error { return e.write(ctx, b, dl) })
}

// An expectError is an expect that did not hold: what was expected, what
// had arrived, and why it ended. got and wantB are windows of the bytes,
// both starting at byte from of what the expect read: a flood is not kept
// whole in a report.
type expectError struct {
	want   string        // what the matcher expected, described
	got    []byte        // what had arrived and was not consumed
	wantB  []byte        // the expected bytes, when there are such
	from   int           // where the windows start
	wantN  int           // the whole length of what was expected, or -1
	gotN   int           // the whole length of what had arrived
	offset int           // where got and wantB first differ, or -1
	cause  error         // errMismatch, os.ErrDeadlineExceeded, errClosedEarly, ...
	wait   time.Duration // the deadline it had
	dgram  bool          // on a datagram socket
	note   string        // more on why it ended, if the matcher knows
}

func (e *expectError) Error() string {
	return "expected " + e.want + ", but " + e.describe()
}

// describe says how the expect ended: "byte 4 differs", "no datagram came
// within 2s".
func (e *expectError) describe() string {
	if e.dgram && errors.Is(e.cause, os.ErrDeadlineExceeded) {
		return fmt.Sprintf("no datagram came within %s", e.wait)
	}
	if e.note != "" {
		return describeCause(e.cause, e.wait) + "; " + e.note
	}
	return describeCause(e.cause, e.wait)
}

func (e *expectError) Unwrap() error { return e.cause }

// reportWindow is how many bytes of a long expect a report keeps, around
// the first difference.
const reportWindow = 4 << 10

// newExpectError says that m did not hold on got, and why (cause). got
// is copied: it may be a window on an endpoint's reused store.
func newExpectError(m matcher, got []byte, _ int, cause error, wait time.Duration, dgram bool) *expectError {
	x := &expectError{want: m.String(), offset: -1, cause: cause, wait: wait, dgram: dgram, wantN: -1, gotN: len(got)}
	if dm, ok := m.(*dataMatcher); ok {
		x.wantN = int(dm.want.size)
	}
	var mm *mismatch
	if errors.As(cause, &mm) {
		x.offset = mm.offset
	}
	if len(got) > reportWindow || x.offset > reportWindow/2 {
		x.from = max(0, x.offset-reportWindow/2) &^ 15
	}
	to := x.from + reportWindow
	x.got = append([]byte(nil), got[min(x.from, len(got)):min(to, len(got))]...)
	x.wantB = expectedBytes(m, int64(x.from), int64(to))
	if x.wantN < 0 {
		x.wantN = x.from + len(x.wantB)
	}
	return x
}

// expect reads until m decides, or the deadline passes. It reads only when
// m needs more, and the kernel wakes the read when bytes come: there is no
// poll interval. On a stream, bytes after the match stay buffered.
func (e *endpoint) expect(ctx context.Context, m matcher, timeout time.Duration) error {
	if e.closed {
		return errConnClosed(e.name)
	}
	dl := deadline(ctx, timeout)
	if d, ok := m.(deadliner); ok {
		d.setDeadline(dl)
	}
	fail := func(cause error, got []byte) error {
		return newExpectError(m, got, 0, cause, timeout, !e.stream)
	}
	_, silence := m.(silenceMatcher)
	for {
		if e.stream {
			n, err := m.stream(e.buf, e.eof)
			if err == nil {
				e.buf = e.buf[n:]
				e.consumed++
				return nil
			}
			if err != errNeedMore {
				return fail(err, e.buf)
			}
			if len(e.buf) >= maxBuffer {
				return fail(errOverflow, e.buf)
			}
		}
		if e.rerr != nil {
			return fail(e.rerr, e.buf)
		}
		p, err := e.read(ctx, dl)
		if ended := e.peerEnded.Load(); ended != nil && err != nil {
			return *ended // the program's death is the whole story
		}
		switch {
		case err == nil && !e.stream:
			err := m.whole(p, "the datagram")
			if err == errNeedMore {
				continue // unordered: it holds for this one, and wants more
			}
			if err != nil {
				return fail(err, p)
			}
			e.consumed++
			return nil
		case errors.Is(err, os.ErrDeadlineExceeded) && ctx.Err() == nil:
			if silence {
				return nil
			}
			x := fail(os.ErrDeadlineExceeded, e.buf).(*expectError)
			if n, ok := m.(interface{ timeoutNote() string }); ok {
				x.note = n.timeoutNote()
			}
			return x
		case err == io.EOF && e.stream:
			e.eof = true
		case err != nil:
			e.rerr = ctxErr(ctx, err)
		}
	}
}

// read reads once, appending to buf on a stream; on a dgram socket it
// returns one whole datagram.
func (e *endpoint) read(ctx context.Context, dl time.Time) ([]byte, error) {
	e.conn.SetReadDeadline(dl)
	if ctx.Err() != nil {
		return nil, context.Cause(ctx)
	}
	if !e.stream {
		// The matcher judges the datagram before the next read, and a
		// failure copies it, so the store can be reused.
		if len(e.store) < maxDatagram {
			e.store = make([]byte, maxDatagram)
		}
		n, err := e.conn.Read(e.store[:maxDatagram])
		if err != nil {
			return nil, err
		}
		e.log.add(e.name, dirReceived, e.store[:n])
		return e.store[:n], nil
	}
	e.makeRoom()
	free := e.buf[len(e.buf):cap(e.buf)]
	if len(free) > maxBuffer-len(e.buf) {
		free = free[:maxBuffer-len(e.buf)]
	}
	n, err := e.conn.Read(free)
	e.log.add(e.name, dirReceived, free[:n])
	e.buf = e.buf[:len(e.buf)+n]
	if n > 0 && err == io.EOF {
		err = nil // the next read says it again
	}
	return nil, err
}

// minRead is the least room a stream read is given.
const minRead = 16 << 10

// makeRoom makes at least minRead bytes of room after buf: by starting
// over when everything was consumed, by moving the unconsumed bytes to the
// front when they fill at most half the store, or else by growing it.
func (e *endpoint) makeRoom() {
	if len(e.buf) == 0 {
		e.buf = e.store[:0]
	}
	if cap(e.buf)-len(e.buf) >= minRead {
		return
	}
	if len(e.buf)+minRead <= cap(e.store)/2 {
		n := copy(e.store, e.buf)
		e.buf = e.store[:n]
		return
	}
	e.store = make([]byte, max(2*cap(e.store), len(e.buf)+minRead, 64<<10))
	n := copy(e.store, e.buf)
	e.buf = e.store[:n]
}

// ctxErr reports a cancelled run as such, not as the I/O error it caused.
func ctxErr(ctx context.Context, err error) error {
	if ctx.Err() != nil && errors.Is(err, os.ErrDeadlineExceeded) {
		return context.Cause(ctx)
	}
	return err
}

// closeHow closes the endpoint: "full", "write" (shutdown(SHUT_WR): a
// half-close, reading stays open) or "reset" (SO_LINGER 0: an RST).
func (e *endpoint) closeHow(how string) error {
	if e.closed {
		return errConnClosed(e.name)
	}
	e.log.add(e.name, "close "+how, nil)
	switch how {
	case "write":
		cw, ok := e.conn.(interface{ CloseWrite() error })
		if !ok {
			return errors.New("this socket cannot be half-closed")
		}
		// A peer that has reset the connection has left already: there is
		// nothing to half-close, and the next read reports the reset.
		if err := cw.CloseWrite(); err != nil && !errors.Is(err, syscall.ENOTCONN) {
			return err
		}
		return nil
	case "reset":
		// A TCP connection, or one that wraps it (sockrun serve's).
		if l, ok := socket(e.conn).(interface{ SetLinger(int) error }); ok {
			l.SetLinger(0)
		}
		e.conn = socket(e.conn) // an abort sends no TLS close_notify
	}
	return e.close()
}

// close closes the socket, if it is still open, and cleans up after it.
func (e *endpoint) close() error {
	if e.closed {
		return nil
	}
	e.closed = true
	e.stop()
	err := e.conn.Close()
	if e.after != nil {
		e.after()
	}
	return err
}

type connClosedError string

func (c connClosedError) Error() string { return "connection " + string(c) + " is already closed" }

func errConnClosed(name string) error { return connClosedError(name) }

// isReset reports whether err says the peer reset the connection.
func isReset(err error) bool {
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}
