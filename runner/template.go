package runner

import (
	"fmt"
	"net"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// A template is a string with placeholders ({{port}}, {{echo.addr}},
// {{VAR}}, {{capture}}), checked while decoding and filled in when a step
// runs, from the run-time environment.
type template struct {
	segs []segment
	vars []string   // the vars filled in while decoding, for messages
	one  [1]segment // segs of a template of one segment, without an allocation of its own
}

// A segment is literal text, or a placeholder filled in at run time: a
// server's address field, or a value a regex captured.
type segment struct {
	lit     string
	server  string // with field: a server's address
	field   string // port, host, addr or path
	capture string // a named group of an earlier regex
}

func (s segment) static() bool { return s.server == "" && s.capture == "" }

// addrFields are the placeholder fields a server answers.
var addrFields = []string{"port", "host", "addr", "path"}

// tlsFields are the PEM files sockrun makes for a server with tls:. A var
// or a capture of the same name comes first in {{ca}}, so that adding
// them broke no spec; {{NAME.ca}} is never ambiguous.
var tlsFields = []string{"ca", "cert", "key"}

var placeholderRE = regexp.MustCompile(`\{\{\s*([A-Za-z_][A-Za-z0-9_.-]*)\s*\}\}`)

// literal returns a template without placeholders.
func literal(s string) *template {
	t := &template{}
	t.addLit(s)
	return t
}

// template parses s, found at node n, into a template. Vars are filled in
// now (their values are known); server fields and captures are kept for
// run time. Every server a placeholder names is recorded as used by the
// scope being decoded.
func (d *decoder) template(n *yaml.Node, s string) *template {
	t := &template{}
	// The text between run-time placeholders: one piece of s as it is,
	// or pieces and vars' values joined in lit, in one allocation.
	var lit strings.Builder
	piece := ""
	add := func(p string) {
		switch {
		case lit.Len() == 0 && piece == "":
			piece = p
		case p != "":
			if lit.Len() == 0 {
				lit.Grow(len(s) + len(p))
				lit.WriteString(piece)
			}
			lit.WriteString(p)
		}
	}
	flush := func() {
		if lit.Len() > 0 {
			piece = lit.String()
			lit = strings.Builder{}
		}
		t.addLit(piece)
		piece = ""
	}
	rest := 0
	for at := 0; ; {
		start, end, name := nextPlaceholder(s, at)
		if start < 0 {
			break
		}
		at = end
		add(s[rest:start])
		rest = end
		if seg, ok := d.placeholder(n, name); ok {
			if seg.static() {
				t.vars = append(t.vars, name)
				add(seg.lit)
			} else {
				flush()
				t.segs = append(t.segs, seg)
			}
		}
	}
	add(s[rest:])
	flush()
	return t
}

// nextPlaceholder finds the first placeholder in s at or after from, as
// placeholderRE would ({{ NAME }}), and returns where it starts and ends
// and its name, or a negative start. A scan of its own, not the regexp:
// decoding calls it on every string, and the regexp allocates.
func nextPlaceholder(s string, from int) (start, end int, name string) {
	for {
		i := strings.Index(s[from:], "{{")
		if i < 0 {
			return -1, -1, ""
		}
		start = from + i
		j := start + 2
		for j < len(s) && isSpace(s[j]) {
			j++
		}
		k := j
		for k < len(s) && (isNameByte(s[k]) || k > j && ('0' <= s[k] && s[k] <= '9' || s[k] == '.' || s[k] == '-')) {
			k++
		}
		e := k
		for e < len(s) && isSpace(s[e]) {
			e++
		}
		if k > j && strings.HasPrefix(s[e:], "}}") {
			return start, e + 2, s[j:k]
		}
		from = start + 1
	}
}

func isNameByte(c byte) bool { return c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

// isSpace is \s of RE2: space, \t, \n, \f, \r.
func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r' }

func (t *template) addLit(s string) {
	if s == "" {
		return
	}
	if k := len(t.segs) - 1; k >= 0 && t.segs[k].static() {
		t.segs[k].lit += s
		return
	}
	if t.segs == nil {
		t.segs = t.one[:0]
	}
	t.segs = append(t.segs, segment{lit: s})
}

// placeholder resolves one placeholder name: a field of the server in
// scope (or the first), a var, a capture of an earlier step, or
// SERVER.field. A var declared without a value makes the scope need it.
func (d *decoder) placeholder(n *yaml.Node, name string) (segment, bool) {
	if slices.Contains(addrFields, name) {
		srv := d.first
		if d.scope != nil && d.scope.server != nil {
			srv = d.scope.server
		}
		if srv == nil {
			d.errorf(n, "placeholder {{%s}}: the file declares no server", name)
			return segment{}, false
		}
		return d.serverField(n, srv, name)
	}
	if v, ok := d.vars[name]; ok {
		if v == nil {
			d.need(name)
			return segment{}, false
		}
		return segment{lit: *v}, true
	}
	if d.scope != nil && d.scope.captures[name] {
		return segment{capture: name}, true
	}
	if slices.Contains(tlsFields, name) && (d.first != nil || d.scope != nil && d.scope.server != nil) {
		srv := d.first
		if d.scope != nil && d.scope.server != nil {
			srv = d.scope.server
		}
		return d.serverField(n, srv, name)
	}
	if i := strings.LastIndexByte(name, '.'); i > 0 {
		if srv := d.servers[name[:i]]; srv != nil && slices.Contains(addrFields, name[i+1:]) {
			return d.serverField(n, srv, name[i+1:])
		}
		if srv := d.servers[name[:i]]; srv != nil && srv.file(name[i+1:]) != nil {
			d.use(srv)
			return segment{server: srv.Name, field: name[i+1:]}, true
		}
		if srv := d.servers[name[:i]]; srv != nil && slices.Contains(tlsFields, name[i+1:]) {
			return d.serverField(n, srv, name[i+1:])
		}
	}
	known := keys(d.vars)
	if d.scope != nil {
		known = append(known, keys(d.scope.captures)...)
	}
	msg := "expected port, host, addr, path, SERVER.port (and .host, .addr, .path; .ca, .cert, .key with tls:)"
	if len(known) > 0 {
		msg += ", a var or a capture of an earlier step: " + strings.Join(known, ", ")
	} else {
		msg += ", a var declared under vars: or given with --var, or a named group (?P<NAME>...) of an earlier regex"
	}
	d.errorf(n, "unknown placeholder {{%s}}%s; %s", name, didYouMean(name, append(known, addrFields...)), msg)
	return segment{}, false
}

func (d *decoder) serverField(n *yaml.Node, srv *Server, field string) (segment, bool) {
	switch {
	case srv.Path != "" && (field == "port" || field == "host"):
		d.errorf(n, "placeholder {{%s}}: server %s listens on a Unix path, it has no %s (use {{%s.path}})", field, srv.Name, field, srv.Name)
		return segment{}, false
	case srv.Path == "" && field == "path":
		d.errorf(n, "placeholder {{path}}: server %s listens on a port, it has no path (use {{%s.port}})", srv.Name, srv.Name)
		return segment{}, false
	case slices.Contains(tlsFields, field) && srv.TLS == nil:
		d.errorf(n, "placeholder {{%s.%s}}: server %s has no certificate; add tls: true to it, and sockrun makes one (with %s.pem, a file that {{%s.%s}} names)", srv.Name, field, srv.Name, field, srv.Name, field)
		return segment{}, false
	case slices.Contains(tlsFields, field):
		srv.TLS.files = true
	}
	d.use(srv)
	return segment{server: srv.Name, field: field}, true
}

// static returns the template's text if it has no run-time placeholders.
func (t *template) static() (string, bool) {
	switch len(t.segs) {
	case 0:
		return "", true
	case 1:
		return t.segs[0].lit, t.segs[0].static()
	}
	return "", false
}

// fill returns the template's text with the run-time placeholders filled
// in from e.
func (t *template) fill(e *env) (string, error) {
	if s, ok := t.static(); ok {
		return s, nil
	}
	var b strings.Builder
	for _, s := range t.segs {
		switch {
		case s.server != "":
			a, ok := e.addrs[s.server]
			if !ok {
				return "", fmt.Errorf("{{%s.%s}}: server %s is not running in this test", s.server, s.field, s.server)
			}
			v := a.field(s.field)
			if v == "" && slices.Contains(tlsFields, s.field) {
				return "", fmt.Errorf("{{%s.%s}}: sockrun made no certificate for server %s: it is given by --addr", s.server, s.field, s.server)
			}
			b.WriteString(v)
		case s.capture != "":
			v, ok := e.captures[s.capture]
			if !ok {
				return "", fmt.Errorf("{{%s}}: nothing was captured under that name: the regex that names it did not hold in this test", s.capture)
			}
			b.Write(v)
		default:
			b.WriteString(s.lit)
		}
	}
	return b.String(), nil
}

// An env is the run-time environment the steps of a test (or of one run of
// a server script) read: where the servers are, and what earlier steps
// captured. It is one value, passed to every step.
type env struct {
	addrs    map[string]Addr   // the servers running for this test
	captures map[string][]byte // named regex groups, by name
}

func newEnv(addrs map[string]Addr) *env {
	return &env{addrs: addrs, captures: map[string][]byte{}}
}

// An Addr is where a server instance can be reached.
type Addr struct {
	Network string // tcp, udp, unix or unixgram
	Host    string
	Port    int
	Path    string
	// Files are the paths of the files written for a program, by key;
	// and of the PEM files of the certificate of a server with tls: (ca,
	// cert and key), when a placeholder names them.
	Files map[string]string
}

// String returns host:port, or the path of a Unix socket.
func (a Addr) String() string {
	if a.Path != "" {
		return a.Path
	}
	return net.JoinHostPort(a.Host, strconv.Itoa(a.Port))
}

func (a Addr) field(f string) string {
	switch f {
	case "port":
		return strconv.Itoa(a.Port)
	case "host":
		return a.Host
	case "path":
		return a.Path
	case "addr":
		return a.String()
	}
	return a.Files[f]
}
