package runner

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// The keeper is sockrun's side of the process trees of its programs. There
// is one per sockrun process, because what it relies on belongs to the
// whole process: being a child subreaper, SIGCHLD, the file descriptors
// programs could inherit, the cgroup that holds the programs.
//
// How each process of a program is found (see tree.go):
//   - in a cgroup v2 of its own, where sockrun may create one: the program
//     is started in it (clone3 CLONE_INTO_CGROUP), so that every descendant
//     is in it, whatever it does; cgroup.kill ends them all at once, and
//     cgroup.events says when the last has ended;
//   - otherwise by its tree, read from /proc/PID/task/*/children as sockrun
//     looks, and by its private HOME, which an orphan that sockrun did not
//     see being born still carries in /proc/PID/environ.
//
// Either way sockrun is a child subreaper (PR_SET_CHILD_SUBREAPER): a
// process whose parent ends is handed to sockrun, not to init, so that a
// setsid() double-fork cannot escape, and sockrun reaps it.
type keeper struct {
	cgroupDir string // where program cgroups are made; "" if none can be
	cgroupRel string // that directory as /proc/PID/cgroup names it
	whyNot    error  // why there are no cgroups, for -v and tests
	// userns, when sockrun is root of a user namespace (see Contain),
	// maps a program's user and group back to the real ones.
	userns []syscall.SysProcIDMap
	groups []syscall.SysProcIDMap

	// starting is held for reading while a leader is being started and
	// recorded, and for writing while orphans are reaped: a leader that
	// exits at once must not be reaped by the keeper before os/exec knows
	// its pid and waits for it itself.
	starting sync.RWMutex

	// cleaning counts the programs that have ended but whose cgroup and
	// directory are not yet removed; settle waits for none to be left.
	cleaning int
	cleaned  *sync.Cond // on mu

	mu      sync.Mutex
	leaders map[int]bool   // pids os/exec waits for
	procs   map[*proc]bool // programs not yet done
	watches map[int32]*proc
	inotify *os.File
}

var (
	keeperOnce sync.Once
	// theKeeper is read by settle without keeperOnce, which would make
	// one: runs of one Pool settle while others start the first program.
	theKeeper atomic.Pointer[keeper]
)

// settle returns once every program that has ended has had what it was
// given (its cgroup, its private directory) removed: when Run returns,
// its programs have all ended, so nothing of them is left. (Not a
// WaitGroup: runs of one Pool settle while others start programs.)
func settle() {
	k := theKeeper.Load()
	if k == nil {
		return
	}
	k.mu.Lock()
	for k.cleaning > 0 {
		k.cleaned.Wait()
	}
	k.mu.Unlock()
}

// cleanup removes what an ended program was given, off the path of the
// test that waited for it, and counts it meanwhile for settle.
func (k *keeper) cleanup(f func()) {
	k.mu.Lock()
	k.cleaning++
	k.mu.Unlock()
	go func() {
		f()
		k.mu.Lock()
		k.cleaning--
		k.cleaned.Broadcast()
		k.mu.Unlock()
	}()
}

// getKeeper returns the keeper, set up on first use.
func getKeeper() *keeper {
	keeperOnce.Do(func() { theKeeper.Store(newKeeper(os.Getenv("SOCKRUN_CGROUPS") != "off")) })
	return theKeeper.Load()
}

func newKeeper(cgroups bool) *keeper {
	k := &keeper{leaders: map[int]bool{}, procs: map[*proc]bool{}, watches: map[int32]*proc{}}
	k.cleaned = sync.NewCond(&k.mu)
	// Every file descriptor sockrun inherited is closed on exec: programs
	// get 0, 1 and 2 and nothing else. (sockrun's own are CLOEXEC already.)
	unix.CloseRange(3, ^uint(0), unix.CLOSE_RANGE_CLOEXEC)
	unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
	if uid, gid, ok := userNamespaceRoot(); ok {
		k.userns = []syscall.SysProcIDMap{{ContainerID: uid, HostID: 0, Size: 1}}
		k.groups = []syscall.SysProcIDMap{{ContainerID: gid, HostID: 0, Size: 1}}
	}
	k.whyNot = errors.New("SOCKRUN_CGROUPS=off")
	if cgroups {
		k.whyNot = k.setupCgroups()
	}
	sigchld := make(chan os.Signal, 1)
	signal.Notify(sigchld, syscall.SIGCHLD)
	go func() {
		for range sigchld {
			k.reap()
		}
	}()
	return k
}

// setupCgroups finds sockrun's own cgroup v2 and checks that it can make
// program cgroups there (root, or a delegated subtree) with cgroup.kill
// (Linux 5.14).
func (k *keeper) setupCgroups() error {
	rel := cgroupOf(os.Getpid())
	mount, root := cgroup2Mount()
	if rel == "" || mount == "" {
		return errors.New("no cgroup v2 hierarchy")
	}
	rel = "/" + strings.TrimPrefix(strings.TrimPrefix(rel, root), "/")
	dir := filepath.Join(mount, rel)
	sweepCgroups(dir)
	probe, err := makeCgroup(dir)
	if err != nil {
		return err
	}
	defer removeCgroup(probe)
	if _, err := os.Stat(filepath.Join(probe, "cgroup.kill")); err != nil {
		return errors.New("cgroup.kill is missing (Linux 5.14 has it)")
	}
	fd, err := syscall.InotifyInit1(syscall.IN_NONBLOCK | syscall.IN_CLOEXEC)
	if err != nil {
		return os.NewSyscallError("inotify_init1", err)
	}
	k.inotify = os.NewFile(uintptr(fd), "inotify")
	k.cgroupDir, k.cgroupRel = dir, rel
	go k.readInotify()
	return nil
}

// cgroup2Mount returns where the cgroup v2 hierarchy is mounted, and the
// cgroup path of that mount's root (not "/" inside a container).
func cgroup2Mount() (mount, root string) {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return "", ""
	}
	for _, line := range strings.Split(string(b), "\n") {
		pre, post, ok := strings.Cut(line, " - ")
		f := strings.Fields(pre)
		if ok && strings.HasPrefix(post, "cgroup2 ") && len(f) >= 5 {
			return f[4], f[3]
		}
	}
	return "", ""
}

// cgroupPrefix names the cgroups sockrun makes.
const cgroupPrefix = "sockrun-"

// makeCgroup makes a cgroup with a fresh name in dir.
func makeCgroup(dir string) (string, error) {
	var b [8]byte
	rand.Read(b[:])
	path := filepath.Join(dir, cgroupPrefix+hex.EncodeToString(b[:]))
	if err := os.Mkdir(path, 0o755); err != nil {
		return "", err
	}
	return path, nil
}

// removeCgroup removes a cgroup and any a program made inside it.
func removeCgroup(path string) {
	ents, _ := os.ReadDir(path)
	for _, e := range ents {
		if e.IsDir() {
			removeCgroup(filepath.Join(path, e.Name()))
		}
	}
	syscall.Rmdir(path)
}

// sweepCgroups removes the empty program cgroups a sockrun killed by
// SIGKILL left behind: one that is empty a minute after it was made is
// nobody's (sockrun removes each as soon as its program has ended).
func sweepCgroups(dir string) {
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), cgroupPrefix) {
			continue
		}
		path := filepath.Join(dir, e.Name())
		info, err := e.Info()
		if err == nil && time.Since(info.ModTime()) > time.Minute && !cgroupPopulated(path) {
			removeCgroup(path)
		}
	}
}

// cgroupPopulated reports whether a process is left in the cgroup or
// below it.
func cgroupPopulated(path string) bool {
	b, err := os.ReadFile(filepath.Join(path, "cgroup.events"))
	if err != nil {
		return false
	}
	return strings.Contains(string(b), "populated 1")
}

// watch asks for p.changed to be called when p's cgroup.events changes.
func (k *keeper) watch(p *proc) error {
	wd, err := syscall.InotifyAddWatch(int(k.inotify.Fd()), filepath.Join(p.cgroup, "cgroup.events"), syscall.IN_MODIFY)
	if err != nil {
		return os.NewSyscallError("inotify_add_watch", err)
	}
	k.mu.Lock()
	k.watches[int32(wd)] = p
	k.mu.Unlock()
	p.wd = int32(wd)
	return nil
}

func (k *keeper) unwatch(p *proc) {
	k.mu.Lock()
	delete(k.watches, p.wd)
	k.mu.Unlock()
	syscall.InotifyRmWatch(int(k.inotify.Fd()), uint32(p.wd))
}

func (k *keeper) readInotify() {
	buf := make([]byte, 4096)
	for {
		n, err := k.inotify.Read(buf)
		if err != nil {
			return
		}
		for b := buf[:n]; len(b) >= syscall.SizeofInotifyEvent; {
			wd := int32(binary.NativeEndian.Uint32(b))
			size := syscall.SizeofInotifyEvent + int(binary.NativeEndian.Uint32(b[12:]))
			k.mu.Lock()
			p := k.watches[wd]
			k.mu.Unlock()
			if p != nil {
				p.changed()
			}
			b = b[min(size, len(b)):]
		}
	}
}

// add records a program whose leader has just started.
func (k *keeper) add(p *proc) {
	k.mu.Lock()
	k.leaders[p.pid] = true
	k.procs[p] = true
	k.mu.Unlock()
}

// leaderReaped forgets a leader once os/exec has reaped it.
func (k *keeper) leaderReaped(pid int) {
	k.mu.Lock()
	delete(k.leaders, pid)
	k.mu.Unlock()
}

// remove forgets a program that has ended.
func (k *keeper) remove(p *proc) {
	k.mu.Lock()
	delete(k.procs, p)
	k.mu.Unlock()
}

func (k *keeper) live() []*proc {
	k.mu.Lock()
	defer k.mu.Unlock()
	out := make([]*proc, 0, len(k.procs))
	for p := range k.procs {
		out = append(out, p)
	}
	return out
}

// owner returns the program that process pid (started at start) is part
// of, or nil.
func (k *keeper) owner(pid int, start uint64) *proc {
	cg := ""
	if k.cgroupDir != "" {
		cg = cgroupOf(pid)
	}
	for _, p := range k.live() {
		if p.cgroup != "" && cg == p.cgroupRel || p.knows(pid, start) {
			return p
		}
	}
	return nil
}

// reap reaps the orphans of programs that have ended: processes handed to
// sockrun as subreaper, which nobody else waits for. A zombie that is not
// known to be part of a program is left alone: it may be the child of
// code in this process that will wait for it itself.
func (k *keeper) reap() {
	self := os.Getpid()
	for _, pid := range children(self) {
		st, ok := readStat(pid, 0)
		if !ok || st.state != 'Z' || k.isLeader(pid) {
			continue
		}
		p := k.owner(pid, st.start)
		if p == nil {
			continue
		}
		// A leader that exits at once shows here as a zombie before it
		// is recorded: ask again once no start is in progress.
		k.starting.Lock()
		if !k.isLeader(pid) {
			var ws syscall.WaitStatus
			if got, err := syscall.Wait4(pid, &ws, syscall.WNOHANG, nil); err == nil && got == pid {
				p.orphanReaped(pid, st.comm, ws)
			}
		}
		k.starting.Unlock()
	}
	for _, p := range k.live() {
		p.changed()
	}
}
