package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/sockrun/sockrun/runner"
)

// commands are the subcommands, for "did you mean" and shell completion.
// run's switch dispatches each; TestCommandsListed checks that the two
// agree.
var commands = []string{"check", "serve", "record", "audit", "schema", "grade", "merge", "version", "completion", "help"}

// unknownCommand reports whether word, the first argument, reads as a
// mistyped subcommand rather than a spec: it is not a flag, names no file,
// and has neither a slash nor a dot (a spec path has one or the other).
// If so it says so, with the nearest command if one is near, and run
// exits 2; otherwise word is left to be run as a spec.
func unknownCommand(word string, stderr io.Writer) bool {
	if strings.HasPrefix(word, "-") || strings.ContainsAny(word, "/.") {
		return false
	}
	if _, err := os.Stat(word); err == nil {
		return false
	}
	if near, ok := runner.Nearest(word, commands); ok {
		fmt.Fprintf(stderr, "sockrun: unknown command %q (did you mean %q?)\nRun 'sockrun help' for usage.\n", word, near)
		return true
	}
	fmt.Fprintf(stderr, "sockrun: %q is neither a command (%s) nor a spec file or folder\nRun 'sockrun help' for usage.\n", word, strings.Join(commands, ", "))
	return true
}

// helpTopics are what 'sockrun help TOPIC' prints, beside the usage.
var helpTopics = map[string]func() string{
	"spec":      runner.Guide,
	"reference": runner.Reference,
}

// help prints the usage, or the topic asked for.
func help(args []string, stdout, stderr io.Writer) int {
	switch {
	case len(args) == 0:
		fmt.Fprint(stdout, usage)
		return exitPass
	case len(args) > 1:
		return usageError(stderr, fmt.Errorf("help takes one topic: %s", topicNames()))
	}
	topic, ok := helpTopics[args[0]]
	if !ok {
		hint := ""
		if near, ok := runner.Nearest(args[0], strings.Split(topicNames(), ", ")); ok {
			hint = fmt.Sprintf(" (did you mean %q?)", near)
		}
		return usageError(stderr, fmt.Errorf("help %s: no such topic%s; the topics are: %s", args[0], hint, topicNames()))
	}
	fmt.Fprint(stdout, topic())
	return exitPass
}

func topicNames() string { return "spec, reference" }
