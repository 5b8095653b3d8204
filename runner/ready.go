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
		if serving(a, deadline) {
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
			return serving(a, deadline), nil
		case <-ctx.Done():
			t.Stop()
			return false, context.Cause(ctx)
		case <-t.C:
		}
		wait = min(2*wait, 20*time.Millisecond)
	}
}

// serving reports whether something serves at a.
func serving(a Addr, deadline time.Time) bool {
	if runtime.GOOS == "linux" {
		return procNetServing(a)
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

// procNetServing looks for the socket in /proc/net.
func procNetServing(a Addr) bool {
	switch a.Network {
	case "tcp":
		// State 0A is LISTEN.
		return procNetPort("/proc/net/tcp", a.Port, "0A") || procNetPort("/proc/net/tcp6", a.Port, "0A")
	case "udp":
		return procNetPort("/proc/net/udp", a.Port, "") || procNetPort("/proc/net/udp6", a.Port, "")
	}
	return procNetUnix(a.Path, a.Network == "unix")
}

// procNetPort reports whether /proc/net/{tcp,udp}[6] has a socket bound to
// port (on any address) in state, or in any state if state is "".
func procNetPort(file string, port int, state string) bool {
	f, err := os.Open(file)
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Scan() // the header
	for sc.Scan() {
		// sl local_address rem_address st ...; local_address is HEXIP:HEXPORT
		fields := strings.Fields(sc.Text())
		if len(fields) < 4 {
			continue
		}
		i := strings.LastIndexByte(fields[1], ':')
		p, err := strconv.ParseUint(fields[1][i+1:], 16, 16)
		if err == nil && int(p) == port && (state == "" || fields[3] == state) {
			return true
		}
	}
	return false
}

// procNetUnix reports whether /proc/net/unix has a socket bound to path:
// listening, if stream.
func procNetUnix(path string, stream bool) bool {
	f, err := os.Open("/proc/net/unix")
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Scan()
	if strings.HasPrefix(path, "@") {
		path = "@" + path[1:]
	}
	for sc.Scan() {
		// Num RefCount Protocol Flags Type St Inode Path
		fields := strings.Fields(sc.Text())
		if len(fields) < 8 || fields[7] != path {
			continue
		}
		flags, _ := strconv.ParseUint(fields[3], 16, 32)
		const acceptCon = 0x10000 // __SO_ACCEPTCON: listening
		if !stream || flags&acceptCon != 0 {
			return true
		}
	}
	return false
}
