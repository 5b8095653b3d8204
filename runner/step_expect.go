package runner

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gopkg.in/yaml.v3"
)

var expectStep = &stepKind{
	name:  "expect",
	forms: []string{"expect: DATA", "expect: {MATCHER, on: CONN, timeout: DURATION}"},
	doc: "Read until the matcher holds, fails for certain, or the deadline passes; it decides on every read, never on a timer. " +
		"MATCHER is DATA or `data:` (exactly these bytes next), `contains:`, `regex:`, `line:`, `length:`, `eof: true`, `silence: true` or `unordered:`.",
	server: true,
	decode: decodeExpect,
	schema: func() js {
		return anyOf(ref("matcher"), js{"type": "object", "additionalProperties": false,
			"properties": merge(matcherProps(), js{"on": ref("name"), "timeout": ref("duration")})})
	},
}

type expectAction struct {
	conn    string
	timeout time.Duration
	m       matchSpec
}

func (a *expectAction) String() string { return "expect " + a.m.String() + " on " + a.conn }

var expectOpts = []string{"on", "timeout"}

func decodeExpect(d *decoder, key, val *yaml.Node) action {
	a := &expectAction{}
	var on *yaml.Node
	n := resolve(val)
	// The connection first: whether it is a stream decides what matchers mean.
	if n != nil && n.Kind == yaml.MappingNode {
		var buf [8]kv
		pairs, _ := d.mappingIn(buf[:0], n, "expect", expectKeys()...)
		own, rest := partition(pairs, expectOpts...)
		on = own.val("on")
		name, srv, ok := d.conn(on, key, "expect")
		if !ok {
			return nil
		}
		a.conn = name
		if t := own.val("timeout"); t != nil {
			a.timeout, _ = d.duration(t, "expect: timeout")
		}
		a.m = d.matchPairs(n, rest, matchUse{what: "expect", stream: srv.Type == Stream})
	} else {
		name, _, ok := d.conn(nil, key, "expect")
		if !ok {
			return nil
		}
		a.conn = name
		s := newDataSpec()
		d.dataAt(s.data, val, "expect")
		a.m = s
	}
	if a.m == nil {
		return nil
	}
	return a
}

func (a *expectAction) run(ctx context.Context, s *session) error {
	e, err := s.conn(a.conn)
	if err != nil {
		return err
	}
	m, err := a.m.build(s.env)
	if err != nil {
		return err
	}
	if err := e.expect(ctx, m, s.stepTimeout(a.timeout)); err != nil {
		if errors.As(err, new(*ProgramError)) {
			return err
		}
		return fmt.Errorf("expect on %s: %w", a.conn, err)
	}
	s.capture(m)
	return nil
}
