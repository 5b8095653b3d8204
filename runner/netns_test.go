package runner

import (
	"net"
	"net/netip"
	"testing"
	"time"
)

// TestNetns: a listener made in a test's namespace is served there on
// loopback, and is neither seen nor reached from outside it.
func TestNetns(t *testing.T) {
	if err := CanIsolate(); err != nil {
		t.Skip(err)
	}
	ns, err := newNetns()
	if err != nil {
		t.Fatal(err)
	}
	defer ns.close()
	// The port is held on the host's loopback too, by this test, so that
	// no other process can listen there: what is seen and reached from
	// outside on it is this host listener, never a stranger.
	host, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer host.Close()
	port := host.Addr().(*net.TCPAddr).Port
	var ln net.Listener
	if err := inNetns(ns, func() (err error) { ln, err = net.Listen("tcp", host.Addr().String()); return err }); err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var inside, outside []sockInfo
	inNetns(ns, func() (err error) { inside, err = diagInet(true, port); return err })
	outside, _ = diagInet(true, port)
	loopback := netip.MustParseAddr("127.0.0.1")
	if len(inside) != 1 || len(on(outside, loopback)) != 1 {
		t.Errorf("listening on 127.0.0.1:%d inside the namespace and outside: %d inside (want 1), %d outside (want 1, the host's)", port, len(inside), len(on(outside, loopback)))
	}
	err = inNetns(ns, func() error {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err == nil {
			c.Close()
		}
		return err
	})
	if err != nil {
		t.Errorf("connecting inside the namespace: %v", err)
	}
	// From outside, the address is the host listener's: a connection
	// goes to one listener, and the host's accepts it.
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatalf("connecting to the host listener: %v", err)
	}
	defer c.Close()
	host.(*net.TCPListener).SetDeadline(time.Now().Add(10 * time.Second)) // a guard against a hang, not a verdict
	if a, err := host.Accept(); err != nil {
		t.Errorf("a connection from outside the namespace did not reach the host listener: %v", err)
	} else {
		a.Close()
	}
}
