package runner

import (
	"bytes"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// DefaultTimeout is the deadline of a step when the spec names none.
const DefaultTimeout = 2 * time.Second

// DefaultReady is how long a program under test has to be serving.
const DefaultReady = 5 * time.Second

// LoadOptions change how a spec is read.
type LoadOptions struct {
	// Vars override the file's vars: (--var K=V); they may add new ones.
	Vars map[string]string
	// Programs replace servers' behaviours with programs under test
	// (--run NAME=COMMAND), by server name.
	Programs map[string]string
	// Addrs name servers that already run elsewhere (--addr NAME=...):
	// such a server needs neither behaviour: nor run:.
	Addrs map[string]string
}

// Load reads and decodes a spec file. The error, if any, holds an *Error
// for every problem found (see SpecErrors).
func Load(file string, opts LoadOptions) (*Spec, error) {
	src, err := readSpec(file)
	if err != nil {
		return nil, err
	}
	return Parse(file, src, opts)
}

// Parse decodes a spec from src; file names it in positions and is the
// base of relative paths.
func Parse(file string, src []byte, opts LoadOptions) (*Spec, error) {
	if len(src) > maxSpec {
		return nil, specTooBig(file, int64(len(src)))
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return nil, yamlError(file, src, err)
	}
	return decodeDoc(file, src, &doc, opts)
}

// decodeDoc decodes the spec of file, whose text is src and whose YAML
// nodes are doc: all that Parse does beyond yaml.v3's own parse.
func decodeDoc(file string, src []byte, doc *yaml.Node, opts LoadOptions) (*Spec, error) {
	d := &decoder{file: file, dir: filepath.Dir(file), src: src, servers: map[string]*Server{}}
	d.nested = d.steps
	if len(doc.Content) == 0 || isNull(doc.Content[0]) { // nothing, or a bare "---"
		return nil, errorList([]*Error{{Pos: Pos{file, 1, 1}, Msg: "the file is empty; expected a spec with servers: and tests:"}})
	}
	// Without a '*' the file has no alias: nothing to count.
	if bytes.IndexByte(src, '*') >= 0 && !d.aliasBudget(doc) {
		return nil, errorList(d.errs)
	}
	spec := d.spec(doc.Content[0], opts)
	// --addr may name a server of any one of the specs run together (the
	// CLI checks that one has it); --run a server of each.
	for _, flag := range []struct {
		name string
		m    map[string]string
	}{{"--run", opts.Programs}} {
		for _, name := range keys(flag.m) {
			if d.servers[name] == nil {
				d.errs = append(d.errs, &Error{Pos: Pos{File: file}, Msg: fmt.Sprintf("%s %s=...: the file has no server %q%s", flag.name, name, name, listOf(keys(d.servers)))})
			}
		}
	}
	if len(d.errs) > 0 {
		inside(src, d.errs)
		return nil, errorList(d.errs)
	}
	return spec, nil
}

// inside moves an error that yaml.v3 placed past the end of the file (an
// empty value at its very end stands on a line after the last) to the
// file's last character, where the CLI can draw its caret.
func inside(src []byte, errs []*Error) {
	starts, ends := lines(src)
	last := len(ends)
	for _, e := range errs {
		if e.Pos.Line > last {
			e.Pos.Line, e.Pos.Col = last, utf8.RuneCount(src[starts[last-1]:ends[last-1]])+1
		}
	}
}

var specKeys = []string{"name", "about", "timeout", "vars", "servers", "tests"}

func (d *decoder) spec(root *yaml.Node, opts LoadOptions) *Spec {
	s := &Spec{File: d.file, Timeout: DefaultTimeout, Vars: map[string]string{}}
	s.Name = strings.TrimSuffix(filepath.Base(d.file), filepath.Ext(d.file))
	pairs, ok := d.mapping(root, "spec", specKeys...)
	if !ok {
		return s
	}
	top, _ := splitPairs(pairs, specKeys...)
	// Vars and servers first, whatever their order in the file: steps and
	// placeholders refer to them.
	if n := top.val("name"); n != nil {
		s.Name, _ = d.name(n, "name")
	}
	if n := top.val("about"); n != nil {
		s.About, _ = d.str(n, "about")
	}
	if n := top.val("timeout"); n != nil {
		if v, ok := d.duration(n, "timeout"); ok {
			s.Timeout = v
		}
	}
	d.vars = map[string]*string{}
	if n := top.val("vars"); n != nil {
		d.varsOf(n)
	}
	for k, v := range opts.Vars {
		d.vars[k] = &v
	}
	for k, v := range d.vars {
		if v != nil {
			s.Vars[k] = *v
		}
	}
	if n := top.val("servers"); n != nil {
		d.serversOf(n, s, opts)
	}
	d.checkSockets(s, opts)
	if n := top.val("tests"); n != nil {
		d.testsOf(n, s)
	} else {
		d.errorf(root, "spec: no tests: key; expected a list of tests")
	}
	return s
}

// varsOf decodes vars:. A var written with no value (client: ~) must be
// given with --var: a test that needs it is skipped until it is.
func (d *decoder) varsOf(n *yaml.Node) {
	pairs, _ := d.mapping(n, "vars", nil...)
	for _, p := range pairs {
		if slices.Contains(addrFields, p.name) {
			d.errorf(p.key, "vars: %q is the name of a server placeholder ({{%s}}); choose another name", p.name, p.name)
			continue
		}
		if !placeholderRE.MatchString("{{" + p.name + "}}") {
			d.errorf(p.key, "vars: %q is not a name a placeholder can use; expected letters, digits, _ - and .", p.name)
			continue
		}
		if isNull(p.val) {
			d.vars[p.name] = nil
			continue
		}
		if v, ok := d.str(p.val, "vars: "+p.name); ok {
			d.vars[p.name] = &v
		}
	}
}

var serverKeys = []string{"type", "host", "port", "path", "behaviour", "script", "loop", "run", "socket_of", "ready", "dir", "env", "files", "tls", "proxy", "faults", "seed", "limits"}

func (d *decoder) serversOf(n *yaml.Node, s *Spec, opts LoadOptions) {
	pairs, ok := d.mapping(n, "servers", nil...)
	if !ok {
		return
	}
	// Register every name first: a server's run line may name another's port.
	for _, p := range pairs {
		srv := &Server{Name: p.name, Pos: d.pos(p.key), Type: Stream, Host: "127.0.0.1", Ready: DefaultReady,
			uses: map[string]bool{}, needs: map[string]bool{}}
		d.servers[p.name] = srv
		s.Servers = append(s.Servers, srv)
	}
	if len(s.Servers) > 0 {
		d.first = s.Servers[0]
	}
	// Addresses before scripts and commands, which check placeholders.
	fields := make([]kvs, len(pairs))
	typos := make([]bool, len(pairs))
	for i, p := range pairs {
		before := len(d.errs)
		sp, _ := d.mapping(p.val, "server "+p.name, serverKeys...)
		typos[i] = len(d.errs) > before
		fields[i], _ = splitPairs(sp, serverKeys...)
		d.serverAddr(s.Servers[i], fields[i])
	}
	d.proxyTypes(s.Servers, fields)
	for i, p := range pairs {
		_, elsewhere := opts.Addrs[p.name]
		d.serverRole(s.Servers[i], p, fields[i], opts.Programs, elsewhere || typos[i])
	}
}

// serverAddr decodes where a server listens.
func (d *decoder) serverAddr(srv *Server, f kvs) {
	what := "server " + srv.Name
	if n := f.val("type"); n != nil {
		srv.Type, _ = d.oneOf(n, what+": type", Stream, Dgram)
	}
	if n := f.val("host"); n != nil {
		srv.Host, _ = d.name(n, what+": host")
		if f.val("path") != nil {
			d.errorf(n, "%s: host: and path: both given; a server has an address or a Unix path, not both", what)
		}
	}
	if n := f.val("port"); n != nil {
		if r := resolve(n); r.Kind == yaml.ScalarNode && r.Value == "same" && f.val("socket_of") != nil {
			// The port number of the program's first socket: one port,
			// two socket types (DNS over UDP and TCP).
			srv.SamePort = true
		} else {
			v, _ := d.integer(n, what+": port", 0, 65535, false)
			srv.Port = int(v)
		}
		if f.val("path") != nil {
			d.errorf(n, "%s: port: and path: both given; a server has a port or a Unix path, not both", what)
		}
	}
	if n := f.val("path"); n != nil {
		if srv.Path, _ = d.name(n, what+": path"); srv.Path != "" {
			d.unixPath(n, srv)
		}
	}
	// The names of its files first: placeholders anywhere may name them.
	if n := f.val("files"); n != nil {
		pairs, _ := d.mapping(n, what+": files", nil...)
		for _, p := range pairs {
			switch {
			case !fileKeyRE.MatchString(p.name):
				d.errorf(p.key, "%s: files: %q is not a name a placeholder can use; expected letters, digits, _ and -", what, p.name)
			case slices.Contains(addrFields, p.name):
				d.errorf(p.key, "%s: files: %q is the name of an address field ({{%s.%s}}); choose another name", what, p.name, srv.Name, p.name)
			default:
				srv.Files = append(srv.Files, &serverFile{Key: p.name, node: p.val})
			}
		}
	}
	if p, ok := f["tls"]; ok {
		d.serverTLS(srv, p)
	}
}

var fileKeyRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*$`)

// A serverFile is a file written for a program under test before it
// starts, in a fresh directory of the instance's: a configuration with
// the addresses filled in. {{SERVER.KEY}} is its path.
type serverFile struct {
	Key  string    // its name as a placeholder field
	Name string    // its file name
	Text *template // its content
	node *yaml.Node
}

// serverFiles decodes the content of a program's files: a string, or
// {name: FILE, text: STRING}.
func (d *decoder) serverFiles(srv *Server) {
	what := "server " + srv.Name + ": files"
	for _, f := range srv.Files {
		f.Name = f.Key
		n := resolve(f.node)
		if n != nil && n.Kind == yaml.MappingNode {
			pairs, _ := d.mapping(n, what+": "+f.Key, "name", "text")
			own, _ := splitPairs(pairs, "name", "text")
			if v := own.val("name"); v != nil {
				if name, ok := d.name(v, what+": "+f.Key+": name"); ok {
					if strings.ContainsAny(name, "/\\") || name == "." || name == ".." {
						d.errorf(v, "%s: %s: name: found %q, expected a file name without a directory", what, f.Key, name)
					}
					f.Name = name
				}
			}
			n = own.val("text")
			if n == nil {
				d.errorf(f.node, "%s: %s: needs text: the file's content", what, f.Key)
				continue
			}
		}
		if s, ok := d.str(n, what+": "+f.Key); ok {
			f.Text = d.template(n, s)
		}
	}
	if len(srv.Files) > 0 && srv.Run == nil {
		d.errorf(srv.Files[0].node, "%s: files are written for a program under test (run:); server %s is built in", what, srv.Name)
	}
}

// serverRole decodes what a server does: a behaviour or a program. quiet
// says not to ask for one: the server is given by --addr, or a misspelt
// key was reported already.
func (d *decoder) serverRole(srv *Server, p kv, f kvs, programs map[string]string, quiet bool) {
	what := "server " + srv.Name
	d.scope = &scope{server: srv, conns: map[string]*Server{srv.Name: srv}, uses: srv.uses, needs: srv.needs, captures: map[string]bool{}}
	defer func() { d.scope = nil }()
	beh, run, prx := f["behaviour"], f["run"], f["proxy"]
	cmdline, fromCLI := programs[srv.Name]
	switch {
	case f.val("socket_of") != nil:
		d.socketOf(srv, f, fromCLI || beh.val != nil || run.val != nil || prx.val != nil)
	case fromCLI:
		srv.Run = d.command(p.key, cmdline, "--run "+srv.Name)
	case beh.val != nil && run.val != nil:
		d.errorf(run.key, "%s: behaviour: and run: both given; expected exactly one", what)
	case prx.val != nil && (beh.val != nil || run.val != nil):
		d.errorf(prx.key, "%s: proxy: beside behaviour: or run:; a server is one of a behaviour, a program or a proxy", what)
	case prx.val != nil:
		d.proxy(srv, prx, f)
	case run.val != nil:
		srv.Run = d.commandValue(run.val, what+": run")
	case beh.val != nil:
		if name, ok := d.oneOf(beh.val, what+": behaviour", behaviourNames()...); ok {
			srv.Behaviour = lookupBehaviour(name)
		}
	case !quiet:
		d.errorf(p.key, "%s: needs behaviour: (%s), run: COMMAND or proxy: SERVER, or give it on the command line: --run %s=COMMAND (a program under test) or --addr %s=HOST:PORT (a server already running)",
			what, strings.Join(behaviourNames(), ", "), srv.Name, srv.Name)
	}
	if k := srv.Behaviour; k != nil && srv.Run == nil && srv.Type != "" && !(srv.Type == Stream && k.stream || srv.Type == Dgram && k.dgram) {
		d.errorf(beh.val, "%s: behaviour: %s serves %s sockets only; this server is %s", what, k.name, k.socketTypes(), srv.Type)
	}
	script := f["script"]
	isScript := srv.Behaviour != nil && srv.Behaviour.script && srv.Run == nil
	switch {
	case script.val != nil && isScript:
		srv.Script = d.steps(script.val, what+": script")
		if len(srv.Script) == 0 && len(d.errs) == 0 {
			d.errorf(script.val, "%s: script: found no steps, expected a list of steps", what)
		}
	case script.val != nil && srv.Run == nil:
		d.errorf(script.key, "%s: script: needs behaviour: script", what)
	case isScript:
		d.errorf(beh.val, "%s: behaviour: script needs script: a list of steps", what)
	}
	if n := f.val("loop"); n != nil {
		srv.Loop, _ = d.boolean(n, what+": loop")
		switch {
		case !isScript && srv.Run == nil:
			d.errorf(f["loop"].key, "%s: loop: goes with behaviour: script", what)
		case srv.Type == Dgram:
			d.errorf(f["loop"].key, "%s: loop: is for stream scripts; a dgram script runs again for each datagram anyway", what)
		}
	}
	for _, k := range []string{"faults", "seed"} {
		if p, ok := f[k]; ok && srv.Proxy == nil && !fromCLI {
			d.errorf(p.key, "%s: %s: goes with proxy: SERVER", what, k)
		}
	}
	if t, ok := f["tls"]; ok && srv.TLS != nil && srv.Run == nil {
		switch {
		case srv.Proxy != nil:
			d.errorf(t.key, "%s: tls: a proxy forwards bytes as they are, so TLS passes through it; put tls: on %s, the server behind it", what, srv.Proxy.target)
			srv.TLS = nil
		case srv.Behaviour != nil && srv.Behaviour.bindOnly:
			d.errorf(t.key, "%s: tls: behaviour: %s accepts no connection, so it has no TLS to serve", what, srv.Behaviour.name)
			srv.TLS = nil
		case srv.TLS.starttls && srv.Behaviour != nil && !srv.Behaviour.script:
			d.errorf(t.key, "%s: tls: starttls needs behaviour: script, whose starttls: step upgrades the connection; behaviour: %s never would", what, srv.Behaviour.name)
			srv.TLS = nil
		}
	}
	if n := f.val("ready"); n != nil {
		srv.Ready, _ = d.duration(n, what+": ready")
	}
	if n := f.val("limits"); n != nil {
		srv.Limits = d.limits(n, what+": limits")
	}
	if n := f.val("dir"); n != nil {
		if s, ok := d.str(n, what+": dir"); ok {
			srv.Dir = d.template(n, s)
		}
	}
	d.serverFiles(srv)
	if n := f.val("env"); n != nil {
		pairs, _ := d.mapping(n, what+": env", nil...)
		srv.Env = map[string]*template{}
		for _, e := range pairs {
			if s, ok := d.str(e.val, what+": env: "+e.name); ok {
				srv.Env[e.name] = d.template(e.val, s)
			}
		}
	}
}

var testKeys = []string{"name", "points", "hidden", "hint", "timeout", "servers", "steps"}

func (d *decoder) testsOf(n *yaml.Node, s *Spec) {
	n = resolve(n)
	if n.Kind != yaml.SequenceNode {
		d.errorf(n, "tests: found %s, expected a list of tests (- name: ...)", found(n))
		return
	}
	if len(n.Content) == 0 {
		d.errorf(n, "tests: the list is empty; expected at least one test")
		return
	}
	seen := map[string]Pos{}
	for i, tn := range n.Content {
		if d.strayStep(n, i) {
			continue
		}
		// Steps below this test that lost their indentation say so
		// themselves; its steps: with nothing under it need not.
		d.strayNext = i+1 < len(n.Content) && d.stepLike(n.Content[i+1]) != nil
		t := d.test(tn, s)
		if t == nil {
			continue
		}
		if prev, dup := seen[t.Name]; dup {
			d.errs = append(d.errs, &Error{Pos: t.Pos, Msg: fmt.Sprintf("test %q: the name is used already at %s; test names must be unique", t.Name, prev)})
			continue
		}
		seen[t.Name] = t.Pos
		s.Tests = append(s.Tests, t)
	}
}

// usage works out which servers a test starts and which unset vars it
// needs: what its own steps name, and what those servers name in turn.
func usage(s *Spec, uses, needs map[string]bool) (servers, vars []string) {
	var visit func(name string)
	visit = func(name string) {
		if uses[name] {
			return
		}
		uses[name] = true
		srv := s.Server(name)
		for n := range srv.needs {
			needs[n] = true
		}
		for n := range srv.uses {
			visit(n)
		}
	}
	direct := keys(uses)
	clear(uses)
	for _, n := range direct {
		visit(n)
	}
	for _, srv := range s.Servers {
		if uses[srv.Name] {
			servers = append(servers, srv.Name)
		}
	}
	return servers, keys(needs)
}

func (d *decoder) test(n *yaml.Node, s *Spec) *Test {
	before := len(d.errs)
	pairs, ok := d.mapping(n, "test", testKeys...)
	if !ok {
		return nil
	}
	// A misspelt key was reported already: "needs steps:" would be noise.
	typo := len(d.errs) > before
	f, _ := splitPairs(pairs, testKeys...)
	t := &Test{Pos: d.pos(resolve(n)), Points: 1}
	nameNode := f.val("name")
	if nameNode == nil {
		if !typo {
			d.errorf(n, "test: needs name:")
		}
		t.Name = fmt.Sprintf("test at line %d", t.Pos.Line)
	} else if t.Name, ok = d.name(nameNode, "test: name"); ok {
		t.Pos = d.pos(nameNode)
	}
	what := "test " + strconv.Quote(t.Name)
	if v := f.val("points"); v != nil {
		p, _ := d.integer(v, what+": points", 0, 1_000_000, false)
		t.Points = int(p)
	}
	if v := f.val("hidden"); v != nil {
		t.Hidden, _ = d.boolean(v, what+": hidden")
	}
	if v := f.val("hint"); v != nil {
		if t.Hint, ok = d.str(v, what+": hint"); ok && strings.TrimSpace(t.Hint) == "" {
			d.errorf(v, "%s: hint: is empty; expected one sentence on the likely bug, or no hint: at all", what)
		}
		t.Hint = strings.TrimSpace(t.Hint)
	}
	if v := f.val("timeout"); v != nil {
		t.Timeout, _ = d.duration(v, what+": timeout")
	}
	if t.Timeout == 0 {
		t.Timeout = s.Timeout
	}
	v := f.val("steps")
	if v == nil {
		if sv := f.val("servers"); sv != nil {
			d.testServers(sv, what, &scope{uses: map[string]bool{}})
		}
		if !typo {
			d.errorf(n, "%s: needs steps: a list of steps", what)
		}
		return t
	}
	if isNull(v) && d.strayNext {
		return t
	}
	sc := &scope{conns: map[string]*Server{}, uses: map[string]bool{}, needs: map[string]bool{}, captures: map[string]bool{}}
	if v := f.val("servers"); v != nil {
		d.testServers(v, what, sc)
	}
	d.scope = sc
	t.Steps = d.steps(v, what+": steps")
	d.scope = nil
	t.Servers, t.Needs = usage(s, sc.uses, sc.needs)
	if n := resolve(v); n.Kind == yaml.SequenceNode && len(n.Content) == 0 {
		d.errorf(v, "%s: steps: the list is empty; a test with no steps cannot fail", what)
	}
	return t
}

// testServers decodes a test's servers: list, which names servers the test
// starts though no step names them (a client program that finds its
// server by itself, say).
func (d *decoder) testServers(n *yaml.Node, what string, sc *scope) {
	n = resolve(n)
	if n.Kind != yaml.SequenceNode {
		d.errorf(n, "%s: servers: found %s, expected a list of server names", what, found(n))
		return
	}
	for _, e := range n.Content {
		name, ok := d.name(e, what+": servers")
		if !ok {
			continue
		}
		if d.servers[name] == nil {
			d.errorf(e, "%s: servers: unknown server %q%s; expected one of the file's servers%s", what, name, didYouMean(name, keys(d.servers)), listOf(keys(d.servers)))
			continue
		}
		sc.uses[name] = true
	}
}

// socketOf decodes socket_of: PROGRAM, a further socket of a program
// under test: one program that serves several sockets (TCP and UDP, or
// two ports). It has an address of its own, and a type, but no program:
// PROGRAM's readiness waits for it too, a test that uses it starts
// PROGRAM, and {{NAME.port}} names its port. port: same gives it
// PROGRAM's port number.
func (d *decoder) socketOf(srv *Server, f kvs, other bool) {
	what := "server " + srv.Name
	n := f.val("socket_of")
	name, ok := d.name(n, what+": socket_of")
	if !ok {
		return
	}
	prog := d.servers[name]
	switch {
	case other:
		d.errorf(f["socket_of"].key, "%s: socket_of: is a socket of another server's program; it has no behaviour:, run: or proxy: of its own (nor --run)", what)
	case prog == nil:
		d.errorf(n, "%s: socket_of: unknown server %q%s; expected the program server it is a socket of%s", what, name, didYouMean(name, keys(d.servers)), listOf(keys(d.servers)))
	case prog == srv:
		d.errorf(n, "%s: socket_of: names itself; expected another server, a program under test", what)
	default:
		srv.SocketOf = prog
		d.use(prog)
	}
}

// checkSockets checks what socket_of: needs once every server's role is
// known, and makes a program use its sockets: their addresses are its.
func (d *decoder) checkSockets(s *Spec, opts LoadOptions) {
	for _, srv := range s.Servers {
		prog := srv.SocketOf
		if prog == nil {
			continue
		}
		_, progElsewhere := opts.Addrs[prog.Name]
		_, elsewhere := opts.Addrs[srv.Name]
		switch {
		case prog.SocketOf != nil:
			d.errs = append(d.errs, &Error{Pos: srv.Pos, Msg: fmt.Sprintf("server %s: socket_of: %s is itself a socket of %s; name the program server, %s", srv.Name, prog.Name, prog.SocketOf.Name, prog.SocketOf.Name)})
		case progElsewhere && !elsewhere:
			d.errs = append(d.errs, &Error{Pos: srv.Pos, Msg: fmt.Sprintf("server %s: its program %s is given by --addr; give this socket's address too: --addr %s=HOST:PORT", srv.Name, prog.Name, srv.Name)})
		case prog.Run == nil && !progElsewhere:
			d.errs = append(d.errs, &Error{Pos: srv.Pos, Msg: fmt.Sprintf("server %s: socket_of: %s is not a program under test (run:); only a program can have several sockets", srv.Name, prog.Name)})
		case srv.SamePort && (srv.Path != "" || prog.Path != ""):
			d.errs = append(d.errs, &Error{Pos: srv.Pos, Msg: fmt.Sprintf("server %s: port: same needs a port, and %s or %s has a Unix path", srv.Name, srv.Name, prog.Name)})
		case srv.SamePort && srv.Type == prog.Type && srv.Host == prog.Host:
			d.errs = append(d.errs, &Error{Pos: srv.Pos, Msg: fmt.Sprintf("server %s: port: same with the same type and host as %s is the same socket; give it another type or host", srv.Name, prog.Name)})
		}
		prog.uses[srv.Name] = true
		prog.Sockets = append(prog.Sockets, srv)
	}
}
