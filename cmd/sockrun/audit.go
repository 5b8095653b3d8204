package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/sockrun/sockrun/runner"
)

// auditUsage is the help of sockrun audit.
var auditUsage = fmt.Sprintf(`sockrun audit proves what an exercise catches: it runs each spec against
mutants of its reference, each with one classic bug, and names the first
test that fails each one.

Usage:
  sockrun audit [flags] SPEC...

The reference is each server's built-in behaviour (or script), or the
program given with --run; a client exercise needs its reference client,
given as the var its run: steps name (--var client=PATH). The reference
must pass every test first. Each mutant runs the tests that use it in file
order, and stops at the first that fails it.

Flags (before or after the specs):
  --run NAME=COMMAND   server NAME's reference is this program ({{port}}... filled in)
  --var K=V            set the spec's var K (the reference client: --var client=PATH)
  --format FORMAT      the report's format, one of: %s (default: text)
  -o FILE              write the report to FILE instead of standard output
  -j N                 run N tests at once (default: %d per CPU; most wait for a deadline)
  -v                   show how each mutant failed its test
  --list               list the mutants and the bugs they carry, and exit

Exit status: 0 every mutant that applies was caught, 1 a mutant was not caught
or a reference fails its spec, 2 usage or spec error, 130 or 143 interrupted.
`, strings.Join(runner.AuditFormats(), ", "), runner.DefaultAuditJobs)

// audit is sockrun audit.
func audit(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("sockrun audit")
	var lf loadFlags
	lf.register(fs)
	format := fs.String("format", "text", "report format")
	outFile := fs.String("o", "", "write the report to FILE")
	jobs := fs.Int("j", 0, "tests at once")
	verbose := fs.Bool("v", false, "show how each mutant failed")
	list := fs.Bool("list", false, "list the mutants")
	help := fs.Bool("help", false, "")
	fs.BoolVar(help, "h", false, "")
	files, err := parse(fs, args)
	switch {
	case *help:
		fmt.Fprint(stdout, auditUsage)
		return exitPass
	case err != nil:
		return usageError(stderr, err)
	case *list:
		fmt.Fprint(stdout, runner.MutantList())
		return exitPass
	case len(files) == 0:
		return usageError(stderr, errors.New("audit: no spec given"))
	case *jobs < 0:
		return usageError(stderr, fmt.Errorf("-j %d: expected a number of tests at once, 1 or more", *jobs))
	case !slices.Contains(runner.AuditFormats(), *format):
		return usageError(stderr, fmt.Errorf("--format %s: audit writes one of: %s", *format, strings.Join(runner.AuditFormats(), ", ")))
	}
	specs, code := load(files, lf, stderr)
	if code != exitPass {
		return code
	}
	out := stdout
	if *outFile != "" {
		f, err := os.Create(*outFile)
		if err != nil {
			return usageError(stderr, err)
		}
		defer f.Close()
		out = f
	}
	rep := runner.Audit(ctx, specs, runner.AuditOptions{Jobs: *jobs})
	if err := runner.WriteAudit(out, rep, *format, *verbose); err != nil {
		fmt.Fprintf(stderr, "sockrun: writing the report: %v\n", err)
		return exitUsage
	}
	return exitStatus(ctx, rep.Passed())
}
