package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

const protocolsDir = "../../examples/protocols"

// TestProtocolExamples runs each spec of examples/protocols against the
// real service it was written for, where that service is installed (.ci/run
// installs them from Debian), and asserts the full score. Then it runs a
// copy with one expectation made wrong, and asserts that the test holding
// it fails, for the reason given: each spec can fail.
func TestProtocolExamples(t *testing.T) {
	for _, tc := range []struct {
		spec  string
		needs []string // programs, each from the Debian package of the same name unless pkg says
		pkg   map[string]string
		score string
		// The wrong copy: old (found exactly once) becomes new, and the
		// test named fails, with why in its report.
		old, new, fails, why string
	}{
		{
			spec: "redis.yaml", needs: []string{"redis-server"}, score: "score 6/6",
			old: `- expect: "$9\r\na\r\n\x00\xffb\r\nc\r\n"`, new: `- expect: "$9\r\na\r\n\x00\xffb\r\nC\r\n"`,
			fails: "SET then GET gives back a binary-safe bulk string", why: "wrong bytes: byte 12 differs",
		},
		{
			spec: "memcached.yaml", needs: []string{"memcached"}, score: "score 8/8",
			old: `- expect: [{hex: "81 00 0000 00 00 0001"}, {u32: 9}, {u32: 9}`, new: `- expect: [{hex: "81 00 0000 00 00 0000"}, {u32: 9}, {u32: 9}`,
			fails: "binary get of a missing key says not found", why: "wrong bytes: byte 7 differs",
		},
		{
			spec: "dns.yaml", needs: []string{"dnsmasq"}, pkg: map[string]string{"dnsmasq": "dnsmasq-base"}, score: "score 8/8",
			old: `- {u32: 300}`, new: `- {u32: 299}`,
			fails: "a TXT record, with the TTL of local-ttl", why: "wrong bytes: the datagram differs",
		},
		{
			spec: "http.yaml", needs: []string{"busybox"}, score: "score 7/7",
			old: `{regex: '(?im)^content-length: 67\r\n'}`, new: `{regex: '(?im)^content-length: 66\r\n'}`,
			fails: "a page, its headers in any order, its body, then the end", why: "closed early",
		},
		{
			spec: "inetd.yaml", needs: []string{"socat", "busybox"}, score: "score 2/2",
			old: `- wait: {server: rev, exit: 0}`, new: `- wait: {server: rev, exit: 1}`,
			fails: "a filter answers when the client has finished writing", why: "wrong exit status: the program exited with status 0, expected status 1",
		},
		{
			spec: "tls.yaml", needs: []string{"socat", "openssl"}, score: "score 6/6",
			old: `- connect: {to: echo, tls: {server_name: localhost}}`, new: `- connect: {to: echo, tls: {server_name: wrong.example}}`,
			fails: "an echo over TLS, the certificate checked for its name", why: "not wrong.example",
		},
		{
			spec: "chat.yaml", needs: []string{"ngircd"}, score: "score 5/5",
			old: `- expect: {silence: true, on: bob, timeout: 200ms}`, new: `- expect: {line: ":bob!~bob@127.0.0.1 PRIVMSG #room :hi alice", on: bob, timeout: 200ms}`,
			fails: "a message to the channel reaches the others, not its sender", why: "timeout",
		},
	} {
		t.Run(strings.TrimSuffix(tc.spec, ".yaml"), func(t *testing.T) {
			for _, prog := range tc.needs {
				if _, err := exec.LookPath(prog); err != nil {
					pkg := prog
					if p, ok := tc.pkg[prog]; ok {
						pkg = p
					}
					t.Skipf("%s not installed: apt-get install %s", prog, pkg)
				}
			}
			t.Parallel()
			path := filepath.Join(protocolsDir, tc.spec)
			if out, code := runSpec(t, path); code != 0 || !strings.Contains(out, tc.score+": ") || !strings.Contains(out, " 0 failed") {
				t.Fatalf("exit %d; want 0 and %s, every test passed:\n%s", code, tc.score, out)
			}

			src, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if n := bytes.Count(src, []byte(tc.old)); n != 1 {
				t.Fatalf("%s holds %q %d times, want once", tc.spec, tc.old, n)
			}
			wrong := filepath.Join(wrongCopyDir(t), tc.spec)
			if err := os.WriteFile(wrong, bytes.Replace(src, []byte(tc.old), []byte(tc.new), 1), 0o644); err != nil {
				t.Fatal(err)
			}
			// The others passed above, with the same service: only the test
			// made wrong needs to run again.
			out, code := runSpec(t, wrong, "--filter", "^"+regexp.QuoteMeta(tc.fails)+"$")
			if code != 1 || !strings.Contains(out, "\n  FAIL  0/1  "+tc.fails+"\n") || !strings.Contains(out, "score 0/1: ") {
				t.Fatalf("exit %d; with %q for %q, want %q to fail:\n%s", code, tc.new, tc.old, tc.fails, out)
			}
			if !strings.Contains(out, tc.why) {
				t.Errorf("the failure does not say %q:\n%s", tc.why, out)
			}
		})
	}
}

// runSpec runs a spec as the CLI would, and returns its text report and
// exit status.
func runSpec(t *testing.T, args ...string) (string, int) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, nil, &stdout, &stderr)
	return stdout.String() + stderr.String(), code
}

// wrongCopyDir is a folder for a modified copy of a spec, beside links to
// what the specs read from their own folder (htdocs/), so that relative
// paths resolve as they do for the original.
func wrongCopyDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	entries, err := os.ReadDir(protocolsDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.IsDir() {
			abs, err := filepath.Abs(filepath.Join(protocolsDir, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(abs, filepath.Join(dir, e.Name())); err != nil {
				t.Fatal(err)
			}
		}
	}
	return dir
}
