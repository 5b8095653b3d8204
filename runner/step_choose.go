package runner

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

var chooseStep = &stepKind{
	name:  "choose",
	forms: []string{"choose: [{expect: MATCHER, then: [STEPS]}, ...]"},
	doc: "Read until one alternative's matcher holds, then run that alternative's steps: how a scripted server answers a request/response protocol " +
		"(with `loop: true`, any number of requests). Alternatives are tried in order; the first that holds once every earlier one has failed wins. " +
		"If all fail, the step fails with what arrived.",
	server: true,
	decode: decodeChoose,
	schema: func() js {
		return js{"type": "array", "minItems": 1, "items": object(js{"expect": ref("matcher"), "then": ref("steps")}, "expect")}
	},
}

type alternative struct {
	m    matchSpec
	then []*Step
}

type chooseAction struct {
	conn string
	alts []alternative
}

func (a *chooseAction) String() string {
	return fmt.Sprintf("choose among %d alternatives on %s", len(a.alts), a.conn)
}

func decodeChoose(d *decoder, key, val *yaml.Node) action {
	n := resolve(val)
	if n == nil || n.Kind != yaml.SequenceNode || len(n.Content) == 0 {
		d.errorf(val, "choose: found %s, expected a list of alternatives (- expect: ...\\n  then: [...])", found(val))
		return nil
	}
	name, srv, ok := d.conn(nil, key, "choose")
	if !ok {
		return nil
	}
	a := &chooseAction{conn: name}
	for _, alt := range n.Content {
		pairs, ok := d.mapping(alt, "choose", "expect", "then")
		if !ok {
			continue
		}
		f, _ := splitPairs(pairs, "expect", "then")
		ev := f.val("expect")
		if ev == nil {
			d.errorf(alt, "choose: an alternative needs expect: MATCHER")
			continue
		}
		m := d.matchValue(ev, matchUse{what: "choose: expect", stream: srv.Type == Stream, alt: true})
		if m == nil {
			continue
		}
		var then []*Step
		if t := f.val("then"); t != nil {
			then = d.nested(t, "choose: then")
		}
		a.alts = append(a.alts, alternative{m: m, then: then})
	}
	return a
}

func (a *chooseAction) run(ctx context.Context, s *session) error {
	e, err := s.conn(a.conn)
	if err != nil {
		return err
	}
	any := &anyMatcher{chosen: -1}
	for _, alt := range a.alts {
		m, err := alt.m.build(s.env)
		if err != nil {
			return err
		}
		any.ms = append(any.ms, m)
	}
	if err := e.expect(ctx, any, s.timeout); err != nil {
		return fmt.Errorf("choose on %s: %w", a.conn, err)
	}
	s.capture(any.ms[any.chosen])
	return runSteps(ctx, a.alts[any.chosen].then, s, "")
}

// anyMatcher holds when one of its matchers holds: the first in order,
// once every matcher before it has failed.
type anyMatcher struct {
	ms     []matcher
	chosen int
}

func (a *anyMatcher) String() string {
	var parts []string
	for i, m := range a.ms {
		if i == 3 {
			parts = append(parts, fmt.Sprintf("... (%d in all)", len(a.ms)))
			break
		}
		parts = append(parts, m.String())
	}
	return "one of: " + strings.Join(parts, ", ")
}

// setDeadline passes the step's deadline on to the alternatives.
func (a *anyMatcher) setDeadline(t time.Time) {
	for _, m := range a.ms {
		if d, ok := m.(deadliner); ok {
			d.setDeadline(t)
		}
	}
}

func (a *anyMatcher) stream(buf []byte, eof bool) (int, error) {
	pending, closed := false, 0
	for i, m := range a.ms {
		n, err := m.stream(buf, eof)
		switch {
		case err == nil && !pending:
			a.chosen = i
			return n, nil
		case err == nil || errors.Is(err, errNeedMore):
			pending = true
		case errors.Is(err, errClosedEarly):
			closed++
		case errors.Is(err, os.ErrDeadlineExceeded):
			return 0, err // a regex still matching at the deadline
		}
	}
	switch {
	case pending:
		return 0, errNeedMore
	case closed == len(a.ms):
		return 0, errClosedEarly
	}
	return 0, &mismatch{offset: -1, why: "none of the alternatives matched"}
}

func (a *anyMatcher) whole(p []byte, noun string) error {
	for i, m := range a.ms {
		if m.whole(p, noun) == nil {
			a.chosen = i
			return nil
		}
	}
	return &mismatch{offset: -1, why: "none of the alternatives matched " + noun}
}
