package runner

import (
	"errors"
	"regexp"
	"regexp/syntax"
	"slices"
	"strings"
	"testing"
)

// dnsHeader is the 12-byte header of a DNS reply: id 0xab0a (a \n in it),
// flags 0x8180, one question, one answer.
const dnsHeader = "\xab\x0a\x81\x80\x00\x01\x00\x01\x00\x00\x00\x00"

// regexCases are patterns, inputs and the leftmost-first match with its
// groups' spans (nil: no match). They seed FuzzByteRegexp too.
var regexCases = []struct {
	expr, in string
	want     []int
}{
	// The reproducers of issue 7: bytes, not UTF-8.
	{`\A\xbe\xef`, "\xbe\xef", []int{0, 2}},
	{`\A.\z`, "\xc3\xa9", nil},
	{`(?s)\A.{12}`, dnsHeader, []int{0, 12}},
	{`\A.{10}\z`, dnsHeader, nil},
	{`(?s)\A.{10}\z`, dnsHeader, nil},
	{`(?s)\A.{12}\z`, dnsHeader, []int{0, 12}},
	{`\A.{12}`, dnsHeader, nil}, // without (?s), . stops at the \n in the id

	// Bytes above 0x7f.
	{`\xff`, "a\xffb", []int{1, 2}},
	{`\x{ff}`, "\xff", []int{0, 1}},
	{`\377`, "a\xff", []int{1, 2}},
	{`\xc3\xa9`, "caf\xc3\xa9", []int{3, 5}},
	{`\xe9`, "caf\xc3\xa9", nil},
	{`é`, "caf\xc3\xa9", []int{3, 5}},
	{`é+`, "\xc3\xa9\xc3\xa9\xc3x", []int{0, 4}},
	{`caf(é|e)`, "cafe caf\xc3\xa9", []int{0, 4, 3, 4}},
	{`.`, "\xc3\xa9", []int{0, 1}},
	{`..`, "\xc3\xa9", []int{0, 2}},
	{`^.$`, "\xc3\xa9", nil},
	{`\A..\z`, "\xc3\xa9", []int{0, 2}},
	{`.+`, "\xff\x00\n\x80", []int{0, 2}},
	{`(?s).+`, "\xff\x00\n\x80", []int{0, 4}},
	{"\xbe\xef", "x\xbe\xef", []int{1, 3}}, // raw bytes in the pattern
	{"[\xbe-\xef]+", "\xbd\xbe\xd0\xef\xf0", []int{1, 4}},
	{"\\Q\xff.\\E", "\xffx\xff.", []int{2, 4}},
	{`\Qa.é\E`, "a.\xc3\xa9", []int{0, 4}},
	{`\Qa.é\E`, "ax\xc3\xa9", nil},
	{`\Q\xff\E`, `a\xff`, []int{1, 5}},

	// Classes.
	{`[^a]`, "a\x80", []int{1, 2}},
	{`[^a]+`, "\x80\xff\na", []int{0, 3}},
	{`[\x80-\xff]+`, "ab\x80\x90\xffc", []int{2, 5}},
	{`[\x00-\xff]+`, "\x00\x7f\x80\xff", []int{0, 4}},
	{`[a-\xff]+`, "`a\x7f\x80\xff", []int{1, 5}},
	{`[^\xe9]+`, "\xe9\xe8\xea\xe9", []int{1, 3}},
	{"[\xbe-\xbe-\xef]+", "x-\xbe\xef\xd0", []int{1, 4}}, // found by the fuzzer: a range, then '-'
	{`[\xbe-\xbe-\xef]+`, "x-\xbe\xef\xd0", []int{1, 4}},
	{`[\xbe-]+`, "x-\xbe", []int{1, 3}},
	{`[[:alpha:]]+`, "\xe9ab\xe9", []int{1, 3}},
	{`[[:^alpha:]]+`, "a\xe9\x80b", []int{1, 3}},
	{`\W+`, "a\xe9\x80b", []int{1, 3}},
	{`\w+`, "\xc3\xa9 ab", []int{3, 5}},
	{`\D`, "1\xff", []int{1, 2}},
	{`[]a]+`, "x]a]", []int{1, 4}},
	{`[a-]+`, "x-a", []int{1, 3}},

	// Case folding: ASCII letters only.
	{`(?i)k`, "xK", []int{1, 2}},
	{`(?i)kelvin`, "KELVIN", []int{0, 6}},
	{`(?i)\xe9`, "\xc9", nil},
	{`(?i)\xe9`, "\xe9", []int{0, 1}},
	{`(?i)é`, "\xc3\x89", nil},
	{`(?i)[\xe0-\xe9]`, "\xc5", nil},
	{`(?i)[a-c]+`, "xAbC", []int{1, 4}},
	{`(?i)[^k]`, "k\xff", []int{1, 2}},
	{`(?i)a|b`, "B", []int{0, 1}},

	// Word boundaries and anchors.
	{`\bab\b`, "\xffab\xff", []int{1, 3}},
	{`\Bb`, "ab", []int{1, 2}},
	{`^ab`, "ab", []int{0, 2}},
	{`^ab`, "cab", nil},
	{`(?m)^ab$`, "x\nab\ny", []int{2, 4}},
	{`ab$`, "ab\n", nil},
	{`(?m)ab$`, "ab\n", []int{0, 2}},
	{`\Aab\z`, "ab", []int{0, 2}},
	{`\z`, "abc", []int{3, 3}},
	{`(?m)$`, "a\nb", []int{1, 1}},
	{`(?m)^`, "", []int{0, 0}},
	{`a\Ab`, "ab", nil},

	// Alternation is leftmost-first, as in Go's regexp and Perl.
	{`a|ab`, "ab", []int{0, 1}},
	{`ab|a`, "ab", []int{0, 2}},
	{`(a|ab)(c|bcd)`, "abcd", []int{0, 4, 0, 1, 1, 4}},
	{`x(a|ab)`, "yxab", []int{1, 3, 2, 3}},
	{`b|ab`, "ab", []int{0, 2}},

	// Greedy and lazy.
	{`a+`, "aaa", []int{0, 3}},
	{`a+?`, "aaa", []int{0, 1}},
	{`a*?b`, "aab", []int{0, 3}},
	{`(?U)a+`, "aaa", []int{0, 1}},
	{`<.*>`, "<a><b>", []int{0, 6}},
	{`<.*?>`, "<a><b>", []int{0, 3}},
	{`a{2,3}`, "aaaa", []int{0, 3}},
	{`a{2,3}?`, "aaaa", []int{0, 2}},

	// Empty matches.
	{`a*`, "bbb", []int{0, 0}},
	{`x*`, "", []int{0, 0}},
	{`()`, "", []int{0, 0, 0, 0}},
	{`(a*)+`, "b", []int{0, 0, 0, 0}},
	{`(a*)*`, "", []int{0, 0, 0, 0}},
	{`(a|b)*`, "abc", []int{0, 2, 1, 2}},

	// Groups, named or not.
	{`(?P<first>\w+) (?P<last>\w+)`, "Ada Lovelace", []int{0, 12, 0, 3, 4, 12}},
	{`(a)?b`, "b", []int{0, 1, -1, -1}},
	{`(?P<id>\d+)\r\n`, "id 4711\r\n", []int{3, 9, 3, 7}},
	{`(?P<v>a)|(?P<v>b)`, "b", []int{0, 1, -1, -1, 0, 1}},
	{`(?:(a)|b)+`, "ab", []int{0, 2, 0, 1}},
	{`Content-Length: (\d+)\r\n`, "HTTP/1.0 200 OK\r\nContent-Length: 12\r\n\r\n", []int{17, 37, 33, 35}},

	// Patterns that can only match somewhere in a longer input.
	{`needle`, strings.Repeat("needl", 50) + "needle", []int{250, 256}},
	{`[0-9]{3}-`, "12-123-", []int{3, 7}},
	{`x.{3}y`, "xxxxxy", []int{1, 6}},
	{`(?s)x.{3}y`, "x\n\n\nyx", []int{0, 5}},
}

func TestByteRegexpFind(t *testing.T) {
	for _, tc := range regexCases {
		re, err := compileByteRegexp(tc.expr)
		if err != nil {
			t.Errorf("compile(%q): %v", tc.expr, err)
			continue
		}
		if got := re.find([]byte(tc.in)); !slices.Equal(got, tc.want) {
			t.Errorf("find(%q, %q) = %v, want %v", tc.expr, tc.in, got, tc.want)
		}
		// The wants above are written by hand; the Latin-1 reference
		// checks them wherever it is a fair one.
		if ref, err := regexp.Compile(latin1Pattern(tc.expr)); err == nil && referenceComparable(tc.expr, []byte(tc.in)) {
			if want := latin1Find(ref, []byte(tc.in)); !slices.Equal(want, tc.want) {
				t.Errorf("%q on %q: the reference says %v, the table %v", tc.expr, tc.in, want, tc.want)
			}
		}
	}
}

// TestByteRegexpStreamSplits feeds each case in two pieces, split at every
// position, and byte by byte: after each feed the answer is find's on what
// was fed, and asking does not change what comes after.
func TestByteRegexpStreamSplits(t *testing.T) {
	for _, tc := range regexCases {
		re, err := compileByteRegexp(tc.expr)
		if err != nil {
			t.Fatalf("compile(%q): %v", tc.expr, err)
		}
		in := []byte(tc.in)
		for k := range len(in) + 1 {
			s := re.stream()
			s.feed(in[:k])
			if got, want := s.match(), re.find(in[:k]); !slices.Equal(got, want) {
				t.Errorf("%q fed %q: %v, want %v", tc.expr, in[:k], got, want)
			}
			s.match() // asking twice changes nothing
			s.feed(in[k:])
			if got := s.match(); !slices.Equal(got, tc.want) {
				t.Errorf("%q fed %q then %q: %v, want %v", tc.expr, in[:k], in[k:], got, tc.want)
			}
		}
		s := re.stream()
		for i := range in {
			s.feed(in[i : i+1])
			if got, want := s.match(), re.find(in[:i+1]); !slices.Equal(got, want) {
				t.Errorf("%q fed %q byte by byte: %v, want %v", tc.expr, in[:i+1], got, want)
			}
		}
	}
}

// TestByteRegexpDead: an anchored pattern whose every thread has died can
// never match, and says at which byte; an unanchored one always might.
func TestByteRegexpDead(t *testing.T) {
	for _, tc := range []struct {
		expr, in string
		deadAt   int // -1: not dead
	}{
		{`\Aab`, "ax", 1},
		{`\Aab`, "xa", 0},
		{`\Aab`, "a", -1},
		{`\A.\z`, "\xc3\xa9", 1},
		{`\A\xbe\xef`, "\xbe\x00", 1},
		{`ab`, "xxxx", -1},
		{`^ab`, "ab", -1}, // matched, not dead
		{`[^\x00-\xff]`, "", 0},
	} {
		re, err := compileByteRegexp(tc.expr)
		if err != nil {
			t.Fatal(err)
		}
		s := re.stream()
		s.feed([]byte(tc.in))
		got := -1
		if s.dead {
			got = s.deadAt
		}
		if got != tc.deadAt {
			t.Errorf("%q fed %q: dead at %d, want %d", tc.expr, tc.in, got, tc.deadAt)
		}
	}
}

func TestByteRegexpErrors(t *testing.T) {
	for _, tc := range []struct {
		expr string
		want string // in the message
	}{
		{`[é]`, "`[é]`: a class matches one byte, but é is 2 bytes in UTF-8 (c3 a9)"},
		{`[^é]`, "`[^é]`: a class matches one byte"},
		{`x[a-é]`, "`[a-é]`: a class matches one byte"},
		{`\p{Greek}`, "`\\p{Greek}`: a class of Unicode characters"},
		{`\pL+`, "`\\pL`: a class of Unicode characters"},
		{`[\PL]`, "`\\PL`: a class of Unicode characters"},
		{`\x{100}`, "`\\x{100}`: not a byte (0x100 is above \\xff)"},
		{`[\x{263a}]`, "`\\x{263a}`: not a byte"},
		{`\400`, "`\\400`: not a byte"},
		// Syntax errors are Go's, in the pattern's own words.
		{`(ab`, "missing closing ): `(ab`"},
		{`a**`, "invalid nested repetition operator: `**`"},
		{`[a`, "missing closing ]: `[a`"},
		{`\xff(`, "missing closing ): `\\xff(`"},
		{`é(`, "missing closing ): `é(`"},
		{`[\xff-a]`, "invalid character class range: `\\xff-a`"},
		{`\8`, "invalid escape sequence: `\\8`"},
		{`\1`, "invalid escape sequence: `\\1`"},
		{`x{1001}`, "invalid repeat count: `{1001}`"},
		{"\\\xff", "`\\`: followed by the byte 0xff, which it cannot escape; write \\xff for the byte"},
		{"[\\\xfe]", "`\\`: followed by the byte 0xfe"},
		{"[\xff", "missing closing ]: `[\\xff`"},
		{"a(\xff", "missing closing ): `a(\\xff`"},
		{`(?P<é>x)`, "invalid named capture: `(?P<é>`"},
		{`\Q`, ""}, // an empty quote matches the empty string
		{strings.Repeat(`[a-z]{1000}`, 11), "the regex is too large"},
	} {
		_, err := compileByteRegexp(tc.expr)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("compile(%q): %v, want no error", tc.expr, err)
		case tc.want == "":
		case err == nil:
			t.Errorf("compile(%q) succeeded, want an error with %q", tc.expr, tc.want)
		case !strings.Contains(err.Error(), tc.want):
			t.Errorf("compile(%q): %v, want %q in it", tc.expr, err, tc.want)
		}
	}
	var se *syntax.Error
	if _, err := compileByteRegexp(`(`); !errors.As(err, &se) {
		t.Errorf("a syntax error is %T, want *syntax.Error", err)
	}
}

// TestByteRegexpString: a report shows the pattern, with raw bytes and
// control characters spelled as escapes that mean the same.
func TestByteRegexpString(t *testing.T) {
	re := mustByteRegexp("\\A\xbe\xef\r\n\x1b\u009bé[a\\x00]")
	if got, want := re.String(), `\A\xbe\xef\x0d\x0a\x1b\xc2\x9bé[a\x00]`; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	in := []byte("\xbe\xef\r\n\x1b\xc2\x9b\xc3\xa9\x00")
	if got := mustByteRegexp(re.String()).find(in); re.find(in) == nil || !slices.Equal(got, re.find(in)) {
		t.Errorf("the spelled pattern finds %v, the pattern %v", got, re.find(in))
	}
}

func TestByteRegexpGroups(t *testing.T) {
	re, err := compileByteRegexp(`(?P<cmd>[A-Z]+) (?P<arg>\S*)(?P<opt> -x)?`)
	if err != nil {
		t.Fatal(err)
	}
	in := []byte("+ GET \xff\x00 rest")
	g := re.groups(in, re.find(in))
	if len(g) != 2 || string(g["cmd"]) != "GET" || string(g["arg"]) != "\xff\x00" {
		t.Errorf("groups = %q, want cmd GET and arg \xff\x00", g)
	}
	if _, ok := g["opt"]; ok {
		t.Errorf("a group that took no part is in %q; want it left out", g)
	}
	empty := re.groups([]byte("GET "), re.find([]byte("GET ")))
	if empty["arg"] == nil || len(empty["arg"]) != 0 {
		t.Errorf("an empty group is %#v, want an empty non-nil slice", empty["arg"])
	}
	dup, _ := compileByteRegexp(`(?P<v>a)|(?P<v>b)`)
	if g := dup.groups([]byte("b"), dup.find([]byte("b"))); string(g["v"]) != "b" {
		t.Errorf("a shared name takes the group that took part: %q", g)
	}
	both, _ := compileByteRegexp(`(?P<v>a)(?P<v>b)`)
	if g := both.groups([]byte("ab"), both.find([]byte("ab"))); string(g["v"]) != "b" {
		t.Errorf("of two groups that took part, the last wins: %q", g)
	}
}

// TestByteRegexpAgainstGo: on ASCII-only patterns and inputs, the byte
// regex is Go's regexp, groups and all.
func TestByteRegexpAgainstGo(t *testing.T) {
	exprs := []string{`a|ab`, `(a+)(b*)`, `(?m)^\w+$`, `\b\d+\b`, `(x?)*y`, `((a)|b)+`, `(?i)hello`, `[[:punct:]]+`,
		`(?s)a.*b`, `a.*?b`, `^$`, `(a|b|c)*?c`, `\S+@\S+`, `(?U)(a+)(a*)`}
	inputs := []string{"", "ab", "aab", "abab\nab\n", "x 12 y 345", "xxy", "Hello HELLO", "a!?b", "a\nb ab", "c", "me@x.org"}
	for _, e := range exprs {
		re, err := compileByteRegexp(e)
		if err != nil {
			t.Fatal(err)
		}
		gre := regexp.MustCompile(e)
		for _, in := range inputs {
			if got, want := re.find([]byte(in)), gre.FindSubmatchIndex([]byte(in)); !slices.Equal(got, want) {
				t.Errorf("%q on %q: %v, Go's regexp %v", e, in, got, want)
			}
		}
	}
}

// mustByteRegexp compiles a pattern known to be good.
func mustByteRegexp(expr string) *byteRegexp {
	re, err := compileByteRegexp(expr)
	if err != nil {
		panic(err)
	}
	return re
}
