package runner

import (
	"fmt"
	"os"
	"os/user"
	"strconv"
	"strings"
)

// ProgramOptions say how programs under test are run, beyond what a spec
// says of each.
type ProgramOptions struct {
	// Env are NAME=VALUE entries added to every program's environment
	// (--env), before the spec's env:, which wins.
	Env []string
	// Limits, where set (--limit), win over a spec's and the defaults.
	Limits Limits
	// User, if set, is who programs run as (--user): not sockrun's user,
	// so that they can neither read what sockrun keeps private (specs
	// with hidden tests) nor signal it.
	User *ProgramUser
}

// A ProgramUser is a user programs run as.
type ProgramUser struct {
	Name     string
	Uid, Gid uint32
	Groups   []uint32
}

// LookupUser finds the user that --user names. Running programs as
// another user takes root (real root, not root of a user namespace).
func LookupUser(name string) (*ProgramUser, error) {
	if os.Geteuid() != 0 {
		return nil, fmt.Errorf("--user %s: running programs as another user takes root, and sockrun runs as uid %d", name, os.Geteuid())
	}
	if _, _, ok := userNamespaceRoot(); ok {
		return nil, fmt.Errorf("--user %s: sockrun is root only of a user namespace it made, where no other user exists", name)
	}
	u, err := user.Lookup(name)
	if err != nil {
		return nil, fmt.Errorf("--user %s: no such user", name)
	}
	pu := &ProgramUser{Name: u.Username}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err1 != nil || err2 != nil {
		return nil, fmt.Errorf("--user %s: uid %q, gid %q are not numbers", name, u.Uid, u.Gid)
	}
	pu.Uid, pu.Gid = uint32(uid), uint32(gid)
	gids, _ := u.GroupIds()
	for _, g := range gids {
		if n, err := strconv.ParseUint(g, 10, 32); err == nil {
			pu.Groups = append(pu.Groups, uint32(n))
		}
	}
	return pu, nil
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

// newSandbox makes the directory, owned by u if set (it must be able to
// reach $TMPDIR, where the directory is made).
func newSandbox(u *ProgramUser) (*sandbox, error) {
	dir, err := os.MkdirTemp("", "sockrun-prog-")
	if err != nil {
		return nil, err
	}
	if u != nil {
		if err := os.Chown(dir, int(u.Uid), int(u.Gid)); err != nil {
			os.Remove(dir)
			return nil, err
		}
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
	if opts != nil && opts.User != nil {
		env = append(env, "USER="+opts.User.Name, "LOGNAME="+opts.User.Name)
	}
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
