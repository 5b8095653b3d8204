package runner

import (
	"context"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
)

// TestTargetServes: the kernel's rule for which bound address a client of
// an address reaches.
func TestTargetServes(t *testing.T) {
	v4 := func(s string) netip.Addr { return netip.MustParseAddr(s) }
	cases := []struct {
		host   string
		bound  string
		v6only bool
		port   int // 0: the target's
		want   bool
	}{
		{"127.0.0.1", "127.0.0.1", false, 0, true},
		{"127.0.0.1", "0.0.0.0", false, 0, true},
		{"127.0.0.1", "::", false, 0, true},               // dual stack
		{"127.0.0.1", "::", true, 0, false},               // IPV6_V6ONLY
		{"127.0.0.1", "::ffff:127.0.0.1", false, 0, true}, // v4-mapped
		{"127.0.0.1", "127.0.0.2", false, 0, false},
		{"127.0.0.1", "127.0.0.1", false, 1, false}, // another port
		{"::1", "::1", true, 0, true},
		{"::1", "::", true, 0, true},
		{"::1", "::", false, 0, true},
		{"::1", "0.0.0.0", false, 0, false},
		{"::1", "127.0.0.1", false, 0, false},
		{"0.0.0.0", "0.0.0.0", false, 0, true},
	}
	for _, c := range cases {
		tg, err := newTarget(context.Background(), Addr{Network: "tcp", Host: c.host, Port: 4000})
		if err != nil {
			t.Fatal(err)
		}
		s := sockInfo{addr: v4(c.bound), port: 4000 + c.port, v6only: c.v6only, stream: true}
		if got := tg.serves(s); got != c.want {
			t.Errorf("a client of %s: socket on %s (v6only %v, port +%d): serves = %v, want %v",
				c.host, c.bound, c.v6only, c.port, got, c.want)
		}
	}
}

// selfProc is a proc for this test process, to ask what it holds.
func selfProc() *proc {
	st, _ := readStat(os.Getpid(), 0)
	return &proc{k: getKeeper(), pid: os.Getpid(), known: map[int]uint64{os.Getpid(): st.start}}
}

// TestSockDiag: sock_diag finds this process's listening and bound
// sockets on their port, and only those.
func TestSockDiag(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	// A connection to it: its two ends are on the machine too, one of
	// them on the same port, and must not be taken for listeners.
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	other, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()

	// Other processes may listen on the same port numbers on other
	// addresses (a v6-only [::] does not conflict with 127.0.0.1): only
	// the sockets on this test's own addresses are counted.
	loopback := netip.MustParseAddr("127.0.0.1")
	all, err := diagInet(true, port)
	if err != nil {
		t.Fatal(err)
	}
	socks := on(all, loopback)
	if len(socks) != 1 || socks[0].port != port {
		t.Fatalf("listening on port %d: %v, want one socket on 127.0.0.1", port, all)
	}
	if len(selfProc().held(socks)) != 1 {
		t.Error("this process holds its own listener, but held says no")
	}
	all, err = diagInet(true, 0)
	if err != nil {
		t.Fatal(err)
	}
	found := 0
	for _, s := range on(all, loopback) {
		if s.port == port || s.port == other.Addr().(*net.TCPAddr).Port {
			found++
		}
	}
	if found != 2 {
		t.Errorf("without a port: found %d of the 2 listeners", found)
	}

	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	uport := pc.LocalAddr().(*net.UDPAddr).Port
	if socks, err := diagInet(false, uport); err != nil || len(on(socks, loopback)) != 1 {
		t.Errorf("udp port %d: %v %v", uport, socks, err)
	}

	if ln6, err := net.Listen("tcp6", "[::]:0"); err == nil {
		defer ln6.Close()
		port6 := ln6.Addr().(*net.TCPAddr).Port
		// A v6-only [::] leaves 127.0.0.1 free on its port: another
		// process may listen there (in a stress run, one did).
		if stranger, err := net.Listen("tcp4", net.JoinHostPort("127.0.0.1", strconv.Itoa(port6))); err == nil {
			defer stranger.Close()
		}
		all, err := diagInet(true, port6)
		socks := on(all, netip.IPv6Unspecified())
		if err != nil || len(socks) != 1 || !socks[0].v6only {
			// Go listens on "tcp6" with IPV6_V6ONLY set.
			t.Errorf("[::] v6only: %v %v", all, err)
		}
	}
}

// on returns the sockets of socks bound to addr.
func on(socks []sockInfo, addr netip.Addr) []sockInfo {
	var mine []sockInfo
	for _, s := range socks {
		if s.addr == addr {
			mine = append(mine, s)
		}
	}
	return mine
}

// TestSockDiagUnix: a Unix socket is found by its file (inode and device,
// which sock_diag encodes as the kernel does), not only by its name.
func TestSockDiagUnix(t *testing.T) {
	for _, network := range []string{"unix", "unixgram"} {
		path := filepath.Join(t.TempDir(), "s.sock")
		var closer interface{ Close() error }
		var err error
		if network == "unix" {
			closer, err = net.Listen(network, path)
		} else {
			closer, err = net.ListenPacket(network, path)
		}
		if err != nil {
			t.Fatal(err)
		}
		tg, _ := newTarget(context.Background(), Addr{Network: network, Path: path})
		socks, err := tg.sockets()
		if err != nil || len(socks) != 1 || socks[0].path != path {
			t.Errorf("%s: %+v %v", network, socks, err)
		}
		if len(selfProc().held(socks)) != 1 {
			t.Errorf("%s: this process holds its socket, but held says no", network)
		}
		closer.Close()
	}
}

// TestReadinessOwnsTheSocket: a socket serving the program's address is
// not the program serving, unless one of its processes holds it. (Two
// sockruns at once may pick the same port.)
func TestReadinessOwnsTheSocket(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	tg, _ := newTarget(context.Background(), Addr{Network: "tcp", Host: "127.0.0.1", Port: ln.Addr().(*net.TCPAddr).Port})
	socks, err := tg.sockets()
	if err != nil || len(socks) != 1 {
		t.Fatalf("%v %v", socks, err)
	}
	stranger := exec.Command("sleep", "10")
	stranger.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := stranger.Start(); err != nil {
		t.Skip("no sleep program:", err)
	}
	defer stranger.Wait()
	defer stranger.Process.Kill()
	st, _ := readStat(stranger.Process.Pid, 0)
	p := &proc{k: getKeeper(), pid: stranger.Process.Pid, known: map[int]uint64{stranger.Process.Pid: st.start}}
	if len(p.held(socks)) != 0 {
		t.Error("another process's listener was taken for the program's")
	}
}

// TestUserDev: the kernel's dev_t encoding, converted to stat's.
func TestUserDev(t *testing.T) {
	for _, c := range []struct {
		major, minor uint32
	}{{0, 0}, {8, 1}, {259, 3}, {0, 300}, {253, 0x12345}} {
		kernel := c.major<<20 | c.minor
		if got, want := userDev(kernel), uint64(unixMkdev(c.major, c.minor)); got != want {
			t.Errorf("%d:%d: %#x, want %#x", c.major, c.minor, got, want)
		}
	}
}

// unixMkdev is glibc's makedev.
func unixMkdev(major, minor uint32) uint64 {
	return uint64(major&0xfff)<<8 | uint64(major&^0xfff)<<32 | uint64(minor&0xff) | uint64(minor&^0xff)<<12
}
