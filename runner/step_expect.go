package runner

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

var expectStep = &stepKind{
	name:  "expect",
	forms: []string{"expect: DATA", "expect: {MATCHER, on: CONN, timeout: DURATION}"},
	doc: "Read until the matcher holds, fails for certain, or the deadline passes; it decides on every read, never on a timer. " +
		"MATCHER is DATA or `data:` (exactly these bytes next), `contains:`, `regex:`, `line:`, `length:`, `eof: true` or `silence: true`.",
	server: true,
	decode: decodeExpect,
}

// matcherKeys are the keys that choose a matcher.
var matcherKeys = []string{"data", "contains", "regex", "line", "length", "eof", "silence"}

type expectAction struct {
	conn    string
	timeout time.Duration
	form    string // one of matcherKeys
	data    *Data
	line    *template
	re      *regexp.Regexp
	n       int
}

func (a *expectAction) String() string { return "expect " + a.form + " on " + a.conn }

func decodeExpect(d *decoder, key, val *yaml.Node) action {
	a := &expectAction{form: "data"}
	var on *yaml.Node
	n := resolve(val)
	if n == nil || n.Kind != yaml.MappingNode {
		a.data = d.data(val, "expect")
	} else {
		opts := []string{"on", "timeout"}
		allowed := append(append(append([]string{}, matcherKeys...), opts...), dataKeys...)
		pairs, _ := d.mapping(n, "expect", allowed...)
		own, rest := splitPairs(pairs, opts...)
		on = own.val("on")
		if t := own.val("timeout"); t != nil {
			a.timeout, _ = d.duration(t, "expect: timeout")
		}
		if !d.matcher(n, rest, a) {
			return nil
		}
	}
	name, srv, ok := d.conn(on, key, "expect")
	if !ok {
		return nil
	}
	a.conn = name
	if a.form == "eof" && srv.Type != Stream {
		d.errorf(key, "expect: eof: a datagram socket has no end of stream; %s is dgram", name)
	}
	return a
}

// matcher decodes the matcher keys of an expect mapping into a.
func (d *decoder) matcher(n *yaml.Node, pairs []kv, a *expectAction) bool {
	var forms []kv
	inline := false
	for _, p := range pairs {
		if slices.Contains(matcherKeys, p.name) {
			forms = append(forms, p)
		} else if !inline {
			inline = true
			forms = append(forms, p)
		}
	}
	switch {
	case len(forms) == 0:
		d.errorf(n, "expect: no matcher; expected DATA or one of: %s", strings.Join(matcherKeys, ", "))
		return false
	case len(forms) > 1:
		d.errorf(forms[1].key, "expect: a second matcher %q beside %q; an expect has one, so make it a step of its own", forms[1].name, forms[0].name)
		return false
	}
	p := forms[0]
	if inline {
		a.data = &Data{}
		d.dataForm(n, pairs, "expect", a.data)
		return true
	}
	a.form = p.name
	what := "expect: " + p.name
	switch p.name {
	case "data", "contains":
		a.data = d.data(p.val, what)
		if b, ok := a.data.static(); ok && len(b) == 0 && p.name == "contains" {
			d.errorf(p.val, "%s: found empty data, which every stream contains", what)
		}
	case "regex":
		s, ok := d.str(p.val, what)
		if !ok {
			return false
		}
		re, err := regexp.Compile(s)
		if err != nil {
			d.errorf(p.val, "%s: %v", what, strings.TrimPrefix(err.Error(), "error parsing regexp: "))
			return false
		}
		if re.Match(nil) {
			d.errorf(p.val, "%s: /%s/ matches no bytes at all, so it would always hold", what, s)
		}
		a.re = re
	case "line":
		s, ok := d.str(p.val, what)
		if !ok {
			return false
		}
		if strings.ContainsAny(s, "\n") {
			d.errorf(p.val, "%s: a line cannot hold a line break; expect one line per step", what)
		}
		a.line = d.template(p.val, s)
	case "length":
		v, ok := d.count(p.val, what)
		if !ok {
			return false
		}
		a.n = v
	case "eof", "silence":
		v, ok := d.boolean(p.val, what)
		if ok && !v {
			d.errorf(p.val, "%s: found false; write %s: true, or leave the matcher out", what, p.name)
		}
	}
	return true
}

// matcher returns the matcher with placeholders filled in.
func (a *expectAction) matcher(addrs map[string]Addr) matcher {
	switch a.form {
	case "contains":
		return &containsMatcher{want: a.data.bytes(addrs)}
	case "regex":
		return &regexMatcher{re: a.re}
	case "line":
		return &lineMatcher{want: []byte(a.line.fill(addrs))}
	case "length":
		return &lengthMatcher{n: a.n}
	case "eof":
		return eofMatcher{}
	case "silence":
		return silenceMatcher{}
	}
	return &dataMatcher{want: a.data.bytes(addrs)}
}

func (a *expectAction) run(ctx context.Context, s *session) error {
	e, err := s.conn(a.conn)
	if err != nil {
		return err
	}
	if err := e.expect(ctx, a.matcher(s.addrs), s.stepTimeout(a.timeout)); err != nil {
		return fmt.Errorf("expect on %s: %w", a.conn, err)
	}
	return nil
}
