package runner

import (
	"context"
	"time"

	"gopkg.in/yaml.v3"
)

var sleepStep = &stepKind{
	name:   "sleep",
	forms:  []string{"sleep: DURATION"},
	doc:    "Wait, for example `sleep: 100ms`. A sleep never waits for readiness: servers are ready before the first step.",
	server: true,
	schema: func() js { return ref("duration") },
	decode: func(d *decoder, key, val *yaml.Node) action {
		v, ok := d.duration(val, "sleep")
		if !ok {
			return nil
		}
		return sleepAction(v)
	},
}

type sleepAction time.Duration

func (a sleepAction) String() string { return "sleep " + time.Duration(a).String() }

func (a sleepAction) run(ctx context.Context, s *session) error {
	return s.sleep(ctx, time.Duration(a))
}
