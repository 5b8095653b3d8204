package main

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/sockrun/sockrun/runner"
)

// TestMutantsModelTheirBugs checks that each mutant of sockrun audit
// models its bug faithfully: a program with the same bug (the fakes the
// scripts grade, which behave like the C programs students hand in) fails
// first, in file order, the very test that caught the mutant. A mutant
// that failed an earlier test than the real bug, or a later one, would
// make the audit's table a lie.
func TestMutantsModelTheirBugs(t *testing.T) {
	bin := t.TempDir()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for name := range programs() {
		if err := os.Symlink(self, filepath.Join(bin, name)); err != nil {
			t.Fatal(err)
		}
	}
	// A client takes its bug from the environment: a spec passes the
	// client as one word, so each buggy client is a script of its own.
	client := func(prog, bug string) string {
		path := filepath.Join(bin, prog+"-"+bug)
		if bug == "" {
			path = filepath.Join(bin, prog+"-ok")
		}
		script := "#!/bin/sh\nBUG=" + bug + " exec " + filepath.Join(bin, prog) + ` "$@"` + "\n"
		if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
		return path
	}
	const specs = "../../specs/"
	echo := filepath.Join(bin, "echoserver") + " {{port}} -bug "
	unix := filepath.Join(bin, "echoserver") + " {{path}} -unix -bug "
	udp := filepath.Join(bin, "udpecho") + " {{port}} -bug "
	sum := filepath.Join(bin, "sumserver") + " {{port}} -bug "
	// A pair for each mutant, and one for each way a bug shows (SIGPIPE on
	// a Unix socket strikes at the first write to a closed peer). Not
	// paired: once, whose program ends, and sockrun sees a program that
	// exits after its client only if it exits before sockrun stops it, a
	// race that may fail any test (the mutant counts on what the clients
	// see: exitafterone and the mutant both fail 'an idle client' first
	// when the race goes one way); unix-echo's onerecv, whose test sends
	// three pieces 50ms apart, which a program starved that long reads
	// whole.
	cases := []struct {
		spec   string
		mutant string
		server string // the buggy program for this server...
		run    string
		var_   string // ...or the buggy client, as var client
	}{
		{"echo.yaml", "cstring", "echo", echo + "cstring", ""},
		{"echo.yaml", "onerecv", "echo", echo + "onerecv", ""},
		{"echo.yaml", "serial", "echo", echo + "serial", ""},
		{"echo.yaml", "halfclose", "echo", echo + "nohalfclose", ""},
		{"echo.yaml", "sigpipe", "echo", echo + "sigpipe", ""},
		{"echo.yaml", "noreuse", "echo", echo + "noreuse", ""},
		{"echo.yaml", "truncate", "echo", echo + "fixedbuf", ""},
		{"unix-echo.yaml", "sigpipe", "echo", unix + "sigpipe", ""},
		{"unix-echo.yaml", "nounlink", "echo", unix + "nounlink", ""},
		{"udp-echo.yaml", "cstring", "echo", udp + "cstring", ""},
		{"udp-echo.yaml", "truncate", "echo", udp + "truncate", ""},
		{"udp-echo.yaml", "merge", "echo", udp + "merge", ""},
		{"udp-echo.yaml", "onepeer", "echo", udp + "onepeer", ""},
		{"udp-echo.yaml", "noreply", "echo", udp + "noreply", ""},
		{"sum.yaml", "serial", "sum", sum + "serial", ""},
		{"sum.yaml", "noreuse", "sum", sum + "noreuse", ""},
		// A script's table cannot answer the swapped numbers of this one:
		// it is audited against the correct program (see refs).
		{"sum.yaml", "byteorder", "sum", sum + "byteorder", ""},
		{"echo-client.yaml", "client-onerecv", "", "", client("echoclient", "onerecv")},
		{"echo-client.yaml", "client-noerror", "", "", client("echoclient", "noerror")},
		{"udp-client.yaml", "client-noretry", "", "", client("udpclient", "noretry")},
	}
	load := func(file string, o runner.LoadOptions) *runner.Spec {
		s, err := runner.Load(specs+file, o)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	// The audit of each exercise against its reference: the built-in one,
	// or the correct client.
	var refs []*runner.Spec
	for _, f := range []string{"echo.yaml", "unix-echo.yaml", "udp-echo.yaml", "sum.yaml"} {
		refs = append(refs, load(f, runner.LoadOptions{}))
	}
	refs = append(refs, load("sum.yaml", runner.LoadOptions{Programs: map[string]string{"sum": filepath.Join(bin, "sumserver") + " {{port}}"}}))
	if raceDetector {
		// The client exercises' clients are this test binary, which
		// under -race on a loaded machine can take more than the
		// exercises' 2s to start and answer: a test that fails so
		// catches a mutant at the wrong test. Their mutants are checked
		// without -race.
		servers := cases[:0]
		for _, c := range cases {
			if c.var_ == "" {
				servers = append(servers, c)
			}
		}
		cases = servers
	} else {
		refs = append(refs, load("echo-client.yaml", runner.LoadOptions{Vars: map[string]string{"client": client("echoclient", "")}}))
		refs = append(refs, load("udp-client.yaml", runner.LoadOptions{Vars: map[string]string{"client": client("udpclient", "")}}))
	}
	// Most of these tests wait for a deadline, so many run at once; but a
	// race-built fake starts slowly, and a client that takes more than a
	// run step's 2s to start fails its reference.
	jobs := 4 * runtime.NumCPU()
	if raceDetector {
		jobs = 2 * runtime.NumCPU()
	}
	audit := runner.Audit(context.Background(), refs, runner.AuditOptions{Jobs: jobs})
	caught := map[string]*runner.TestResult{} // spec file + mutant -> the test that caught it
	for _, s := range audit.Specs {
		for _, r := range s.Reference.Tests {
			if r.Failure != nil {
				t.Fatalf("%s: the reference failed %q: %s", s.File, r.Name, r.Failure.Message)
			}
		}
		for _, ta := range s.Targets {
			for _, m := range ta.Mutants {
				if m.Caught != nil && caught[filepath.Base(s.File)+" "+m.Name] == nil {
					caught[filepath.Base(s.File)+" "+m.Name] = m.Caught
				}
			}
		}
	}
	// Each buggy program against its exercise, up to the test that caught
	// the mutant: the tests before it must pass, and it must fail.
	var bugs []*runner.Spec
	for _, c := range cases {
		o := runner.LoadOptions{Programs: map[string]string{c.server: c.run}}
		if c.var_ != "" {
			o = runner.LoadOptions{Vars: map[string]string{"client": c.var_}}
		}
		s := load(c.spec, o)
		if m := caught[c.spec+" "+c.mutant]; m != nil {
			for i, tt := range s.Tests {
				if tt.Name == m.Name {
					s.Tests = s.Tests[:i+1]
					break
				}
			}
		}
		bugs = append(bugs, s)
	}
	runs := runner.NewPool(jobs).Run(context.Background(), bugs, runner.Options{})
	for i, c := range cases {
		first, why := "", ""
		for _, r := range runs.Files[i].Tests {
			if r.Failure != nil {
				first, why = r.Name, r.Failure.Message
				break
			}
		}
		m := caught[c.spec+" "+c.mutant]
		switch {
		case m == nil:
			t.Errorf("%s, mutant %s: the audit caught no such mutant", c.spec, c.mutant)
		case first == "":
			t.Errorf("%s, mutant %s: the program with the bug (%s%s) passed %q, the test that caught the mutant", c.spec, c.mutant, c.run, c.var_, m.Name)
		case first != m.Name:
			t.Errorf("%s, mutant %s: the mutant failed %q first, the program with the bug (%s%s) failed %q: %s", c.spec, c.mutant, m.Name, c.run, c.var_, first, why)
		}
	}
}
