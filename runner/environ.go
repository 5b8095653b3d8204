package runner

import (
	"os"
	"strings"
)

// ProgramOptions say how programs under test are run, beyond what a spec
// says of each.
type ProgramOptions struct {
	// Env are NAME=VALUE entries added to every program's environment
	// (--env), before the spec's env:, which wins.
	Env []string
}

// defaultPath is a program's PATH when sockrun itself has none.
const defaultPath = "/usr/local/bin:/usr/bin:/bin"

// A sandbox is what one program instance gets of its own: a fresh
// directory that is its HOME and its TMPDIR, removed once the program has
// ended. (One directory, not two: on a loaded machine each mkdir and
// rmdir costs a share of the start that readiness is measured against.)
type sandbox struct {
	dir string
}

func newSandbox() (*sandbox, error) {
	dir, err := os.MkdirTemp("", "sockrun-prog-")
	if err != nil {
		return nil, err
	}
	return &sandbox{dir: dir}, nil
}

func (sb *sandbox) remove() { os.RemoveAll(sb.dir) }

// environ is a program's whole environment, as testscript gives its
// commands one: nothing of sockrun's own (a grader's API token must not
// reach student code) but PATH, then a private HOME and TMPDIR, LANG
// (C.UTF-8: messages in English, text in UTF-8; LC_ALL is left unset, so
// that a spec's LANG or LC_* takes effect), TERM=dumb, then opts.Env
// (--env), then the spec's env:. Later entries win.
func (sb *sandbox) environ(opts *ProgramOptions, spec []string) []string {
	path := os.Getenv("PATH")
	if path == "" {
		path = defaultPath
	}
	env := []string{"PATH=" + path, "HOME=" + sb.dir, "TMPDIR=" + sb.dir, "LANG=C.UTF-8", "TERM=dumb"}
	if opts != nil {
		env = append(env, opts.Env...)
	}
	env = append(env, spec...)
	return dedupEnv(env)
}

// dedupEnv keeps the last entry of each name, in the order of first
// appearance.
func dedupEnv(env []string) []string {
	last := map[string]int{}
	for i, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		last[name] = i
	}
	out := env[:0:0]
	for i, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		if last[name] == i {
			out = append(out, kv)
		}
	}
	return out
}

// PassEnv turns a --env argument into an environment entry: NAME=VALUE
// as it is, NAME alone takes sockrun's own value of NAME. ok is false
// when NAME alone is not set in sockrun's environment.
func PassEnv(arg string) (entry string, ok bool) {
	if strings.Contains(arg, "=") {
		return arg, true
	}
	v, ok := os.LookupEnv(arg)
	return arg + "=" + v, ok
}
