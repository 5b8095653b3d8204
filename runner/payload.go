package runner

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"
)

// A payload is DATA resolved for one step: a rope of literal bytes,
// repeated periods and wildcards. A repeat stays a repeat: its bytes are
// generated as they are written or compared, a block at a time, so that
// a 32 MiB flood costs a few hundred KiB of memory, not 32 MiB.
type payload struct {
	segs []pseg
	size int64
	one  [1]pseg // segs of a payload of one segment, without an allocation of its own
}

// A pseg is one segment of a payload, n bytes long: b once (n == len(b)),
// b repeated (n a multiple of len(b)), a repeated sub-payload, or n
// wildcard bytes.
type pseg struct {
	b   []byte
	sub *payload
	n   int64
	any bool
}

// maxPeriod is the longest repeated unit kept as bytes; a longer one
// stays a sub-payload.
const maxPeriod = 64 << 10

func (p *payload) push(s pseg) {
	if s.n == 0 {
		return
	}
	if k := len(p.segs) - 1; k >= 0 {
		last := &p.segs[k]
		switch {
		case s.any && last.any:
			last.n += s.n
			p.size += s.n
			return
		case s.sub == nil && !s.any && last.sub == nil && !last.any && int64(len(last.b)) == last.n && int64(len(s.b)) == s.n && last.n+s.n <= maxPeriod:
			// Two runs of literal bytes: join them, so that a list of
			// small parts compares and writes as one.
			last.b = append(last.b[:len(last.b):len(last.b)], s.b...)
			last.n += s.n
			p.size += s.n
			return
		}
	}
	if p.segs == nil {
		p.segs = p.one[:0]
	}
	p.segs = append(p.segs, s)
	p.size += s.n
}

func (p *payload) addBytes(b []byte) { p.push(pseg{b: b, n: int64(len(b))}) }

func (p *payload) addAny(n int64) { p.push(pseg{any: true, n: n}) }

func (p *payload) addPayload(q *payload) {
	for _, s := range q.segs {
		p.push(s)
	}
}

// addRepeat adds q, count times.
func (p *payload) addRepeat(q *payload, count int64) {
	switch {
	case count == 0 || q.size == 0:
	case count == 1:
		p.addPayload(q)
	case len(q.segs) == 1 && q.segs[0].any:
		p.addAny(q.size * count)
	case len(q.segs) == 1 && q.segs[0].sub == nil && !q.segs[0].any && len(q.segs[0].b) > 0:
		// A repeat of a repeat of the same period: one segment.
		p.push(pseg{b: q.segs[0].b, n: q.size * count})
	case q.size <= maxPeriod && !q.wild():
		p.push(pseg{b: q.bytes(0, q.size), n: q.size * count})
	default:
		p.push(pseg{sub: q, n: q.size * count})
	}
}

func (p *payload) wild() bool {
	for _, s := range p.segs {
		if s.any || s.sub != nil && s.sub.wild() {
			return true
		}
	}
	return false
}

// each calls fn with the payload's bytes in [from, to), in order, as
// contiguous slices: a literal segment's own bytes, or a block of a
// repeat. A wildcard run comes as a nil slice of its length (any true).
// The slices are only valid during the call.
func (p *payload) each(from, to int64, fn func(b []byte, any bool, n int64) error) error {
	var block []byte // one repeat's block, reused
	off := int64(0)
	for _, s := range p.segs {
		end := off + s.n
		if end <= from {
			off = end
			continue
		}
		if off >= to {
			break
		}
		lo, hi := max(from, off)-off, min(to, end)-off // within the segment
		var err error
		switch {
		case s.any:
			err = fn(nil, true, hi-lo)
		case s.sub != nil:
			period := s.sub.size
			for k := lo; k < hi && err == nil; {
				phase := k % period
				m := min(hi-k, period-phase)
				err = s.sub.each(phase, phase+m, fn)
				k += m
			}
		case int64(len(s.b)) == s.n:
			err = fn(s.b[lo:hi], false, hi-lo)
		default:
			block = repeatBlock(block, s.b)
			period := int64(len(s.b))
			for k := lo; k < hi && err == nil; {
				phase := k % period
				m := min(hi-k, int64(len(block))-phase)
				err = fn(block[phase:phase+m], false, m)
				k += m
			}
		}
		if err != nil {
			return err
		}
		off = end
	}
	return nil
}

// blockSize is about how many bytes of a repeat are made at once.
const blockSize = 256 << 10

// repeatBlock fills buf with whole periods, at least blockSize plus one
// period long, so that a slice from any phase has blockSize bytes.
func repeatBlock(buf, period []byte) []byte {
	want := (blockSize/len(period) + 2) * len(period)
	if len(buf) == want && bytes.Equal(buf[:len(period)], period) {
		return buf
	}
	return bytes.Repeat(period, want/len(period))
}

// describe spells the payload for a report, wildcards as {any: N}: about
// max bytes of it, then its size.
func (p *payload) describe(max int64) string {
	var parts []string
	var lit []byte
	flush := func() {
		if len(lit) > 0 {
			parts = append(parts, quote(lit))
			lit = nil
		}
	}
	shown := int64(0)
	p.each(0, min(p.size, max), func(b []byte, any bool, n int64) error {
		if any {
			flush()
			parts = append(parts, fmt.Sprintf("{any: %d}", n))
		} else {
			lit = append(lit, b...)
		}
		shown += n
		return nil
	})
	flush()
	s := strings.Join(parts, " ")
	if shown < p.size {
		s += fmt.Sprintf("... (%d bytes)", p.size)
	}
	return s
}

// bytes returns the payload's bytes in [from, to), wildcards as zeros. It
// is for small payloads and for windows of large ones (reports).
func (p *payload) bytes(from, to int64) []byte {
	to = min(to, p.size)
	if from >= to {
		return []byte{}
	}
	out := make([]byte, 0, to-from)
	p.each(from, to, func(b []byte, any bool, n int64) error {
		if any {
			out = append(out, make([]byte, n)...)
		} else {
			out = append(out, b...)
		}
		return nil
	})
	return out
}

// diff compares got with the payload's bytes from off on and returns the
// index in got of the first byte that differs, or -1. Wildcards match any
// byte. got may be shorter or longer than the rest of the payload: only
// the overlap is compared.
func (p *payload) diff(got []byte, off int64) int {
	to := min(p.size, off+int64(len(got)))
	at := -1
	i := 0
	p.each(off, to, func(b []byte, any bool, n int64) error {
		if !any {
			if j := firstDiff(got[i:i+int(n)], b); j >= 0 {
				at = i + j
				return errStopEach
			}
		}
		i += int(n)
		return nil
	})
	return at
}

var errStopEach = fmt.Errorf("stop")

// maxFile caps a {file: PATH} value, which is held in memory.
const maxFile = maxData

// readDataFile reads a {file: PATH} value, relative to the spec: a regular
// file only, within the cap (see readRegular).
func (d *decoder) readDataFile(n *yaml.Node, s, what string) ([]byte, bool) {
	path := s
	if !filepath.IsAbs(path) {
		path = filepath.Join(d.dir, path)
	}
	b, err := readRegular(path, maxFile)
	if err != nil {
		d.errorf(n, "%s: file: %s: %v", what, s, err)
		return nil, false
	}
	return b, true
}
