package runner

import (
	"net"
	"testing"
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
	var ln net.Listener
	if err := inNetns(ns, func() (err error) { ln, err = net.Listen("tcp", "127.0.0.1:0"); return err }); err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	var inside, outside []sockInfo
	inNetns(ns, func() (err error) { inside, err = diagInet(true, port); return err })
	outside, _ = diagInet(true, port)
	if len(inside) != 1 || len(outside) != 0 {
		t.Errorf("listening on port %d: %d inside the namespace (want 1), %d outside (want 0)", port, len(inside), len(outside))
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
	if c, err := net.Dial("tcp", ln.Addr().String()); err == nil {
		c.Close()
		t.Error("connected from outside the namespace to a listener inside it")
	}
}
