package runner

import (
	"math"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// serverTLS decodes a server's tls: true (TLS from the first byte),
// starttls (plain text until a script's starttls step), false, or a
// mapping of starttls: and alpn:.
func (d *decoder) serverTLS(srv *Server, p kv) {
	what := "server " + srv.Name + ": tls"
	t := &serverTLS{pos: d.pos(p.key)}
	switch r := resolve(p.val); {
	case r != nil && r.Kind == yaml.ScalarNode && r.Tag == "!!bool":
		if on, _ := d.boolean(r, what); !on {
			return
		}
	case r != nil && r.Kind == yaml.ScalarNode && r.Value == "starttls":
		t.starttls = true
	case r != nil && r.Kind == yaml.MappingNode:
		pairs, _ := d.mapping(r, what, "starttls", "alpn")
		f, _ := splitPairs(pairs, "starttls", "alpn")
		if n := f.val("starttls"); n != nil {
			t.starttls, _ = d.boolean(n, what+": starttls")
		}
		if n := f.val("alpn"); n != nil {
			t.alpn = d.words(n, what+": alpn")
		}
	default:
		d.errorf(p.val, "%s: found %s, expected true (TLS from the first byte), starttls (plain text until a starttls step) or a mapping of starttls and alpn", what, found(p.val))
		return
	}
	if srv.Type == Dgram {
		d.errorf(p.key, "%s: needs a stream server; %s is dgram (TLS over datagrams, DTLS, is not supported)", what, srv.Name)
		return
	}
	for _, f := range srv.Files {
		if slices.Contains(tlsFields, f.Key) {
			d.errorf(f.node, "server %s: files: %q is the name of a PEM file of its certificate (tls:), {{%s.%s}}; choose another name", srv.Name, f.Key, srv.Name, f.Key)
		}
	}
	srv.TLS = t
}

// proxyTypes gives a proxy without type: the type of the server it
// forwards to (through other proxies, if need be), and notes every
// proxy's target as written, for proxy's checks.
func (d *decoder) proxyTypes(servers []*Server, fields []kvs) {
	d.proxies = map[string]string{}
	typed := map[string]bool{}
	for i, srv := range servers {
		if n := resolve(fields[i].val("proxy")); n != nil && n.Kind == yaml.ScalarNode {
			d.proxies[srv.Name] = n.Value
		}
		typed[srv.Name] = fields[i].val("type") != nil
	}
	for _, srv := range servers {
		if _, ok := d.proxies[srv.Name]; !ok || typed[srv.Name] {
			continue
		}
		name := srv.Name
		for range len(servers) {
			next, ok := d.proxies[name]
			if !ok || typed[name] && name != srv.Name {
				break
			}
			name = next
		}
		if end := d.servers[name]; end != nil {
			srv.Type = end.Type
		}
	}
}

// proxy decodes proxy: NAME and the faults: and seed: that go with it.
// A proxy uses its target: a test that uses the proxy starts both.
func (d *decoder) proxy(srv *Server, p kv, f kvs) {
	what := "server " + srv.Name
	name, ok := d.name(p.val, what+": proxy")
	if !ok {
		return
	}
	target := d.servers[name]
	switch {
	case target == nil:
		d.errorf(p.val, "%s: proxy: unknown server %q%s; expected one of the file's servers%s", what, name, didYouMean(name, keys(d.servers)), listOf(keys(d.servers)))
		return
	case target == srv:
		d.errorf(p.val, "%s: proxy: a proxy cannot forward to itself; expected another server", what)
		return
	case target.Type != srv.Type:
		d.errorf(p.val, "%s: proxy: %s is a %s server, and this proxy is %s; a proxy forwards the same kind of socket it serves", what, name, target.Type, srv.Type)
		return
	}
	chain := []string{srv.Name, name}
	for next, ok := d.proxies[name]; ok; next, ok = d.proxies[next] {
		chain = append(chain, next)
		if next == srv.Name {
			d.errorf(p.val, "%s: proxy: the proxies forward in a loop (%s); expected a chain that ends at a server", what, strings.Join(chain, " -> "))
			return
		}
		if len(chain) > len(d.proxies)+1 {
			break // a loop that does not pass through srv: reported at its own proxies
		}
	}
	px := &proxySpec{target: name, seed: 1}
	if n := f.val("faults"); n != nil {
		px.to, px.back = d.faultsOf(n, what+": faults", srv.Type == Stream, true)
	}
	if n := f.val("seed"); n != nil {
		v, _ := d.integer(n, what+": seed", 0, math.MaxUint64, false)
		px.seed = uint64(v)
		if !slices.ContainsFunc(append(px.to, px.back...), func(ft *fault) bool { return ft.random }) {
			d.errorf(f["seed"].key, "%s: seed: no fault of this proxy is random ({rate: P}), so a seed changes nothing", what)
		}
	}
	srv.Behaviour = proxyBehaviour
	srv.Proxy = px
	d.use(target)
}
