// Command sockrun runs scripted network tests from YAML specs: against its
// own built-in servers, or against programs under test.
//
//	sockrun [flags] SPEC...              run; a SPEC may be a directory of *.yaml
//	sockrun check SPEC...                validate only
//	sockrun serve SPEC [--server NAME]   run the built-in servers until interrupted
//	sockrun record --to ADDR -o FILE     proxy a live session into a spec
//	sockrun help spec                    the spec language, by example
//	sockrun grade [flags] SPEC SUBMISSION_DIR...   grade each folder: a CSV, a report each
//	sockrun merge [-o FILE] FILE...      join the outputs of shards (--shard K/N) into one
//
// Exit status: 0 every test passed, 1 a test failed, 2 usage or spec error,
// 130 or 143 interrupted by SIGINT or SIGTERM (the report says it is
// incomplete).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/sockrun/sockrun/runner"
)

func main() {
	if runsPrograms(os.Args[1:]) {
		// Programs under test, and all they start, die with sockrun.
		if status, contained := runner.Contain(); contained {
			os.Exit(status)
		}
	}
	ctx, stop := notifyInterrupt(context.Background())
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// runsPrograms reports whether a command line may start programs under
// test: not one that only reads specs or prints.
func runsPrograms(args []string) bool {
	if len(args) == 0 {
		return false
	}
	switch args[0] {
	case "check", "help", "-h", "--help", "-help", "version", "schema":
		return false
	}
	return true
}

// Exit statuses.
const (
	exitPass  = 0 // every test passed
	exitFail  = 1 // a test failed
	exitUsage = 2 // usage or spec error: nothing ran
	// A run ended by a signal exits 128 plus the signal's number, as a
	// shell reports a command the signal killed: 130 for SIGINT, 143 for
	// SIGTERM.
	exitSignal = 128
)

// An interruption is the cause of a run that a signal ended: the
// report's Incomplete reads "interrupted by SIGINT". It is a
// context.Canceled, so that the engine treats it as any cancellation.
type interruption struct{ sig syscall.Signal }

func (e interruption) Error() string {
	name := map[syscall.Signal]string{syscall.SIGINT: "SIGINT", syscall.SIGTERM: "SIGTERM"}[e.sig]
	if name == "" {
		name = e.sig.String()
	}
	return "interrupted by " + name
}

func (e interruption) Is(target error) bool { return target == context.Canceled }

// notifyInterrupt returns a context that the first SIGINT or SIGTERM
// cancels, with an interruption as its cause. Later signals are caught
// and ignored: sockrun is already ending what it started, within the
// programs' stop grace, and the report is still to be written; dying
// half way would leave programs behind.
func notifyInterrupt(parent context.Context) (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(parent)
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case s := <-sigs:
			cancel(interruption{s.(syscall.Signal)})
		case <-done:
		}
	}()
	return ctx, func() {
		signal.Stop(sigs)
		close(done)
		cancel(nil)
	}
}

// exitStatus is the exit status of a run under ctx that passed or not: a
// signal's when one ended the run, else pass or fail. Every command that
// runs tests ends with it.
func exitStatus(ctx context.Context, passed bool) int {
	var sig interruption
	switch {
	case errors.As(context.Cause(ctx), &sig):
		return exitSignal + int(sig.sig)
	case !passed:
		return exitFail
	}
	return exitPass
}

// usage is the help text; the list of formats comes from the reporter
// table.
var usage = fmt.Sprintf(`sockrun runs scripted network tests from YAML specs.

Usage:
  sockrun [flags] SPEC...              run the tests; a SPEC may be a directory of *.yaml
  sockrun check [flags] SPEC...        validate the specs, run nothing
  sockrun serve [-v] SPEC [--server NAME]
                                       run the built-in servers until interrupted; log
                                       each connection on stderr (with -v, every byte)
  sockrun record --to HOST:PORT [-o FILE]
                                       proxy clients to a live server, then write what
                                       passed as a spec (to stdout without -o)
  sockrun audit [--list] [flags] SPEC...
                                       which classic bugs the specs catch ('sockrun audit -h')
  sockrun schema                       print the JSON Schema of the spec language
  sockrun help spec|reference          the spec language: by example, or every key
  sockrun version                      the version of sockrun (also --version)
  sockrun completion bash|zsh|fish     a shell completion script
  sockrun grade [flags] SPEC SUBMISSION_DIR...
                                       grade each folder (SPEC: a file or a folder of specs)
  sockrun merge [-o FILE] FILE...      join the outputs of shards into one: json, junit,
                                       gradescope reports, or grade CSVs

Flags (before or after the specs):
  --run NAME=COMMAND   server NAME is a program under test: sockrun starts, waits for
                       and stops it ({{port}}, {{path}}... are filled in per word)
  --addr NAME=HOST:PORT  server NAME already runs there: neither started nor stopped
  --var K=V            set the spec's var K (used as {{K}})
  --env NAME[=VALUE]   give programs under test NAME, from sockrun's environment or as
                       VALUE (they get a clean environment: PATH, HOME, TMPDIR, LANG, TERM)
  --user NAME          run programs under test as user NAME (sockrun must run as root)
  --isolate            run each test in a network namespace of its own, loopback only
                       (then tests on fixed ports run in parallel)
  --limit NAME=VALUE   a limit of each program under test, over the spec's limits:
                       cpu=60s memory=1GiB procs=256 fsize=256MiB (the defaults), or unlimited
  --format FORMAT      the report's format, one of: %s
                       (default: text)
  -o FILE              write the report to FILE instead of standard output
  --hidden-visibility V  when Gradescope shows students the hidden tests, one of:
                       %s (default: after_published)
  --filter REGEX       run only the tests whose names match
  -j N                 run N tests at once (default: the number of CPUs; for grade,
                       across all submissions, as many as fit the machine, from 1 to
                       16 per CPU as its run queue is long or short)
  --shard K/N          run share K of N (1-based) of the tests, or for grade of the
                       submissions, so that N machines each run one; see merge
  -v                   show a transcript of every byte sent and received
  --show-hidden        show the steps and data of hidden tests (the grader's view)

Record's flags:
  --type TYPE          stream (TCP, the default) or dgram (UDP)
  --listen HOST:PORT   where clients come (default: a free port on 127.0.0.1)
  --count N            stop after N sessions have ended (stream)
  --idle DURATION      stop once nothing has passed for DURATION
  --pause DURATION     a pause this long ends a step (default 100ms)
  (and Ctrl-C stops it too; it writes the spec, and exits 0)

Grade flags (and the flags above: --run, --var, --filter, -j, --shard...):
  --build CMD          run CMD in each submission's folder first (split into words like
                       --run, no shell: write sh -c '...' for one); if it fails, the
                       submission scores 0 and its report shows the build's output
  --build-timeout D    bound on each build (default %s)
  -o FILE              write the grades CSV to FILE instead of standard output: a row
                       per submission, in the order given, with the columns
                       %s
  --reports DIR        write one report per submission into DIR, in --format, named
                       after its folder
  The programs of --run run in each submission's folder.

Examples:
  sockrun specs/echo.yaml                                   the built-in echo server passes
  sockrun specs/echo.yaml --run echo='./echo_server {{port}}'   grade a student's server
  sockrun specs/echo-client.yaml --var client=./echo_client     grade a student's client
  sockrun specs/ --format junit -o report.xml                  every exercise, for CI
  sockrun check specs/                                      validate without running
  sockrun grade specs/echo.yaml --run echo='./echo_server {{port}}' --build make \
      -o grades.csv --reports reports/ subs/*                 grade a class
  sockrun serve specs/echo.yaml                             an echo server to poke with nc
  sockrun record --to 127.0.0.1:7000 -o session.yaml        record a session, to replay with
  sockrun session.yaml --addr server=127.0.0.1:7000           ... the server it was recorded from

Exit status: 0 every test passed, 1 a test failed, 2 usage or spec error (nothing ran),
130 or 143 interrupted by SIGINT or SIGTERM (the report is written, and says it is incomplete).
grade exits 0 when every submission has its grade, whatever the scores; interrupted, it
writes what is done, marks the rest "not graded", and exits 130 or 143.
The spec language: 'sockrun help spec' (by example), 'sockrun help reference' (every
key, step, matcher and data form), or the README.
`, strings.Join(runner.Formats(), ", "), strings.Join(runner.Visibilities(), ", "),
	runner.DefaultBuildTimeout, strings.Join(runner.CSVHeader, ","))

// run is the whole CLI: main only wires it to the process.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	switch args[0] {
	case "check":
		return check(args[1:], stdout, stderr)
	case "serve":
		return serve(ctx, args[1:], stdout, stderr)
	case "record":
		return record(ctx, args[1:], stdout, stderr)
	case "audit":
		return audit(ctx, args[1:], stdout, stderr)
	case "schema":
		if len(args) > 1 {
			return usageError(stderr, errors.New("schema takes no arguments"))
		}
		stdout.Write(runner.Schema())
		return exitPass
	case "grade":
		return gradeCmd(ctx, args[1:], stdout, stderr)
	case "merge":
		return mergeCmd(args[1:], stdout, stderr)
	case "help":
		return help(args[1:], stdout, stderr)
	case "version", "--version":
		if len(args) > 1 {
			return usageError(stderr, errors.New("version takes no arguments"))
		}
		fmt.Fprint(stdout, versionText(debug.ReadBuildInfo()))
		return exitPass
	case "completion":
		return completion(args[1:], stdout, stderr)
	}
	if unknownCommand(args[0], stderr) {
		return exitUsage
	}
	return runTests(ctx, args, stdout, stderr)
}

// pairs is a repeatable NAME=VALUE flag.
type pairs struct{ m map[string]string }

func (p *pairs) String() string { return "" }

func (p *pairs) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	if !ok || k == "" {
		return fmt.Errorf("expected NAME=VALUE, found %q", s)
	}
	if p.m == nil {
		p.m = map[string]string{}
	}
	p.m[k] = v
	return nil
}

// list is a repeatable flag.
type list []string

func (l *list) String() string     { return strings.Join(*l, ",") }
func (l *list) Set(s string) error { *l = append(*l, s); return nil }

// parse parses flags that may come before and after the positional
// arguments (the flag package alone stops at the first of those).
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			return append(pos, rest...), nil
		}
		if len(rest) == 0 {
			return pos, nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are printed once, by usageError
	return fs
}

func usageError(stderr io.Writer, err error) int {
	if errors.Is(err, flag.ErrHelp) { // -h or --help, asked for
		fmt.Fprint(stderr, usage)
		return exitPass
	}
	fmt.Fprintf(stderr, "sockrun: %v\nRun 'sockrun help' for usage.\n", err)
	return exitUsage
}

// loadFlags are the flags every subcommand that reads specs has.
type loadFlags struct {
	vars  pairs
	runs  pairs
	addrs map[string]string // --addr, where the subcommand has it
}

func (l *loadFlags) register(fs *flag.FlagSet) {
	fs.Var(&l.vars, "var", "set var K=V")
	fs.Var(&l.runs, "run", "server NAME=COMMAND is a program under test")
}

// runFlags are the flags of a run, which grade shares: parsed by
// register's flag set, checked by config.
type runFlags struct {
	load       loadFlags
	addrs      pairs
	format     string
	out        string
	filter     string
	jobs       int
	verbose    bool
	showHidden bool
	hiddenVis  string
	shard      string
	help       bool
	envs       list   // --env: passed to programs under test
	user       string // --user: who programs under test run as
	limits     list   // --limit NAME=VALUE: over the specs' limits
	isolate    bool   // --isolate: each test in a network namespace of its own
}

func (f *runFlags) register(fs *flag.FlagSet) {
	f.load.register(fs)
	fs.Var(&f.addrs, "addr", "server NAME=HOST:PORT already runs there")
	fs.StringVar(&f.format, "format", "text", "report format")
	fs.StringVar(&f.out, "o", "", "write the report to FILE")
	fs.StringVar(&f.filter, "filter", "", "run only tests whose names match REGEX")
	fs.IntVar(&f.jobs, "j", 0, "tests at once")
	fs.BoolVar(&f.verbose, "v", false, "transcript of every byte")
	fs.BoolVar(&f.showHidden, "show-hidden", false, "show hidden tests' details")
	fs.StringVar(&f.hiddenVis, "hidden-visibility", "", "Gradescope visibility of hidden tests")
	fs.StringVar(&f.shard, "shard", "", "run share K of N")
	fs.Var(&f.envs, "env", "pass NAME[=VALUE] to programs under test")
	fs.StringVar(&f.user, "user", "", "run programs under test as this user (as root)")
	fs.Var(&f.limits, "limit", "NAME=VALUE: a limit of every program under test")
	fs.BoolVar(&f.isolate, "isolate", false, "each test in a network namespace of its own")
	fs.BoolVar(&f.help, "help", false, "")
	fs.BoolVar(&f.help, "h", false, "")
}

// A runConfig is what a run's flags mean, checked: how to run, what share
// to run, and how to report.
type runConfig struct {
	opts     runner.Options
	shard    runner.Shard
	reporter runner.Reporter
}

// config checks the flags; its error is a usage error. color says
// whether the report goes to a terminal that wants colour.
func (f *runFlags) config(color bool) (*runConfig, error) {
	if f.jobs < 0 {
		return nil, fmt.Errorf("-j %d: expected a number of tests at once, 1 or more", f.jobs)
	}
	c := &runConfig{opts: runner.Options{Jobs: f.jobs, Verbose: f.verbose, Addrs: f.addrs.m}}
	var err error
	if f.isolate {
		if len(f.addrs.m) > 0 {
			return nil, errors.New("--isolate and --addr: a test in a network namespace of its own cannot reach a server elsewhere")
		}
		if err := runner.CanIsolate(); err != nil {
			return nil, err
		}
		c.opts.Isolate = true
	}
	if f.user != "" {
		if c.opts.Programs.User, err = runner.LookupUser(f.user); err != nil {
			return nil, err
		}
	}
	for _, l := range f.limits {
		name, value, _ := strings.Cut(l, "=")
		if err := c.opts.Programs.Limits.SetLimit(name, value); err != nil {
			return nil, fmt.Errorf("--limit %s: %v", l, err)
		}
	}
	// SOCKRUN_PASSENV=NAME,NAME... is --env NAME for each, for a CI
	// configuration that passes the same names to every run.
	passed := strings.FieldsFunc(os.Getenv("SOCKRUN_PASSENV"), func(r rune) bool { return r == ',' || r == ' ' })
	for _, e := range append(passed, f.envs...) {
		if kv, ok := runner.PassEnv(e); ok { // an unset NAME is not passed, as with docker run -e
			c.opts.Programs.Env = append(c.opts.Programs.Env, kv)
		}
	}
	if f.filter != "" {
		if c.opts.Filter, err = regexp.Compile(f.filter); err != nil {
			return nil, fmt.Errorf("--filter: %v", err)
		}
	}
	if f.shard != "" {
		if c.shard, err = runner.ParseShard(f.shard); err != nil {
			return nil, fmt.Errorf("--shard %v", err)
		}
	}
	if epoch := os.Getenv("SOURCE_DATE_EPOCH"); epoch != "" {
		// Reproducible reports, as reproducible builds do it.
		sec, err := strconv.ParseInt(epoch, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("SOURCE_DATE_EPOCH=%s: expected seconds since 1970", epoch)
		}
		c.opts.Now = func() time.Time { return time.Unix(sec, 0).UTC() }
	}
	if v := f.hiddenVis; v != "" && !slices.Contains(runner.Visibilities(), v) {
		return nil, fmt.Errorf("--hidden-visibility %s: expected one of: %s", v, strings.Join(runner.Visibilities(), ", "))
	}
	c.reporter, err = runner.NewReporter(f.format, runner.ReportOptions{
		Color: color, ShowHidden: f.showHidden, Verbose: f.verbose, HiddenVisibility: f.hiddenVis})
	if err != nil {
		return nil, fmt.Errorf("--format: %v", err)
	}
	return c, nil
}

// loadSpecs decodes the specs and checks the flags that name their
// servers and tests against them.
func (f *runFlags) loadSpecs(files []string, stderr io.Writer) ([]*runner.Spec, int) {
	f.load.addrs = f.addrs.m // a server given by --addr needs no behaviour: nor run:
	specs, code := load(files, f.load, stderr)
	if code != exitPass {
		return nil, code
	}
	for name := range f.addrs.m {
		if !slices.ContainsFunc(specs, func(s *runner.Spec) bool { return s.Server(name) != nil }) {
			return nil, usageError(stderr, fmt.Errorf("--addr %s=...: no spec has a server %q", name, name))
		}
	}
	return specs, exitPass
}

// selected counts the tests of specs that opts selects: a filter that
// matches none is a usage error.
func selected(specs []*runner.Spec, opts runner.Options) int {
	n := 0
	for _, s := range specs {
		n += len(runner.Selected(s, opts))
	}
	return n
}

func runTests(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("sockrun")
	var f runFlags
	f.register(fs)
	files, err := parse(fs, args)
	if f.help {
		fmt.Fprint(stdout, usage)
		return exitPass
	}
	if err != nil {
		return usageError(stderr, err)
	}
	if len(files) == 0 {
		return usageError(stderr, errors.New("no spec given"))
	}
	cfg, err := f.config(f.out == "" && colorful(stdout))
	if err != nil {
		return usageError(stderr, err)
	}
	specs, code := f.loadSpecs(files, stderr)
	if code != exitPass {
		return code
	}
	if selected(specs, cfg.opts) == 0 {
		return usageError(stderr, fmt.Errorf("--filter %q matches no test", f.filter))
	}
	// A shard may be empty (more shards than tests): it passes, so that
	// a CI matrix wider than the suite stays green.
	cfg.opts.Shard = cfg.shard
	return execute(ctx, cfg, specs, f.out, stdout, stderr)
}

// execute runs the specs as cfg says and writes the report to outFile,
// or stdout when it is empty.
func execute(ctx context.Context, cfg *runConfig, specs []*runner.Spec, outFile string, stdout, stderr io.Writer) int {
	out := stdout
	if outFile != "" {
		f, err := os.Create(outFile)
		if err != nil {
			return usageError(stderr, err)
		}
		defer f.Close()
		out = f
	}
	report := runner.Run(ctx, specs, cfg.opts)
	if err := cfg.reporter.Report(out, report); err != nil {
		fmt.Fprintf(stderr, "sockrun: writing the report: %v\n", err)
		return exitUsage
	}
	if outFile != "" {
		fmt.Fprintf(stderr, "%s; report in %s\n", report.Summary(), outFile)
	}
	return exitStatus(ctx, report.Passed())
}

// load expands directories and decodes every spec, printing every error.
func load(args []string, lf loadFlags, stderr io.Writer) ([]*runner.Spec, int) {
	files, err := expand(args)
	if err != nil {
		fmt.Fprintf(stderr, "sockrun: %v\n", err)
		return nil, exitUsage
	}
	var specs []*runner.Spec
	failed := false
	for _, file := range files {
		spec, err := runner.Load(file, runner.LoadOptions{Vars: lf.vars.m, Programs: lf.runs.m, Addrs: lf.addrs})
		if err != nil {
			printSpecError(stderr, err)
			failed = true
			continue
		}
		specs = append(specs, spec)
	}
	if failed {
		return nil, exitUsage
	}
	return specs, exitPass
}

// expand replaces each directory with the *.yaml and *.yml files in it.
func expand(args []string) ([]string, error) {
	var files []string
	for _, a := range args {
		fi, err := os.Stat(a)
		if err != nil {
			return nil, err
		}
		if !fi.IsDir() {
			files = append(files, a)
			continue
		}
		var found []string
		for _, pat := range []string{"*.yaml", "*.yml"} {
			m, _ := filepath.Glob(filepath.Join(a, pat))
			found = append(found, m...)
		}
		if len(found) == 0 {
			return nil, fmt.Errorf("%s: no *.yaml files in the directory", a)
		}
		slices.Sort(found)
		files = append(files, found...)
	}
	return files, nil
}

// printSpecError prints each spec error with the line it points at and a
// caret under the column.
func printSpecError(w io.Writer, err error) {
	list := runner.SpecErrors(err)
	if len(list) == 0 {
		fmt.Fprintf(w, "sockrun: %v\n", err)
		return
	}
	sources := map[string][]string{}
	for _, e := range list {
		fmt.Fprintf(w, "%s\n", e)
		if e.Pos.Line == 0 {
			continue
		}
		lines, ok := sources[e.Pos.File]
		if !ok {
			if b, err := os.ReadFile(e.Pos.File); err == nil {
				lines = strings.Split(string(b), "\n")
			}
			sources[e.Pos.File] = lines
		}
		if e.Pos.Line > len(lines) {
			continue
		}
		num := strconv.Itoa(e.Pos.Line)
		pad := strings.Repeat(" ", len(num))
		line := strings.ReplaceAll(lines[e.Pos.Line-1], "\t", " ")
		fmt.Fprintf(w, "%s |\n%s | %s\n%s | %s^\n", pad, num, line, pad, strings.Repeat(" ", max(e.Pos.Col-1, 0)))
	}
}

func check(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("sockrun check")
	var lf loadFlags
	lf.register(fs)
	files, err := parse(fs, args)
	if err != nil {
		return usageError(stderr, err)
	}
	if len(files) == 0 {
		return usageError(stderr, errors.New("check: no spec given"))
	}
	specs, code := load(files, lf, stderr)
	if code != exitPass {
		return code
	}
	for _, s := range specs {
		points := 0
		for _, t := range s.Tests {
			points += t.Points
		}
		fmt.Fprintf(stdout, "%s: ok: %s, %s, %d points\n", s.File, plural(len(s.Servers), "server"), plural(len(s.Tests), "test"), points)
	}
	return exitPass
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return strconv.Itoa(n) + " " + what + "s"
}

// colorful reports whether w is a terminal that wants colour: not when
// NO_COLOR is set (no-color.org) or TERM is dumb.
func colorful(w io.Writer) bool {
	return os.Getenv("NO_COLOR") == "" && isTerminal(w)
}
