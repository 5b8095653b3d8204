package runner

import (
	"bytes"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// What sockrun reads of /proc about the processes of a program.

// A procStat is the part of /proc/PID/stat sockrun uses.
type procStat struct {
	comm  string
	state byte   // R, S, D, Z, X...
	pgrp  int    // process group
	flags uint32 // PF_* flags
	start uint64 // start time, in clock ticks after boot: with the pid, an identity
}

// pfExiting is PF_EXITING: the kernel has begun to end the task. Its
// sockets close after this flag is set, so a peer that sees them close
// finds it set.
const pfExiting = 0x4

// readStat reads /proc/PID/stat, or /proc/PID/task/TID/stat with tid > 0.
func readStat(pid, tid int) (procStat, bool) {
	path := "/proc/" + strconv.Itoa(pid) + "/stat"
	if tid > 0 {
		path = "/proc/" + strconv.Itoa(pid) + "/task/" + strconv.Itoa(tid) + "/stat"
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return procStat{}, false
	}
	return parseStat(b)
}

func parseStat(b []byte) (procStat, bool) {
	// pid (comm) state ppid pgrp session tty tpgid flags ... starttime is
	// field 22; comm may hold spaces and parentheses, so split after the
	// last ')'.
	open, end := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')')
	if open < 0 || end < open {
		return procStat{}, false
	}
	f := strings.Fields(string(b[end+1:]))
	if len(f) < 20 {
		return procStat{}, false
	}
	s := procStat{comm: string(b[open+1 : end]), state: f[0][0]}
	s.pgrp, _ = strconv.Atoi(f[2])
	flags, _ := strconv.ParseUint(f[6], 10, 32)
	s.flags = uint32(flags)
	s.start, _ = strconv.ParseUint(f[19], 10, 64)
	return s, true
}

// gone reports whether a process in this state has ended: a zombie, or dead.
func (s procStat) gone() bool { return s.state == 'Z' || s.state == 'X' }

// running reports whether process pid, started at start (0: any), exists
// and is neither a zombie nor being ended by the kernel. Every thread is
// looked at: a process whose main thread called pthread_exit() shows as a
// zombie while its other threads still serve.
func running(pid int, start uint64) bool {
	s, ok := readStat(pid, 0)
	if !ok || (start != 0 && s.start != start) {
		return false
	}
	if !s.gone() && s.flags&pfExiting == 0 {
		return true
	}
	for _, tid := range tasks(pid) {
		if t, ok := readStat(pid, tid); ok && !t.gone() && t.flags&pfExiting == 0 {
			return true
		}
	}
	return false
}

// tasks returns the thread ids of process pid.
func tasks(pid int) []int {
	ents, _ := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/task")
	tids := make([]int, 0, len(ents))
	for _, e := range ents {
		if tid, err := strconv.Atoi(e.Name()); err == nil {
			tids = append(tids, tid)
		}
	}
	return tids
}

// children returns the child processes of every thread of process pid
// (a child's parent is the thread that forked it, and an orphan handed
// to a subreaper may go to any of its threads).
func children(pid int) []int {
	var kids []int
	for _, tid := range tasks(pid) {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/task/" + strconv.Itoa(tid) + "/children")
		if err != nil {
			continue
		}
		for _, f := range strings.Fields(string(b)) {
			if k, err := strconv.Atoi(f); err == nil {
				kids = append(kids, k)
			}
		}
	}
	return kids
}

// socketInodes calls f with the inode of each socket process pid has
// open, until f returns true; it reports whether f did.
func socketInodes(pid int, f func(inode uint32) bool) bool {
	dir := "/proc/" + strconv.Itoa(pid) + "/fd/"
	d, err := os.Open(dir)
	if err != nil {
		return false
	}
	defer d.Close()
	names, _ := d.Readdirnames(-1)
	for _, name := range names {
		link, err := os.Readlink(dir + name)
		if err != nil || !strings.HasPrefix(link, "socket:[") {
			continue
		}
		ino, err := strconv.ParseUint(link[len("socket:["):len(link)-1], 10, 32)
		if err == nil && f(uint32(ino)) {
			return true
		}
	}
	return false
}

// environHas reports whether the environment process pid started with
// holds the entry kv ("HOME=/tmp/...").
func environHas(pid int, kv string) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/environ")
	if err != nil {
		return false
	}
	for _, e := range bytes.Split(b, []byte{0}) {
		if string(e) == kv {
			return true
		}
	}
	return false
}

// cgroupOf returns the cgroup v2 path of process pid ("/sockrun-..."),
// which a zombie keeps.
func cgroupOf(pid int) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cgroup")
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(b), "\n") {
		if p, ok := strings.CutPrefix(line, "0::"); ok {
			return p
		}
	}
	return ""
}

// signalGroup sends sig to the process group pgid, ignoring ESRCH.
func signalGroup(pgid int, sig syscall.Signal) { syscall.Kill(-pgid, sig) }
