package runner

import (
	"errors"
	"regexp"
	"testing"
)

func TestStreamMatchers(t *testing.T) {
	const more = -1 // errNeedMore
	const fail = -2 // a final error
	for _, tc := range []struct {
		name string
		m    matcher
		buf  string
		eof  bool
		want int
	}{
		{"data exact", &dataMatcher{[]byte("abc")}, "abc", false, 3},
		{"data leaves the rest", &dataMatcher{[]byte("ab")}, "abcd", false, 2},
		{"data partial", &dataMatcher{[]byte("abc")}, "ab", false, more},
		{"data fails at once", &dataMatcher{[]byte("abc")}, "ax", false, fail},
		{"data closed early", &dataMatcher{[]byte("abc")}, "ab", true, fail},
		{"data empty", &dataMatcher{[]byte{}}, "", false, 0},
		{"contains", &containsMatcher{[]byte("lo")}, "hello!", false, 5},
		{"contains not yet", &containsMatcher{[]byte("lo")}, "hel", false, more},
		{"contains eof", &containsMatcher{[]byte("lo")}, "hel", true, fail},
		{"regex", &regexMatcher{regexp.MustCompile(`\d+\n`)}, "ab 12\nx", false, 6},
		{"regex not yet", &regexMatcher{regexp.MustCompile(`\d+\n`)}, "ab 12", false, more},
		{"line", &lineMatcher{[]byte("hi")}, "hi\nrest", false, 3},
		{"line crlf", &lineMatcher{[]byte("hi")}, "hi\r\n", false, 4},
		{"line partial", &lineMatcher{[]byte("hi")}, "h", false, more},
		{"line partial cr", &lineMatcher{[]byte("hi")}, "hi\r", false, more},
		{"line longer", &lineMatcher{[]byte("hi")}, "hix", false, fail},
		{"line other", &lineMatcher{[]byte("hi")}, "ho\n", false, fail},
		{"line bare cr inside", &lineMatcher{[]byte("hi")}, "hi\rx", false, fail},
		{"length", &lengthMatcher{3}, "abcd", false, 3},
		{"length short", &lengthMatcher{3}, "ab", false, more},
		{"length closed", &lengthMatcher{3}, "ab", true, fail},
		{"eof", eofMatcher{}, "", true, 0},
		{"eof waits", eofMatcher{}, "", false, more},
		{"eof bytes", eofMatcher{}, "x", false, fail},
		{"silence waits", silenceMatcher{}, "", false, more},
		{"silence bytes", silenceMatcher{}, "x", false, fail},
		{"silence closed", silenceMatcher{}, "", true, fail},
	} {
		n, err := tc.m.stream([]byte(tc.buf), tc.eof)
		got := n
		switch {
		case errors.Is(err, errNeedMore):
			got = more
		case err != nil:
			got = fail
		}
		if got != tc.want {
			t.Errorf("%s: stream(%q, %v) = %d, %v; want %d", tc.name, tc.buf, tc.eof, n, err, tc.want)
		}
	}
}

func TestMismatchOffset(t *testing.T) {
	_, err := (&dataMatcher{[]byte("hello world")}).stream([]byte("hello wor1"), false)
	var mm *mismatch
	if !errors.As(err, &mm) || mm.offset != 9 || !errors.Is(err, errMismatch) {
		t.Fatalf("got %v, want a mismatch at 9", err)
	}
	if k := classify(err); k != KindMismatch {
		t.Errorf("classify = %v", k)
	}
}

func TestDatagramMatchers(t *testing.T) {
	for _, tc := range []struct {
		m    matcher
		d    string
		pass bool
	}{
		{&dataMatcher{[]byte("ab")}, "ab", true},
		{&dataMatcher{[]byte("ab")}, "abc", false}, // a whole datagram, not a prefix
		{&containsMatcher{[]byte("b")}, "abc", true},
		{&regexMatcher{regexp.MustCompile(`^a.c$`)}, "abc", true},
		{&lineMatcher{[]byte("hi")}, "hi\r\n", true},
		{&lineMatcher{[]byte("hi")}, "hi", true},
		{&lineMatcher{[]byte("hi")}, "hi\nx", false},
		{&lengthMatcher{3}, "abc", true},
		{&lengthMatcher{3}, "abcd", false},
		{silenceMatcher{}, "", false},
	} {
		if err := tc.m.whole([]byte(tc.d), "the datagram"); (err == nil) != tc.pass {
			t.Errorf("%s on %q: %v, want pass=%v", tc.m, tc.d, err, tc.pass)
		}
	}
}

func TestQuote(t *testing.T) {
	for in, want := range map[string]string{
		"abc":        `"abc"`,
		"a\x00b\xff": `"a\x00b\xff"`,
		"\r\n\t\"\\": `"\r\n\t\"\\"`,
		"é":          `"\xc3\xa9"`,
	} {
		if got := quote([]byte(in)); got != want {
			t.Errorf("quote(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestCapBuffer(t *testing.T) {
	c := newCapBuffer(4, 4)
	for _, s := range []string{"abc", "def", "ghijkl", "mn"} {
		c.Write([]byte(s))
	}
	if got, want := c.String(), "abcd\n[... 6 bytes not shown ...]\nklmn"; got != want {
		t.Errorf("String = %q, want %q", got, want)
	}
	if _, whole := c.Bytes(); whole {
		t.Error("Bytes says whole after dropping")
	}
	small := newCapBuffer(8, 8)
	small.Write([]byte("hi"))
	if b, whole := small.Bytes(); !whole || string(b) != "hi" || small.String() != "hi" {
		t.Errorf("small: %q %v %q", b, whole, small.String())
	}
}

func TestStepTableDocumented(t *testing.T) {
	seen := map[string]bool{}
	for _, k := range stepKinds() {
		if k.doc == "" || len(k.forms) == 0 || k.decode == nil {
			t.Errorf("step %s: incomplete table entry", k.name)
		}
		if seen[k.name] {
			t.Errorf("step %s twice", k.name)
		}
		seen[k.name] = true
	}
}
