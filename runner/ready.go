package runner

import (
	"bufio"
	"context"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// waitReady waits until the program serves at a: a stream socket listens
// there, a datagram socket is bound there. It returns early if the program
// exits. On Linux it reads /proc/net, so the probe opens no connection (a
// probe connection is a real client and would trip a server that accepts
// one client at a time); elsewhere it connects, with backoff.
func waitReady(ctx context.Context, p *proc, a Addr, within time.Duration) (bool, error) {
	deadline := time.Now().Add(within)
	wait := time.Millisecond
	for {
		if serving(a, p.cmd.Process.Pid, deadline) {
			return true, nil
		}
		if time.Now().After(deadline) {
			return false, nil
		}
		// There is no event for "a process bound a port": look again soon,
		// but wake at once if the program exits or the run is cancelled.
		t := time.NewTimer(min(wait, time.Until(deadline)))
		select {
		case <-p.done:
			t.Stop()
			return serving(a, p.cmd.Process.Pid, deadline), nil
		case <-ctx.Done():
			t.Stop()
			return false, context.Cause(ctx)
		case <-t.C:
		}
		wait = min(2*wait, 20*time.Millisecond)
	}
}

// serving reports whether the program whose process group is pgid serves
// at a.
func serving(a Addr, pgid int, deadline time.Time) bool {
	if runtime.GOOS == "linux" {
		return groupHolds(pgid, procNetSockets(a))
	}
	if a.Network == "udp" || a.Network == "unixgram" {
		// No way to see a bound datagram socket without /proc: take a
		// program that has run a moment without exiting as ready.
		return true
	}
	c, err := net.DialTimeout(a.Network, a.String(), time.Until(deadline))
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// procNetSockets returns the inodes of the sockets that serve at a, as
// /proc/net lists them: listening, for a stream; bound, for datagrams.
func procNetSockets(a Addr) map[string]bool {
	inodes := map[string]bool{}
	switch a.Network {
	case "tcp":
		// State 0A is LISTEN.
		procNetPort("/proc/net/tcp", a.Port, "0A", inodes)
		procNetPort("/proc/net/tcp6", a.Port, "0A", inodes)
	case "udp":
		procNetPort("/proc/net/udp", a.Port, "", inodes)
		procNetPort("/proc/net/udp6", a.Port, "", inodes)
	default:
		procNetUnix(a.Path, a.Network == "unix", inodes)
	}
	return inodes
}

// procNetPort adds the inodes of the sockets in /proc/net/{tcp,udp}[6]
// bound to port (on any address) in state, or in any state if state is "".
func procNetPort(file string, port int, state string, inodes map[string]bool) {
	f, err := os.Open(file)
	if err != nil {
		return
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Scan() // the header
	for sc.Scan() {
		// sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
		fields := strings.Fields(sc.Text())
		if len(fields) < 10 {
			continue
		}
		i := strings.LastIndexByte(fields[1], ':')
		p, err := strconv.ParseUint(fields[1][i+1:], 16, 16)
		if err == nil && int(p) == port && (state == "" || fields[3] == state) {
			inodes[fields[9]] = true
		}
	}
}

// procNetUnix adds the inodes of the sockets in /proc/net/unix bound to
// path: listening ones, if stream.
func procNetUnix(path string, stream bool, inodes map[string]bool) {
	f, err := os.Open("/proc/net/unix")
	if err != nil {
		return
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Scan()
	for sc.Scan() {
		// Num RefCount Protocol Flags Type St Inode Path
		fields := strings.Fields(sc.Text())
		if len(fields) < 8 || fields[7] != path {
			continue
		}
		flags, _ := strconv.ParseUint(fields[3], 16, 32)
		const acceptCon = 0x10000 // __SO_ACCEPTCON: listening
		if !stream || flags&acceptCon != 0 {
			inodes[fields[6]] = true
		}
	}
}

// groupHolds reports whether a process of the group pgid holds one of the
// sockets. A socket on the right port is not enough: when graders run
// several sockruns at once, two may pick the same port, and the socket
// seen may be another run's program, which it would then talk to.
func groupHolds(pgid int, inodes map[string]bool) bool {
	if len(inodes) == 0 {
		return false
	}
	if holds(pgid, inodes) {
		return true // the leader, almost always
	}
	procs, _ := os.ReadDir("/proc")
	for _, d := range procs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil || pid == pgid {
			continue
		}
		stat, err := os.ReadFile("/proc/" + d.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid pgrp ...; comm may hold spaces and parens.
		rest := string(stat[strings.LastIndexByte(string(stat), ')')+1:])
		if f := strings.Fields(rest); len(f) > 2 && f[2] == strconv.Itoa(pgid) && holds(pid, inodes) {
			return true
		}
	}
	return false
}

// holds reports whether process pid has one of the sockets open.
func holds(pid int, inodes map[string]bool) bool {
	dir := "/proc/" + strconv.Itoa(pid) + "/fd"
	fds, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	for _, fd := range fds {
		link, err := os.Readlink(dir + "/" + fd.Name())
		if err == nil && strings.HasPrefix(link, "socket:[") && inodes[link[len("socket:["):len(link)-1]] {
			return true
		}
	}
	return false
}
