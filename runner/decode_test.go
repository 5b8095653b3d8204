package runner

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func mustParse(t *testing.T, src string) *Spec {
	t.Helper()
	s, err := Parse("t.yaml", []byte(src), LoadOptions{})
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return s
}

// sendBytes decodes a spec whose one test sends data, and returns the bytes.
func sendBytes(t *testing.T, data string) []byte {
	t.Helper()
	s := mustParse(t, "servers: {echo: {behaviour: echo}}\ntests:\n  - name: t\n    steps:\n      - connect: echo\n      - send: "+data+"\n")
	b, ok := s.Tests[0].Steps[1].act.(*sendAction).data.static()
	if !ok {
		t.Fatalf("send %s: not static", data)
	}
	return b
}

func TestDataForms(t *testing.T) {
	for _, tc := range []struct {
		yaml string
		want []byte
	}{
		{`"plain"`, []byte("plain")},
		{`"a\x00b\xff\r\n"`, []byte{'a', 0, 'b', 0xff, '\r', '\n'}},
		{`"caf\u00e9"`, []byte("café")}, // \u is a character: UTF-8
		{`"\x80\x81"`, []byte{0x80, 0x81}},
		{`"é\xe9"`, []byte{0xc3, 0xa9, 0xe9}}, // a literal é stays UTF-8
		{`'a\x00'`, []byte(`a\x00`)},
		{`{text: "t"}`, []byte("t")},
		{`{hex: "DE ad\tbe  ef"}`, []byte{0xde, 0xad, 0xbe, 0xef}},
		{`{u8: 255}`, []byte{0xff}},
		{`{u16: 0x0102}`, []byte{1, 2}},
		{`{u32: 4294967295}`, []byte{0xff, 0xff, 0xff, 0xff}},
		{`{u64: 18446744073709551615}`, bytes.Repeat([]byte{0xff}, 8)},
		{`{u64: 1}`, []byte{0, 0, 0, 0, 0, 0, 0, 1}},
		{`{u16le: 258}`, []byte{2, 1}},
		{`{u32le: 1}`, []byte{1, 0, 0, 0}},
		{`{u64le: 258}`, []byte{2, 1, 0, 0, 0, 0, 0, 0}},
		{`{repeat: 3, of: "ab"}`, []byte("ababab")},
		{`{repeat: 0, of: "ab"}`, []byte{}},
		{`[{u16: 5}, "hello", {hex: "00"}]`, []byte("\x00\x05hello\x00")},
		{`42`, []byte("42")},
		{"\"multi\n        line\"", []byte("multi line")},
	} {
		if got := sendBytes(t, tc.yaml); !bytes.Equal(got, tc.want) {
			t.Errorf("send: %s = %q, want %q", tc.yaml, got, tc.want)
		}
	}
}

func TestDecodeErrors(t *testing.T) {
	const head = "servers:\n  echo: {behaviour: echo}\n  udp: {type: dgram, behaviour: echo}\ntests:\n  - name: t\n    steps:\n      - connect: echo\n"
	for _, tc := range []struct {
		step string // a step on line 8, column 9
		want string
	}{
		{`- sned: x`, `t.yaml:8:9: unknown step "sned" (did you mean "send"?)`},
		{`- send: {u8: 256}`, `t.yaml:8:20: send: u8: 256 is out of range, expected 0 to 255`},
		{`- send: {u16le: 65536}`, `t.yaml:8:23: send: u16le: 65536 is out of range`},
		{`- send: {u64: 18446744073709551616}`, `t.yaml:8:21: send: u64: 18446744073709551616 is out of range`},
		{`- send: {hex: "0g"}`, `t.yaml:8:21: hex: found 'g' (character 2 of the string)`},
		{`- send: {text: a, hex: "00"}`, `t.yaml:8:25: send: data has more than one form (text and hex)`},
		{`- send: {repeat: 2}`, `t.yaml:8:16: send: repeat: needs of: DATA beside it`},
		{`- send: {data: abc, chunks: [2, 2]}`, `t.yaml:8:9: send: chunks add up to 4 bytes, but the data has 3`},
		{`- send: {data: a, chunks: 0}`, `found 0, expected a count of 1 or more`},
		{`- send: {file: nope.bin}`, `t.yaml:8:22: send: file: nope.bin: no such file or directory`},
		{`- expect: {regex: "("}`, `t.yaml:8:25: expect: regex: missing closing )`},
		{`- expect: {regex: "x*"}`, `matches no bytes at all, so it would always hold`},
		{`- expect: {contains: a, line: b}`, `t.yaml:8:31: expect: a second matcher "line" beside "contains"`},
		{`- expect: {eof: false}`, `eof: found false`},
		{`- expect: {line: "a\nb"}`, `a line cannot hold a line break`},
		{`- expect: {data: a, on: nope}`, `t.yaml:8:31: expect: on: unknown connection "nope"`},
		{`- close: {how: write, on: nope}`, `close: on: unknown connection "nope"`},
		{`- sleep: -1s`, `sleep: found "-1s", expected a positive duration`},
		{`- restart: nope`, `t.yaml:8:18: restart: unknown server "nope"`},
		{`- run: "a 'b"`, `run: unterminated ' quote`},
		{`- run: {cmd: x, exit: maybe}`, `run: exit: found "maybe"`},
		{`- run: {cmd: x, stdout: {eof: true}}`, `eof: has no meaning for a program's output`},
		{`- connect: udp` + "\n      - expect: {eof: true}", `t.yaml:9:18: expect: eof: a datagram socket has no end of stream`},
		{`- connect: udp` + "\n      - close: {how: write}", `t.yaml:9:22: close: how: write (a half-close) needs a stream connection`},
		{`- connect: udp` + "\n      - send: {data: x, cork: true}", `t.yaml:9:31: send: cork: needs a TCP connection; udp is udp`},
		{`- send: "{{udp.path}}"`, `placeholder {{path}}: server udp listens on a port`},
		{`- send`, `t.yaml:8:9: step: found "send", expected a mapping with one step key: connect, send, expect, discard, choose, close, sleep, restart, run, wait, starttls (write send: with a colon)`},
	} {
		_, err := Parse("t.yaml", []byte(head+"      "+tc.step+"\n"), LoadOptions{})
		if err == nil {
			t.Errorf("%s: no error, want %q", tc.step, tc.want)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s:\n got %v\nwant %s", tc.step, err, tc.want)
		}
		for _, e := range SpecErrors(err) {
			if e.Pos.Line == 0 || e.Pos.Col == 0 {
				t.Errorf("%s: error without a position: %v", tc.step, e)
			}
		}
	}
}

func TestDecodeTopLevelErrors(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{"", "t.yaml:1:1: the file is empty"},
		{"- a\n", "t.yaml:1:1: spec: found a list, expected a mapping"},
		{"servers: {}\ntests: []\n", "t.yaml:2:8: tests: the list is empty"},
		{"servers:\n  a: {behaviour: echo, run: x}\ntests: [{name: t, steps: [{sleep: 1s}]}]\n", "t.yaml:2:24: server a: behaviour: and run: both given"},
		{"servers:\n  a: {behaviour: close, type: dgram}\ntests: [{name: t, steps: [{sleep: 1s}]}]\n", "t.yaml:2:18: server a: behaviour: close serves stream sockets only; this server is dgram"},
		{"servers:\n  a: {behaviour: script}\ntests: [{name: t, steps: [{sleep: 1s}]}]\n", "behaviour: script needs script:"},
		{"servers:\n  a: {behaviour: echo, path: x, port: 1}\ntests: [{name: t, steps: [{sleep: 1s}]}]\n", "port: and path: both given"},
		{"vars: {port: 1}\nservers: {}\ntests: [{name: t, steps: [{sleep: 1s}]}]\n", `t.yaml:1:8: vars: "port" is the name of a server placeholder`},
		{"tests: [{name: t, steps: []}]\n", "steps: the list is empty; a test with no steps cannot fail"},
		{"tests: [{name: t, hint: ' ', steps: [{sleep: 1s}]}]\n", "hint: is empty"},
		{"tests: [{name: t, points: -1, steps: [{sleep: 1s}]}]\n", "points: -1 is out of range"},
		{"a: &x {b: 1}\ntests: [{name: t, steps: [{sleep: 1s}]}]\n", `t.yaml:1:1: spec: unknown key "a"`},
		{"tests:\n  - name: t\n    name: u\n    steps: [{sleep: 1s}]\n", `t.yaml:3:5: test: duplicate key "name"`},
	} {
		_, err := Parse("t.yaml", []byte(tc.src), LoadOptions{})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q:\n got %v\nwant %s", tc.src, err, tc.want)
		}
	}
}

func TestDecodeCollectsEveryError(t *testing.T) {
	src := "timeout: x\nservers:\n  e: {behaviour: echo, port: -1}\ntests:\n  - name: t\n    steps:\n      - sned: x\n      - sleep: y\n"
	_, err := Parse("t.yaml", []byte(src), LoadOptions{})
	got := SpecErrors(err)
	if len(got) != 4 {
		t.Fatalf("got %d errors, want 4:\n%v", len(got), err)
	}
	for i, line := range []int{1, 3, 7, 8} {
		if got[i].Pos.Line != line {
			t.Errorf("error %d at line %d, want %d: %v", i, got[i].Pos.Line, line, got[i])
		}
	}
}

func TestDecodeDefaultsAndShapes(t *testing.T) {
	s := mustParse(t, `
timeout: 500ms
vars: {greeting: hi}
servers:
  echo: {behaviour: echo}
  u: {type: dgram, host: "::1", port: 9000, behaviour: discard}
  p: {path: p.sock, behaviour: echo}
  base: &base
    behaviour: script
    script: [{send: "hello {{greeting}}"}]
  copy:
    <<: *base
    loop: true
tests:
  - name: t
    steps: [{connect: echo}, {send: "{{greeting}} {{port}}"}]
  - name: u
    timeout: 1s
    points: 3
    hidden: true
    steps: [{connect: {to: u, as: x}}, {send: {data: a, on: x}}]
`)
	if s.Timeout != 500*time.Millisecond || s.Tests[0].Timeout != 500*time.Millisecond || s.Tests[1].Timeout != time.Second {
		t.Errorf("timeouts: %v %v %v", s.Timeout, s.Tests[0].Timeout, s.Tests[1].Timeout)
	}
	if s.Server("echo").Network() != "tcp" || s.Server("u").Network() != "udp" || s.Server("p").Network() != "unix" {
		t.Errorf("networks wrong")
	}
	if s.Server("echo").Fixed() || !s.Server("u").Fixed() || s.Server("p").Fixed() {
		t.Errorf("Fixed wrong")
	}
	if !s.Server("copy").Loop || s.Server("copy").Behaviour.name != "script" || len(s.Server("copy").Script) != 1 {
		t.Errorf("merge key: %+v", s.Server("copy"))
	}
	if s.Tests[1].Points != 3 || !s.Tests[1].Hidden || s.Tests[0].Points != 1 {
		t.Errorf("points/hidden wrong")
	}
	send := s.Tests[0].Steps[1].act.(*sendAction)
	pl, err := send.data.resolve(newEnv(map[string]Addr{"echo": {Port: 4242}}))
	if err != nil {
		t.Fatal(err)
	}
	if got := pl.bytes(0, pl.size); string(got) != "hi 4242" {
		t.Errorf("placeholders: %q", got)
	}
}

func TestVarsOverride(t *testing.T) {
	src := "vars: {a: file}\nservers: {e: {behaviour: echo}}\ntests: [{name: t, steps: [{connect: e}, {send: '{{a}}{{b}}'}]}]\n"
	if _, err := Parse("t.yaml", []byte(src), LoadOptions{}); err == nil || !strings.Contains(err.Error(), "{{b}}") {
		t.Fatalf("want unknown {{b}}, got %v", err)
	}
	s, err := Parse("t.yaml", []byte(src), LoadOptions{Vars: map[string]string{"a": "cli", "b": "!"}})
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := s.Tests[0].Steps[1].act.(*sendAction).data.static(); string(b) != "cli!" {
		t.Errorf("got %q, want cli!", b)
	}
}

func TestSplitWords(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"./a b  c", []string{"./a", "b", "c"}},
		{`./a 'b c' "d e"`, []string{"./a", "b c", "d e"}},
		{`a "x\"y" 'it''s'`, []string{"a", `x"y`, "its"}},
		{`a b\ c`, []string{"a", "b c"}},
		{`a "" ''`, []string{"a", "", ""}},
		{`a $HOME;rm`, []string{"a", "$HOME;rm"}},
	} {
		got, err := splitWords(tc.in)
		if err != nil || strings.Join(got, "|") != strings.Join(tc.want, "|") || len(got) != len(tc.want) {
			t.Errorf("splitWords(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	if _, err := splitWords(`a "b`); err == nil {
		t.Error("unterminated quote: no error")
	}
}

func TestPlaceholderStaysOneWord(t *testing.T) {
	s, err := Parse("t.yaml", []byte("vars: {v: 'x y;z'}\nservers: {e: {run: './p {{v}} {{port}}'}}\ntests: [{name: t, steps: [{connect: e}]}]\n"), LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := s.Server("e").Run.fill(newEnv(map[string]Addr{"e": {Port: 7}}))
	if len(got) != 3 || got[1] != "x y;z" || got[2] != "7" {
		t.Errorf("words: %q", got)
	}
}
