package runner

import (
	"errors"
	"math/rand/v2"
	"regexp"
	"regexp/syntax"
	"slices"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// latin1Pattern translates a byte pattern for Go's regexp run on Latin-1
// text (see latin1Find): a character above U+007F written as itself
// becomes the group of its UTF-8 bytes, a raw byte that is not UTF-8
// becomes \x{NN}. It is deliberately naive (it knows nothing of classes or
// \Q), so it is a reference only for patterns where those cannot differ;
// referenceComparable says which.
func latin1Pattern(expr string) string {
	var b strings.Builder
	for i := 0; i < len(expr); {
		r, n := utf8.DecodeRuneInString(expr[i:])
		switch {
		case r < utf8.RuneSelf:
			b.WriteByte(expr[i])
		case r == utf8.RuneError && n == 1:
			b.WriteString(`\x{` + hex2(expr[i]) + `}`)
		default:
			b.WriteString("(?:")
			for _, c := range []byte(expr[i : i+n]) {
				b.WriteString(`\x{` + hex2(c) + `}`)
			}
			b.WriteString(")")
		}
		i += n
	}
	return b.String()
}

func hex2(c byte) string { return string("0123456789abcdef"[c>>4]) + string("0123456789abcdef"[c&15]) }

// latin1Find is the reference: Go's regexp run on the input translated to
// Latin-1 (each byte b is the rune b, encoded as UTF-8), with the
// pattern translated likewise, and the indexes mapped back to bytes.
func latin1Find(re *regexp.Regexp, input []byte) []int {
	var text []byte
	back := make([]int, 0, 2*len(input)+1) // offset in text -> offset in input
	for i, c := range input {
		back = append(back, i)
		if c >= utf8.RuneSelf {
			back = append(back, -1) // inside a character: no match index lands here
		}
		text = utf8.AppendRune(text, rune(c))
	}
	back = append(back, len(input))
	loc := re.FindSubmatchIndex(text)
	for i, x := range loc {
		if x >= 0 {
			loc[i] = back[x]
		}
	}
	return loc
}

// referenceComparable reports whether Go's regexp on Latin-1 is a fair
// reference for this pattern and input: it is not for a pattern whose
// text is taken literally in \Q...\E with bytes above 0x7f in it (the
// naive translation changes the quoted text), nor for case folding where
// the input has bytes above 0x7f (Go folds Latin-1 letters, sockrun ASCII
// letters only).
func referenceComparable(expr string, input []byte) bool {
	ascii := func(s string) bool {
		for i := range len(s) {
			if s[i] >= utf8.RuneSelf {
				return false
			}
		}
		return true
	}
	if strings.Contains(expr, `\Q`) && !ascii(expr) {
		return false
	}
	if strings.Contains(expr, "(?") && strings.Contains(expr, "i") && !ascii(string(input)) {
		return false
	}
	return true
}

// FuzzByteRegexp checks the byte regex against the Latin-1 reference, on
// the input whole and fed in two pieces, and, for short inputs, fed byte
// by byte with every prefix checked.
func FuzzByteRegexp(f *testing.F) {
	for _, tc := range regexCases {
		f.Add(tc.expr, []byte(tc.in), uint(len(tc.in)/2))
	}
	f.Fuzz(checkByteRegexp)
}

// checkByteRegexp checks one pattern and input against the reference.
func checkByteRegexp(t *testing.T, expr string, input []byte, split uint) {
	t.Helper()
	if len(expr) > 200 || len(input) > 1000 {
		return // keep each run fast; size adds nothing the shape does not
	}
	re, err := compileByteRegexp(expr)
	ref, refErr := regexp.Compile(latin1Pattern(expr))
	if err != nil {
		if msg := err.Error(); !utf8.ValidString(msg) || strings.ContainsFunc(msg, unicode.IsControl) {
			t.Fatalf("%q: the error quotes raw bytes: %q", expr, err)
		}
		var rule *byteRuleError
		var serr *syntax.Error
		switch {
		case errors.As(err, &rule):
		case errors.As(err, &serr):
			if refErr == nil && isPlainASCII(expr) {
				t.Fatalf("%q: %v, but Go's regexp accepts it", expr, err)
			}
		case strings.Contains(err.Error(), "too large"):
		default:
			t.Fatalf("%q: unexpected error %v", expr, err)
		}
		return
	}
	if refErr != nil {
		if isPlainASCII(expr) {
			t.Fatalf("%q compiles, but Go's regexp says %v", expr, refErr)
		}
		return
	}
	if !referenceComparable(expr, input) {
		re.find(input) // it must not panic, at least
		return
	}
	want := latin1Find(ref, input)
	if got := re.find(input); !slices.Equal(got, want) {
		t.Fatalf("find(%q, %q) = %v, want %v", expr, input, got, want)
	}
	k := int(split % uint(len(input)+1))
	s := re.stream()
	s.feed(input[:k])
	if got, want := s.match(), latin1Find(ref, input[:k]); !slices.Equal(got, want) {
		t.Fatalf("%q fed %q: %v, want %v", expr, input[:k], got, want)
	}
	s.feed(input[k:])
	if got := s.match(); !slices.Equal(got, want) {
		t.Fatalf("%q fed %q then %q: %v, want %v", expr, input[:k], input[k:], got, want)
	}
	if len(input) > 64 {
		return
	}
	s = re.stream()
	for i := range len(input) + 1 {
		if i > 0 {
			s.feed(input[i-1 : i])
		}
		if got, want := s.match(), latin1Find(ref, input[:i]); !slices.Equal(got, want) {
			t.Fatalf("%q fed %q byte by byte: %v, want %v", expr, input[:i], got, want)
		}
		// A match called settled is final: every longer input, this one
		// and this one with the stream's end anywhere after, agrees.
		if got, ok := s.settled(); ok {
			for j := i; j <= len(input); j++ {
				if want := latin1Find(ref, input[:j]); !slices.Equal(got, want) {
					t.Fatalf("%q fed %q: settled on %v, but on %q the match is %v", expr, input[:i], got, input[:j], want)
				}
			}
		}
	}
}

// TestByteRegexpRandom checks patterns drawn from a grammar of RE2 over a
// few bytes against the reference: the fuzzer mutates bytes, and rarely
// writes well-formed nested regexes; this does, from a fixed seed.
func TestByteRegexpRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	atoms := []string{"a", "b", "A", `\n`, `\xff`, `\x80`, "é", "-", ".", `[ab]`, `[^a]`, `[\x80-\xff]`, `[a-\xff]`,
		`\w`, `\W`, `\d`, `\s`, `\b`, `\B`, "^", "$", `\A`, `\z`, `[[:alpha:]]`, `[^\n]`, `\x{c3}`, `\251`,
		`[\x80-\x80-a]`, `[-\xff]`, `[a-b-\xff]`, `[^\x7f-\x81]`}
	flags := []string{"", "", "", "(?s)", "(?m)", "(?U)", "(?i)", "(?sm)"}
	reps := []string{"", "", "", "*", "+", "?", "*?", "+?", "??", "{2}", "{1,3}", "{0,2}?"}
	var gen func(depth int) string
	gen = func(depth int) string {
		if depth > 3 || rng.IntN(3) == 0 {
			return atoms[rng.IntN(len(atoms))] + reps[rng.IntN(len(reps))]
		}
		var parts []string
		for range 1 + rng.IntN(3) {
			parts = append(parts, gen(depth+1))
		}
		body := strings.Join(parts, "")
		switch rng.IntN(5) {
		case 0:
			body += "|" + gen(depth+1)
		case 1:
			return "(" + body + ")" + reps[rng.IntN(len(reps))]
		case 2:
			return "(?:" + body + ")" + reps[rng.IntN(len(reps))]
		case 3:
			return "(?P<g" + string(rune('a'+depth)) + ">" + body + ")"
		}
		return body
	}
	alphabet := []string{"a", "b", "A", "\n", "\xff", "\x80", "\xc3", "\xa9", " ", "1", "-"}
	for range 1000 {
		expr := flags[rng.IntN(len(flags))] + gen(0)
		for range 6 {
			var in strings.Builder
			for range rng.IntN(12) {
				in.WriteString(alphabet[rng.IntN(len(alphabet))])
			}
			checkByteRegexp(t, expr, []byte(in.String()), rng.UintN(16))
		}
	}
}

// isPlainASCII reports whether a pattern is ASCII and uses none of the
// escapes that mean something else on bytes, so that it must compile
// exactly when Go's regexp compiles it.
func isPlainASCII(expr string) bool {
	for i := range len(expr) {
		if expr[i] >= utf8.RuneSelf {
			return false
		}
	}
	return !byteEscape.MatchString(expr)
}

// byteEscape finds, roughly, the escapes whose meaning on bytes differs.
var byteEscape = regexp.MustCompile(`\\[pPx0-7]`)
