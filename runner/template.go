package runner

import (
	"net"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// A template is a string with placeholders ({{port}}, {{echo.addr}},
// {{VAR}}), checked while decoding and filled in when a test runs, once
// the servers' addresses are known.
type template struct {
	segs []segment
	vars []string // the vars filled in while decoding, for messages
}

type segment struct {
	lit    string
	server string // with field: a server's address
	field  string // port, host, addr or path
}

// addrFields are the placeholder fields a server answers.
var addrFields = []string{"port", "host", "addr", "path"}

var placeholderRE = regexp.MustCompile(`\{\{\s*([A-Za-z_][A-Za-z0-9_.-]*)\s*\}\}`)

// literal returns a template without placeholders.
func literal(s string) *template { return &template{segs: []segment{{lit: s}}} }

// template parses s, found at node n, into a template. Vars are filled in
// now (their values are known); server fields are kept for run time. self
// is the server whose own fields bare {{port}} names, or nil for the first.
func (d *decoder) template(n *yaml.Node, s string) *template {
	t := &template{}
	rest := 0
	for _, m := range placeholderRE.FindAllStringSubmatchIndex(s, -1) {
		t.addLit(s[rest:m[0]])
		rest = m[1]
		name := s[m[2]:m[3]]
		if seg, ok := d.placeholder(n, name); ok {
			if seg.server == "" {
				t.vars = append(t.vars, name)
				t.addLit(seg.lit)
			} else {
				t.segs = append(t.segs, seg)
			}
		}
	}
	t.addLit(s[rest:])
	return t
}

func (t *template) addLit(s string) {
	if s == "" {
		return
	}
	if k := len(t.segs) - 1; k >= 0 && t.segs[k].server == "" {
		t.segs[k].lit += s
		return
	}
	t.segs = append(t.segs, segment{lit: s})
}

// placeholder resolves one placeholder name.
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
		return segment{lit: v}, true
	}
	if i := strings.LastIndexByte(name, '.'); i > 0 {
		if srv := d.servers[name[:i]]; srv != nil && slices.Contains(addrFields, name[i+1:]) {
			return d.serverField(n, srv, name[i+1:])
		}
	}
	var known []string
	for v := range d.vars {
		known = append(known, v)
	}
	slices.Sort(known)
	msg := "expected port, host, addr, path, SERVER.port (and .host, .addr, .path)"
	if len(known) > 0 {
		msg += " or a var: " + strings.Join(known, ", ")
	} else {
		msg += ", or a var declared under vars: or given with --var"
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
	}
	return segment{server: srv.Name, field: field}, true
}

// static returns the template's text if it has no run-time placeholders.
func (t *template) static() (string, bool) {
	switch len(t.segs) {
	case 0:
		return "", true
	case 1:
		return t.segs[0].lit, t.segs[0].server == ""
	}
	return "", false
}

// fill returns the template's text with the servers' addresses filled in.
func (t *template) fill(addrs map[string]Addr) string {
	if s, ok := t.static(); ok {
		return s
	}
	var b strings.Builder
	for _, s := range t.segs {
		if s.server == "" {
			b.WriteString(s.lit)
			continue
		}
		b.WriteString(addrs[s.server].field(s.field))
	}
	return b.String()
}

// An Addr is where a server instance can be reached.
type Addr struct {
	Network string // tcp, udp, unix or unixgram
	Host    string
	Port    int
	Path    string
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
	}
	return a.String()
}
