package runner

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"
)

// A matcher decides an expect from what has arrived so far.
type matcher interface {
	// stream looks at the bytes buffered on a stream and returns how many
	// it consumes once it holds, errNeedMore, or an error that is final.
	// eof says the peer has closed its side: no more bytes will come.
	stream(buf []byte, eof bool) (int, error)
	// whole decides on one whole unit: a datagram, or a program's output;
	// noun names it in messages ("the datagram", "stdout").
	whole(p []byte, noun string) error
	// String says what is expected, for reports.
	String() string
}

var (
	errNeedMore = errors.New("need more bytes")
	// errMismatch is what a matcher's final "no" wraps.
	errMismatch = errors.New("wrong bytes")
	// errClosedEarly: the peer closed before the matcher held.
	errClosedEarly = errors.New("the peer closed the connection")
	// errOverflow: the receive buffer filled up before the matcher held.
	errOverflow = errors.New("receive buffer full")
	// errNotSilent: bytes came where silence was expected.
	errNotSilent = errors.New("bytes arrived")
)

// A mismatch is a matcher's final "no", with where the bytes differ.
type mismatch struct {
	offset int // first differing byte, or -1
	why    string
}

func (m *mismatch) Error() string { return m.why }
func (m *mismatch) Unwrap() error { return errMismatch }

// A closedError is a stream that ended before the matcher held, with how
// much of what was expected had come.
type closedError struct {
	got, want int64 // want < 0: no fixed length
}

func (e *closedError) Error() string {
	switch {
	case e.want < 0:
		return errClosedEarly.Error()
	case e.got == 0:
		return fmt.Sprintf("the peer closed the connection before any of the %d bytes expected came", e.want)
	}
	return fmt.Sprintf("the peer closed the connection after %d of the %d bytes expected", e.got, e.want)
}

func (e *closedError) Unwrap() error { return errClosedEarly }

// dataMatcher: exactly these bytes next (wildcards match any byte). It
// remembers how many bytes it has checked, so that each read costs only
// the new bytes: a matcher is made afresh for each expect.
type dataMatcher struct {
	want    *payload
	checked int64
}

// newDataMatcher matches exactly b.
func newDataMatcher(b []byte) *dataMatcher {
	p := &payload{}
	p.addBytes(b)
	return &dataMatcher{want: p}
}

func (m *dataMatcher) String() string {
	if m.want.wild() {
		return m.want.describe(64)
	}
	if m.want.size <= 64 {
		return quote(m.want.bytes(0, m.want.size))
	}
	return quoteShort(m.want.bytes(0, 64), 64) + fmt.Sprintf(" (%d bytes)", m.want.size)
}

// expectedBytes returns the bytes a matcher expects, for reports, when it
// expects exact bytes: a window [from, to) of them for a long payload.
func expectedBytes(m matcher, from, to int64) []byte {
	switch m := m.(type) {
	case *dataMatcher:
		if m.want.wild() {
			// Wildcards are no bytes: the description says it, not a
			// dump that would show them as zeros.
			return nil
		}
		return m.want.bytes(from, to)
	case *containsMatcher:
		return m.want
	case *lineMatcher:
		return append(m.want[:len(m.want):len(m.want)], '\n')
	}
	return nil
}

func (m *dataMatcher) stream(buf []byte, eof bool) (int, error) {
	n := min(int64(len(buf)), m.want.size)
	if i := m.want.diff(buf[m.checked:n], m.checked); i >= 0 {
		at := m.checked + int64(i)
		return 0, &mismatch{offset: int(at), why: fmt.Sprintf("byte %d differs", at)}
	}
	m.checked = n
	if int64(len(buf)) >= m.want.size {
		return int(m.want.size), nil
	}
	if eof {
		return 0, &closedError{got: int64(len(buf)), want: m.want.size}
	}
	return 0, errNeedMore
}

func (m *dataMatcher) whole(p []byte, noun string) error {
	i := m.want.diff(p, 0)
	if i < 0 && int64(len(p)) == m.want.size {
		return nil
	}
	if i < 0 {
		i = int(min(int64(len(p)), m.want.size))
	}
	why := noun + " differs"
	if int64(len(p)) != m.want.size {
		why = fmt.Sprintf("%s differs: %d bytes, expected %d", noun, len(p), m.want.size)
	}
	return &mismatch{offset: i, why: why}
}

// firstDiff returns the first index where a and b differ, or -1 if one is
// a prefix of the other.
func firstDiff(a, b []byte) int {
	n := min(len(a), len(b))
	if bytes.Equal(a[:n], b[:n]) {
		return -1 // the common case, at memcmp speed
	}
	for i := range n {
		if a[i] != b[i] {
			return i
		}
	}
	return -1
}

// containsMatcher: read until the bytes appear; consume through them.
// searched is how far the buffer has been searched, so each read searches
// only the new bytes (and the few before them a match could start in).
type containsMatcher struct {
	want     []byte
	searched int
}

func (m *containsMatcher) String() string { return "bytes containing " + quoteShort(m.want, 64) }

func (m *containsMatcher) stream(buf []byte, eof bool) (int, error) {
	from := max(0, m.searched-len(m.want)+1)
	if i := bytes.Index(buf[from:], m.want); i >= 0 {
		return from + i + len(m.want), nil
	}
	m.searched = len(buf)
	if eof {
		return 0, errClosedEarly
	}
	return 0, errNeedMore
}

func (m *containsMatcher) whole(p []byte, noun string) error {
	if bytes.Contains(p, m.want) {
		return nil
	}
	return &mismatch{offset: -1, why: noun + " does not contain it"}
}

// regexMatcher: read until the bytes match, for certain; consume through
// the match. It feeds its stream only the bytes that came since it last
// looked, so each read costs only the new bytes; a matcher is made afresh
// for each expect.
type regexMatcher struct {
	re       *byteRegexp
	s        *regexStream
	fed      int               // how much of the buffer the stream has seen
	caps     map[string][]byte // the named groups of the match, for later steps
	deadline time.Time         // the step's; zero: none
	slice    int               // bytes fed between two looks at the clock
}

// A deadliner is a matcher whose own work could outlast the step's
// deadline (a slow regex on a flood); the endpoint tells it the deadline.
type deadliner interface{ setDeadline(time.Time) }

func (m *regexMatcher) setDeadline(t time.Time) { m.deadline = t }

func (m *regexMatcher) String() string { return "bytes matching /" + m.re.String() + "/" }

func (m *regexMatcher) stream(buf []byte, eof bool) (int, error) {
	if m.s == nil || len(buf) < m.fed {
		m.s, m.fed = m.re.stream(), 0
	}
	if err := m.feed(buf); err != nil {
		return 0, err
	}
	// A match is reported once more bytes could not change it: no thread
	// that the regex prefers to it is still alive (a greedy repeat at the
	// end, a $, \z or \b waiting for the byte after), or the stream has
	// ended. So the verdict, and what a group captures, never depend on
	// how the bytes were cut into reads.
	if loc, ok := m.s.settled(); ok {
		m.caps = m.re.groups(buf, loc)
		return loc[1], nil
	}
	if eof {
		if loc := m.s.match(); loc != nil {
			m.caps = m.re.groups(buf, loc)
			return loc[1], nil
		}
	}
	if m.s.dead {
		// An anchored regex whose every way to match has failed: more
		// bytes cannot help, so it fails now rather than at the deadline.
		return 0, &mismatch{offset: m.s.deadAt, why: fmt.Sprintf("byte %d rules out a match from the start, where the regex is anchored", m.s.deadAt)}
	}
	if eof {
		return 0, errClosedEarly
	}
	return 0, errNeedMore
}

// Matching costs up to the size of the regex per byte, which for a large
// regex on a flood can take longer than the step may. So, given a
// deadline, feed looks at the clock between slices of the input, each
// about a millisecond of work as measured on the slices before it.
const (
	firstRegexSlice = 16
	maxRegexSlice   = 1 << 20
)

// feed gives the stream buf[m.fed:]. It fails with os.ErrDeadlineExceeded
// once the deadline has passed with bytes still to look at.
func (m *regexMatcher) feed(buf []byte) error {
	if m.deadline.IsZero() {
		m.s.feed(buf[m.fed:])
		m.fed = len(buf)
		return nil
	}
	if m.slice == 0 {
		m.slice = firstRegexSlice
	}
	for m.fed < len(buf) && !m.s.idle() {
		end := min(len(buf), m.fed+m.slice)
		start := time.Now()
		m.s.feed(buf[m.fed:end])
		m.fed = end
		now := time.Now()
		if m.fed < len(buf) && !now.Before(m.deadline) {
			return errRegexDeadline
		}
		switch took := now.Sub(start); {
		case took < time.Millisecond/2:
			m.slice = min(2*m.slice, maxRegexSlice)
		case took > time.Millisecond:
			m.slice = max(1, int(int64(m.slice)*int64(time.Millisecond)/int64(took)))
		}
	}
	m.fed = len(buf)
	return nil
}

// errRegexDeadline: the regex was still matching the bytes that had come
// when the deadline passed. It is a timeout like any other.
var errRegexDeadline = fmt.Errorf("the regex was still matching at the deadline: %w", os.ErrDeadlineExceeded)

// timeoutNote explains a regex that timed out though the bytes that came
// would have matched had the stream ended there.
func (m *regexMatcher) timeoutNote() string {
	if m.s == nil || m.s.match() == nil {
		return ""
	}
	return "the bytes would match if the stream ended there, but more bytes could change the match, so it waited: " +
		"a $, \\z or \\b at the end of the regex waits for the byte after it or the end of the stream, and a repeat at the end for the byte that ends it"
}

func (m *regexMatcher) whole(p []byte, noun string) error {
	m.s, m.fed = m.re.stream(), 0
	if err := m.feed(p); err != nil {
		return err
	}
	loc := m.s.match()
	if loc == nil {
		return &mismatch{offset: -1, why: noun + " does not match"}
	}
	m.caps = m.re.groups(p, loc)
	return nil
}

// captured returns the named groups of the match, each as the exact bytes
// it matched: a group that took no part is left out, and of groups that
// share a name the last that took part wins.
func (m *regexMatcher) captured() map[string][]byte { return m.caps }

// lineMatcher: the next line, through \n (a \r\n ending accepted), equals
// the text. It fails at the first byte that cannot belong to such a line.
type lineMatcher struct{ want []byte }

func (m *lineMatcher) String() string {
	return "the line " + quoteShort(append(m.want[:len(m.want):len(m.want)], '\n'), 64)
}

func (m *lineMatcher) stream(buf []byte, eof bool) (int, error) {
	end := bytes.IndexByte(buf, '\n')
	line := buf
	if end >= 0 {
		line = buf[:end]
	}
	got := bytes.TrimSuffix(line, []byte("\r"))
	if end >= 0 && !bytes.Equal(got, m.want) || end < 0 && !lineCanStart(line, m.want) {
		i := firstDiff(line, m.want)
		if i < 0 {
			i = min(len(line), len(m.want))
		}
		return 0, &mismatch{offset: i, why: "the line differs"}
	}
	if end >= 0 {
		return end + 1, nil
	}
	if eof {
		return 0, errClosedEarly
	}
	return 0, errNeedMore
}

// lineCanStart reports whether partial, a line without its end yet, can
// still become want: it is a prefix of want, or want and a \r.
func lineCanStart(partial, want []byte) bool {
	if len(partial) <= len(want) {
		return bytes.HasPrefix(want, partial)
	}
	return len(partial) == len(want)+1 && bytes.HasPrefix(partial, want) && partial[len(want)] == '\r'
}

func (m *lineMatcher) whole(p []byte, noun string) error {
	p = bytes.TrimSuffix(bytes.TrimSuffix(p, []byte("\n")), []byte("\r"))
	if bytes.Equal(p, m.want) {
		return nil
	}
	return &mismatch{offset: max(firstDiff(p, m.want), 0), why: noun + " is another line"}
}

// lengthMatcher: exactly n bytes, whatever they are.
type lengthMatcher struct{ n int }

func (m *lengthMatcher) String() string { return strconv.Itoa(m.n) + " bytes" }

func (m *lengthMatcher) stream(buf []byte, eof bool) (int, error) {
	if len(buf) >= m.n {
		return m.n, nil
	}
	if eof {
		return 0, &closedError{got: int64(len(buf)), want: int64(m.n)}
	}
	return 0, errNeedMore
}

func (m *lengthMatcher) whole(p []byte, noun string) error {
	if len(p) == m.n {
		return nil
	}
	return &mismatch{offset: -1, why: fmt.Sprintf("%s has %d bytes", noun, len(p))}
}

// eofMatcher: the peer closed its side and no more bytes came.
type eofMatcher struct{}

func (eofMatcher) String() string { return "end of stream (the peer closes)" }

func (eofMatcher) stream(buf []byte, eof bool) (int, error) {
	switch {
	case len(buf) > 0:
		return 0, &mismatch{offset: 0, why: "bytes came instead of the end of the stream"}
	case eof:
		return 0, nil
	}
	return 0, errNeedMore
}

func (eofMatcher) whole(p []byte, noun string) error {
	return &mismatch{offset: 0, why: noun + " came"} // decode rejects eof on dgram
}

// silenceMatcher: nothing arrives before the deadline.
type silenceMatcher struct{}

func (silenceMatcher) String() string { return "silence (nothing arrives)" }

func (silenceMatcher) stream(buf []byte, eof bool) (int, error) {
	switch {
	case len(buf) > 0:
		return 0, errNotSilent
	case eof:
		return 0, errClosedEarly
	}
	return 0, errNeedMore
}

func (silenceMatcher) whole(p []byte, noun string) error { return errNotSilent }
