package runner

import (
	"fmt"
	"regexp/syntax"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Go's regexp/syntax parses RE2 syntax into a tree of runes; sockrun's
// regex works on bytes. Two rewrites bridge the gap. Before parsing, the
// pattern is rewritten so that every byte 0x80..0xff it names (\xff,
// \377, a raw byte that is not UTF-8) becomes a rune of the Private Use
// Area, puaBase+b, and every character written as itself (é) becomes the
// group of its UTF-8 bytes, (?:\x{c3}\x{a9}) in that form. After parsing,
// the tree is mapped back to runes 0..0xff, one per byte. The Private Use
// Area keeps the parser from folding case on bytes above 0x7f ((?i)\xe9
// must not match \xc9) and from confusing a byte with the character of
// the same number.
const (
	puaBase = 0xe000
	puaLow  = puaBase + 0x80
	puaHigh = puaBase + 0xff
)

// A byteRuleError is a pattern that RE2 accepts but that has no meaning on
// bytes.
type byteRuleError struct {
	expr string // the part of the pattern at fault
	why  string
}

// Error quotes the pattern spelled, so that no raw byte or terminal
// control reaches a report.
func (e *byteRuleError) Error() string { return spellPattern("`" + e.expr + "`: " + e.why) }

// rewritePattern returns expr with every byte above 0x7f and every
// character above U+007F spelled for the parser, as described above.
func rewritePattern(expr string) (string, error) {
	w := &rewriter{src: expr}
	w.out.Grow(len(expr) + 16)
	for w.i < len(w.src) && w.err == nil {
		switch w.src[w.i] {
		case '[':
			w.class()
		case '\\':
			w.escape()
		default:
			w.literal(true)
		}
	}
	return w.out.String(), w.err
}

type rewriter struct {
	src string
	i   int
	out strings.Builder
	err error
}

// giveUp copies the rest of the pattern as it is: the parser will report
// the syntax error found there, in the user's own words.
func (w *rewriter) giveUp() {
	w.out.WriteString(w.src[w.i:])
	w.i = len(w.src)
}

// byteLit writes a literal byte.
func (w *rewriter) byteLit(b int) {
	if b < 0x80 {
		fmt.Fprintf(&w.out, `\x{%x}`, b)
		return
	}
	fmt.Fprintf(&w.out, `\x{%x}`, puaBase+b)
}

// literal writes the character or raw byte at w.i, outside a class. With
// asIs, ASCII is copied unescaped (it may be an operator); otherwise it is
// a literal character and is escaped if it is not a letter or digit.
func (w *rewriter) literal(asIs bool) {
	c := w.src[w.i]
	if c < utf8.RuneSelf {
		if !asIs && !isAlnum(c) {
			w.out.WriteByte('\\')
		}
		w.out.WriteByte(c)
		w.i++
		return
	}
	r, n := utf8.DecodeRuneInString(w.src[w.i:])
	if r == utf8.RuneError && n == 1 {
		w.byteLit(int(c))
		w.i++
		return
	}
	// A character's UTF-8 bytes in a group, so that é+ repeats all of them.
	w.out.WriteString("(?:")
	for _, b := range []byte(w.src[w.i : w.i+n]) {
		w.byteLit(int(b))
	}
	w.out.WriteString(")")
	w.i += n
}

// escape handles a backslash outside a class.
func (w *rewriter) escape() {
	if w.i+1 >= len(w.src) {
		w.giveUp()
		return
	}
	switch c := w.src[w.i+1]; {
	case c == 'Q':
		// \Q...\E: literals, which the parser would take one rune at a
		// time; they are spelled out here so each byte is seen as one.
		lit, _, found := strings.Cut(w.src[w.i+2:], `\E`)
		end := w.i + 2 + len(lit)
		for w.i += 2; w.i < end; {
			w.literal(false)
		}
		if found {
			w.i += 2
		}
	case c == 'x' || '0' <= c && c <= '7':
		v, n, ok := parseByteEscape(w.src[w.i:])
		switch {
		case !ok:
			w.giveUp()
		case v > 0xff:
			w.err = &byteRuleError{w.src[w.i : w.i+n], fmt.Sprintf("not a byte (%#x is above \\xff); to match a character's UTF-8 bytes, write the character itself", v)}
		default:
			w.byteLit(v)
			w.i += n
		}
	case c == 'p' || c == 'P':
		w.err = unicodeClassError(w.src[w.i:])
	case c < utf8.RuneSelf:
		w.out.WriteString(w.src[w.i : w.i+2])
		w.i += 2
	default:
		if r, n := utf8.DecodeRuneInString(w.src[w.i+1:]); r == utf8.RuneError && n == 1 {
			w.err = rawEscapeError(c)
			return
		}
		w.giveUp() // \é: the parser says it is no escape
	}
}

// rawEscapeError rejects a backslash before a raw byte above 0x7f, which
// the parser would reject as "invalid UTF-8", quoting the raw byte.
func rawEscapeError(b byte) error {
	return &byteRuleError{`\`, fmt.Sprintf("followed by the byte %#x, which it cannot escape; write \\x%02x for the byte", b, b)}
}

// unicodeClassError rejects \p{Greek}, \pL and their negations: they are
// classes of characters, and most of their characters are more than one
// byte.
func unicodeClassError(s string) error {
	n := min(len(s), 3)
	if len(s) > 2 && s[2] == '{' {
		if j := strings.IndexByte(s, '}'); j > 0 {
			n = j + 1
		}
	}
	return &byteRuleError{s[:n], "a class of Unicode characters, but a regex matches bytes; " +
		"list the bytes in a class, or write the characters in a group: (?:α|β)"}
}

// class rewrites a character class, [...]. Its items are bytes: a
// character above U+007F cannot be one.
func (w *rewriter) class() {
	start := w.i
	w.out.WriteByte('[')
	w.i++
	if w.i < len(w.src) && w.src[w.i] == '^' {
		w.out.WriteByte('^')
		w.i++
	}
	for first := true; ; first = false {
		if w.i >= len(w.src) {
			return // the parser reports the missing ]
		}
		t := w.src[w.i:]
		switch {
		case t[0] == ']' && !first:
			w.out.WriteByte(']')
			w.i++
			return
		case strings.HasPrefix(t, "[:"):
			if j := strings.Index(t[2:], ":]"); j >= 0 {
				w.out.WriteString(t[:j+4]) // the parser checks the name
				w.i += j + 4
				continue
			}
		case strings.HasPrefix(t, `\p`) || strings.HasPrefix(t, `\P`):
			w.err = unicodeClassError(t)
			return
		case len(t) > 1 && t[0] == '\\' && strings.IndexByte("dDsSwW", t[1]) >= 0:
			w.out.WriteString(t[:2])
			w.i += 2
			continue
		}
		lo, n, ok := w.classChar(t, start)
		if !ok {
			return
		}
		hi, m := lo, 0
		if len(t) > n+1 && t[n] == '-' && t[n+1] != ']' {
			if hi, m, ok = w.classChar(t[n+1:], start); !ok {
				return
			}
			m++
		}
		switch {
		case hi < lo:
			w.giveUp() // the parser reports the range
			return
		case hi < 0x80:
			w.out.WriteString(t[:n+m]) // as written: the parser reads it the same
		case lo >= 0x80 && m == 0:
			// A single byte stays single: written as a range, a - after it
			// would join the next item to it ([\xbe-\xbe-x] has a '-').
			w.byteLit(lo)
		case lo >= 0x80:
			fmt.Fprintf(&w.out, `\x{%x}-\x{%x}`, puaBase+lo, puaBase+hi)
		default:
			fmt.Fprintf(&w.out, `\x{%x}-\x{7f}\x{%x}-\x{%x}`, lo, puaLow, puaBase+hi)
		}
		w.i += n + m
	}
}

// classChar reads one byte of a class at the start of t: a character, a
// raw byte or an escape. It returns the byte and the length of its
// spelling; ok is false when it gave up or failed.
func (w *rewriter) classChar(t string, classStart int) (b, n int, ok bool) {
	switch c := t[0]; {
	case c == '\\':
		if len(t) < 2 {
			w.giveUp()
			return 0, 0, false
		}
		if e := t[1]; e == 'x' || '0' <= e && e <= '7' {
			v, n, ok := parseByteEscape(t)
			switch {
			case !ok:
				w.giveUp()
				return 0, 0, false
			case v > 0xff:
				w.err = &byteRuleError{t[:n], fmt.Sprintf("not a byte (%#x is above \\xff), and a class matches one byte", v)}
				return 0, 0, false
			}
			return v, n, true
		}
		if v, ok := cEscape(t[1]); ok {
			return v, 2, true
		}
		if r, size := utf8.DecodeRuneInString(t[1:]); r == utf8.RuneError && size == 1 {
			w.err = rawEscapeError(t[1])
			return 0, 0, false
		}
		w.giveUp()
		return 0, 0, false
	case c < utf8.RuneSelf:
		return int(c), 1, true
	}
	r, size := utf8.DecodeRuneInString(t)
	if r == utf8.RuneError && size == 1 {
		return int(t[0]), 1, true // a raw byte
	}
	end := strings.IndexByte(t, ']')
	class := w.src[classStart:]
	if end >= 0 {
		class = w.src[classStart : len(w.src)-len(t)+end+1]
	}
	char := spellPattern(t[:size]) // é, but a control as \xNN
	w.err = &byteRuleError{class, fmt.Sprintf("a class matches one byte, but %s is %d bytes in UTF-8 (% x); "+
		"write the characters in a group instead: (?:%s|...)", char, size, t[:size], char)}
	return 0, 0, false
}

// cEscape returns the byte of a one-letter escape inside a class: \n, \t,
// and an escaped punctuation mark, as regexp/syntax reads them.
func cEscape(c byte) (int, bool) {
	if i := strings.IndexByte("afnrtv", c); i >= 0 {
		return int("\a\f\n\r\t\v"[i]), true
	}
	if c < utf8.RuneSelf && !isAlnum(c) {
		return int(c), true
	}
	return 0, false
}

func isAlnum(c byte) bool {
	return '0' <= c && c <= '9' || 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z'
}

// parseByteEscape reads \xHH, \x{H...} or an octal \NNN at the start of
// s, as regexp/syntax does, and returns its value and length. ok is false
// for what regexp/syntax rejects (\1 is a back reference, \x{} is empty).
func parseByteEscape(s string) (v, n int, ok bool) {
	if len(s) < 2 || s[0] != '\\' {
		return 0, 0, false
	}
	if c := s[1]; '0' <= c && c <= '7' {
		if c != '0' && (len(s) < 3 || s[2] < '0' || s[2] > '7') {
			return 0, 0, false // \1..\7 alone: a back reference
		}
		n = 2
		for n < len(s) && n < 4 && '0' <= s[n] && s[n] <= '7' {
			n++
		}
		u, _ := strconv.ParseUint(s[1:n], 8, 16)
		return int(u), n, true
	}
	if s[1] != 'x' || len(s) < 3 {
		return 0, 0, false
	}
	if s[2] == '{' {
		end := strings.IndexByte(s, '}')
		if end < 4 || !isHex(s[3:end]) {
			return 0, 0, false
		}
		u, err := strconv.ParseUint(s[3:end], 16, 32)
		if err != nil || u > utf8.MaxRune {
			return 0, 0, false
		}
		return int(u), end + 1, true
	}
	if len(s) < 4 || !isHex(s[2:4]) {
		return 0, 0, false
	}
	u, _ := strconv.ParseUint(s[2:4], 16, 8)
	return int(u), 4, true
}

func isHex(s string) bool {
	for i := range len(s) {
		if c := s[i] | 0x20; !('0' <= s[i] && s[i] <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// toBytes maps a parsed tree back to bytes, in place: after it every rune
// in the tree is a byte 0..0xff, and no literal folds case (regexp/syntax
// would fold U+00E9 to U+00C9; (?i) folds ASCII letters only).
func toBytes(re *syntax.Regexp) *syntax.Regexp {
	switch re.Op {
	case syntax.OpLiteral:
		return literalBytes(re)
	case syntax.OpCharClass:
		re.Rune = classBytes(re.Rune)
		if len(re.Rune) == 0 {
			return &syntax.Regexp{Op: syntax.OpNoMatch, Flags: re.Flags}
		}
	}
	for i, sub := range re.Sub {
		re.Sub[i] = toBytes(sub)
	}
	return re
}

// runeByte is the byte a rune of the rewritten pattern stands for.
func runeByte(r rune) rune {
	if r >= puaLow && r <= puaHigh {
		return r - puaBase
	}
	if r >= utf8.RuneSelf {
		panic(fmt.Sprintf("regex: rune %U left in a literal", r)) // rewritePattern spelled every one out
	}
	return r
}

// literalBytes maps a literal; under (?i) an ASCII letter becomes the
// class of its two cases.
func literalBytes(re *syntax.Regexp) *syntax.Regexp {
	fold := re.Flags&syntax.FoldCase != 0
	flags := re.Flags &^ syntax.FoldCase
	var parts []*syntax.Regexp
	var run []rune
	flush := func() {
		if len(run) > 0 {
			parts = append(parts, &syntax.Regexp{Op: syntax.OpLiteral, Flags: flags, Rune: run})
			run = nil
		}
	}
	for _, r := range re.Rune {
		b := runeByte(r)
		if fold && ('a' <= b|0x20 && b|0x20 <= 'z') {
			flush()
			lower := b | 0x20
			parts = append(parts, &syntax.Regexp{Op: syntax.OpCharClass, Flags: flags, Rune: []rune{lower - 0x20, lower - 0x20, lower, lower}})
			continue
		}
		run = append(run, b)
	}
	flush()
	if len(parts) == 1 {
		return parts[0]
	}
	if len(parts) == 0 {
		return &syntax.Regexp{Op: syntax.OpEmptyMatch, Flags: flags}
	}
	return &syntax.Regexp{Op: syntax.OpConcat, Flags: flags, Sub: parts}
}

// classBytes maps the ranges of a class to bytes. ASCII stays, the
// Private Use Area window stands for 0x80..0xff, and every other rune is
// dropped: it can be there only by negation ([^a]) or by case folding
// ((?i)k adds the Kelvin sign), since rewritePattern rejected the rest.
func classBytes(ranges []rune) []rune {
	var out []rune
	add := func(lo, hi rune) {
		if n := len(out); n > 0 && out[n-1]+1 >= lo {
			out[n-1] = max(out[n-1], hi)
			return
		}
		out = append(out, lo, hi)
	}
	for i := 0; i+1 < len(ranges); i += 2 {
		lo, hi := ranges[i], ranges[i+1]
		if lo < utf8.RuneSelf {
			add(lo, min(hi, utf8.RuneSelf-1))
		}
		if lo <= puaHigh && hi >= puaLow {
			add(max(lo, puaLow)-puaBase, min(hi, puaHigh)-puaBase)
		}
	}
	return out
}

// unmapExpr spells the part of a rewritten pattern that a parser error
// quotes in the user's terms again: \x{e0ff} is \xff, (?:\x{e0c3}\x{e0a9})
// is é.
func unmapExpr(s string) string {
	var b strings.Builder
	for len(s) > 0 {
		if strings.HasPrefix(s, "(?:") {
			if bs, n := puaRun(s[3:]); n > 0 && strings.HasPrefix(s[3+n:], ")") && utf8.Valid(bs) && utf8.RuneCount(bs) == 1 {
				b.WriteString(spellPattern(string(bs))) // é, but a C1 control as \xNN
				s = s[3+n+1:]
				continue
			}
		}
		if bs, n := puaRun(s); n > 0 {
			for _, c := range bs {
				fmt.Fprintf(&b, `\x%02x`, c)
			}
			s = s[n:]
			continue
		}
		_, n := utf8.DecodeRuneInString(s)
		b.WriteString(spellPattern(s[:n])) // a raw byte, copied by giveUp
		s = s[n:]
	}
	return b.String()
}

// puaRun reads the bytes of a run of \x{HHHH} escapes of the Private Use
// Area window at the start of s, and their length.
func puaRun(s string) ([]byte, int) {
	var bs []byte
	n := 0
	for strings.HasPrefix(s[n:], `\x{`) {
		end := strings.IndexByte(s[n:], '}')
		if end < 0 || !isHex(s[n+3:n+end]) {
			break
		}
		u, err := strconv.ParseUint(s[n+3:n+end], 16, 32)
		if err != nil || u < puaLow || u > puaHigh {
			break
		}
		bs = append(bs, byte(u-puaBase))
		n += end + 1
	}
	return bs, n
}
