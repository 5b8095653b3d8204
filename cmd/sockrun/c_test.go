package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestCPrograms builds examples/c with its own Makefile and grades every
// program in it with its exercise: each reference solution passes every
// test, and each copy with a classic bug fails exactly the tests listed
// for it. The Go fakes of the scripts cover the same bugs on a machine
// with only Go; these check what only C shows (SIGPIPE's default action,
// no SO_REUSEADDR by default, a zero byte that ends a C string) and that
// the kit a newcomer builds says what its README says.
func TestCPrograms(t *testing.T) {
	for _, tool := range []string{"cc", "make"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("no %s on this machine: the C programs of examples/c are neither built nor graded", tool)
		}
	}
	// Built in a copy, so that the test writes nothing into the
	// repository and two runs at once do not share a build.
	dir := t.TempDir()
	src, err := filepath.Glob("../../examples/c/*")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range src {
		if ext := filepath.Ext(f); ext != ".c" && ext != ".cpp" && filepath.Base(f) != "Makefile" {
			continue
		}
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(f)), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	targets := []string{"all"}
	if _, err := exec.LookPath("c++"); err == nil {
		targets = append(targets, "cxx")
	} else {
		t.Log("no C++ compiler (c++): echo_server_cxx_sigpipe is not built")
	}
	if out, err := exec.Command("make", append([]string{"-s", "-C", dir}, targets...)...).CombinedOutput(); err != nil {
		t.Fatalf("make: %v\n%s", err, out)
	}

	const (
		leaves   = "a client that leaves without reading does not kill the server"
		idle     = "an idle client does not block another"
		twoDgram = "two datagrams come back as two"
		carry    = "sums that carry across a byte"
		wrap     = "sums wrap around modulo 2^32"
		many     = "many requests on one connection, then end of stream"
	)
	echo := []string{"--run", "echo={{BIN}} {{port}}"}
	unix := []string{"--run", "echo={{BIN}} {{path}}"}
	sum := []string{"--run", "sum={{BIN}} {{port}}"}
	client := []string{"--var", "client={{BIN}}"}
	for _, tc := range []struct {
		prog  string
		spec  string
		args  []string // {{BIN}} is the program
		score string   // the score line, up to its colon
		fails []string // the tests that fail, and only they
	}{
		{"echo_server", "echo.yaml", echo, "score 10/10", nil},
		{"echo_server_fork", "echo.yaml", echo, "score 10/10", nil},
		{"echo_server_poll", "echo.yaml", echo, "score 10/10", nil},
		{"echo_server_cstring", "echo.yaml", echo, "score 9/10", []string{"zero bytes and bytes above 0x7f survive"}},
		{"echo_server_onerecv", "echo.yaml", echo, "score 7/10", []string{
			"a message sent byte by byte comes back whole", "messages merged into one write, then one more", "100 KB in one go"}},
		{"echo_server_fixedbuf", "echo.yaml", echo, "score 9/10", []string{"100 KB in one go"}},
		{"echo_server_serial", "echo.yaml", echo, "score 9/10", []string{idle}},
		{"echo_server_noclose", "echo.yaml", echo, "score 9/10", []string{"a half-closed client gets the rest of its echo, then EOF"}},
		{"echo_server_sigpipe", "echo.yaml", echo, "score 9/10", []string{leaves}},
		{"echo_server_sigpipe_fin", "echo.yaml", echo, "score 9/10", []string{leaves}},
		{"echo_server_poll_sigpipe", "echo.yaml", echo, "score 9/10", []string{leaves}},
		{"echo_server_cxx_sigpipe", "echo.yaml", echo, "score 9/10", []string{leaves}},
		{"echo_server_noreuse", "echo.yaml", echo, "score 9/10", []string{"restarts on the same port at once"}},

		{"udp_echo_server", "udp-echo.yaml", echo, "score 5/5", nil},
		{"udp_echo_server_noreply", "udp-echo.yaml", echo, "score 0/5", []string{
			"one datagram comes back", twoDgram, "zero bytes and bytes above 0x7f survive",
			"a datagram of 1472 bytes comes back whole", "two senders each get their own reply"}},
		// Merged, alice's and bob's datagrams come back as one, to alice.
		{"udp_echo_server_merge", "udp-echo.yaml", echo, "score 3/5", []string{twoDgram, "two senders each get their own reply"}},
		{"udp_echo_server_cstring", "udp-echo.yaml", echo, "score 4/5", []string{"zero bytes and bytes above 0x7f survive"}},
		{"udp_echo_server_truncate", "udp-echo.yaml", echo, "score 4/5", []string{"a datagram of 1472 bytes comes back whole"}},
		{"udp_echo_server_onepeer", "udp-echo.yaml", echo, "score 4/5", []string{"two senders each get their own reply"}},

		{"sum_server", "sum.yaml", sum, "score 7/7", nil},
		// Waiting for 16 bytes a request, it answers none of them.
		{"sum_server_wide", "sum.yaml", sum, "score 0/7", []string{
			"small numbers", carry, "a request split across two reads", wrap, many, idle, "restarts on the same port at once"}},
		{"sum_server_byteorder", "sum.yaml", sum, "score 5/7", []string{carry, wrap}},
		{"sum_server_onerecv", "sum.yaml", sum, "score 6/7", []string{"a request split across two reads"}},
		{"sum_server_overflow", "sum.yaml", sum, "score 6/7", []string{wrap}},
		{"sum_server_onereq", "sum.yaml", sum, "score 4/7", []string{carry, wrap, many}},
		{"sum_server_serial", "sum.yaml", sum, "score 6/7", []string{idle}},

		{"unix_echo_server", "unix-echo.yaml", unix, "score 8/8", nil},
		{"unix_echo_server_onerecv", "unix-echo.yaml", unix, "score 6/8", []string{"a message sent in pieces comes back whole", "100 KB in one go"}},
		{"unix_echo_server_serial", "unix-echo.yaml", unix, "score 7/8", []string{idle}},
		{"unix_echo_server_nounlink", "unix-echo.yaml", unix, "score 7/8", []string{"restarts on the same path at once"}},

		{"echo_client", "echo-client.yaml", client, "score 3/3", nil},
		{"echo_client_onerecv", "echo-client.yaml", client, "score 2/3", []string{"the reply in two pieces"}},
		{"echo_client_noerror", "echo-client.yaml", client, "score 2/3", []string{"no server listening"}},

		{"udp_client", "udp-client.yaml", client, "score 2/2", nil},
		{"udp_client_notimeout", "udp-client.yaml", client, "score 0/2", []string{
			"a lost datagram is sent again", "it gives up when nobody answers"}},
		{"udp_client_noretry", "udp-client.yaml", client, "score 1/2", []string{"a lost datagram is sent again"}},
		{"udp_client_forever", "udp-client.yaml", client, "score 1/2", []string{"it gives up when nobody answers"}},
	} {
		t.Run(tc.prog, func(t *testing.T) {
			t.Parallel()
			exe := filepath.Join(dir, tc.prog)
			if _, err := os.Stat(exe); err != nil {
				t.Skipf("%s was not built: %v", tc.prog, err)
			}
			argv := []string{filepath.Join("../../specs", tc.spec)}
			for _, a := range tc.args {
				argv = append(argv, strings.ReplaceAll(a, "{{BIN}}", exe))
			}
			var stdout, stderr bytes.Buffer
			run(context.Background(), argv, nil, &stdout, &stderr)
			out := stdout.String()
			if !strings.Contains(out, "\n"+tc.score+":") {
				t.Errorf("want %q", tc.score)
			}
			var failed []string
			for _, m := range failLine.FindAllStringSubmatch(out, -1) {
				failed = append(failed, m[1])
			}
			want := slices.Clone(tc.fails)
			slices.Sort(failed)
			slices.Sort(want)
			if !slices.Equal(failed, want) {
				t.Errorf("failed tests:\n  %q\nwant:\n  %q", failed, want)
			}
			if t.Failed() {
				t.Logf("sockrun %s:\n%s%s", strings.Join(argv, " "), out, &stderr)
			}
		})
	}
}

// failLine is a failed test's line in a text report.
var failLine = regexp.MustCompile(`(?m)^  FAIL  0/\d+  (.+)$`)
