package runner

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"

	"gopkg.in/yaml.v3"
)

var connectStep = &stepKind{
	name:  "connect",
	forms: []string{"connect: NAME", "connect: {to: NAME, as: CONN, tls: true or {server_name: NAME, insecure: true, ca: FILE, alpn: [PROTO...]}}"},
	doc: "Open a client socket to server NAME: a TCP or Unix stream connection, or a connected UDP or Unix datagram socket. " +
		"`as` names the connection (default: the server's name); later steps act on the connection opened or used last, or the one named by `on:`. " +
		"`tls` runs a TLS handshake over it, within the step's deadline; it trusts the CA of `ca` (a PEM file), or else the CA sockrun made for NAME " +
		"(a server with `tls:`, or the one behind a proxy), or else the system's; it verifies `server_name` (default: the host dialled); with `alpn`, the server must choose one of those protocols.",
	decode: decodeConnect,
	schema: func() js {
		return anyOf(ref("name"), object(js{"to": ref("name"), "as": ref("name"), "tls": clientTLSSchema()}, "to"))
	},
}

type connectAction struct {
	server string
	as     string
	stream bool
	tls    *clientTLS // a TLS handshake once connected, or nil
}

func (a *connectAction) String() string {
	if a.as != a.server {
		return "connect to " + a.server + " as " + a.as
	}
	return "connect to " + a.server
}

func decodeConnect(d *decoder, key, val *yaml.Node) action {
	var to, as, tlsNode *yaml.Node
	if n := resolve(val); n != nil && n.Kind == yaml.MappingNode {
		var buf [8]kv
		pairs, _ := d.mappingIn(buf[:0], n, "connect", "to", "as", "tls")
		own, _ := partition(pairs, "to", "as", "tls")
		to, as, tlsNode = own.val("to"), own.val("as"), own.val("tls")
		if to == nil {
			d.errorf(n, "connect: needs to: NAME, the server to connect to")
			d.brokenConn(to, as)
			return nil
		}
	} else {
		to = val
	}
	a, ok := d.connectTo(to, as, tlsNode)
	if !ok {
		// One error, here: the steps that use the connection stay quiet.
		d.brokenConn(to, as)
		return nil
	}
	d.scope.conns[a.as] = d.servers[a.server]
	d.scope.last = a.as
	return a
}

func (d *decoder) connectTo(to, as, tlsNode *yaml.Node) (*connectAction, bool) {
	name, ok := d.name(to, "connect")
	if !ok {
		return nil, false
	}
	srv := d.servers[name]
	if srv == nil {
		d.errorf(to, "connect: unknown server %q%s; expected one of the file's servers%s", name, didYouMean(name, keys(d.servers)), listOf(keys(d.servers)))
		return nil, false
	}
	d.use(srv)
	a := &connectAction{server: name, as: name, stream: srv.Type == Stream}
	if as != nil {
		if a.as, ok = d.name(as, "connect: as"); !ok {
			return nil, false
		}
	}
	if tlsNode != nil {
		if a.tls, ok = d.clientTLS(tlsNode, "connect: tls", srv); !ok {
			return nil, false
		}
	}
	return a, true
}

func (a *connectAction) run(ctx context.Context, s *session) error {
	addr, ok := s.env.addrs[a.server]
	if !ok {
		return fmt.Errorf("connect to %s: the server is not running in this test", a.server)
	}
	dialer := net.Dialer{Deadline: deadline(ctx, s.timeout)}
	var sockfile string
	if addr.Network == "unixgram" {
		// A datagram server can only answer a client socket that has an
		// address, so the client binds one of its own.
		dir, err := s.tmpdir()
		if err != nil {
			return err
		}
		sockfile = filepath.Join(dir, a.as+"-"+strconv.Itoa(len(s.opened))+".sock")
		dialer.LocalAddr = &net.UnixAddr{Name: sockfile, Net: "unixgram"}
	}
	var conn net.Conn
	ns := netnsOf(ctx)
	if ns != nil {
		dialer.FallbackDelay = -1 // no second goroutine: its socket would be made elsewhere
	}
	err := inNetns(ns, func() (err error) {
		conn, err = dialer.DialContext(ctx, addr.Network, addr.String())
		return err
	})
	if err != nil {
		if sockfile != "" {
			os.Remove(sockfile)
		}
		return fmt.Errorf("connect to %s (%s %s): %w", a.server, addr.Network, addr, ctxErr(ctx, err))
	}
	s.log.add(a.as, "connect "+addr.String(), nil)
	s.target = a.server
	e := newEndpoint(ctx, a.as, conn, a.stream, s.log)
	e.server = a.server
	if sockfile != "" {
		e.after = func() { os.Remove(sockfile) }
	}
	if a.tls != nil {
		cfg, err := a.tls.config(s.env, s.servers.identity(a.server), addr)
		if err == nil {
			err = e.startTLS(ctx, cfg, true, dialer.Deadline, s.timeout)
		}
		if err != nil {
			e.close()
			return fmt.Errorf("connect to %s (%s %s): %w", a.server, addr.Network, addr, err)
		}
	}
	if p := s.servers.program(s.servers.behind(a.server)); p != nil && !a.stream {
		// A datagram socket sees no end of stream when its server dies.
		e.watchPeer(p.ended, func() error {
			if err := p.exitError(); err != nil {
				return err
			}
			return p.proc.endingError("during the test")
		})
	}
	s.conns[a.as] = e
	s.opened = append(s.opened, e)
	return nil
}
