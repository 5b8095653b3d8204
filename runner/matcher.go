package runner

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// A matchSpec is a decoded matcher, shared by every run of its step. build
// makes a fresh matcher for one expect, with placeholders filled in from
// the run-time environment.
type matchSpec interface {
	build(e *env) (matcher, error)
	String() string
}

// A matchUse says where a matcher is used, for the checks made while
// decoding it.
type matchUse struct {
	what   string // for messages: "expect", "choose: expect", "run: stdout"
	stream bool   // on a stream connection; false: one datagram at a time
	output bool   // on a program's whole output
	alt    bool   // one of several alternatives (choose:), tried in order
}

// A matcherKind is one matcher: an entry of the matcher table.
type matcherKind struct {
	name   string
	form   string // how it is written, for the reference
	doc    string
	decode func(d *decoder, p kv, u matchUse) matchSpec
	schema func() js // the JSON Schema of its value
}

// buildMatcherKinds builds the table of matchers, in the reference's order. DATA
// written without a key is the data matcher.
func buildMatcherKinds() []*matcherKind {
	return []*matcherKind{
		{name: "data", form: "DATA, or {data: DATA}", doc: "exactly these bytes next ({any: N} matches any N bytes); on a datagram socket, the next datagram is exactly these bytes",
			decode: decodeDataMatcher, schema: func() js { return ref("data") }},
		{name: "contains", form: "{contains: DATA}", doc: "read until the bytes appear; consumes through them", decode: decodeContains, schema: func() js { return ref("data") }},
		{name: "regex", form: "{regex: RE2}", doc: "read until the bytes match, for certain: once more bytes could not change the match (on bytes: `.` is one byte, `\\xff` the byte 0xff; `$` and `\\z` wait for the end of the stream); consumes through the match; `(?P<name>...)` captures `{{name}}` for later steps",
			decode: decodeRegex, schema: strSchema},
		{name: "line", form: "{line: STRING}", doc: "the next line (through `\\n`, a `\\r\\n` ending accepted) is STRING", decode: decodeLine, schema: strSchema},
		{name: "length", form: "{length: N}", doc: "exactly N bytes, whatever they are", decode: decodeLength, schema: func() js { return intSchema(0, 1<<31-1) }},
		{name: "eof", form: "{eof: true}", doc: "the peer closed its side and no more bytes came (streams only)", decode: decodeEOF, schema: func() js { return js{"const": true} }},
		{name: "silence", form: "{silence: true}", doc: "nothing arrives before the deadline (the only matcher that passes when the deadline passes)", decode: decodeSilence, schema: func() js { return js{"const": true} }},
		{name: "unordered", form: "{unordered: [MATCHER, ...]}", doc: "each matcher holds once, in any order: on a stream each at the bytes left by the others; on a datagram socket each is one datagram",
			decode: decodeUnordered, schema: func() js { return js{"type": "array", "minItems": 1, "items": ref("matcher")} }},
	}
}

func buildMatcherNames() []string {
	var out []string
	for _, k := range matcherKinds() {
		out = append(out, k.name)
	}
	return out
}

func lookupMatcher(name string) *matcherKind {
	for _, k := range matcherKinds() {
		if k.name == name {
			return k
		}
	}
	return nil
}

// matchValue decodes a matcher written as a value: DATA, or a mapping with
// one matcher key (or one data form) and nothing else.
func (d *decoder) matchValue(v *yaml.Node, u matchUse) matchSpec {
	n := resolve(v)
	if n == nil || n.Kind != yaml.MappingNode {
		s := newDataSpec()
		d.dataAt(s.data, v, u.what)
		return s
	}
	var buf [8]kv
	pairs, _ := d.mappingIn(buf[:0], n, u.what, matchKeys()...)
	return d.matchPairs(n, pairs, u)
}

// matchPairs decodes the matcher keys of a mapping (an expect's, less its
// options) into a matcher.
func (d *decoder) matchPairs(n *yaml.Node, pairs []kv, u matchUse) matchSpec {
	// The first two forms, each matcher key and inline DATA once: an
	// array, not a slice that would cost an allocation per expect.
	var forms [2]kv
	nforms := 0
	inline := false
	for _, p := range pairs {
		isMatcher := lookupMatcher(p.name) != nil
		if isMatcher || !inline {
			inline = inline || !isMatcher
			if nforms < len(forms) {
				forms[nforms] = p
			}
			nforms++
		}
	}
	switch {
	case nforms == 0:
		d.errorf(n, "%s: no matcher; expected DATA or one of: %s", u.what, strings.Join(matcherNames(), ", "))
		return nil
	case nforms > 1:
		d.errorf(forms[1].key, "%s: a second matcher %q beside %q; an expect has one, so make it a step of its own (or use unordered:)", u.what, forms[1].name, forms[0].name)
		return nil
	}
	if inline {
		s := newDataSpec()
		d.dataForm(n, pairs, u.what, s.data)
		d.spend(n, s.data, u.what)
		return s
	}
	return lookupMatcher(forms[0].name).decode(d, forms[0], u)
}

type dataSpec struct {
	data *Data // own, made with the spec in one allocation
	own  Data
}

func newDataSpec() *dataSpec {
	s := &dataSpec{}
	s.data = &s.own
	return s
}

func (s *dataSpec) String() string { return "data" }

func (s *dataSpec) build(e *env) (matcher, error) {
	p, err := s.data.resolve(e)
	if err != nil {
		return nil, err
	}
	return &dataMatcher{want: p}, nil
}

func decodeDataMatcher(d *decoder, p kv, u matchUse) matchSpec {
	s := newDataSpec()
	d.dataAt(s.data, p.val, d.sub(u.what, "data"))
	return s
}

type containsSpec struct{ data *Data }

func (s *containsSpec) String() string { return "contains" }

func (s *containsSpec) build(e *env) (matcher, error) {
	p, err := s.data.resolve(e)
	if err != nil {
		return nil, err
	}
	return &containsMatcher{want: p.bytes(0, p.size)}, nil
}

func decodeContains(d *decoder, p kv, u matchUse) matchSpec {
	what := d.sub(u.what, "contains")
	v := d.data(p.val, what)
	if v.wild {
		d.errorf(p.val, "%s: {any: N} cannot be searched for; use regex: with . (any byte) instead", what)
	}
	if b, ok := v.static(); ok && len(b) == 0 {
		d.errorf(p.val, "%s: found empty data, which every stream contains", what)
	}
	return &containsSpec{data: v}
}

type regexSpec struct{ re *byteRegexp }

func (s *regexSpec) String() string { return "regex" }

func (s *regexSpec) build(*env) (matcher, error) { return &regexMatcher{re: s.re}, nil }

func decodeRegex(d *decoder, p kv, u matchUse) matchSpec {
	what := d.sub(u.what, "regex")
	if _, ok := d.str(p.val, what); !ok {
		return nil
	}
	// Double-quoted "\xff" is the byte 0xff here too, as in data.
	re, err := compileByteRegexp(d.scalarBytes(resolve(p.val)))
	if err != nil {
		d.errorf(p.val, "%s: %v", what, strings.TrimPrefix(err.Error(), "error parsing regexp: "))
		return nil
	}
	switch {
	case re.matchesEmpty():
		d.errorf(p.val, "%s: /%s/ matches no bytes at all, so it would always hold", what, re)
	case re.never:
		d.errorf(p.val, "%s: /%s/ cannot match any bytes, so it would never hold", what, re)
	}
	d.captureNames(p.val, re.names, what)
	return &regexSpec{re: re}
}

// captureNames makes a regex's named groups placeholders of the steps that
// follow it.
func (d *decoder) captureNames(n *yaml.Node, names []string, what string) {
	for _, name := range names {
		if name == "" {
			continue
		}
		switch {
		case slices.Contains(addrFields, name) || d.vars[name] != nil || d.servers[name] != nil:
			d.errorf(n, "%s: the group (?P<%s>...) has the name of a placeholder already (a server field, a var or a server); choose another name", what, name)
		case d.scope != nil && d.scope.captures != nil:
			d.scope.captures[name] = true
		}
	}
}

type lineSpec struct{ t *template }

func (s *lineSpec) String() string { return "line" }

func (s *lineSpec) build(e *env) (matcher, error) {
	line, err := s.t.fill(e)
	if err != nil {
		return nil, err
	}
	return &lineMatcher{want: []byte(line)}, nil
}

func decodeLine(d *decoder, p kv, u matchUse) matchSpec {
	what := d.sub(u.what, "line")
	s, ok := d.str(p.val, what)
	if !ok {
		return nil
	}
	if strings.ContainsAny(s, "\n") {
		d.errorf(p.val, "%s: a line cannot hold a line break; expect one line per step", what)
	}
	return &lineSpec{t: d.template(p.val, s)}
}

type lengthSpec int

func (s lengthSpec) String() string { return "length" }

func (s lengthSpec) build(*env) (matcher, error) { return &lengthMatcher{n: int(s)}, nil }

func decodeLength(d *decoder, p kv, u matchUse) matchSpec {
	v, ok := d.count(p.val, d.sub(u.what, "length"))
	if !ok {
		return nil
	}
	return lengthSpec(v)
}

// flagSpec is a matcher written as NAME: true: eof and silence.
type flagSpec struct {
	name string
	m    matcher
}

func (s flagSpec) String() string { return s.name }

func (s flagSpec) build(*env) (matcher, error) { return s.m, nil }

func (d *decoder) flag(p kv, u matchUse) bool {
	what := d.sub(u.what, p.name)
	v, ok := d.boolean(p.val, what)
	if ok && !v {
		d.errorf(p.val, "%s: found false; write %s: true, or leave the matcher out", what, p.name)
	}
	return ok && v
}

func decodeEOF(d *decoder, p kv, u matchUse) matchSpec {
	switch {
	case !d.flag(p, u):
		return nil
	case u.output:
		d.errorf(p.key, "%s: eof: has no meaning for a program's output, which always ends", u.what)
	case !u.stream:
		d.errorf(p.key, "%s: eof: a datagram socket has no end of stream", u.what)
	}
	return flagSpec{"eof", eofMatcher{}}
}

func decodeSilence(d *decoder, p kv, u matchUse) matchSpec {
	if !d.flag(p, u) {
		return nil
	}
	if u.alt {
		d.errorf(p.key, "%s: silence: cannot be one of several alternatives: it holds only when the deadline passes", u.what)
	}
	return flagSpec{"silence", silenceMatcher{}}
}

type unorderedSpec struct{ items []matchSpec }

func (s *unorderedSpec) String() string { return fmt.Sprintf("unordered (%d)", len(s.items)) }

func (s *unorderedSpec) build(e *env) (matcher, error) {
	return &unorderedMatcher{specs: s.items, env: e, done: make([]bool, len(s.items))}, nil
}

func decodeUnordered(d *decoder, p kv, u matchUse) matchSpec {
	what := d.sub(u.what, "unordered")
	n := resolve(p.val)
	if n == nil || n.Kind != yaml.SequenceNode || len(n.Content) == 0 {
		d.errorf(p.val, "%s: found %s, expected a list of matchers", what, found(p.val))
		return nil
	}
	inner := u
	inner.what, inner.alt = what, true
	s := &unorderedSpec{}
	for _, item := range n.Content {
		if m := d.matchValue(item, inner); m != nil {
			if f, ok := m.(flagSpec); ok && f.name == "eof" {
				d.errorf(item, "%s: eof: comes after everything else; expect it in a step of its own", what)
			}
			s.items = append(s.items, m)
		}
	}
	if len(s.items) != len(n.Content) {
		return nil
	}
	return s
}

// unorderedMatcher holds when each of its matchers has held once, in any
// order. On a stream, the matchers still to hold are tried at the bytes
// left by those that held: of those that hold, the one whose match ends
// first consumes its bytes (the first written, on a tie), and the rest
// are tried again after it. So lines match in any order, and so do
// contains: items, whichever comes first in the stream. On a datagram
// socket each matcher takes one whole datagram.
type unorderedMatcher struct {
	specs []matchSpec
	env   *env
	done  []bool
	pos   int       // bytes consumed by the matchers that held
	at    []matcher // fresh matchers for position pos; nil: to make
	caps  map[string][]byte
	dl    time.Time // the step's deadline, for the matchers it makes
}

// setDeadline passes the step's deadline on to the matchers, now and to
// those made later.
func (u *unorderedMatcher) setDeadline(t time.Time) {
	u.dl = t
	for _, m := range u.at {
		if d, ok := m.(deadliner); ok {
			d.setDeadline(t)
		}
	}
}

func (u *unorderedMatcher) String() string {
	var parts []string
	for i, s := range u.specs {
		if !u.done[i] {
			parts = append(parts, s.String())
		}
	}
	return fmt.Sprintf("in any order: %s", strings.Join(parts, ", "))
}

func (u *unorderedMatcher) fresh() error {
	u.at = make([]matcher, len(u.specs))
	for i, s := range u.specs {
		if u.done[i] {
			continue
		}
		m, err := s.build(u.env)
		if err != nil {
			return err
		}
		if d, ok := m.(deadliner); ok && !u.dl.IsZero() {
			d.setDeadline(u.dl)
		}
		u.at[i] = m
	}
	return nil
}

func (u *unorderedMatcher) held(i int, m matcher) bool {
	u.done[i] = true
	if c, ok := m.(capturer); ok {
		if u.caps == nil {
			u.caps = map[string][]byte{}
		}
		for k, v := range c.captured() {
			u.caps[k] = v
		}
	}
	return !slices.Contains(u.done, false)
}

func (u *unorderedMatcher) captured() map[string][]byte { return u.caps }

func (u *unorderedMatcher) stream(buf []byte, eof bool) (int, error) {
	for {
		if u.at == nil {
			if err := u.fresh(); err != nil {
				return 0, err
			}
		}
		rest := buf[u.pos:]
		pending, closed, left := false, 0, 0
		chosen := -1
		var n int
		for i, m := range u.at {
			if m == nil {
				continue
			}
			left++
			k, err := m.stream(rest, eof)
			switch {
			case err == nil && (chosen < 0 || k < n):
				// The match that ends first goes first: a contains that
				// holds further on must not swallow one that holds nearer.
				chosen, n = i, k
			case err == nil:
			case errors.Is(err, errNeedMore):
				pending = true
			case errors.Is(err, errClosedEarly):
				closed++
			case errors.Is(err, os.ErrDeadlineExceeded):
				return 0, err // a regex still matching at the deadline
			}
		}
		switch {
		case chosen >= 0:
			u.pos += n
			if u.held(chosen, u.at[chosen]) {
				return u.pos, nil
			}
			u.at = nil
			continue
		case pending:
			return 0, errNeedMore
		case closed == left:
			return 0, errClosedEarly
		}
		return 0, &mismatch{offset: u.pos, why: fmt.Sprintf("at byte %d, none of the %d matchers left holds", u.pos, left)}
	}
}

func (u *unorderedMatcher) whole(p []byte, noun string) error {
	if u.at == nil {
		if err := u.fresh(); err != nil {
			return err
		}
	}
	for i, m := range u.at {
		if m == nil || m.whole(p, noun) != nil {
			continue
		}
		if u.held(i, m) {
			return nil
		}
		u.at = nil
		return errNeedMore
	}
	return &mismatch{offset: -1, why: fmt.Sprintf("%s matches none of the %d matchers left", noun, countFalse(u.done))}
}

func countFalse(b []bool) int {
	n := 0
	for _, v := range b {
		if !v {
			n++
		}
	}
	return n
}

// A capturer is a matcher that captures values for later steps.
type capturer interface {
	captured() map[string][]byte
}
