package runner

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/rogpeppe/go-internal/txtar"
	"gopkg.in/yaml.v3"
)

// The fuzz targets' seeds run in every go test; their corpora, with the
// crashers found so far, are in testdata/fuzz. To fuzz one:
//
//	go test -run XXX -fuzz FuzzParse -fuzztime 10m ./runner

// specSeeds are whole specs: the exercises, the specs inside the CLI's
// scripts, and the bombs.
func specSeeds(f *testing.F) [][]byte {
	var out [][]byte
	for _, glob := range []string{"../specs/*.yaml", "testdata/bombs/*.yaml"} {
		files, _ := filepath.Glob(glob)
		for _, file := range files {
			b, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			out = append(out, b)
		}
	}
	scripts, _ := filepath.Glob("../testdata/scripts/*.txtar")
	for _, file := range scripts {
		a, err := txtar.ParseFile(file)
		if err != nil {
			f.Fatal(err)
		}
		for _, af := range a.Files {
			if strings.HasSuffix(af.Name, ".yaml") {
				out = append(out, af.Data)
			}
		}
	}
	if len(out) < 20 {
		f.Fatalf("found only %d seed specs", len(out))
	}
	return out
}

// checkErrors checks what every spec error must be: a *Error (never a
// bare error), at a line and column inside the file, where the CLI can
// draw its caret.
func checkErrors(t *testing.T, src []byte, err error) {
	t.Helper()
	if err == nil {
		return
	}
	list := SpecErrors(err)
	leaves := 1
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		leaves = len(j.Unwrap())
	}
	if len(list) == 0 || len(list) != leaves {
		t.Fatalf("%d of %d errors are *Error: %v", len(list), leaves, err)
	}
	// Lines as YAML counts them: a lone CR, NEL, LS and PS end a line too.
	starts, ends := lines(src)
	nlines := len(ends)
	for _, e := range list {
		if e.Pos.Line < 1 || e.Pos.Line > nlines {
			t.Fatalf("line %d outside the file's %d lines: %v", e.Pos.Line, nlines, e)
		}
		line := string(src[starts[e.Pos.Line-1]:ends[e.Pos.Line-1]])
		if n := utf8.RuneCountInString(line); e.Pos.Col < 1 || e.Pos.Col > n+1 {
			t.Fatalf("column %d outside line %d of %d characters (%q): %v", e.Pos.Col, e.Pos.Line, n, line, e)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range specSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		start := time.Now()
		_, err := Parse("f.yaml", src, LoadOptions{})
		if took := time.Since(start); took > time.Second {
			t.Errorf("Parse took %v", took)
		}
		checkErrors(t, src, err)
		// The same file, the same errors, in the same order.
		_, again := Parse("f.yaml", src, LoadOptions{})
		if (err == nil) != (again == nil) || err != nil && err.Error() != again.Error() {
			t.Fatalf("two parses differ:\n%v\n---\n%v", err, again)
		}
	})
}

const dataHead = "servers: {e: {behaviour: echo}}\ntests:\n  - name: t\n    steps:\n      - connect: e\n      - send: "

// FuzzDataForms checks each form of DATA against a reference made in the
// test: the bytes quoted as a spec would write them, in hex, as numbers,
// repeated, and a list of them all; and any text at all in DATA's place
// never panics and fails with positioned errors only.
func FuzzDataForms(f *testing.F) {
	f.Add([]byte("hello"), uint64(0x0102), uint8(3), "x")
	f.Add([]byte{0, 0xff, 0x80, '"', '\\', '\n', 0x7f, 'a'}, uint64(1<<63), uint8(0), `{hex: "zz"}`)
	f.Add([]byte("caf\xc3\xa9 \t"), uint64(258), uint8(1), `[{u16: 5}, "hi", {repeat: 2, of: {hex: "00"}}]`)
	f.Add([]byte("{{port}}"), uint64(65535), uint8(200), `"\xff\u00ff\U0001F600"`)
	f.Fuzz(func(t *testing.T, raw []byte, num uint64, count uint8, text string) {
		src := []byte(dataHead + text + "\n")
		_, err := Parse("f.yaml", src, LoadOptions{})
		checkErrors(t, src, err)

		if placeholderRE.Match(raw) || len(raw) > 4096 {
			return // a placeholder is not data; and keep each run quick
		}
		var want []byte
		var list []string
		form := func(yaml string, b []byte) {
			t.Helper()
			if got := sendBytes(t, yaml); !bytes.Equal(got, b) {
				t.Fatalf("send: %s\n got %q\nwant %q", yaml, got, b)
			}
			list = append(list, yaml)
			want = append(want, b...)
		}
		form(quote(raw), raw)
		form(`{hex: "`+spacedHex(raw, int(count))+`"}`, raw)
		for _, bits := range []int{8, 16, 32, 64} {
			n := num & (^uint64(0) >> (64 - bits))
			var be, le [8]byte
			binary.BigEndian.PutUint64(be[:], n)
			binary.LittleEndian.PutUint64(le[:], n)
			name := "u" + strconv.Itoa(bits)
			form("{"+name+": "+strconv.FormatUint(n, 10)+"}", be[8-bits/8:])
			if bits > 8 {
				form("{"+name+"le: 0x"+strconv.FormatUint(n, 16)+"}", le[:bits/8])
			}
		}
		form("{repeat: "+strconv.Itoa(int(count))+", of: "+quote(raw)+"}", bytes.Repeat(raw, int(count)))
		if got := sendBytes(t, "["+strings.Join(list, ", ")+"]"); !bytes.Equal(got, want) {
			t.Fatalf("a list of every form:\n got %q\nwant %q", got, want)
		}
	})
}

// spacedHex writes b in hex with a space or tab after every n digits.
func spacedHex(b []byte, n int) string {
	h := hex.EncodeToString(b)
	if n == 0 {
		return strings.ToUpper(h)
	}
	var s strings.Builder
	for i := range len(h) {
		if i > 0 && i%n == 0 {
			s.WriteString([]string{" ", "\t", "  "}[i%3])
		}
		s.WriteByte(h[i])
	}
	return s.String()
}

// FuzzSplitWords checks that words quoted as a shell would and joined by
// blanks split back into the same words, and that splitting any text at
// all is idempotent: its words, quoted again, split into themselves.
func FuzzSplitWords(f *testing.F) {
	f.Add("./server {{port}} 'a b' \"c\\\"d\" e\\ f", "\x00")
	f.Add("", "")
	f.Add("it's \"$HOME\" `x` \\\n y", "'\"\\ \t\n")
	f.Fuzz(func(t *testing.T, line, sep string) {
		words, err := splitWords(line)
		if err == nil {
			again, err := splitWords(shellJoin(words))
			if err != nil || !slices.Equal(again, words) {
				t.Fatalf("splitWords(%q) = %q; quoted again %q it splits into %q, %v", line, words, shellJoin(words), again, err)
			}
		}
		if sep == "" {
			return
		}
		want := strings.Split(line, sep)
		got, err := splitWords(shellJoin(want))
		if err != nil || !slices.Equal(got, want) {
			t.Fatalf("words %q, quoted %q, split into %q, %v", want, shellJoin(want), got, err)
		}
	})
}

// shellJoin quotes each word in single quotes, as sh would need.
func shellJoin(words []string) string {
	q := make([]string, len(words))
	for i, w := range words {
		q[i] = "'" + strings.ReplaceAll(w, "'", `'\''`) + "'"
	}
	return strings.Join(q, " \t")
}

// FuzzPlaceholders checks that a string's literal text survives a
// template exactly, and that each placeholder put in it is filled in at
// its place, whatever the text around it.
func FuzzPlaceholders(f *testing.F) {
	f.Add("port ", " and ", "", uint16(4242))
	f.Add("{", "}}", "{{", uint16(0))
	f.Add("{{ nope }}", "a\x00\xff", "{{{", uint16(7))
	f.Fuzz(func(t *testing.T, a, b, c string, port uint16) {
		val := "[var]"
		d := &decoder{file: "f.yaml", vars: map[string]*string{"v": &val}, servers: map[string]*Server{}}
		srv := &Server{Name: "e", Host: "127.0.0.1"}
		d.servers["e"], d.first = srv, srv
		n := &yaml.Node{Line: 1, Column: 1}
		e := newEnv(map[string]Addr{"e": {Host: "127.0.0.1", Port: int(port)}})
		s := a + b + c
		// The scan finds what the regexp finds.
		var scanned [][]int
		for at := 0; ; {
			start, end, name := nextPlaceholder(s, at)
			if start < 0 {
				break
			}
			at = end
			scanned = append(scanned, []int{start, end})
			if got := placeholderRE.FindStringSubmatch(s[start:end]); got == nil || got[1] != name {
				t.Fatalf("%q: the scan found %q at %d, the regexp %q", s, name, start, got)
			}
		}
		if found := placeholderRE.FindAllStringIndex(s, -1); !slices.EqualFunc(scanned, found, slices.Equal) {
			t.Fatalf("%q: the scan found %v, the regexp %v", s, scanned, found)
		}
		tmpl := d.template(n, s)
		if !placeholderRE.MatchString(s) {
			if got, err := tmpl.fill(e); len(d.errs) > 0 || err != nil || got != s {
				t.Fatalf("%q without placeholders came out as %q, %v %v", s, got, d.errs, err)
			}
		}
		// Placeholders between the parts: unless a part's braces join one
		// of them into something else, each is filled in at its place.
		s = a + "{{port}}" + b + "{{ v }}" + c + "{{e.addr}}"
		want := a + strconv.Itoa(int(port)) + b + "[var]" + c + "127.0.0.1:" + strconv.Itoa(int(port))
		d.errs = nil
		tmpl = d.template(n, s)
		if strings.ContainsAny(a+b+c, "{}") {
			return
		}
		if got, err := tmpl.fill(e); got != want || err != nil || len(d.errs) > 0 {
			t.Fatalf("%q filled in is %q, want %q; %v %v", s, got, want, d.errs, err)
		}
	})
}

// FuzzDoubleQuoted checks unquoteDouble, which reads a double-quoted
// scalar again so that \xNN is a byte, against yaml.v3's own reading: where
// yaml.v3 takes the scalar, the YAML reading must agree with it, or else
// sockrun would fall back to yaml.v3's value and send \xff as two bytes.
func FuzzDoubleQuoted(f *testing.F) {
	for _, s := range []string{`a\x00b\xff\r\n`, `caf\u00e9 \U0001F600`, "multi\n  line\n\n  breaks  ", `esc\ \"\\\/\N\_\L\P\e\0\a\b\t\v\f`, "tab\tin \\\n  joined", "\\x4", "a\r\n b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		src := `v: "` + s + `"` + "\n"
		var doc yaml.Node
		if err := yaml.Unmarshal([]byte(src), &doc); err != nil {
			return
		}
		if len(doc.Content) == 0 || len(doc.Content[0].Content) != 2 {
			return
		}
		v := doc.Content[0].Content[1]
		if v.Kind != yaml.ScalarNode || v.Style != yaml.DoubleQuotedStyle || v.Line != 1 || v.Column != 4 {
			return // the quote ended early and something else followed
		}
		b, asYAML, ok := unquoteDouble(src[3:])
		if !ok || asYAML != v.Value {
			t.Fatalf("%q: yaml.v3 reads %q, unquoteDouble %q (ok %v)", src, v.Value, asYAML, ok)
		}
		if !strings.Contains(s, `\x`) && b != asYAML {
			t.Fatalf("%q: no \\x, yet the bytes %q differ from the text %q", src, b, asYAML)
		}
	})
}
