package main

import (
	"bytes"
	"context"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestCPrograms grades real C programs, each with one classic bug chosen
// by a -D flag (testdata/c), with the course exercises. The Go fakes of
// the scripts cover the same bugs on a machine with only Go; these check
// what only C shows: SIGPIPE's default action, no SO_REUSEADDR by default,
// a NUL that ends a C string.
func TestCPrograms(t *testing.T) {
	cc, err := exec.LookPath("cc")
	if err != nil {
		t.Skip("no C compiler (cc) on this machine: the real C programs are not graded")
	}
	bin := t.TempDir()
	for _, tc := range []struct {
		src, name string
		flags     []string
		spec      string
		args      []string // {{BIN}} is the program
		want      string   // the score line
		fails     []string // the tests that must fail, and only they
	}{
		{"echo_server.c", "echo_threads", []string{"-DTHREADS"}, "echo.yaml", []string{"--run", "echo={{BIN}} {{port}}"}, "score 10/10", nil},
		{"echo_server.c", "echo_fork", nil, "echo.yaml", []string{"--run", "echo={{BIN}} {{port}}"}, "score 10/10", nil},
		{"echo_server.c", "echo_cstring", []string{"-DTHREADS", "-DBUG_CSTRING"}, "echo.yaml", []string{"--run", "echo={{BIN}} {{port}}"}, "score 9/10",
			[]string{"zero bytes and bytes above 0x7f survive"}},
		{"echo_server.c", "echo_sigpipe", []string{"-DTHREADS", "-DBUG_SIGPIPE"}, "echo.yaml", []string{"--run", "echo={{BIN}} {{port}}"}, "score 9/10",
			[]string{"a client that leaves without reading does not kill the server"}},
		{"echo_server.c", "echo_noreuse", []string{"-DTHREADS", "-DBUG_NOREUSE"}, "echo.yaml", []string{"--run", "echo={{BIN}} {{port}}"}, "score 9/10",
			[]string{"restarts on the same port at once"}},
		{"echo_server.c", "echo_serial", []string{"-DBUG_SERIAL"}, "echo.yaml", []string{"--run", "echo={{BIN}} {{port}}"}, "score 9/10",
			[]string{"an idle client does not block another"}},
		{"sum_server.c", "sum", nil, "sum.yaml", []string{"--run", "sum={{BIN}} {{port}}"}, "score 6/6", nil},
		{"sum_server.c", "sum_byteorder", []string{"-DBUG_BYTEORDER"}, "sum.yaml", []string{"--run", "sum={{BIN}} {{port}}"}, "score 4/6",
			[]string{"sums that carry across a byte", "sums wrap around modulo 2^32"}},
		{"sum_server.c", "sum_onerecv", []string{"-DBUG_ONERECV"}, "sum.yaml", []string{"--run", "sum={{BIN}} {{port}}"}, "score 5/6",
			[]string{"a request split across two reads"}},
		{"echo_client.c", "client", []string{"-DFIXED"}, "echo-client.yaml", []string{"--var", "client={{BIN}}"}, "score 3/3", nil},
		// The case study's own client calls recv() once.
		{"echo_client.c", "client_casestudy", nil, "echo-client.yaml", []string{"--var", "client={{BIN}}"}, "score 2/3",
			[]string{"the reply in two pieces"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			exe := filepath.Join(bin, tc.name)
			args := append([]string{"-O2", "-o", exe, filepath.Join("../../testdata/c", tc.src), "-lpthread"}, tc.flags...)
			if out, err := exec.Command(cc, args...).CombinedOutput(); err != nil {
				t.Fatalf("cc %v: %v\n%s", args, err, out)
			}
			argv := []string{filepath.Join("../../specs", tc.spec)}
			for _, a := range tc.args {
				argv = append(argv, strings.ReplaceAll(a, "{{BIN}}", exe))
			}
			var stdout, stderr bytes.Buffer
			run(context.Background(), argv, nil, &stdout, &stderr)
			out := stdout.String()
			if !strings.Contains(out, tc.want+":") {
				t.Fatalf("want %q\n%s%s", tc.want, out, &stderr)
			}
			for _, name := range tc.fails {
				if !regexp.MustCompile(`(?m)^  FAIL  0/\d+  ` + regexp.QuoteMeta(name) + `$`).MatchString(out) {
					t.Errorf("test %q did not fail:\n%s", name, out)
				}
			}
		})
	}
}
