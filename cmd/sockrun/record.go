package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/sockrun/sockrun/runner"
)

// record proxies clients to a live server and writes what passed as a
// spec, when interrupted or when --count or --idle says so. The spec goes
// to -o FILE, or to stdout; where it listens, and what passes, go to
// stderr. Stopping it with Ctrl-C is the usual way, so that exits 0.
func record(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("sockrun record")
	to := fs.String("to", "", "the server's HOST:PORT")
	typ := fs.String("type", runner.Stream, "stream or dgram")
	listen := fs.String("listen", "127.0.0.1:0", "where clients come")
	outFile := fs.String("o", "", "write the spec to FILE")
	count := fs.Int("count", 0, "stop after N sessions")
	idle := fs.Duration("idle", 0, "stop after D with nothing passing")
	pause := fs.Duration("pause", runner.DefaultPause, "a pause this long ends a step")
	verbose := fs.Bool("v", false, "log every byte")
	rest, err := parse(fs, args)
	switch {
	case err != nil:
		return usageError(stderr, err)
	case len(rest) > 0:
		return usageError(stderr, fmt.Errorf("record: unexpected argument %q; the spec goes to -o FILE", rest[0]))
	case *to == "":
		return usageError(stderr, errors.New("record: --to HOST:PORT is needed: the server to record"))
	case *count < 0:
		return usageError(stderr, fmt.Errorf("--count %d: expected a number of sessions, 1 or more", *count))
	}
	out, name := stdout, "spec.yaml"
	if *outFile != "" {
		// Created now, so that a path that cannot be written fails
		// before anyone records a session into it.
		f, err := os.Create(*outFile)
		if err != nil {
			return usageError(stderr, err)
		}
		defer f.Close()
		out, name = f, *outFile
	}
	log := newEventLog(stderr, *verbose)
	rec, err := runner.Record(ctx, runner.RecordOptions{
		To: *to, Type: *typ, Listen: *listen, Count: *count, Idle: *idle, Pause: *pause,
		Listening: func(a runner.Addr) {
			stop := "Ctrl-C stops it"
			switch {
			case *count > 0:
				stop = fmt.Sprintf("it stops after %s, or on Ctrl-C", plural(*count, "session"))
			case *idle > 0:
				stop = fmt.Sprintf("it stops after %s with nothing passing, or on Ctrl-C", *idle)
			}
			fmt.Fprintf(stderr, "sockrun record: listening on %s (%s), forwarding to %s; %s\n", a, a.Network, *to, stop)
			if warning := exposed(a); warning != "" {
				log.note("warning: the proxy " + warning)
			}
		},
		Log:  log.print,
		Warn: func(err error) { log.note(err.Error()) },
	})
	if err != nil {
		if *outFile != "" {
			os.Remove(*outFile)
		}
		return usageError(stderr, fmt.Errorf("record: %v", err))
	}
	if len(rec.Sessions) == 0 {
		if *outFile != "" {
			os.Remove(*outFile)
		}
		fmt.Fprintf(stderr, "sockrun record: %s, and no client came: nothing to write\n", rec.Stopped)
		return exitFail
	}
	if _, err := out.Write(rec.Spec(name, commandLine("sockrun record", args))); err != nil {
		fmt.Fprintf(stderr, "sockrun record: writing the spec: %v\n", err)
		return exitFail
	}
	where := "stdout"
	if *outFile != "" {
		where = *outFile
	}
	fmt.Fprintf(stderr, "sockrun record: %s; %s written to %s\n", rec.Stopped, plural(len(rec.Sessions), "session"), where)
	return exitPass
}

// commandLine writes a command as a shell would read it back.
func commandLine(cmd string, args []string) string {
	var b strings.Builder
	b.WriteString(cmd)
	for _, a := range args {
		b.WriteByte(' ')
		if a != "" && strings.Trim(a, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_=.,/:@%+") == "" {
			b.WriteString(a)
			continue
		}
		b.WriteString("'" + strings.ReplaceAll(a, "'", `'\''`) + "'")
	}
	return b.String()
}
