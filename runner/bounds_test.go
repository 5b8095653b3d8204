package runner

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// wantOneError checks that err holds exactly one *Error, at line:col,
// whose message contains want.
func wantOneError(t *testing.T, err error, line, col int, want string) {
	t.Helper()
	list := SpecErrors(err)
	if len(list) != 1 {
		t.Fatalf("want one spec error, got %d: %v", len(list), err)
	}
	e := list[0]
	if e.Pos.Line != line || e.Pos.Col != col || !strings.Contains(e.Msg, want) {
		t.Errorf("got %v\nwant %d:%d: ...%s...", e, line, col, want)
	}
}

// The bombs of testdata/bombs are rejected at the alias where the budget
// runs out, long before a walk through them would end (the alias bomb ran
// past 60 s and 6 GB, the merge bomb 30 s of CPU, the cycle for ever).
func TestBombs(t *testing.T) {
	for _, tc := range []struct {
		file      string
		line, col int
		want      string
	}{
		{"alias.yaml", 13, 15, "aliases bring in more than 100000 nodes by this *e"},
		{"merge.yaml", 17, 18, "aliases bring in more than 100000 nodes by this *m13"},
		{"cycle.yaml", 3, 60, "the alias *x is inside the node it names (&x)"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			start := time.Now()
			_, err := Load(filepath.Join("testdata/bombs", tc.file), LoadOptions{})
			took := time.Since(start)
			wantOneError(t, err, tc.line, tc.col, tc.want)
			// A bound, not a benchmark: the bombs take milliseconds, and
			// minutes without the budget; 10 s tells the two apart even
			// on a loaded machine.
			if took > 10*time.Second {
				t.Errorf("took %v", took)
			}
		})
	}
}

func TestAliasBudgetAllowsReuse(t *testing.T) {
	// A list of steps shared by many tests, and a server merged into
	// another: well within the budget.
	var b strings.Builder
	b.WriteString("servers:\n  e: &e {behaviour: echo}\n  f: {<<: *e, type: dgram}\ntests:\n")
	b.WriteString("  - name: t0\n    steps: &steps\n")
	for range 50 {
		b.WriteString("      - {connect: e}\n      - {send: {text: hello, chunks: 2}}\n")
	}
	for i := 1; i < 100; i++ {
		b.WriteString("  - {name: t" + strings.Repeat("x", i) + ", steps: *steps}\n")
	}
	s := mustParse(t, b.String())
	if len(s.Tests) != 100 || len(s.Tests[99].Steps) != 100 || s.Server("f").Type != Dgram || s.Server("f").Behaviour.name != "echo" {
		t.Errorf("decoded wrong: %d tests, %d steps", len(s.Tests), len(s.Tests[99].Steps))
	}
}

func TestAliasTextBudget(t *testing.T) {
	// Few nodes, but each alias brings in 256 KiB of text: 65 of them pass
	// the text budget of 16 MiB.
	src := "servers: {e: {behaviour: echo}}\ntests: [{name: t, steps: [{connect: e}, {send: [&big '" +
		strings.Repeat("x", 256<<10) + "'" + strings.Repeat(", *big", 70) + "]}]}]\n"
	_, err := Parse("t.yaml", []byte(src), LoadOptions{})
	list := SpecErrors(err)
	if len(list) != 1 || !strings.Contains(list[0].Msg, "more than 16777216 bytes of text by this *big") {
		t.Fatalf("got %v", err)
	}
	// The 65th alias is the one where 64 * 256 KiB (and the original) pass 16 MiB.
	if col := list[0].Pos.Col; col != len("tests: [{name: t, steps: [{connect: e}, {send: [&big '")+256<<10+1+64*len(", *big")+3 {
		t.Errorf("at column %d", col)
	}
}

func TestSpecSizeCap(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big.yaml")
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	// Sparse: 100 MB on paper, nothing on disk; Load must not read it.
	if err := f.Truncate(100 << 20); err != nil {
		t.Fatal(err)
	}
	f.Close()
	_, err = Load(big, LoadOptions{})
	wantOneError(t, err, 1, 1, "the file has 104857600 bytes, more than the limit of 1048576 bytes (1 MiB) for a spec")

	// A device has no size to check first: at most the cap and a byte are read.
	_, err = Load("/dev/zero", LoadOptions{})
	wantOneError(t, err, 1, 1, "the file has more than the limit of 1048576 bytes")

	src := "# " + strings.Repeat("x", maxSpec) + "\n"
	_, err = Parse("t.yaml", []byte(src), LoadOptions{})
	wantOneError(t, err, 1, 1, "the file has 1048579 bytes, more than the limit")

	// One byte under the cap is read and parsed.
	src = "# " + strings.Repeat("x", maxSpec-len("# \ntests: [{name: t, steps: [{sleep: 1s}]}]\n")) + "\ntests: [{name: t, steps: [{sleep: 1s}]}]\n"
	if len(src) != maxSpec {
		t.Fatalf("the test's spec has %d bytes", len(src))
	}
	file := filepath.Join(dir, "max.yaml")
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(file, LoadOptions{}); err != nil {
		t.Errorf("a spec of exactly the cap: %v", err)
	}
}

func TestDataFileRegularOnly(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	sparse := filepath.Join(dir, "sparse.bin")
	f, err := os.Create(sparse)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(maxData + 1); err != nil {
		t.Fatal(err)
	}
	f.Close()
	ok := filepath.Join(dir, "ok.bin")
	if err := os.WriteFile(ok, []byte("ab\x00"), 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link.bin")
	if err := os.Symlink(ok, link); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ path, want string }{
		{fifo, "it is a FIFO; expected a regular file"},
		{"/dev/zero", "it is a device; expected a regular file"},
		{dir, "it is a directory; expected a regular file"},
		{sparse, "it has 67108865 bytes, more than the limit of 67108864"},
		{filepath.Join(dir, "nope"), "no such file or directory"},
	} {
		src := "servers: {e: {behaviour: echo}}\ntests: [{name: t, steps: [{connect: e}, {send: {file: '" + tc.path + "'}}]}]\n"
		_, err := Parse("t.yaml", []byte(src), LoadOptions{})
		wantOneError(t, err, 2, 55, "send: file: "+tc.path+": "+tc.want)
	}
	for _, p := range []string{ok, link} {
		if got := sendBytes(t, "{file: '"+p+"'}"); string(got) != "ab\x00" {
			t.Errorf("%s: got %q", p, got)
		}
	}
}

func TestUnixPathLength(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	spec := func(path string) string {
		return "servers: {u: {path: '" + path + "', behaviour: echo}}\ntests: [{name: t, steps: [{connect: u}]}]\n"
	}
	long := "/tmp/" + strings.Repeat("d", 102) // 107 bytes: the most there is room for
	if _, err := Parse("t.yaml", []byte(spec(long)), LoadOptions{}); err != nil {
		t.Errorf("107 bytes: %v", err)
	}
	_, err := Parse("t.yaml", []byte(spec(long+"x")), LoadOptions{})
	wantOneError(t, err, 1, 21, "server u: path: 108 bytes, more than the 107 a Unix socket path may have")

	abstract := "@" + strings.Repeat("a", 107)
	if _, err := Parse("t.yaml", []byte(spec(abstract)), LoadOptions{}); err != nil {
		t.Errorf("abstract, 108 bytes: %v", err)
	}
	_, err = Parse("t.yaml", []byte(spec(abstract+"a")), LoadOptions{})
	wantOneError(t, err, 1, 21, "server u: path: 109 bytes, more than the 108")

	// A bare name goes in $TMPDIR/sockrun-NNNNNNNNNN/ at run time.
	room := maxUnixPath - len(tmp) - len("/sockrun-0123456789/")
	if _, err := Parse("t.yaml", []byte(spec(strings.Repeat("n", room))), LoadOptions{}); err != nil {
		t.Errorf("a bare name that fits: %v", err)
	}
	_, err = Parse("t.yaml", []byte(spec(strings.Repeat("n", room+1))), LoadOptions{})
	wantOneError(t, err, 1, 21, "server u: path: in "+tmp+", the socket path would be up to 108 bytes")
}
