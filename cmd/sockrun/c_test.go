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
	"sync"
	"testing"

	"github.com/sockrun/sockrun/runner"
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

		{"sum_server", "sum.yaml", sum, "score 8/8", nil},
		// Waiting for 16 bytes a request, it answers none of them.
		{"sum_server_wide", "sum.yaml", sum, "score 0/8", []string{
			"small numbers", carry, "a request split across two reads", wrap, many, "twenty thousand requests on one connection", idle, "restarts on the same port at once"}},
		{"sum_server_byteorder", "sum.yaml", sum, "score 6/8", []string{carry, wrap}},
		{"sum_server_onerecv", "sum.yaml", sum, "score 7/8", []string{"a request split across two reads"}},
		{"sum_server_overflow", "sum.yaml", sum, "score 7/8", []string{wrap}},
		{"sum_server_onereq", "sum.yaml", sum, "score 4/8", []string{carry, wrap, many, "twenty thousand requests on one connection"}},
		{"sum_server_serial", "sum.yaml", sum, "score 7/8", []string{idle}},

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
			if k := cMutants[tc.prog]; k != "" && len(failed) > 0 {
				// failed is in file order until sorted below.
				if caught := cAuditOf(t, dir)[tc.spec+" "+k]; caught != failed[0] {
					t.Errorf("fails %q first; the mutant %s of sockrun audit, %q", failed[0], k, caught)
				}
			}
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

// cMutants are the mutants of sockrun audit that carry the bugs of the C
// programs: each program must fail first, in file order, the test that
// caught its mutant, or the audit's table would be a lie.
var cMutants = map[string]string{
	"echo_server_cstring": "cstring", "echo_server_onerecv": "onerecv", "echo_server_fixedbuf": "truncate",
	"echo_server_serial": "serial", "echo_server_noclose": "halfclose", "echo_server_sigpipe": "sigpipe",
	"echo_server_sigpipe_fin": "sigpipe", "echo_server_poll_sigpipe": "sigpipe", "echo_server_cxx_sigpipe": "sigpipe",
	"echo_server_noreuse":     "noreuse",
	"udp_echo_server_noreply": "noreply", "udp_echo_server_merge": "merge", "udp_echo_server_cstring": "cstring",
	"udp_echo_server_truncate": "truncate", "udp_echo_server_onepeer": "onepeer",
	"sum_server_byteorder": "byteorder", "sum_server_onereq": "onereq", "sum_server_serial": "serial",
	"unix_echo_server_serial": "serial", "unix_echo_server_nounlink": "nounlink",
	"echo_client_onerecv": "client-onerecv", "echo_client_noerror": "client-noerror",
	"udp_client_noretry": "client-noretry",
}

var (
	cAuditOnce sync.Once
	cAudit     map[string]string // spec file + mutant -> the first test that failed it
)

// cAuditOf returns the first test that failed each mutant of the exercises,
// audited once: against their built-in references, the sum exercise also
// against sum_server (byteorder needs a program), the clients against the
// correct clients of dir.
func cAuditOf(t *testing.T, dir string) map[string]string {
	cAuditOnce.Do(func() {
		var specs []*runner.Spec
		for _, f := range []struct {
			file string
			o    runner.LoadOptions
		}{
			{"echo.yaml", runner.LoadOptions{}},
			{"udp-echo.yaml", runner.LoadOptions{}},
			{"unix-echo.yaml", runner.LoadOptions{}},
			{"sum.yaml", runner.LoadOptions{}},
			{"sum.yaml", runner.LoadOptions{Programs: map[string]string{"sum": filepath.Join(dir, "sum_server") + " {{port}}"}}},
			{"echo-client.yaml", runner.LoadOptions{Vars: map[string]string{"client": filepath.Join(dir, "echo_client")}}},
			{"udp-client.yaml", runner.LoadOptions{Vars: map[string]string{"client": filepath.Join(dir, "udp_client")}}},
		} {
			s, err := runner.Load(filepath.Join("../../specs", f.file), f.o)
			if err != nil {
				t.Fatal(err)
			}
			specs = append(specs, s)
		}
		cAudit = map[string]string{}
		for _, s := range runner.Audit(context.Background(), specs, runner.AuditOptions{}).Specs {
			for _, ta := range s.Targets {
				for _, m := range ta.Mutants {
					if key := filepath.Base(s.File) + " " + m.Name; m.Caught != nil && cAudit[key] == "" {
						cAudit[key] = m.Caught.Name
					}
				}
			}
		}
	})
	return cAudit
}
