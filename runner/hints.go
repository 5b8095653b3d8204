package runner

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// Hints for the mistakes a spec's author makes most, so that an error
// says what to write instead, once, and not what follows from it.

var optionRE = regexp.MustCompile(`^[a-z_]+:`)

// stepOptions are the keys of a step's mapping form, read from the forms
// of the step table ("{to: NAME, as: CONN}"; keys of values nested in it
// are not the step's), with DATA's forms and the matchers where the form
// takes DATA or a MATCHER.
func stepOptions(k *stepKind) []string {
	var out []string
	for _, f := range k.forms {
		_, inner, ok := strings.Cut(f, "{")
		if !ok {
			continue
		}
		depth := 0
		for i := 0; i < len(inner); i++ {
			switch c := inner[i]; {
			case c == '{' || c == '[':
				depth++
			case c == '}' || c == ']':
				depth--
			case depth == 0 && (i == 0 || inner[i-1] == ' ' || inner[i-1] == ','):
				if m := optionRE.FindString(inner[i:]); m != "" {
					out = append(out, strings.TrimSuffix(m, ":"))
				}
			}
		}
		if strings.Contains(inner, "MATCHER") {
			out = append(out, matcherNames()...)
		}
		if strings.Contains(inner, "MATCHER") || strings.Contains(inner, "DATA") {
			out = append(out, dataKeys()...)
		}
	}
	return out
}

// mappingForm returns how a step is written as a mapping, from the step
// table: "connect: {to: NAME, as: CONN}".
func mappingForm(k *stepKind) string {
	for _, f := range k.forms {
		if strings.Contains(f, "{") {
			return f
		}
	}
	return strings.Join(k.forms, " or ")
}

// optionOutside explains key, found beside step key step in one mapping,
// if it is an option of that step: written at the step's level, not in
// its mapping ("- send: hi" then "  chunks: 2" below it).
func (d *decoder) optionOutside(key *yaml.Node, step string) bool {
	k := d.lookupStep(step)
	if k == nil || !slices.Contains(stepOptions(k), key.Value) {
		return false
	}
	d.errorf(key, "%q is an option of %s, so it goes in %s's mapping: %s", key.Value, step, step, mappingForm(k))
	return true
}

// formsHint appends the forms of step kind k to the errors of its own
// value (errs, from the step's decoding) that found the wrong shape, a
// list, a mapping or nothing: "connect: found a list, expected a string"
// says too little of what to write.
func (d *decoder) formsHint(k *stepKind, val *yaml.Node, errs []*Error) {
	at := d.pos(resolve(val))
	for _, e := range errs {
		for _, shape := range []string{"a list", "a mapping", "nothing"} {
			if e.Pos == at && strings.HasPrefix(e.Msg, k.name+": found "+shape+",") {
				e.Msg += "; write " + strings.Join(k.forms, " or ")
			}
		}
	}
}

// brokenConn registers the connection that a connect which failed to
// decode would have opened, with no server: the steps that act on it are
// dropped without an error of their own, instead of each saying "no
// connection yet" or "unknown connection" after the connect's own error.
func (d *decoder) brokenConn(to, as *yaml.Node) {
	name := ""
	for _, n := range []*yaml.Node{as, to} {
		if n := resolve(n); n != nil && n.Kind == yaml.ScalarNode && n.Tag != "!!null" {
			name = n.Value
			break
		}
	}
	d.scope.conns[name] = nil
	d.scope.last = name
}

// openConns are the names of the connections opened so far, for messages.
func openConns(sc *scope) []string {
	var out []string
	for _, name := range keys(sc.conns) {
		if sc.conns[name] != nil {
			out = append(out, name)
		}
	}
	return out
}

// stepLike returns the key of an item of tests: that is a step, not a
// test: a mapping without name: whose first key names a step.
func (d *decoder) stepLike(n *yaml.Node) *yaml.Node {
	n = resolve(n)
	if n == nil || n.Kind != yaml.MappingNode || len(n.Content) < 2 {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == "name" {
			return nil
		}
	}
	if k := n.Content[0]; k.Kind == yaml.ScalarNode && d.lookupStep(k.Value) != nil {
		return k
	}
	return nil
}

// strayStep reports whether item i of tests: is a step that lost its
// indentation, and says once, at the first of a run of them, how to
// indent it. The test above it is found by its own position.
func (d *decoder) strayStep(tests *yaml.Node, i int) bool {
	key := d.stepLike(tests.Content[i])
	if key == nil {
		return false
	}
	if i > 0 && d.stepLike(tests.Content[i-1]) != nil {
		return true // the first of the run said it
	}
	msg := fmt.Sprintf("%q is a step, but its \"-\" lines up with the tests' (column %d), so it reads as a test of its own", key.Value, tests.Column)
	var prev *yaml.Node
	if i > 0 {
		prev = resolve(tests.Content[i-1])
	}
	var steps, stepsKey, name *yaml.Node
	if prev != nil && prev.Kind == yaml.MappingNode {
		for j := 0; j+1 < len(prev.Content); j += 2 {
			switch prev.Content[j].Value {
			case "steps":
				stepsKey, steps = prev.Content[j], resolve(prev.Content[j+1])
			case "name":
				name = prev.Content[j+1]
			}
		}
	}
	test := "the test above"
	if name != nil && name.Kind == yaml.ScalarNode {
		test = fmt.Sprintf("test %q", name.Value)
	}
	switch {
	case prev == nil:
		msg += "; steps go in a test's steps: list (- name: NAME, then steps: below it)"
	case steps != nil && steps.Kind == yaml.SequenceNode && steps.Style&yaml.FlowStyle == 0:
		msg += fmt.Sprintf("; indent it to column %d to line up with the steps of %s (line %d)", steps.Column, test, steps.Line)
	case stepsKey != nil && isNull(steps):
		msg += fmt.Sprintf("; indent the steps under steps: of %s (line %d) to column %d or more", test, stepsKey.Line, stepsKey.Column+2)
	default:
		msg += fmt.Sprintf("; put it in the steps: list of %s", test)
	}
	d.errorf(key, "%s", msg)
	return true
}

// colonHint explains a "key: value: more" line that YAML refused, when
// key is a step and value starts with one of its options: the options
// belong in the step's mapping ("connect: to: echo").
func colonHint(key, val string) (string, bool) {
	key = strings.TrimSpace(key)
	i := slices.IndexFunc(stepKinds(), func(k *stepKind) bool { return k.name == key })
	opt, _, _ := strings.Cut(strings.TrimSpace(val), ":")
	if i < 0 || !slices.Contains(stepOptions(stepKinds()[i]), opt) {
		return "", false
	}
	return fmt.Sprintf("%s's options go in a mapping: %s", key, mappingForm(stepKinds()[i])), true
}
