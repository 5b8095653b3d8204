package runner

import (
	"context"

	"gopkg.in/yaml.v3"
)

var restartStep = &stepKind{
	name:  "restart",
	forms: []string{"restart: NAME"},
	doc: "Stop server NAME and start it again on the same port at once, while old connections may still be in TIME_WAIT: " +
		"a program that does not set SO_REUSEADDR cannot bind, and the report says so. Connections to the old instance are dead.",
	schema: func() js { return ref("name") },
	decode: func(d *decoder, key, val *yaml.Node) action {
		name, ok := d.name(val, "restart")
		if !ok {
			return nil
		}
		srv := d.servers[name]
		if srv == nil {
			d.errorf(val, "restart: unknown server %q%s; expected one of the file's servers%s", name, didYouMean(name, keys(d.servers)), listOf(keys(d.servers)))
			return nil
		}
		d.use(srv)
		return restartAction(name)
	},
}

type restartAction string

func (a restartAction) String() string { return "restart " + string(a) }

func (a restartAction) run(ctx context.Context, s *session) error {
	s.log.add(string(a), "restart", nil)
	s.target = string(a)
	return s.servers.restart(ctx, string(a))
}
