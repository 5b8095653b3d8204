package runner

import (
	"bytes"
	"regexp/syntax"
)

// A regexStream matches a byteRegexp against input that comes in pieces.
// feed gives it the bytes that came since the last feed; match answers,
// at any moment, what find would answer on all the bytes fed so far, with
// their end taken as the end of the input (for \z and $). match leaves the
// state as it is, so more bytes can follow.
//
// It is a Pike VM run as Go's regexp runs its NFA, leftmost-first: at each
// position the threads, in priority order, follow the empty-width steps
// to the instructions that consume a byte; those that accept the byte go
// on to the next position. A thread that reaches the end records a match
// and cuts off every thread of lower priority. What carries over between
// feeds is the list of threads waiting at the next position, before their
// empty-width steps: those steps (\b, $, \z) depend on the byte after,
// which has not come yet.
type regexStream struct {
	re      *byteRegexp
	pos     int      // bytes fed so far
	prev    int      // the last byte fed, or -1 before any
	pending []thread // threads waiting at pos, in priority order
	next    []thread // the threads for pos+1, while stepping
	matched bool
	best    []int // the match found so far, once matched
	// dead: no match was found, and none can be (an anchored pattern
	// whose threads have all died); deadAt is the byte that ended the
	// last thread.
	dead   bool
	deadAt int

	visited sparseSet
	cond    syntax.EmptyOp // the empty-width context at pos, when condOK
	condOK  bool
	scratch []int   // the capture slots of a new thread: all -1 but [0]
	atEnd   []int   // a match found by match, at the end of what was fed
	free    [][]int // capture arrays to reuse
}

type thread struct {
	pc  uint32
	cap []int
}

// A sparseSet is a set of instruction numbers that empties in O(1).
type sparseSet struct {
	sparse []uint32
	dense  []uint32
}

func (s *sparseSet) has(pc uint32) bool {
	i := s.sparse[pc]
	return int(i) < len(s.dense) && s.dense[i] == pc
}

func (s *sparseSet) add(pc uint32) {
	s.sparse[pc] = uint32(len(s.dense))
	s.dense = append(s.dense, pc)
}

// stream returns a new stream matcher, at the start of the input.
func (re *byteRegexp) stream() *regexStream {
	n := len(re.prog)
	s := &regexStream{re: re, prev: -1, scratch: make([]int, re.ncap)}
	for i := range s.scratch {
		// Every slot is unset; follow sets each on the way and restores
		// it, so the slots stay so between threads.
		s.scratch[i] = -1
	}
	s.visited = sparseSet{sparse: make([]uint32, n), dense: make([]uint32, 0, n)}
	s.dead = re.never
	return s
}

// idle reports whether no thread is alive and none will start: the answer
// cannot change any more.
func (s *regexStream) idle() bool {
	return len(s.pending) == 0 && (s.matched || s.dead)
}

// canStart reports whether a new thread starts at pos.
func (s *regexStream) canStart() bool {
	return !s.matched && !s.dead && (s.pos == 0 || !s.re.anchored)
}

// feed steps the machine over p.
func (s *regexStream) feed(p []byte) {
	re := s.re
	for i := 0; i < len(p); i++ {
		if s.idle() {
			return
		}
		if len(s.pending) == 0 && re.skip {
			// No thread is alive: jump to the next byte that can begin a
			// match, at memchr speed where the pattern starts with a
			// literal.
			j := s.skipTo(p, i)
			if j > i {
				s.pos += j - i
				s.prev = int(p[j-1])
				i = j
				if i == len(p) {
					return
				}
			}
		}
		s.step(p[i])
	}
}

// skipTo returns the first position at or after i in p where a match can
// begin, or len(p).
func (s *regexStream) skipTo(p []byte, i int) int {
	re := s.re
	switch {
	case len(re.prefix) > 1:
		if j := bytes.Index(p[i:], re.prefix); j >= 0 {
			return i + j
		}
		// The prefix may begin in the last bytes and end in the next feed.
		from := max(i, len(p)-len(re.prefix)+1)
		if j := bytes.IndexByte(p[from:], re.prefix[0]); j >= 0 {
			return from + j
		}
		return len(p)
	case len(re.prefix) == 1:
		if j := bytes.IndexByte(p[i:], re.prefix[0]); j >= 0 {
			return i + j
		}
		return len(p)
	}
	for i < len(p) && !re.first.has(p[i]) {
		i++
	}
	return i
}

// step steps every thread over b, the byte at pos.
func (s *regexStream) step(b byte) {
	s.visited.dense = s.visited.dense[:0]
	s.condOK = false
	cut := false
	for _, t := range s.pending {
		switch in := &s.re.prog[t.pc]; {
		case cut:
		case in.op == syntax.InstRune:
			// Most threads wait on a byte: follow's first step, inline.
			if s.visited.has(t.pc) {
				break
			}
			s.visited.add(t.pc)
			if in.set.has(b) {
				s.next = append(s.next, thread{in.out, t.cap})
				continue // the thread goes on with its own slots
			}
		default:
			cut = s.follow(t.pc, t.cap, int(b))
		}
		s.free = append(s.free, t.cap)
	}
	if !cut && s.canStart() {
		s.scratch[0] = s.pos // the program has no capture for the whole match
		s.follow(s.re.start, s.scratch, int(b))
	}
	s.pending, s.next = s.next, s.pending[:0]
	s.prev = int(b)
	s.pos++
	if len(s.pending) == 0 && !s.matched && s.re.anchored {
		// Every thread has died past the start an anchored pattern needs.
		s.dead, s.deadAt = true, s.pos-1
	}
}

// context returns the empty-width conditions that hold at pos, where the
// byte after is b (-1: the end of the input).
func (s *regexStream) context(b int) syntax.EmptyOp {
	if !s.condOK {
		s.cond = syntax.EmptyOpContext(rune(s.prev), rune(b))
		s.condOK = true
	}
	return s.cond
}

// follow runs a thread at pc, with capture slots cap, through the
// empty-width steps at pos, where the next byte is b, or -1 at the end of
// the input (then it only looks for a match). A thread that reaches a
// byte instruction that accepts b goes into next, with a copy of cap. It
// returns true if a match was reached: lower-priority threads are cut off.
// cap is changed on the way and restored.
func (s *regexStream) follow(pc uint32, cap []int, b int) bool {
	for {
		if s.visited.has(pc) {
			return false
		}
		s.visited.add(pc)
		in := &s.re.prog[pc]
		switch in.op {
		case syntax.InstFail:
			return false
		case syntax.InstAlt, syntax.InstAltMatch:
			if s.follow(in.out, cap, b) {
				return true
			}
			pc = in.arg
		case syntax.InstEmptyWidth:
			if syntax.EmptyOp(in.arg)&^s.context(b) != 0 {
				return false
			}
			pc = in.out
		case syntax.InstNop:
			pc = in.out
		case syntax.InstCapture:
			if int(in.arg) >= len(cap) {
				pc = in.out
				continue
			}
			old := cap[in.arg]
			cap[in.arg] = s.pos
			m := s.follow(in.out, cap, b)
			cap[in.arg] = old
			return m
		case syntax.InstMatch:
			if b < 0 {
				// At the end of what was fed: match reports it, and the
				// state stays as it was.
				s.atEnd = append([]int(nil), cap...)
				s.atEnd[1] = s.pos
				return true
			}
			s.best = append(s.best[:0], cap...)
			s.best[1] = s.pos
			s.matched = true
			return true
		default: // InstRune
			if b >= 0 && in.set.has(byte(b)) {
				var c []int
				if n := len(s.free); n > 0 {
					c, s.free = s.free[n-1], s.free[:n-1]
				} else {
					c = make([]int, len(cap))
				}
				copy(c, cap)
				s.next = append(s.next, thread{in.out, c})
			}
			return false
		}
	}
}

// match returns what find would return on the bytes fed so far: the
// leftmost-first match and its groups, or nil. It does not change what
// later feeds see.
func (s *regexStream) match() []int {
	if !s.idle() {
		// The end of the input is here for now: each waiting thread, in
		// order, and then a new one, takes its empty-width steps with no
		// byte after; the first to reach a match is the match.
		s.visited.dense = s.visited.dense[:0]
		s.condOK = false
		for _, t := range s.pending {
			if s.follow(t.pc, t.cap, -1) {
				return s.atEnd
			}
		}
		if s.canStart() {
			s.scratch[0] = s.pos
			if s.follow(s.re.start, s.scratch, -1) {
				return s.atEnd
			}
		}
	}
	if !s.matched {
		return nil
	}
	return append([]int(nil), s.best...)
}

// settled returns the match if it is final: no more bytes could change
// it. That is so when the first of the waiting threads, in priority
// order, to get anywhere reaches a match by empty-width steps that do not
// depend on the byte after (as \b, $ and \z do); or when every waiting
// thread dies without a byte and a match was already found. A thread that
// still waits for a byte, or on such a step, first means the answer may
// still change: ok is false. It leaves the state as it is.
func (s *regexStream) settled() (loc []int, ok bool) {
	s.visited.dense = s.visited.dense[:0]
	for _, t := range s.pending {
		switch st, m := s.settle(t.pc, t.cap); st {
		case settleMatch:
			return m, true
		case settleAlive:
			return nil, false
		}
	}
	if s.matched {
		return append([]int(nil), s.best...), true
	}
	return nil, false
}

type settleState int

const (
	settleDead  settleState = iota // this way cannot match
	settleAlive                    // it waits for a byte: the answer may change
	settleMatch                    // it matches now, whatever comes next
)

// nextByteOps are the empty-width conditions that depend on the byte after.
const nextByteOps = syntax.EmptyEndLine | syntax.EmptyEndText | syntax.EmptyWordBoundary | syntax.EmptyNoWordBoundary

// settle follows a waiting thread through its empty-width steps, in
// priority order, without a byte after.
func (s *regexStream) settle(pc uint32, cap []int) (settleState, []int) {
	for {
		if s.visited.has(pc) {
			return settleDead, nil
		}
		s.visited.add(pc)
		in := &s.re.prog[pc]
		switch in.op {
		case syntax.InstFail:
			return settleDead, nil
		case syntax.InstAlt, syntax.InstAltMatch:
			if st, m := s.settle(in.out, cap); st != settleDead {
				return st, m
			}
			pc = in.arg
		case syntax.InstEmptyWidth:
			need := syntax.EmptyOp(in.arg)
			if need&nextByteOps != 0 {
				return settleAlive, nil
			}
			// What is left depends on the byte before only.
			if need&^syntax.EmptyOpContext(rune(s.prev), 'x') != 0 {
				return settleDead, nil
			}
			pc = in.out
		case syntax.InstNop:
			pc = in.out
		case syntax.InstCapture:
			if int(in.arg) >= len(cap) {
				pc = in.out
				continue
			}
			old := cap[in.arg]
			cap[in.arg] = s.pos
			st, m := s.settle(in.out, cap)
			cap[in.arg] = old
			return st, m
		case syntax.InstMatch:
			m := append([]int(nil), cap...)
			m[1] = s.pos
			return settleMatch, m
		default: // InstRune: it waits for a byte
			return settleAlive, nil
		}
	}
}
