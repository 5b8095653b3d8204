package runner

import (
	"context"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// An action is a decoded step, ready to run.
type action interface {
	run(ctx context.Context, s *session) error
	String() string
}

// A stepKind is one entry of the step table: it knows how to decode its
// step and documents itself. A new step is a new entry, nothing more.
type stepKind struct {
	name   string
	forms  []string // how it is written, for the reference
	doc    string   // what it does, one or two sentences
	server bool     // allowed in a server script, too
	decode func(d *decoder, key, val *yaml.Node) action
	schema func() js // the JSON Schema of its value (see Schema)
}

// stepKinds is the table of steps, in the order the reference lists them.
// It is a function, not a variable, so that no test can overwrite it and
// so that decoders may refer back to it without an initialization cycle.
func stepKinds() []*stepKind {
	return []*stepKind{
		connectStep, sendStep, expectStep, discardStep, chooseStep, closeStep, sleepStep, restartStep, runStep, waitStep, starttlsStep,
	}
}

// stepNames returns the names of the steps the scope being decoded allows,
// made once per file: in a test, all; in a server script, those marked so.
func (d *decoder) stepNames() []string {
	script := 0
	if d.scope.server != nil {
		script = 1
	}
	if d.stepTable == nil {
		d.stepTable = stepKinds()
	}
	if d.names[script] == nil {
		for _, k := range d.stepTable {
			if k.server || script == 0 {
				d.names[script] = append(d.names[script], k.name)
			}
		}
	}
	return d.names[script]
}

// lookupStep returns the step kind called name, or nil.
func (d *decoder) lookupStep(name string) *stepKind {
	if d.stepTable == nil {
		d.stepTable = stepKinds()
	}
	for _, k := range d.stepTable {
		if k.name == name {
			return k
		}
	}
	return nil
}

// steps decodes a list of steps.
func (d *decoder) steps(n *yaml.Node, what string) []*Step {
	n = resolve(n)
	if n == nil || n.Kind != yaml.SequenceNode {
		d.errorf(n, "%s: found %s, expected a list of steps (- connect: ..., - send: ...)", what, found(n))
		return nil
	}
	// The steps of a list share one allocation.
	slab := make([]Step, len(n.Content))
	out := make([]*Step, 0, len(n.Content))
	for i, sn := range n.Content {
		if d.step(sn, &slab[i]) {
			out = append(out, &slab[i])
		}
	}
	return out
}

// step decodes one step, a mapping with exactly one step key, into st.
func (d *decoder) step(n *yaml.Node, st *Step) bool {
	n = resolve(n)
	names := d.stepNames()
	if n.Kind != yaml.MappingNode {
		hint := ""
		if n.Kind == yaml.ScalarNode && slices.Contains(names, n.Value) {
			hint = " (write " + n.Value + ": with a colon)"
		}
		d.errorf(n, "step: found %s, expected a mapping with one step key: %s%s", found(n), strings.Join(names, ", "), hint)
		return false
	}
	// A step is a mapping of one key, almost always: that needs no search
	// for duplicates, no merge and no allocation.
	var one [1]kv
	var pairs kvList
	if k := n.Content; len(k) == 2 && k[0].Kind == yaml.ScalarNode && k[0].Tag != "!!merge" {
		one[0] = kv{k[0], k[1], k[0].Value}
		pairs = one[:]
	} else {
		pairs, _ = d.mapping(n, "step", nil...)
	}
	first := "" // the step key, once found
	stepKey := ""
	for _, p := range pairs {
		if k := d.lookupStep(p.name); k != nil && stepKey == "" {
			stepKey = p.name
		}
	}
	for _, p := range pairs {
		kind := d.lookupStep(p.name)
		if kind == nil && stepKey != "" && d.optionOutside(p.key, stepKey) {
			continue
		}
		if kind == nil || !slices.Contains(names, p.name) {
			msg := "unknown step %q%s; expected one of: %s"
			if kind != nil {
				msg = "step %q%s cannot be used in a server script; expected one of: %s"
			}
			d.errorf(p.key, msg, p.name, didYouMean(p.name, names), strings.Join(names, ", "))
			if kind == nil && didYouMean(p.name, names) == didYouMean("connect", names) {
				d.brokenConn(p.val, nil) // a misspelt connect: its connection's steps stay quiet
			}
			continue
		}
		if first != "" {
			d.errorf(p.key, "step: a second step key %q beside %q; a step has exactly one, so make it a step of its own", p.name, first)
			continue
		}
		first = p.name
		// Decoded with errors, act is nil; the rest is checked all the same.
		*st = Step{Kind: p.name, Pos: d.pos(p.key)}
		before := len(d.errs)
		st.act = kind.decode(d, p.key, p.val)
		if st.act == nil {
			d.formsHint(kind, p.val, d.errs[before:])
		}
	}
	if first == "" || st.act == nil {
		if len(pairs) == 0 && len(resolve(n).Content) == 0 {
			d.errorf(n, "step: found an empty mapping, expected one step key: %s", strings.Join(names, ", "))
		}
		return false
	}
	return true
}

// conn resolves the connection a step acts on: on: NAME, or the one used
// or opened last. It records it as the last one used.
func (d *decoder) conn(on *yaml.Node, at *yaml.Node, what string) (string, *Server, bool) {
	sc := d.scope
	if sc.server != nil {
		if on != nil {
			d.errorf(on, "%s: on: has no meaning in a server script: it acts on the client's connection", what)
			return "", nil, false
		}
		return sc.server.Name, sc.server, true
	}
	name := sc.last
	if on != nil {
		s, ok := d.name(on, d.sub(what, "on"))
		if !ok {
			return "", nil, false
		}
		if _, ok := sc.conns[s]; !ok {
			d.errorf(on, "%s: on: unknown connection %q%s; expected one opened by an earlier connect%s", what, s, didYouMean(s, openConns(sc)), listOf(openConns(sc)))
			return "", nil, false
		}
		name = s
		at = on
	}
	if srv, ok := sc.conns[name]; ok && srv == nil {
		sc.last = name
		return "", nil, false // a connect that failed, and said so
	}
	if name == "" {
		d.errorf(at, "%s: no connection yet; a connect step must come first", what)
		return "", nil, false
	}
	sc.last = name
	return name, sc.conns[name], true
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// listOf formats ": a, b" for a message, or nothing for an empty list.
func listOf(names []string) string {
	if len(names) == 0 {
		return ""
	}
	return ": " + strings.Join(names, ", ")
}

// kvs are the pairs of a mapping by key.
type kvs map[string]kv

// val returns the value of key name, or nil.
func (o kvs) val(name string) *yaml.Node {
	if p, ok := o[name]; ok {
		return p.val
	}
	return nil
}

// splitPairs splits a mapping's pairs into those with the keys opts and
// the rest (in a step: DATA or a matcher written inline).
func splitPairs(pairs []kv, opts ...string) (own kvs, rest []kv) {
	own = kvs{}
	for _, p := range pairs {
		if slices.Contains(opts, p.name) {
			own[p.name] = p
		} else {
			rest = append(rest, p)
		}
	}
	return own, rest
}

// A kvList is the pairs of a mapping, in order. A step's mapping has a
// handful of keys, so a search beats a map, which would cost allocations
// per step: the step decoders use a kvList and partition, not splitPairs.
type kvList []kv

// val returns the value of key name, or nil.
func (o kvList) val(name string) *yaml.Node {
	for _, p := range o {
		if p.name == name {
			return p.val
		}
	}
	return nil
}

// partition splits a mapping's pairs into those with the keys opts and
// the rest, each in file order, as splitPairs does; it reorders pairs in
// place rather than allocate.
func partition(pairs kvList, opts ...string) (own, rest kvList) {
	k := 0
	for i := range pairs {
		if slices.Contains(opts, pairs[i].name) {
			p := pairs[i]
			copy(pairs[k+1:i+1], pairs[k:i])
			pairs[k] = p
			k++
		}
	}
	return pairs[:k], pairs[k:]
}
