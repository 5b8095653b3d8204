package runner

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gopkg.in/yaml.v3"
)

var discardStep = &stepKind{
	name:  "discard",
	forms: []string{"discard: MATCHER", "discard: {until: MATCHER, on: CONN, timeout: DURATION}"},
	doc: "Read and drop bytes until the matcher holds, then consume its match too: skip what the peer says that the test does not care about " +
		"(the other headers, a chat's announcements). A `line:` matcher is tried at each line; DATA, `contains:` and `regex:` search; any other is tried at each byte. " +
		"It fails only when the stream ends or the deadline passes first. Streams only.",
	server: true,
	decode: decodeDiscard,
	schema: func() js {
		return anyOf(ref("matcher"), object(js{"until": ref("matcher"), "on": ref("name"), "timeout": ref("duration")}, "until"))
	},
}

type discardAction struct {
	conn    string
	timeout time.Duration
	m       matchSpec
	byLine  bool
	search  bool // the matcher searches by itself (contains, regex)
}

func (a *discardAction) String() string { return "discard until " + a.m.String() + " on " + a.conn }

func decodeDiscard(d *decoder, key, val *yaml.Node) action {
	a := &discardAction{}
	n := resolve(val)
	var on, until *yaml.Node
	if n != nil && n.Kind == yaml.MappingNode && hasKey(n, "until") {
		pairs, _ := d.mapping(n, "discard", "until", "on", "timeout")
		own, _ := splitPairs(pairs, "until", "on", "timeout")
		on, until = own.val("on"), own.val("until")
		if t := own.val("timeout"); t != nil {
			a.timeout, _ = d.duration(t, "discard: timeout")
		}
	} else {
		until = val
	}
	name, srv, ok := d.conn(on, key, "discard")
	if !ok {
		return nil
	}
	a.conn = name
	if srv.Type != Stream {
		d.errorf(key, "discard: needs a stream connection; %s is dgram (expect the datagram you want instead)", name)
		return nil
	}
	a.m = d.matchValue(until, matchUse{what: "discard", stream: true, alt: true})
	if a.m == nil {
		return nil
	}
	switch m := a.m.(type) {
	case *lineSpec:
		a.byLine = true
	case *dataSpec:
		if !m.data.wild {
			// Exact bytes somewhere ahead: what contains: does, in one
			// pass, rather than a fresh try at each byte.
			a.m, a.search = &containsSpec{data: m.data}, true
		}
	case *containsSpec, *regexSpec:
		a.search = true
	}
	return a
}

// hasKey reports whether mapping n has the key name.
func hasKey(n *yaml.Node, name string) bool {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == name {
			return true
		}
	}
	return false
}

func (a *discardAction) run(ctx context.Context, s *session) error {
	e, err := s.conn(a.conn)
	if err != nil {
		return err
	}
	var m matcher
	if a.search {
		if m, err = a.m.build(s.env); err != nil {
			return err
		}
	} else {
		m = &seekMatcher{spec: a.m, env: s.env, byLine: a.byLine}
	}
	if err := e.expect(ctx, m, s.stepTimeout(a.timeout)); err != nil {
		return fmt.Errorf("discard on %s: %w", a.conn, err)
	}
	if sm, ok := m.(*seekMatcher); ok {
		m = sm.at
	}
	s.capture(m)
	return nil
}

// seekMatcher holds where its matcher first holds, at some position of the
// stream (a line start, with byLine): the bytes before are dropped.
type seekMatcher struct {
	spec   matchSpec
	env    *env
	byLine bool
	pos    int     // where at is tried
	at     matcher // a fresh matcher for position pos
	// seeking says at failed at pos, and the next line start is being
	// looked for from scan on (byLine).
	seeking bool
	scan    int
}

func (m *seekMatcher) String() string { return "any bytes, then " + m.spec.String() }

func (m *seekMatcher) stream(buf []byte, eof bool) (int, error) {
	for {
		if m.seeking {
			i := indexByte(buf[m.scan:], '\n')
			if i < 0 {
				m.scan = len(buf)
				if eof {
					return 0, errClosedEarly
				}
				return 0, errNeedMore
			}
			m.pos, m.seeking, m.at = m.scan+i+1, false, nil
		}
		if m.at == nil {
			var err error
			if m.at, err = m.spec.build(m.env); err != nil {
				return 0, err
			}
		}
		n, err := m.at.stream(buf[m.pos:], eof)
		switch {
		case err == nil:
			return m.pos + n, nil
		case errors.Is(err, errNeedMore):
			return 0, errNeedMore
		case errors.Is(err, errClosedEarly):
			return 0, errClosedEarly
		case !errors.Is(err, errMismatch):
			return 0, err
		}
		// Not here: try the next line, or the next byte.
		if m.byLine {
			m.seeking, m.scan = true, m.pos
			continue
		}
		m.pos, m.at = m.pos+1, nil
		if m.pos > len(buf) {
			if eof {
				return 0, errClosedEarly
			}
			return 0, errNeedMore
		}
	}
}

func (m *seekMatcher) whole(p []byte, noun string) error {
	return &mismatch{offset: -1, why: "discard: is for streams"}
}

func indexByte(b []byte, c byte) int {
	for i, x := range b {
		if x == c {
			return i
		}
	}
	return -1
}
