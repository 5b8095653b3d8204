package runner

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"
)

var starttlsStep = &stepKind{
	name:  "starttls",
	forms: []string{"starttls:", "starttls: CONN", "starttls: {on: CONN, server_name: NAME, insecure: true, ca: FILE, alpn: [PROTO...]}"},
	doc: "Upgrade an open stream connection to TLS, as SMTP's and IMAP's STARTTLS do: a TLS handshake runs over it, within the step's deadline, " +
		"and later steps on it speak TLS. In a test it is the client side, with connect's `tls` keys; in a server script, the server side, " +
		"with the server's certificate (the server says `tls: starttls`). Bytes received in plain text and not yet read go to the handshake, " +
		"so a peer that sends plain text after asking for the upgrade fails it.",
	server: true,
	decode: decodeStartTLS,
	schema: func() js {
		props := clientTLSProps()
		props["on"] = ref("name")
		return anyOf(js{"type": "null"}, ref("name"), object(props))
	},
}

// clientTLSProps are the schemas of the keys of a client's TLS.
func clientTLSProps() js {
	return js{
		"server_name": described(strSchema(), "the name to ask for and verify (default: the host dialled)"),
		"insecure":    described(boolSchema(), "trust any certificate"),
		"ca":          described(strSchema(), "a PEM file of the CAs to trust, such as {{NAME.ca}}"),
		"alpn":        anyOf(strSchema(), listOfSchema(strSchema())),
	}
}

// clientTLSSchema is the schema of connect's tls:.
func clientTLSSchema() js {
	return described(anyOf(boolSchema(), object(clientTLSProps())),
		"a TLS handshake over the connection: true (trust the CA sockrun made for the server, else the system's), or its keys")
}

type starttlsAction struct {
	conn   string
	client *clientTLS // the client side; nil: the server side
}

func (a *starttlsAction) String() string {
	if a.client == nil {
		return "starttls (the server side)"
	}
	return "starttls on " + a.conn
}

var clientTLSKeys = []string{"server_name", "insecure", "ca", "alpn"}

func decodeStartTLS(d *decoder, key, val *yaml.Node) action {
	n := resolve(val)
	if srv := d.scope.server; srv != nil {
		switch {
		case !isNull(n):
			d.errorf(val, "starttls: in a server script takes nothing, found %s: the server's certificate and ALPN protocols come from its tls: key", found(val))
			return nil
		case srv.Type != Stream:
			d.errorf(key, "starttls: needs a stream connection; server %s is dgram", srv.Name)
			return nil
		case srv.TLS == nil:
			d.errorf(key, "starttls: server %s has no certificate; write tls: starttls on it, and its connections start in plain text until this step", srv.Name)
			return nil
		case !srv.TLS.starttls:
			d.errorf(key, "starttls: server %s speaks TLS from the first byte (tls: true); for an upgrade of a plain connection write tls: starttls", srv.Name)
			return nil
		}
		return &starttlsAction{conn: srv.Name}
	}
	var on *yaml.Node
	var opts []kv
	switch {
	case isNull(n):
	case n.Kind == yaml.MappingNode:
		pairs, _ := d.mapping(n, "starttls", append([]string{"on"}, clientTLSKeys...)...)
		own, rest := splitPairs(pairs, "on")
		on, opts = own.val("on"), rest
	default:
		on = val
	}
	name, srv, ok := d.conn(on, key, "starttls")
	if !ok {
		return nil
	}
	if srv.Type != Stream {
		d.errorf(key, "starttls: needs a stream connection; %s is dgram", name)
		return nil
	}
	c, ok := d.tlsOptions(opts, "starttls")
	if !ok {
		return nil
	}
	return &starttlsAction{conn: name, client: c}
}

// clientTLS decodes the tls: of a connect to srv: true (the defaults:
// see clientTLS.config), false, or a mapping of clientTLSKeys.
func (d *decoder) clientTLS(n *yaml.Node, what string, srv *Server) (*clientTLS, bool) {
	if srv.Type != Stream {
		d.errorf(n, "%s: needs a stream server; %s is dgram (TLS over datagrams, DTLS, is not supported)", what, srv.Name)
		return nil, false
	}
	r := resolve(n)
	if r != nil && r.Kind == yaml.MappingNode {
		pairs, ok := d.mapping(r, what, clientTLSKeys...)
		if !ok {
			return nil, false
		}
		return d.tlsOptions(pairs, what)
	}
	if r == nil || r.Kind != yaml.ScalarNode || r.Tag != "!!bool" {
		d.errorf(n, "%s: found %s, expected true, or a mapping of %s", what, found(n), strings.Join(clientTLSKeys, ", "))
		return nil, false
	}
	if on, _ := d.boolean(n, what); !on {
		return nil, true
	}
	return &clientTLS{dir: d.dir}, true
}

// tlsOptions decodes the keys of a client's TLS: server_name, insecure,
// ca and alpn.
func (d *decoder) tlsOptions(pairs []kv, what string) (*clientTLS, bool) {
	c := &clientTLS{dir: d.dir}
	f, _ := splitPairs(pairs, clientTLSKeys...)
	ok := true
	if n := f.val("server_name"); n != nil {
		s, good := d.name(n, what+": server_name")
		ok = ok && good
		c.serverName = d.template(n, s)
	}
	if n := f.val("insecure"); n != nil {
		var good bool
		c.insecure, good = d.boolean(n, what+": insecure")
		ok = ok && good
	}
	if n := f.val("ca"); n != nil {
		s, good := d.name(n, what+": ca")
		ok = ok && good
		if good {
			c.ca = d.template(n, s)
			if path, static := c.ca.static(); static {
				if !filepath.IsAbs(path) {
					path = filepath.Join(d.dir, path)
				}
				if _, err := os.Stat(path); err != nil {
					d.errorf(n, "%s: ca: %v; expected a PEM file of the CAs to trust (relative to the spec), or {{SERVER.ca}}", what, err)
					ok = false
				}
			}
		}
		if c.insecure {
			d.errorf(n, "%s: ca: beside insecure: true, which trusts any certificate; keep one", what)
			ok = false
		}
	}
	if n := f.val("alpn"); n != nil {
		before := len(d.errs)
		c.alpn = d.words(n, what+": alpn")
		ok = ok && len(d.errs) == before
	}
	return c, ok
}

// words decodes a string or a list of strings.
func (d *decoder) words(n *yaml.Node, what string) []string {
	r := resolve(n)
	if r == nil || r.Kind != yaml.SequenceNode {
		s, ok := d.name(n, what)
		if !ok {
			return nil
		}
		return []string{s}
	}
	if len(r.Content) == 0 {
		d.errorf(n, "%s: found an empty list, expected protocol names such as h2 or http/1.1", what)
	}
	var out []string
	for _, e := range r.Content {
		if s, ok := d.name(e, what); ok {
			out = append(out, s)
		}
	}
	return out
}

func (a *starttlsAction) run(ctx context.Context, s *session) error {
	e, err := s.conn(a.conn)
	if err != nil {
		return err
	}
	cfg, client := s.tlsServer, false
	if a.client != nil {
		client = true
		addr := s.env.addrs[e.server]
		if cfg, err = a.client.config(s.env, s.servers.identity(e.server), addr); err != nil {
			return err
		}
	}
	if err := e.startTLS(ctx, cfg, client, deadline(ctx, s.timeout), s.timeout); err != nil {
		return fmt.Errorf("starttls on %s: %w", a.conn, err)
	}
	return nil
}

// handshakeStep stands for the TLS handshake a server with tls: true runs
// before its script: a failure of it is the script's, reported where the
// server's tls: key is.
func handshakeStep(srv *Server) *Step {
	return &Step{Kind: "tls", Pos: srv.TLS.pos, act: handshakeAction{}}
}

type handshakeAction struct{}

func (handshakeAction) String() string                      { return "TLS handshake with the client" }
func (handshakeAction) run(context.Context, *session) error { return nil }
