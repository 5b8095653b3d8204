package runner

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"syscall"
	"time"
)

// A program serves its address when one of its own processes holds a
// socket that a client of that address reaches: a TCP socket listening,
// or a UDP socket bound, on its port and on its address or a wildcard
// that covers it; a Unix socket listening (stream) or bound (datagram) at
// its path. The rule for addresses is the kernel's:
//
//   - 0.0.0.0 serves every IPv4 address of the machine, 127.0.0.1 among them;
//   - :: serves every IPv6 address, and every IPv4 address too unless the
//     socket is IPV6_V6ONLY (a client of 127.0.0.1 reaches a dual-stack
//     listener on ::);
//   - ::ffff:127.0.0.1 on an IPv6 socket serves 127.0.0.1;
//   - any other address serves only itself: 127.0.0.2 does not serve
//     127.0.0.1, 0.0.0.0 does not serve ::1.
//
// A host name serves if one of the addresses it resolves to is served.
// The socket must be the program's: when graders run several sockruns at
// once, two may pick the same port, and a socket on it may be another
// run's program, which a test would then talk to.

// A target is an address, resolved for checking who serves it.
type target struct {
	a   Addr
	ns  *netns       // the network namespace to ask in (--isolate), or nil
	ips []netip.Addr // a.Host, resolved
	// dev and ino identify the file of a Unix socket path once it exists.
	dev, ino uint64
}

func newTarget(ctx context.Context, a Addr) (*target, error) {
	t := &target{a: a, ns: netnsOf(ctx)}
	if a.Path != "" {
		return t, nil
	}
	if ip, err := netip.ParseAddr(a.Host); err == nil {
		t.ips = []netip.Addr{ip.Unmap()}
		return t, nil
	}
	ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", a.Host)
	if err != nil {
		return nil, fmt.Errorf("host %s: %w", a.Host, err)
	}
	for _, ip := range ips {
		t.ips = append(t.ips, ip.Unmap())
	}
	return t, nil
}

func (t *target) stream() bool { return t.a.Network == "tcp" || t.a.Network == "unix" }

// serves reports whether socket s serves the target.
func (t *target) serves(s sockInfo) bool {
	if t.a.Path != "" {
		return t.ino != 0 && s.vfsIno == t.ino && s.vfsDev == t.dev
	}
	if s.port != t.a.Port {
		return false
	}
	bound := s.addr
	if bound.Is4In6() {
		bound = bound.Unmap()
	}
	for _, ip := range t.ips {
		switch {
		case bound == ip:
			return true
		case bound == netip.IPv4Unspecified():
			if ip.Is4() {
				return true
			}
		case bound == netip.IPv6Unspecified():
			if ip.Is6() || !s.v6only {
				return true
			}
		}
	}
	return false
}

// sockets returns the sockets on the machine that serve the target,
// whoever holds them.
func (t *target) sockets() ([]sockInfo, error) {
	var all []sockInfo
	var err error
	if t.a.Path != "" {
		var st syscall.Stat_t
		if syscall.Stat(t.a.Path, &st) != nil {
			return nil, nil // not bound yet
		}
		t.dev, t.ino = st.Dev, st.Ino
		err = inNetns(t.ns, func() (err error) { all, err = diagUnix(t.stream()); return err })
	} else {
		err = inNetns(t.ns, func() (err error) { all, err = diagInet(t.stream(), t.a.Port); return err })
	}
	out := all[:0]
	for _, s := range all {
		if t.serves(s) {
			out = append(out, s)
		}
	}
	return out, err
}

// held returns the sockets among socks that a process of the program
// holds.
func (p *proc) held(socks []sockInfo) []sockInfo {
	if len(socks) == 0 {
		return nil
	}
	want := map[uint32]bool{}
	for _, s := range socks {
		want[s.inode] = true
	}
	mine := map[uint32]bool{}
	for _, m := range p.members() {
		socketInodes(m.pid, func(ino uint32) bool {
			if want[ino] {
				mine[ino] = true
			}
			return false
		})
	}
	var out []sockInfo
	for _, s := range socks {
		if mine[s.inode] {
			out = append(out, s)
		}
	}
	return out
}

// waitReady waits until the program serves a, for at most within. It
// returns early if the program ends or ctx is done. Nothing connects to
// the program to find out: a probe connection is a real client, and would
// trip a server that accepts one client at a time. When it does not
// serve, elsewhere says where it listens instead, if anywhere.
func waitReady(ctx context.Context, p *proc, a Addr, within time.Duration) (ok bool, elsewhere string, err error) {
	defer func() {
		p.mu.Lock()
		p.readying = false
		p.mu.Unlock()
		p.changed() // a leader that exited meanwhile is judged now
	}()
	t, err := newTarget(ctx, a)
	if err != nil {
		return false, "", err
	}
	deadline := time.Now().Add(within)
	// There is no event for "a process bound a port": look again soon, the
	// sooner the younger the program, so that it is found serving within
	// a sixteenth of the time it took (see BENCHMARKS.md).
	start := time.Now()
	for {
		socks, err := t.sockets()
		if err != nil {
			return false, "", err
		}
		if len(p.held(socks)) > 0 {
			p.mu.Lock()
			p.target = t
			p.mu.Unlock()
			return true, "", nil
		}
		if time.Now().After(deadline) || p.exited() {
			return false, p.listensElsewhere(t), nil
		}
		wait := min(max(time.Since(start)/16, readyMinPoll), readyMaxPoll)
		timer := time.NewTimer(min(wait, time.Until(deadline)))
		select {
		case <-p.done:
		case <-ctx.Done():
			timer.Stop()
			return false, "", context.Cause(ctx)
		case <-timer.C:
		}
		timer.Stop()
	}
}

// How often readiness looks: every sixteenth of the time the program has
// run, within these bounds.
const (
	readyMinPoll = 200 * time.Microsecond
	readyMaxPoll = 5 * time.Millisecond
)

// listensElsewhere says where the program listens (stream) or is bound
// (datagram), if anywhere, for a message: "0.0.0.0:41234" or
// "0.0.0.0:41234 and [::1]:5000".
func (p *proc) listensElsewhere(t *target) string {
	var all []sockInfo
	inNetns(t.ns, func() error {
		if t.a.Path != "" {
			all, _ = diagUnix(t.stream())
		} else {
			all, _ = diagInet(t.stream(), 0)
		}
		return nil
	})
	var where []string
	for _, s := range p.held(all) {
		if w := s.String(); !slices.Contains(where, w) {
			where = append(where, w)
		}
	}
	if len(where) > 3 {
		where = append(where[:3], fmt.Sprintf("%d more", len(where)-3))
	}
	return strings.Join(where, " and ")
}
