package main

import (
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"

	"github.com/sockrun/sockrun/runner"
)

// completion prints a shell's completion script: the subcommands, the
// flags the usage text documents, the values of the flags that have a
// fixed set (--format, --type, --hidden-visibility), and *.yaml files.
func completion(args []string, stdout, stderr io.Writer) int {
	shells := map[string]func(completionData) string{"bash": bashCompletion, "zsh": zshCompletion, "fish": fishCompletion}
	if len(args) != 1 || shells[strings.TrimSpace(args[0])] == nil {
		return usageError(stderr, fmt.Errorf("completion: expected one shell: bash, zsh or fish"))
	}
	fmt.Fprint(stdout, shells[args[0]](completionFromUsage(usage)))
	return exitPass
}

// completionData is what a completion script offers.
type completionData struct {
	commands []string
	flags    []string            // every flag, sorted
	takes    map[string]bool     // flags that take a value
	values   map[string][]string // the values of flags that have a fixed set
	files    map[string]bool     // flags whose value is a file
}

// flagRE finds a flag in the usage text, and the word after it: a word in
// capitals (FILE, NAME=COMMAND) says the flag takes a value.
var flagRE = regexp.MustCompile(`(?m)(?:^|[\s\[])(--?[a-z][a-z-]*)(?:[ =]([A-Z][A-Za-z_:=|]*))?`)

// completionFromUsage reads the flags from the usage text, which documents
// each flag of each subcommand: what the help says is what completes.
func completionFromUsage(usage string) completionData {
	d := completionData{
		commands: commands,
		takes:    map[string]bool{},
		values: map[string][]string{
			"--format":            runner.Formats(),
			"--hidden-visibility": runner.Visibilities(),
			"--type":              {runner.Stream, runner.Dgram},
		},
		files: map[string]bool{"-o": true},
	}
	seen := map[string]bool{"--help": true}
	for _, m := range flagRE.FindAllStringSubmatch(usage, -1) {
		seen[m[1]] = true
		if m[2] != "" {
			d.takes[m[1]] = true
		}
	}
	for f := range seen {
		d.flags = append(d.flags, f)
	}
	slices.Sort(d.flags)
	return d
}

// valueFlags lists the flags that take a value, sorted.
func (d completionData) valueFlags() []string {
	var out []string
	for _, f := range d.flags {
		if d.takes[f] {
			out = append(out, f)
		}
	}
	return out
}

func bashCompletion(d completionData) string {
	return `# bash completion for sockrun. Load it with
#   source <(sockrun completion bash)
# or save it as ~/.local/share/bash-completion/completions/sockrun
` + bashFunction(d)
}

// bashFunction is the completion function, and its registration.
func bashFunction(d completionData) string {
	var cases strings.Builder
	for _, f := range d.valueFlags() {
		switch {
		case d.values[f] != nil:
			fmt.Fprintf(&cases, "\t%s) COMPREPLY=($(compgen -W %q -- \"$cur\")); return ;;\n", f, strings.Join(d.values[f], " "))
		case d.files[f]:
			fmt.Fprintf(&cases, "\t%s) COMPREPLY=($(compgen -f -- \"$cur\")); return ;;\n", f)
		default:
			fmt.Fprintf(&cases, "\t%s) return ;; # a value of the user's own\n", f)
		}
	}
	return fmt.Sprintf(`_sockrun() {
	local cur=${COMP_WORDS[COMP_CWORD]} prev=
	((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD-1]}
	COMPREPLY=()
	case $prev in
%s	esac
	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W %q -- "$cur"))
		return
	fi
	if ((COMP_CWORD == 1)); then
		COMPREPLY=($(compgen -W %q -- "$cur"))
	fi
	# Specs: *.yaml and *.yml files, and folders of them.
	COMPREPLY+=($(compgen -f -X '!*.yaml' -- "$cur") $(compgen -f -X '!*.yml' -- "$cur") $(compgen -d -- "$cur"))
}
complete -o filenames -F _sockrun sockrun
`, cases.String(), strings.Join(d.flags, " "), strings.Join(d.commands, " "))
}

// zshCompletion runs the bash completion through zsh's bashcompinit,
// which zsh ships for this.
func zshCompletion(d completionData) string {
	return `# zsh completion for sockrun. Load it with
#   source <(sockrun completion zsh)
autoload -U +X compinit && compinit
autoload -U +X bashcompinit && bashcompinit
` + bashFunction(d)
}

func fishCompletion(d completionData) string {
	var b strings.Builder
	b.WriteString(`# fish completion for sockrun. Load it with
#   sockrun completion fish | source
# or save it as ~/.config/fish/completions/sockrun.fish
complete -c sockrun -f
`)
	fmt.Fprintf(&b, "complete -c sockrun -n __fish_use_subcommand -a %q\n", strings.Join(d.commands, " "))
	b.WriteString("complete -c sockrun -a '(__fish_complete_suffix .yaml; __fish_complete_suffix .yml)'\n")
	for _, f := range d.flags {
		opt := "-l " + strings.TrimLeft(f, "-")
		if len(strings.TrimLeft(f, "-")) == 1 {
			opt = "-o " + strings.TrimLeft(f, "-") // Go's flags take one dash
		}
		switch {
		case d.values[f] != nil:
			fmt.Fprintf(&b, "complete -c sockrun %s -x -a %q\n", opt, strings.Join(d.values[f], " "))
		case d.files[f]:
			fmt.Fprintf(&b, "complete -c sockrun %s -r -F\n", opt)
		case d.takes[f]:
			fmt.Fprintf(&b, "complete -c sockrun %s -x\n", opt)
		default:
			fmt.Fprintf(&b, "complete -c sockrun %s\n", opt)
		}
	}
	return b.String()
}
