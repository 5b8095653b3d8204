package runner

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// A decoder turns one file's YAML nodes into spec types. It knows the file,
// the servers and vars declared so far and the connections of the test
// being decoded, and it collects every error instead of stopping at the
// first. (Bare UnmarshalYAML methods could do neither: they see no file
// name and return one error.)
type decoder struct {
	file  string
	dir   string
	src   []byte // the file's text, for scalarBytes
	text  string // src as a string, and the offset of each line, once source needs them
	lines []int
	errs  []*Error

	vars    map[string]*string // nil: declared without a value, and not given
	servers map[string]*Server
	first   *Server
	proxies map[string]string // a proxy server -> the server it names

	dataSpent  int64 // bytes of DATA decoded so far, for the spec's cap
	overBudget bool  // the cap was reported

	scope *scope // the test or server script being decoded

	subs      map[[2]string]string // "what: key" for messages, made once per pair
	stepTable []*stepKind          // stepKinds(), once per file
	strayNext bool                 // the item after the test being decoded is a step (see strayStep)
	names     [2][]string          // the step names a test [0] and a server script [1] allow

	// nested decodes a nested list of steps (choose: then:). It is d.steps,
	// set by Parse: a step-table entry cannot name d.steps itself, which
	// reads the table, without an initialization cycle.
	nested func(n *yaml.Node, what string) []*Step
}

// A scope is what the steps of one test or one server script can refer to.
type scope struct {
	server *Server            // the server whose script this is; nil in a test
	conns  map[string]*Server // connection name -> the server it reaches
	last   string             // the connection used or opened last
	// uses and needs collect the servers and unset vars that steps and
	// placeholders name; captures, the regex groups named so far.
	uses, needs, captures map[string]bool
}

// use records that the scope being decoded uses server srv.
func (d *decoder) use(srv *Server) {
	if d.scope != nil && d.scope.uses != nil {
		d.scope.uses[srv.Name] = true
	}
}

// need records that the scope being decoded needs var name, which was
// declared without a value.
func (d *decoder) need(name string) {
	if d.scope != nil && d.scope.needs != nil {
		d.scope.needs[name] = true
	}
}

// kv is one key and its value in a mapping.
type kv struct {
	key, val *yaml.Node
	name     string
}

// sub names key inside what for messages ("send: hex"), made once per
// pair: concatenated per step, the names cost an allocation each.
func (d *decoder) sub(what, key string) string {
	k := [2]string{what, key}
	s, ok := d.subs[k]
	if !ok {
		if d.subs == nil {
			d.subs = map[[2]string]string{}
		}
		s = what + ": " + key
		d.subs[k] = s
	}
	return s
}

func (d *decoder) pos(n *yaml.Node) Pos { return Pos{d.file, n.Line, n.Column} }

func (d *decoder) errorf(n *yaml.Node, format string, args ...any) {
	d.errs = append(d.errs, &Error{Pos: d.pos(n), Msg: fmt.Sprintf(format, args...)})
}

// resolve follows an alias to the node it names.
func resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	n = resolve(n)
	return n == nil || (n.Kind == yaml.ScalarNode && n.Tag == "!!null")
}

// found names a node for "found ..., expected ..." messages.
func found(n *yaml.Node) string {
	n = resolve(n)
	switch {
	case n == nil || isNull(n):
		return "nothing"
	case n.Kind == yaml.MappingNode:
		return "a mapping"
	case n.Kind == yaml.SequenceNode:
		return "a list"
	}
	v := n.Value
	if len(v) > 40 {
		v = v[:37] + "..."
	}
	return strconv.Quote(v)
}

// mapping checks that n is a mapping whose keys are all in allowed, each
// once, and returns its pairs. Unknown keys get "did you mean". A "<<"
// merge key brings in the pairs of the mapping it names (or of each
// mapping of a list), unless the mapping has them itself; they come after
// its own, in order.
func (d *decoder) mapping(n *yaml.Node, what string, allowed ...string) (kvList, bool) {
	return d.mappingIn(nil, n, what, allowed...)
}

// mappingIn is mapping, with the pairs in buf's array while they fit. A
// step decoder passes an array of its own, which stays on the stack: one
// allocation less per step written as a mapping.
func (d *decoder) mappingIn(buf kvList, n *yaml.Node, what string, allowed ...string) (kvList, bool) {
	n = resolve(n)
	if n == nil || n.Kind != yaml.MappingNode {
		d.errorf(n, "%s: found %s, expected a mapping", what, found(n))
		return nil, false
	}
	var index map[string]*yaml.Node // keys seen, for a large mapping; else out is searched
	if len(n.Content) > 2*32 {
		index = make(map[string]*yaml.Node, len(n.Content)/2)
	}
	if cap(buf) < len(n.Content)/2 {
		buf = make(kvList, 0, len(n.Content)/2)
	}
	return d.pairs(buf[:0], index, n, false, what, allowed), true
}

// pairs adds the pairs of mapping n to out: its own, then its merges'.
// Within a merged mapping, keys already there are skipped, not duplicates.
// (A method with plain parameters, not a struct: the escape analysis would
// move allowed, and so every caller's list of keys, to the heap.)
func (d *decoder) pairs(out kvList, index map[string]*yaml.Node, n *yaml.Node, merged bool, what string, allowed []string) kvList {
	seen := func(name string) *yaml.Node {
		if index != nil {
			return index[name]
		}
		for _, p := range out {
			if p.name == name {
				return p.key
			}
		}
		return nil
	}
	var merges []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			d.errorf(k, "%s: found %s as a key, expected a name", what, found(k))
			continue
		}
		if k.Value == "<<" && k.Tag == "!!merge" {
			merges = append(merges, v)
			continue
		}
		if first := seen(k.Value); first != nil {
			if !merged {
				d.errorf(k, "%s: duplicate key %q; the first is on line %d", what, k.Value, first.Line)
			}
			continue
		}
		if allowed != nil && !slices.Contains(allowed, k.Value) {
			d.errorf(k, "%s: unknown key %q%s; expected one of: %s", what, k.Value,
				didYouMean(k.Value, allowed), strings.Join(allowed, ", "))
			continue
		}
		out = append(out, kv{k, v, k.Value})
		if index != nil {
			index[k.Value] = k
		}
	}
	for _, v := range merges {
		src := resolve(v)
		switch {
		case src != nil && src.Kind == yaml.MappingNode:
			out = d.pairs(out, index, src, true, what, allowed)
		case src != nil && src.Kind == yaml.SequenceNode:
			for _, e := range src.Content {
				if e := resolve(e); e != nil && e.Kind == yaml.MappingNode {
					out = d.pairs(out, index, e, true, what, allowed)
				} else {
					d.errorf(e, "%s: a << merge needs mappings, found %s", what, found(e))
				}
			}
		default:
			d.errorf(v, "%s: a << merge needs a mapping, found %s", what, found(v))
		}
	}
	return out
}

// didYouMean suggests the candidate nearest to word, if one is near.
func didYouMean(word string, candidates []string) string {
	if len(word) > 64 {
		return "" // no typo of a name; and the distance costs len(word) * len(c)
	}
	best, bestDist := "", 3
	lower := strings.ToLower(word)
	for _, c := range candidates {
		if abs(len(c)-len(lower)) >= bestDist {
			continue // the distance is at least the difference in length
		}
		if d := editDistance(lower, c); d < bestDist {
			best, bestDist = c, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// str decodes a scalar as a string.
func (d *decoder) str(n *yaml.Node, what string) (string, bool) {
	n = resolve(n)
	if n == nil || n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		d.errorf(n, "%s: found %s, expected a string", what, found(n))
		return "", false
	}
	return n.Value, true
}

// name decodes a non-empty single-line string used as a name.
func (d *decoder) name(n *yaml.Node, what string) (string, bool) {
	s, ok := d.str(n, what)
	if !ok {
		return "", false
	}
	if strings.TrimSpace(s) == "" || strings.ContainsAny(s, "\n\r") {
		d.errorf(n, "%s: found %s, expected a non-empty name on one line", what, found(n))
		return "", false
	}
	return s, true
}

// integer decodes a whole number in [lo, hi].
func (d *decoder) integer(n *yaml.Node, what string, lo, hi uint64, neg bool) (int64, bool) {
	n = resolve(n)
	if n == nil || n.Kind != yaml.ScalarNode || (n.Tag != "!!int" && n.Tag != "!!str" && n.Tag != "!!float") {
		d.errorf(n, "%s: found %s, expected a whole number", what, found(n))
		return 0, false
	}
	s := strings.ReplaceAll(n.Value, "_", "")
	if neg && strings.HasPrefix(s, "-") {
		v, err := strconv.ParseInt(s, 0, 64)
		if err != nil || v < -int64(lo) {
			d.errorf(n, "%s: %s is out of range, expected %d to %d", what, n.Value, -int64(lo), hi)
			return 0, false
		}
		return v, true
	}
	v, err := strconv.ParseUint(s, 0, 64)
	if err != nil {
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange || strings.HasPrefix(s, "-") {
			d.errorf(n, "%s: %s is out of range, expected 0 to %d", what, n.Value, hi)
		} else {
			d.errorf(n, "%s: found %s, expected a whole number", what, found(n))
		}
		return 0, false
	}
	if v > hi {
		d.errorf(n, "%s: %s is out of range, expected 0 to %d", what, n.Value, hi)
		return 0, false
	}
	return int64(v), true
}

// count decodes a whole number from 0 up to max int32.
func (d *decoder) count(n *yaml.Node, what string) (int, bool) {
	v, ok := d.integer(n, what, 0, math.MaxInt32, false)
	return int(v), ok
}

func (d *decoder) boolean(n *yaml.Node, what string) (bool, bool) {
	n = resolve(n)
	if n != nil && n.Kind == yaml.ScalarNode && n.Tag == "!!bool" {
		// yaml.v3 tags true, True, TRUE and the falses so; n.Decode
		// would cost allocations per step.
		switch {
		case strings.EqualFold(n.Value, "true"):
			return true, true
		case strings.EqualFold(n.Value, "false"):
			return false, true
		}
		var b bool
		if err := n.Decode(&b); err == nil {
			return b, true
		}
	}
	d.errorf(n, "%s: found %s, expected true or false", what, found(n))
	return false, false
}

// duration decodes a Go duration such as 250ms or 2s; it must be positive.
func (d *decoder) duration(n *yaml.Node, what string) (time.Duration, bool) {
	s, ok := d.str(n, what)
	if !ok {
		return 0, false
	}
	v, err := time.ParseDuration(s)
	if err != nil || v <= 0 {
		hint := ""
		if _, err := strconv.ParseFloat(s, 64); err == nil {
			hint = " (a number needs a unit: " + s + "s or " + s + "ms)"
		}
		d.errorf(n, "%s: found %s, expected a positive duration such as 250ms or 2s%s", what, found(n), hint)
		return 0, false
	}
	return v, true
}

// oneOf decodes a string that must be one of choices.
func (d *decoder) oneOf(n *yaml.Node, what string, choices ...string) (string, bool) {
	s, ok := d.str(n, what)
	if !ok {
		return "", false
	}
	if !slices.Contains(choices, s) {
		d.errorf(n, "%s: unknown value %q%s; expected one of: %s", what, s,
			didYouMean(s, choices), strings.Join(choices, ", "))
		return "", false
	}
	return s, true
}
