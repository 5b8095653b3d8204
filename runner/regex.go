package runner

import (
	"errors"
	"fmt"
	"regexp/syntax"
	"strings"
	"unicode"
	"unicode/utf8"
)

// A byteRegexp is a regex over bytes: RE2 syntax, read by Go's
// regexp/syntax with the same flags as Go's regexp, where every byte of
// the input is one character 0..0xff.
//
//   - \xNN and \NNN (octal) are the byte NN; a raw byte of the pattern
//     that is not UTF-8 is itself.
//   - `.` is one byte (not \n unless (?s)); [^a] includes 0x80..0xff.
//   - A character above U+007F written as itself, é, is its UTF-8 bytes in
//     a row, and a repeat repeats all of them: é+ is (?:\xc3\xa9)+.
//   - A class holds bytes: [é] cannot be one byte, and \p{Greek}, \pL and
//     \x{100} and above cannot be bytes; all are compile errors.
//   - (?i) folds ASCII letters only: (?i)\xe9 does not match \xc9.
//   - \b, \B, \w, \d, \s and [[:alpha:]] are ASCII, as in RE2; ^ and $
//     (with (?m)), \A and \z are as in RE2.
//
// Matching runs a Pike VM (a Thompson NFA that carries capture positions)
// over the bytes: one pass, no backtracking, and the threads alive after
// the last byte carry over to the next, so a stream fed read by read does
// work in proportion to the new bytes, for every pattern: no window is
// needed to bound it. The cost of a byte is at most proportional to the
// size of the compiled pattern, which maxRegexInsts bounds; the expect's
// regexMatcher looks at the clock between slices of a read, so that even
// a slow regex on a flood ends at the step's deadline.
type byteRegexp struct {
	expr     string
	prog     []rinst
	start    uint32
	ncap     int      // capture slots: 2 per group, group 0 the whole match
	names    []string // names[i] names group i, or is ""
	anchored bool     // every match starts at the beginning of the input
	never    bool     // no input can match
	// skip is set when no match can be empty, so that a position whose
	// byte cannot begin a match can be skipped while no thread is alive.
	skip   bool
	first  byteSet // the bytes a match can begin with
	prefix []byte  // the bytes every match begins with, if known
}

// maxRegexInsts bounds the size of a compiled regex, and with it the work
// per byte: about 25ns an instruction at worst, so a fraction of a
// millisecond per byte for the most tangled regex that fits, while
// x{1000}, .{4000} and long alternations fit with room to spare.
const maxRegexInsts = 10000

// An rinst is an instruction of the byte program: regexp/syntax's, with
// each rune instruction turned into a set of bytes.
type rinst struct {
	op  syntax.InstOp
	out uint32
	arg uint32 // InstAlt: the other branch; InstCapture: the slot; InstEmptyWidth: the condition
	set byteSet
}

// A byteSet is a set of bytes, one bit each.
type byteSet [4]uint64

func (s *byteSet) has(b byte) bool { return s[b>>6]&(1<<(b&63)) != 0 }
func (s *byteSet) add(b byte)      { s[b>>6] |= 1 << (b & 63) }

func (s *byteSet) addRange(lo, hi rune) {
	for r := max(lo, 0); r <= min(hi, 0xff); r++ {
		s.add(byte(r))
	}
}

func (s *byteSet) count() int {
	n := 0
	for b := range 256 {
		if s.has(byte(b)) {
			n++
		}
	}
	return n
}

// compileByteRegexp compiles a byte regex. An error is a *syntax.Error
// for bad syntax, as Go's regexp gives, or says why the pattern has no
// meaning on bytes.
func compileByteRegexp(expr string) (*byteRegexp, error) {
	rewritten, err := rewritePattern(expr)
	if err != nil {
		return nil, err
	}
	tree, err := syntax.Parse(rewritten, syntax.Perl)
	if err != nil {
		var se *syntax.Error
		if errors.As(err, &se) {
			return nil, &syntax.Error{Code: se.Code, Expr: unmapExpr(se.Expr)}
		}
		return nil, err
	}
	names := tree.CapNames()
	tree = toBytes(tree).Simplify()
	prog, err := syntax.Compile(tree)
	if err != nil {
		return nil, err
	}
	if len(prog.Inst) > maxRegexInsts {
		return nil, fmt.Errorf("the regex is too large: it compiles to %d steps, and at most %d are allowed, so that matching keeps up with a flood",
			len(prog.Inst), maxRegexInsts)
	}
	re := &byteRegexp{expr: expr, start: uint32(prog.Start), ncap: 2 * len(names), names: names}
	re.prog = make([]rinst, len(prog.Inst))
	for pc, in := range prog.Inst {
		ri := rinst{op: in.Op, out: in.Out, arg: in.Arg}
		switch in.Op {
		case syntax.InstRune:
			if len(in.Rune) == 1 {
				ri.set.add(byte(in.Rune[0]))
			}
			for i := 0; i+1 < len(in.Rune); i += 2 {
				ri.set.addRange(in.Rune[i], in.Rune[i+1])
			}
		case syntax.InstRune1:
			ri.set.add(byte(in.Rune[0]))
		case syntax.InstRuneAny:
			ri.set.addRange(0, 0xff)
		case syntax.InstRuneAnyNotNL:
			ri.set.addRange(0, 0xff)
			ri.set[0] &^= 1 << '\n'
		}
		if ri.op == syntax.InstRune1 || ri.op == syntax.InstRuneAny || ri.op == syntax.InstRuneAnyNotNL {
			ri.op = syntax.InstRune
		}
		re.prog[pc] = ri
	}
	cond := prog.StartCond()
	re.never = cond == ^syntax.EmptyOp(0)
	re.anchored = cond&syntax.EmptyBeginText != 0
	prefix, _ := prog.Prefix()
	for _, r := range prefix {
		re.prefix = append(re.prefix, byte(r)) // runes 0..0xff: one byte each
	}
	re.skip = !re.anchored && re.firstBytes(re.start, make([]bool, len(re.prog))) && re.first.count() < 256
	return re, nil
}

// firstBytes adds to re.first the bytes that a match from pc can begin
// with, taking every empty-width condition as true. It returns false if a
// match from pc can be empty.
func (re *byteRegexp) firstBytes(pc uint32, seen []bool) bool {
	for !seen[pc] {
		seen[pc] = true
		in := &re.prog[pc]
		switch in.op {
		case syntax.InstMatch:
			return false
		case syntax.InstRune:
			for i := range in.set {
				re.first[i] |= in.set[i]
			}
			return true
		case syntax.InstFail:
			return true
		case syntax.InstAlt, syntax.InstAltMatch:
			if !re.firstBytes(in.out, seen) {
				return false
			}
			pc = in.arg
		default: // InstNop, InstCapture, InstEmptyWidth
			pc = in.out
		}
	}
	return true
}

// String returns the pattern as written, spelled for a report (see
// spellPattern).
func (re *byteRegexp) String() string { return spellPattern(re.expr) }

// spellPattern spells each raw byte of a pattern that is not UTF-8, and
// the bytes of each control character (C1 ones too), as \xNN, which in a
// regex means the same: a report or an error never carries raw bytes or
// terminal controls to a terminal.
func spellPattern(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 || unicode.IsControl(r) {
			for _, c := range []byte(s[i : i+n]) {
				fmt.Fprintf(&b, `\x%02x`, c)
			}
		} else {
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// matchesEmpty reports whether the regex matches the empty input, where a
// stream's matcher would hold before any byte came.
func (re *byteRegexp) matchesEmpty() bool { return re.find(nil) != nil }

// find returns the leftmost-first match in b and its groups' spans, as Go's
// regexp.FindSubmatchIndex does (pairs of byte offsets, -1 for a group
// that took no part), or nil.
func (re *byteRegexp) find(b []byte) []int {
	s := re.stream()
	s.feed(b)
	return s.match()
}

// groups returns the named groups of a match loc in b, as copies. A group
// that took no part is left out; of groups that share a name, the last
// that took part wins, so (?P<v>a)|(?P<v>b) has one v either way. It is
// nil for a regex without named groups.
func (re *byteRegexp) groups(b []byte, loc []int) map[string][]byte {
	var m map[string][]byte
	for i, name := range re.names {
		if name == "" || loc[2*i] < 0 {
			continue
		}
		if m == nil {
			m = make(map[string][]byte)
		}
		m[name] = append([]byte{}, b[loc[2*i]:loc[2*i+1]]...)
	}
	return m
}
