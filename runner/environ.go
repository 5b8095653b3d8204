package runner

import (
	"os"
	"path/filepath"
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

// A sandbox is what one program instance gets of its own: a private HOME
// and TMPDIR, removed once the program has ended.
type sandbox struct {
	dir  string // holds home/ and tmp/
	home string
	tmp  string
}

func newSandbox() (*sandbox, error) {
	dir, err := os.MkdirTemp("", "sockrun-prog-")
	if err != nil {
		return nil, err
	}
	sb := &sandbox{dir: dir, home: filepath.Join(dir, "home"), tmp: filepath.Join(dir, "tmp")}
	for _, d := range []string{sb.home, sb.tmp} {
		if err := os.Mkdir(d, 0o700); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
	}
	return sb, nil
}

func (sb *sandbox) remove() { os.RemoveAll(sb.dir) }

// marker is the environment entry that tells this instance's processes
// apart: an orphan that sockrun never saw being born still carries it.
func (sb *sandbox) marker() string { return "HOME=" + sb.home }

// environ is a program's whole environment, as testscript gives its
// commands one: nothing of sockrun's own (a grader's API token must not
// reach student code) but PATH, then a private HOME and TMPDIR, LANG
// (C.UTF-8: messages in English, text in UTF-8; a program may be given
// another), TERM=dumb, then opts.Env (--env), then the spec's env:.
// Later entries win.
func (sb *sandbox) environ(opts *ProgramOptions, spec []string) []string {
	path := os.Getenv("PATH")
	if path == "" {
		path = defaultPath
	}
	env := []string{"PATH=" + path, "HOME=" + sb.home, "TMPDIR=" + sb.tmp, "LANG=C.UTF-8", "TERM=dumb"}
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
