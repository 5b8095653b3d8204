package runner

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// serverTLS is a server's tls: key: sockrun makes the server a
// certificate of its own, signed by a CA of its own.
type serverTLS struct {
	pos Pos
	// starttls: connections start in plain text, and a script's starttls
	// step upgrades them (SMTP's and IMAP's STARTTLS).
	starttls bool
	alpn     []string // the application protocols the server accepts
	// files is set when a placeholder names the server's PEM files
	// ({{NAME.ca}}...): only then are they written.
	files bool
}

// An identity is the certificate sockrun makes for a server instance: a
// CA of its own, made afresh, and a leaf for the server's host signed by
// it. ECDSA P-256 keeps it cheap (see BenchmarkIdentity). Its PEM files,
// when a placeholder names them, are in a temporary directory of its own.
type identity struct {
	leaf tls.Certificate
	pool *x509.CertPool // trusts the CA, and nothing else
	alpn []string
	dir  string // the PEM files, or "" when none were written
}

// certValidity is how long a certificate sockrun makes is valid: long
// enough for any run (or a `sockrun serve` left on), and it starts an
// hour early, so that a clock a little behind still accepts it.
const certValidity = 366 * 24 * time.Hour

// newIdentity makes a CA and a leaf certificate for srv, valid for its
// host and for localhost, 127.0.0.1 and ::1 (a client may reach a server
// by any of them), and writes them as PEM files if files is set.
func newIdentity(srv *Server, files bool) (*identity, error) {
	now := time.Now().Add(-time.Hour)
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	caTmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "sockrun test CA for server " + srv.Name},
		NotBefore:             now,
		NotAfter:              now.Add(certValidity),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	hosts := certHosts(srv.Host, srv.Path != "")
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: hosts[0]},
		NotBefore:    now,
		NotAfter:     now.Add(certValidity),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	id := &identity{pool: x509.NewCertPool(), leaf: tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}}
	id.pool.AddCert(ca)
	if srv.TLS != nil {
		id.alpn = srv.TLS.alpn
	}
	if !files {
		return id, nil
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	if id.dir, err = os.MkdirTemp("", "sockrun-tls-"); err != nil {
		return nil, err
	}
	for _, f := range []struct {
		name, kind string
		der        []byte
		mode       os.FileMode
	}{{"ca.pem", "CERTIFICATE", caDER, 0o644}, {"cert.pem", "CERTIFICATE", der, 0o644}, {"key.pem", "PRIVATE KEY", keyDER, 0o600}} {
		b := pem.EncodeToMemory(&pem.Block{Type: f.kind, Bytes: f.der})
		if err := os.WriteFile(filepath.Join(id.dir, f.name), b, f.mode); err != nil {
			id.remove()
			return nil, err
		}
	}
	return id, nil
}

// certHosts are the names a server's certificate is for: its own host
// first, then the loopback names a client may use instead.
func certHosts(host string, unix bool) []string {
	var out []string
	if !unix && host != "" {
		out = append(out, host)
	}
	for _, h := range []string{"localhost", "127.0.0.1", "::1"} {
		if !slices.Contains(out, h) {
			out = append(out, h)
		}
	}
	return out
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		return big.NewInt(time.Now().UnixNano())
	}
	return n
}

// paths adds the PEM files to a's files: {{NAME.ca}} and so on.
func (id *identity) paths(a Addr) Addr {
	if id == nil || id.dir == "" {
		return a
	}
	files := map[string]string{}
	for k, v := range a.Files {
		files[k] = v
	}
	for _, f := range tlsFields {
		files[f] = filepath.Join(id.dir, f+".pem")
	}
	a.Files = files
	return a
}

// remove removes the PEM files, if any were written.
func (id *identity) remove() {
	if id != nil && id.dir != "" {
		os.RemoveAll(id.dir)
	}
}

// serverConfig is the TLS configuration of a built-in server that has id.
func (id *identity) serverConfig() *tls.Config {
	return &tls.Config{Certificates: []tls.Certificate{id.leaf}, NextProtos: id.alpn}
}

// A clientTLS is the client side of TLS, as connect's tls: and the
// starttls step give it.
type clientTLS struct {
	serverName *template // the name to ask for and verify; nil: the host dialled
	insecure   bool      // trust any certificate
	ca         *template // a PEM file of the CAs to trust; nil: see config
	alpn       []string  // protocols to offer; one of them must be chosen
	dir        string    // the spec's directory: a relative ca: is found there
}

// config is the client's TLS configuration for a connection to server
// (reached at a). Without ca:, it trusts the CA sockrun made for that
// server (or for the server behind a proxy), if it made one, and else
// the system's roots.
func (c *clientTLS) config(e *env, id *identity, a Addr) (*tls.Config, error) {
	cfg := &tls.Config{InsecureSkipVerify: c.insecure, NextProtos: c.alpn}
	cfg.ServerName = a.Host
	if a.Path != "" || a.Host == "" {
		cfg.ServerName = "localhost"
	}
	if c.serverName != nil {
		s, err := c.serverName.fill(e)
		if err != nil {
			return nil, err
		}
		cfg.ServerName = s
	}
	switch {
	case c.ca != nil:
		path, err := c.ca.fill(e)
		if err != nil {
			return nil, err
		}
		if !filepath.IsAbs(path) {
			path = filepath.Join(c.dir, path)
		}
		pem, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("tls: ca: %w", err)
		}
		cfg.RootCAs = x509.NewCertPool()
		if !cfg.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("tls: ca: %s holds no PEM certificate", path)
		}
	case id != nil:
		cfg.RootCAs = id.pool
	}
	return cfg, nil
}

// A tlsError is a TLS handshake that failed, with the reason in words:
// a bad certificate, a wrong name, no common ALPN protocol, a peer that
// does not speak TLS...
type tlsError struct {
	reason string
	err    error
}

func (e *tlsError) Error() string { return "TLS handshake: " + e.reason }
func (e *tlsError) Unwrap() error { return e.err }

// handshake runs the TLS handshake of c by deadline dl, or until ctx
// ends, and explains a failure. Its deadline is the step's: the handshake
// is part of the step that asked for it. offered are the ALPN protocols
// a client offered: then the server must choose one.
func handshake(ctx context.Context, c *tls.Conn, dl time.Time, wait time.Duration, peer string, offered []string) error {
	c.SetDeadline(dl)
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Unix(1, 0)) })
	err := c.Handshake()
	stop()
	c.SetDeadline(time.Time{})
	if err != nil {
		return handshakeError(ctxErr(ctx, err), wait, peer)
	}
	if len(offered) > 0 && c.ConnectionState().NegotiatedProtocol == "" {
		return &tlsError{reason: fmt.Sprintf("no common ALPN protocol: the client offered %s, and the server chose none", strings.Join(offered, ", "))}
	}
	return nil
}

// handshakeError says why a handshake failed, in the words a user needs.
// peer names the other side: "server" or "client".
func handshakeError(err error, wait time.Duration, peer string) error {
	var (
		unknown  x509.UnknownAuthorityError
		hostname x509.HostnameError
		invalid  x509.CertificateInvalidError
		header   tls.RecordHeaderError
	)
	msg := err.Error()
	switch {
	case errors.Is(err, context.Canceled):
		return err
	case errors.Is(err, os.ErrDeadlineExceeded):
		return &tlsError{reason: fmt.Sprintf("it did not finish within %s", wait), err: err}
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return &tlsError{reason: "the " + peer + " closed the connection during the handshake", err: errClosedEarly}
	case isReset(err):
		return &tlsError{reason: "the " + peer + " reset the connection during the handshake", err: err}
	case errors.As(err, &unknown):
		issuer := ""
		if unknown.Cert != nil {
			issuer = fmt.Sprintf(" (its issuer is %q)", unknown.Cert.Issuer.CommonName)
		}
		return &tlsError{reason: "bad certificate: it is signed by an authority the client does not trust" + issuer +
			"; give the CA that signed it with tls: {ca: FILE}", err: err}
	case errors.As(err, &hostname):
		return &tlsError{reason: fmt.Sprintf("wrong name: the certificate is for %s, not %s", certNames(hostname.Certificate), hostname.Host), err: err}
	case errors.As(err, &invalid):
		why := invalid.Detail
		if invalid.Reason == x509.Expired {
			why = fmt.Sprintf("it is valid from %s to %s only", invalid.Cert.NotBefore.UTC().Format(time.RFC3339), invalid.Cert.NotAfter.UTC().Format(time.RFC3339))
		}
		return &tlsError{reason: "bad certificate: " + strings.TrimSpace(why+" "+invalid.Error()), err: err}
	case errors.As(err, &header):
		return &tlsError{reason: fmt.Sprintf("not TLS: the %s's first bytes are not a TLS record: %s", peer, quote(header.RecordHeader[:])), err: err}
	case strings.Contains(msg, "unexpected handshake message of type *tls.clientHelloMsg"):
		return &tlsError{reason: "not TLS: the " + peer + " sent the client's own hello back (an echo server that does not speak TLS?)", err: err}
	case strings.Contains(msg, "unexpected handshake message"), strings.Contains(msg, "unexpected message"):
		return &tlsError{reason: "not TLS: the " + peer + " did not answer as a TLS " + peer + " would (" + msg + ")", err: err}
	case strings.Contains(msg, "no application protocol"), strings.Contains(msg, "unsupported application protocols"):
		return &tlsError{reason: "no common ALPN protocol: " + msg, err: err}
	case strings.Contains(msg, "remote error: tls: bad certificate"), strings.Contains(msg, "remote error: tls: unknown certificate authority"):
		return &tlsError{reason: "the " + peer + " rejected the certificate (" + msg + ")", err: err}
	}
	return &tlsError{reason: msg, err: err}
}

// certNames lists the names a certificate is for.
func certNames(c *x509.Certificate) string {
	if c == nil {
		return "no name"
	}
	names := append([]string(nil), c.DNSNames...)
	for _, ip := range c.IPAddresses {
		names = append(names, ip.String())
	}
	if len(names) == 0 {
		return c.Subject.CommonName
	}
	return strings.Join(names, ", ")
}

// A tlsConn is a TLS connection over a socket. It knows the socket, so
// that a reset can bypass TLS, and its Close sends close_notify, as a
// peer expects, without waiting long for a peer that does not read
// (crypto/tls allows itself 5s).
type tlsConn struct {
	*tls.Conn
	raw net.Conn
}

// tlsCloseWait bounds how long a close waits to send close_notify.
const tlsCloseWait = 500 * time.Millisecond

func (c *tlsConn) Close() error {
	done := make(chan struct{})
	go func() {
		c.Conn.Close()
		close(done)
	}()
	t := time.NewTimer(tlsCloseWait)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		c.raw.Close() // wakes the write of close_notify
		<-done
	}
	return nil
}

// socket returns the socket under c: the connection itself, or the one
// TLS runs over.
func socket(c net.Conn) net.Conn {
	for {
		switch v := c.(type) {
		case *tlsConn:
			c = v.raw
		case *prefixConn:
			c = v.Conn
		default:
			return c
		}
	}
}

// A prefixConn reads what was received already before reading its
// socket: the bytes an endpoint had buffered when it started TLS belong
// to the handshake (or, sent in plain text after the request to upgrade,
// make it fail), whatever the reads that brought them.
type prefixConn struct {
	net.Conn
	prefix []byte
}

func (c *prefixConn) Read(p []byte) (int, error) {
	if len(c.prefix) > 0 {
		n := copy(p, c.prefix)
		c.prefix = c.prefix[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}

// startTLS runs a TLS handshake over the endpoint's connection, as a
// client (cfg.ServerName...) or a server, and later steps speak TLS on
// it. The bytes still buffered go to TLS first.
func (e *endpoint) startTLS(ctx context.Context, cfg *tls.Config, client bool, dl time.Time, wait time.Duration) error {
	if e.closed {
		return errConnClosed(e.name)
	}
	raw := e.conn
	under := raw
	if len(e.buf) > 0 {
		under = &prefixConn{Conn: raw, prefix: append([]byte(nil), e.buf...)}
		e.buf = e.buf[:0]
	}
	tc, peer, offered := tls.Server(under, cfg), "client", []string(nil)
	if client {
		tc, peer, offered = tls.Client(under, cfg), "server", cfg.NextProtos
	}
	if err := handshake(ctx, tc, dl, wait, peer, offered); err != nil {
		return err
	}
	e.conn = &tlsConn{Conn: tc, raw: socket(raw)}
	st := tc.ConnectionState()
	what := "tls " + tls.VersionName(st.Version)
	if st.NegotiatedProtocol != "" {
		what += ", alpn " + st.NegotiatedProtocol
	}
	e.log.add(e.name, what, nil)
	return nil
}
