package runner

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// pickAddr chooses the address a program under test is told to serve on.
// A fixed port or path is used as it is; a bare path name goes in a fresh
// temporary directory; otherwise sockrun picks a port (see freePort).
// clean removes what it made (a temporary directory).
func pickAddr(srv *Server, avoid *Addr) (a Addr, clean func(), err error) {
	if srv.Path != "" || srv.Port != 0 {
		return bindAddr(srv, nil)
	}
	a = Addr{Network: srv.Network(), Host: srv.Host}
	a.Port, err = freePort(a, avoid)
	return a, func() {}, err
}

// freePort picks a port for a program: outside the kernel's ephemeral range,
// so that no outgoing connection can take it meanwhile, and free for the
// socket type, bound once without SO_REUSEADDR to prove it (a port that
// still has connections in TIME_WAIT is not free for a program without
// SO_REUSEADDR).
func freePort(a Addr, avoid *Addr) (int, error) {
	lo, hi := ephemeralRange()
	// Ports below 10000 are where well-known services live.
	var spans [][2]int
	if lo > 10000 {
		spans = append(spans, [2]int{10000, lo - 1})
	}
	if hi < 65535 {
		spans = append(spans, [2]int{hi + 1, 65535})
	}
	if len(spans) == 0 {
		spans = [][2]int{{10000, 65535}}
	}
	size := 0
	for _, s := range spans {
		size += s[1] - s[0] + 1
	}
	var last error
	for range 50 {
		k := rand.IntN(size)
		port := 0
		for _, s := range spans {
			if n := s[1] - s[0] + 1; k < n {
				port = s[0] + k
				break
			} else {
				k -= n
			}
		}
		if avoid != nil && port == avoid.Port {
			continue
		}
		if last = probeBind(a.Network, net.JoinHostPort(a.Host, strconv.Itoa(port))); last == nil {
			return port, nil
		}
	}
	return 0, fmt.Errorf("found no free port for %s on %s: %v", a.Network, a.Host, last)
}

// probeBind binds address without SO_REUSEADDR, then closes it at once.
func probeBind(network, address string) error {
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 0)
		})
		return errors.Join(err, serr)
	}}
	if network == "udp" {
		pc, err := lc.ListenPacket(context.Background(), network, address)
		if err != nil {
			return err
		}
		return pc.Close()
	}
	ln, err := lc.Listen(context.Background(), network, address)
	if err != nil {
		return err
	}
	return ln.Close()
}

// ephemeralRange is the kernel's range of ports for outgoing connections.
func ephemeralRange() (lo, hi int) {
	lo, hi = 32768, 60999 // Linux's default
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return lo, hi
	}
	f := strings.Fields(string(b))
	if len(f) == 2 {
		l, err1 := strconv.Atoi(f[0])
		h, err2 := strconv.Atoi(f[1])
		if err1 == nil && err2 == nil && 0 < l && l <= h && h <= 65535 {
			return l, h
		}
	}
	return lo, hi
}
