package runner

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/txtar"
)

// handBuilt is a report the engine cannot make yet: a skipped test beside
// a pass, a failure and a hidden failure; incomplete, it also has a test
// stopped part way and one that never started. Its clock is fixed, and
// its durations are odd on purpose: formats that carry them must not
// round them.
func handBuilt(incomplete bool) *Report {
	at := func(line, col int) Pos { return Pos{File: "spec.yaml", Line: line, Col: col} }
	tests := []*TestResult{
		{Name: "passes", Pos: at(5, 5), Points: 2, Passed: true, Duration: 1500 * time.Microsecond},
		{Name: "wrong bytes", Pos: at(8, 5), Points: 1, Hint: "The server changes the bytes it echoes.",
			Duration: 2 * time.Millisecond, Failure: &Failure{Kind: KindMismatch, Pos: at(10, 9), Step: "expect data on echo",
				Message: "byte 1 differs", Expected: `"a\x02"`, WantData: []byte("a\x02"), Received: []byte("a\x01"), Offset: 1,
				Output: "server echo stdout:\nserver starting\n"}},
		{Name: "needs a client", Pos: at(12, 5), Points: 3,
			Skipped: "needs the client under test: give it with --var client=PATH"},
		{Name: "hidden one", Pos: at(15, 5), Points: 2, Hidden: true, Hint: "One recv() is not one message.",
			Failure: &Failure{Kind: KindClosed, Pos: at(17, 9), Step: "expect data on echo", Message: "the peer closed the connection first",
				Expected: `"secret"`, WantData: []byte("secret"), Received: []byte("sec"), Offset: 3}},
	}
	rep := &Report{Started: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Duration: 1234567 * time.Microsecond}
	if incomplete {
		rep.Incomplete = "interrupted by SIGTERM"
		tests = append(tests,
			&TestResult{Name: "stopped", Pos: at(20, 5), Points: 1, Failure: &Failure{Kind: KindInterrupted, Pos: at(22, 9),
				Step: "sleep 1m", Message: "the run was interrupted", Offset: -1}},
			&TestResult{Name: "never started", Pos: at(24, 5), Points: 1, Failure: &Failure{Kind: KindInterrupted, Pos: at(24, 5),
				Message: "not run: interrupted by SIGTERM", Offset: -1}})
	}
	rep.Files = []*FileResult{{File: "spec.yaml", Name: "hand", Tests: tests}}
	return rep
}

// TestReportGoldens writes the hand-built reports in every format and
// compares them with testdata/reports/*.txtar, one section per format.
// UPDATE_GOLDEN=1 rewrites the files.
func TestReportGoldens(t *testing.T) {
	for _, c := range []struct {
		name       string
		incomplete bool
	}{{"skipped", false}, {"incomplete", true}} {
		t.Run(c.name, func(t *testing.T) {
			file := filepath.Join("testdata", "reports", c.name+".txtar")
			got := &txtar.Archive{Comment: []byte("Reports of runner.handBuilt(" + map[bool]string{true: "true", false: "false"}[c.incomplete] +
				") in every format; UPDATE_GOLDEN=1 go test ./runner rewrites this file.\n")}
			for _, format := range Formats() {
				rep, err := NewReporter(format, ReportOptions{})
				if err != nil {
					t.Fatal(err)
				}
				var b bytes.Buffer
				if err := rep.Report(&b, handBuilt(c.incomplete)); err != nil {
					t.Fatalf("%s: %v", format, err)
				}
				got.Files = append(got.Files, txtar.File{Name: format, Data: b.Bytes()})
			}
			if os.Getenv("UPDATE_GOLDEN") != "" {
				if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(file, txtar.Format(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := txtar.ParseFile(file)
			if err != nil {
				t.Fatalf("%v (UPDATE_GOLDEN=1 go test ./runner makes it)", err)
			}
			wantFiles := map[string]string{}
			for _, f := range want.Files {
				wantFiles[f.Name] = string(f.Data)
			}
			for _, f := range got.Files {
				if w, ok := wantFiles[f.Name]; !ok || w != string(f.Data) {
					t.Errorf("%s: the %s report differs from %s (UPDATE_GOLDEN=1 rewrites it)\ngot:\n%s\nwant:\n%s", c.name, f.Name, file, f.Data, w)
				}
				delete(wantFiles, f.Name)
			}
			for name := range wantFiles {
				t.Errorf("%s has a %s section, but there is no such format", file, name)
			}
		})
	}
}

// TestHiddenStaysHidden checks every format: a hidden test that fails
// shows neither its steps nor its data nor its programs' output, even
// with -v; with --show-hidden, it does (so the check can fail).
func TestHiddenStaysHidden(t *testing.T) {
	rep := &Report{Files: []*FileResult{{File: "secret-spec.yaml", Name: "f", Tests: []*TestResult{{
		Name: "hidden one", Points: 1, Hidden: true, Pos: Pos{File: "secret-spec.yaml", Line: 3, Col: 5},
		Failure: &Failure{Kind: KindMismatch, Pos: Pos{File: "secret-spec.yaml", Line: 42, Col: 7}, Step: "expect SECRET-step",
			Server: "SECRET-server", Message: "SECRET-message differs", Expected: `"SECRET-want"`, WantData: []byte("SECRET-want"),
			Received: []byte("SECRET-got"), Offset: 7, Output: "SECRET-output\n"},
		Transcript: []Event{{Conn: "c", What: dirReceived, Data: []byte("SECRET-sent"), Size: 11}},
	}}}}}
	for _, format := range Formats() {
		for _, show := range []bool{false, true} {
			r, err := NewReporter(format, ReportOptions{ShowHidden: show, Verbose: true})
			if err != nil {
				t.Fatal(err)
			}
			var b strings.Builder
			if err := r.Report(&b, rep); err != nil {
				t.Fatal(err)
			}
			out := b.String()
			if leaks := strings.Contains(out, "SECRET") || strings.Contains(out, ":42:"); leaks != show {
				t.Errorf("%s, --show-hidden %v: details shown: %v, want %v\n%s", format, show, leaks, show, out)
			}
		}
	}
}
