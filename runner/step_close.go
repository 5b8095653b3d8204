package runner

import (
	"context"
	"fmt"

	"gopkg.in/yaml.v3"
)

var closeStep = &stepKind{
	name:  "close",
	forms: []string{"close:", "close: CONN", "close: {on: CONN, how: full | write | reset}"},
	doc: "Close a connection. `full` (the default) closes the socket; `write` is shutdown(SHUT_WR), a half-close that leaves reading open " +
		"(the peer reads end-of-stream); `reset` aborts a TCP connection with an RST (SO_LINGER 0).",
	server: true,
	decode: decodeClose,
	schema: func() js {
		return anyOf(js{"type": "null"}, ref("name"), object(js{"on": ref("name"), "how": enum([]string{"full", "write", "reset"})}))
	},
}

type closeAction struct {
	conn string
	how  string
}

func (a *closeAction) String() string { return fmt.Sprintf("close %s (%s)", a.conn, a.how) }

func decodeClose(d *decoder, key, val *yaml.Node) action {
	a := &closeAction{how: "full"}
	var on, howNode *yaml.Node
	switch n := resolve(val); {
	case isNull(n):
	case n.Kind == yaml.MappingNode:
		var buf [8]kv
		pairs, _ := d.mappingIn(buf[:0], n, "close", "on", "how")
		own, _ := partition(pairs, "on", "how")
		on, howNode = own.val("on"), own.val("how")
		if howNode != nil {
			var ok bool
			if a.how, ok = d.oneOf(howNode, "close: how", "full", "write", "reset"); !ok {
				return nil
			}
		}
	default:
		on = val
	}
	name, srv, ok := d.conn(on, key, "close")
	if !ok {
		return nil
	}
	a.conn = name
	switch {
	case a.how == "write" && srv.Type != Stream:
		d.errorf(howNode, "close: how: write (a half-close) needs a stream connection; %s is dgram", name)
	case a.how == "reset" && (srv.Type != Stream || srv.Path != ""):
		d.errorf(howNode, "close: how: reset needs a TCP connection; %s is %s", name, srv.Network())
	}
	return a
}

func (a *closeAction) run(ctx context.Context, s *session) error {
	e, err := s.conn(a.conn)
	if err != nil {
		return err
	}
	return e.closeHow(a.how)
}
