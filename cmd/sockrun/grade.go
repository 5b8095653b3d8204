package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"

	"github.com/sockrun/sockrun/runner"
)

// gradeCmd is 'sockrun grade': the run's flags and config, then every
// submission through one pool, a CSV and a report per submission.
func gradeCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("sockrun grade")
	var f runFlags
	f.register(fs)
	buildCmd := fs.String("build", "", "command to build each submission")
	buildTimeout := fs.Duration("build-timeout", runner.DefaultBuildTimeout, "bound on each build")
	reportsDir := fs.String("reports", "", "write one report per submission here")
	pos, err := parse(fs, args)
	if f.help {
		fmt.Fprint(stdout, usage)
		return exitPass
	}
	if err != nil {
		return usageError(stderr, err)
	}
	if len(pos) < 2 {
		return usageError(stderr, errors.New("grade: expected a SPEC (a file or a folder of specs) and one or more SUBMISSION_DIRs"))
	}
	cfg, err := f.config(false)
	if err != nil {
		return usageError(stderr, err)
	}
	opts := runner.GradeOptions{Run: cfg.opts, Jobs: f.jobs, BuildTimeout: *buildTimeout}
	if *buildCmd != "" {
		if opts.Build, err = runner.SplitCommand(*buildCmd); err != nil || len(opts.Build) == 0 {
			return usageError(stderr, fmt.Errorf("--build %q: %v", *buildCmd, orEmpty(err)))
		}
	}
	if *buildTimeout <= 0 {
		return usageError(stderr, fmt.Errorf("--build-timeout %s: expected a duration above 0", *buildTimeout))
	}
	subs, err := runner.NewSubmissions(pos[1:])
	if err != nil {
		return usageError(stderr, err)
	}
	specs, code := f.loadSpecs(pos[:1], stderr)
	if code != exitPass {
		return code
	}
	tests := selected(specs, cfg.opts)
	if tests == 0 {
		return usageError(stderr, fmt.Errorf("--filter %q matches no test", f.filter))
	}
	subs = runner.ShardSubmissions(subs, cfg.shard)
	var names []string
	if *reportsDir != "" {
		if err := os.MkdirAll(*reportsDir, 0o755); err != nil {
			return usageError(stderr, err)
		}
		names = runner.ReportNames(subs, runner.FormatExt(f.format))
	}
	// The CSV's file is made before grading, so that a path that cannot
	// be written fails now rather than after a minute's work.
	csvOut := stdout
	if f.out != "" {
		file, err := os.Create(f.out)
		if err != nil {
			return usageError(stderr, err)
		}
		defer file.Close()
		csvOut = file
	}

	progress := runner.NewProgress(stderr, isTerminal(stderr), len(subs), tests)
	index := map[*runner.Submission]int{}
	for i, s := range subs {
		index[s] = i
	}
	var mu sync.Mutex
	var writeErrs []error
	opts.OnTest = progress.Test
	opts.OnDone = func(r *runner.GradeResult) {
		progress.Done(r)
		if names == nil {
			return
		}
		// Each report is written as soon as its submission is graded:
		// what is done is kept, whatever happens next.
		err := writeReport(filepath.Join(*reportsDir, names[index[r.Submission]]), cfg.reporter, r.Report)
		if err != nil {
			mu.Lock()
			writeErrs = append(writeErrs, err)
			mu.Unlock()
		}
	}
	results := runner.Grade(ctx, specs, subs, opts)
	progress.Finish(results)
	if err := runner.WriteCSV(csvOut, results); err != nil {
		writeErrs = append(writeErrs, fmt.Errorf("writing the grades: %v", err))
	}
	if err := errors.Join(writeErrs...); err != nil {
		fmt.Fprintf(stderr, "sockrun: %v\n", err)
		return exitUsage
	}
	where := ""
	if f.out != "" {
		where = "grades in " + f.out
	}
	if *reportsDir != "" {
		if where != "" {
			where += ", "
		}
		where += "reports in " + *reportsDir
	}
	if where != "" {
		fmt.Fprintln(stderr, where)
	}
	// Every submission has its grade, whatever it scored: the grader's
	// run succeeded, unless a signal ended it.
	return exitStatus(ctx, true)
}

func orEmpty(err error) error {
	if err == nil {
		return errors.New("expected a command")
	}
	return err
}

// writeReport writes one report to path, whole or not at all.
func writeReport(path string, rep runner.Reporter, r *runner.Report) error {
	var b bytes.Buffer
	if err := rep.Report(&b, r); err != nil {
		return err
	}
	return os.WriteFile(path, b.Bytes(), 0o644)
}

// mergeCmd is 'sockrun merge': the outputs of shards joined into one.
func mergeCmd(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("sockrun merge")
	outFile := fs.String("o", "", "write the merged report to FILE")
	help := fs.Bool("help", false, "")
	fs.BoolVar(help, "h", false, "")
	files, err := parse(fs, args)
	if *help {
		fmt.Fprint(stdout, usage)
		return exitPass
	}
	if err != nil {
		return usageError(stderr, err)
	}
	if len(files) == 0 {
		return usageError(stderr, errors.New("merge: expected the reports or grade CSVs of the shards"))
	}
	var inputs []runner.MergeInput
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			return usageError(stderr, err)
		}
		inputs = append(inputs, runner.MergeInput{Name: name, Data: data})
	}
	// Merged in memory first: a failed merge leaves no half-written file.
	var b bytes.Buffer
	if runner.IsCSV(inputs[0].Data) {
		err = runner.MergeCSV(&b, inputs)
	} else {
		_, err = runner.Merge(&b, inputs)
	}
	if err != nil {
		fmt.Fprintf(stderr, "sockrun: merge: %v\n", err)
		return exitUsage
	}
	if *outFile == "" {
		_, err = stdout.Write(b.Bytes())
	} else {
		err = os.WriteFile(*outFile, b.Bytes(), 0o644)
	}
	if err != nil {
		fmt.Fprintf(stderr, "sockrun: %v\n", err)
		return exitUsage
	}
	return exitPass
}

// isTerminal reports whether w is a terminal that can redraw a line: a
// character device, and TERM is not dumb.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok || os.Getenv("TERM") == "dumb" {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
