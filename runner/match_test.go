package runner

import (
	"errors"
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
		{"data exact", newDataMatcher([]byte("abc")), "abc", false, 3},
		{"data leaves the rest", newDataMatcher([]byte("ab")), "abcd", false, 2},
		{"data partial", newDataMatcher([]byte("abc")), "ab", false, more},
		{"data fails at once", newDataMatcher([]byte("abc")), "ax", false, fail},
		{"data closed early", newDataMatcher([]byte("abc")), "ab", true, fail},
		{"data empty", newDataMatcher([]byte{}), "", false, 0},
		{"contains", &containsMatcher{want: []byte("lo")}, "hello!", false, 5},
		{"contains not yet", &containsMatcher{want: []byte("lo")}, "hel", false, more},
		{"contains eof", &containsMatcher{want: []byte("lo")}, "hel", true, fail},
		{"regex", &regexMatcher{re: mustByteRegexp(`\d+\n`)}, "ab 12\nx", false, 6},
		{"regex not yet", &regexMatcher{re: mustByteRegexp(`\d+\n`)}, "ab 12", false, more},
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

// TestMatchersAcrossReads feeds a matcher a buffer that grows read by
// read, as an expect does: the matchers that remember how far they got
// must decide as if they saw it whole.
func TestMatchersAcrossReads(t *testing.T) {
	feed := func(m matcher, parts ...string) (int, error) {
		var buf []byte
		for _, p := range parts {
			buf = append(buf, p...)
			n, err := m.stream(buf, false)
			if !errors.Is(err, errNeedMore) {
				return n, err
			}
		}
		return 0, errNeedMore
	}
	if n, err := feed(newDataMatcher([]byte("hello")), "h", "el", "lo!"); n != 5 || err != nil {
		t.Errorf("data across reads: %d, %v", n, err)
	}
	var mm *mismatch
	if _, err := feed(newDataMatcher([]byte("hello")), "he", "lp"); !errors.As(err, &mm) || mm.offset != 3 {
		t.Errorf("data mismatch in a later read: %v", err)
	}
	if n, err := feed(&containsMatcher{want: []byte("needle")}, "hay ne", "ed", "le hay"); n != 10 || err != nil {
		t.Errorf("contains split across reads: %d, %v", n, err)
	}
	if n, err := feed(&containsMatcher{want: []byte("aab")}, "a", "a", "a", "b"); n != 4 || err != nil {
		t.Errorf("contains with a false start: %d, %v", n, err)
	}
}

func TestMismatchOffset(t *testing.T) {
	_, err := (newDataMatcher([]byte("hello world"))).stream([]byte("hello wor1"), false)
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
		{newDataMatcher([]byte("ab")), "ab", true},
		{newDataMatcher([]byte("ab")), "abc", false}, // a whole datagram, not a prefix
		{&containsMatcher{want: []byte("b")}, "abc", true},
		{&regexMatcher{re: mustByteRegexp(`^a.c$`)}, "abc", true},
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
