package runner

import (
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// A faultKind is one entry of the fault table: something a proxy does to
// what passes one way. A new fault is a new entry: its name, how it is
// written, what it does, the sockets it applies to, and how its value
// decodes into the stage it runs on each flow.
type faultKind struct {
	name   string
	forms  []string
	doc    string
	stream bool // it applies to streams
	dgram  bool // it applies to datagrams
	// decode reads the fault's value and returns the fault, or nil after
	// reporting what is wrong.
	decode func(d *decoder, n *yaml.Node, what string) *fault
	schema func() js // the JSON Schema of its value (see Schema)
}

// A fault is a decoded entry of faults:, ready to make its stage for each
// flow (each connection's direction, each client's datagrams one way).
type fault struct {
	kind   *faultKind
	stage  func(r *rand.Rand) stage
	random bool // it draws from its generator: seed: matters
}

// faultKinds is the table of faults. A flow applies them in this order,
// whatever the order of the spec's keys: what is dropped is not
// duplicated, what is held back is delayed from when it is let go.
func faultKinds() []*faultKind {
	return []*faultKind{
		{name: "drop", forms: []string{"drop: [N...]", "drop: {rate: P}"}, dgram: true,
			doc:    "loses the datagrams at these positions (1 is the first sent that way), or each with probability P",
			schema: func() js { return ref("positions") },
			decode: pickFault(func(pk picker, r *rand.Rand) stage {
				return passer(func(p piece, out outlet) {
					if pk.hit(p.seq, r) {
						out.note("drop", p)
						return
					}
					out.next(p)
				})
			})},
		{name: "duplicate", forms: []string{"duplicate: [N...]", "duplicate: {rate: P}"}, dgram: true,
			doc:    "sends the datagrams at these positions twice, or each with probability P",
			schema: func() js { return ref("positions") },
			decode: pickFault(func(pk picker, r *rand.Rand) stage {
				return passer(func(p piece, out outlet) {
					out.next(p)
					if pk.hit(p.seq, r) {
						out.note("duplicate", p)
						out.next(p)
					}
				})
			})},
		{name: "reorder", forms: []string{"reorder: [N...]", "reorder: {rate: P}"}, dgram: true,
			doc: "holds back the datagrams at these positions (or each with probability P) and sends them right after the next one that is not held back; " +
				"no timer: a client that waits for a reply before it sends again sees its datagram late, after its own retry",
			schema: func() js { return ref("positions") },
			decode: pickFault(func(pk picker, r *rand.Rand) stage { return &reorderStage{pk: pk, r: r} })},
		{name: "split", forms: []string{"split: N", "split: {size: N, gap: DURATION}"}, stream: true,
			doc: "delivers the bytes in pieces of N bytes, each in a write of its own, at least `gap` apart (default 0: the receiver may still read several pieces at once)",
			schema: func() js {
				return anyOf(intSchema(1, math.MaxInt32), object(js{"size": intSchema(1, math.MaxInt32), "gap": ref("duration")}, "size"))
			},
			decode: decodeSplit},
		{name: "reset_after", forms: []string{"reset_after: N"}, stream: true,
			doc: "delivers the first N bytes, then resets both connections: the side it is written for (the target under `faults:`, the client under `replies:`) " +
				"reads exactly N bytes, then the reset; when the other side sees its reset depends on timing, so test that side for nothing but surviving it",
			schema: func() js { return intSchema(1, math.MaxInt32) },
			decode: decodeResetAfter},
		{name: "delay", forms: []string{"delay: DURATION"}, stream: true, dgram: true,
			doc:    "delivers everything DURATION after it came, in order",
			schema: func() js { return ref("duration") },
			decode: func(d *decoder, n *yaml.Node, what string) *fault {
				v, ok := d.duration(n, what)
				if !ok {
					return nil
				}
				return &fault{stage: func(*rand.Rand) stage {
					return passer(func(p piece, out outlet) {
						if at := time.Now().Add(v); at.After(p.at) {
							p.at = at
						}
						out.next(p)
					})
				}}
			}},
	}
}

// faultNames lists the faults that apply to a socket type.
func faultNames(stream bool) []string {
	var out []string
	for _, k := range faultKinds() {
		if k.stream && stream || k.dgram && !stream {
			out = append(out, k.name)
		}
	}
	return out
}

// pickerSchema is the schema of positions, or {rate: P}: the definition
// "positions" of Schema.
func pickerSchema() js {
	return anyOf(js{"type": "array", "items": intSchema(1, math.MaxInt32), "minItems": 1},
		object(js{"rate": js{"type": "number", "exclusiveMinimum": 0, "maximum": 1}}, "rate"))
}

// faultsSchema is the schema of faults: (top: with replies:, whose own is
// the definition "faults_back" of Schema), from the fault table.
func faultsSchema(top bool) js {
	props := js{}
	for _, k := range faultKinds() {
		props[k.name] = described(k.schema(), k.doc+" ("+k.socketTypes()+")")
	}
	if top {
		props["replies"] = described(ref("faults_back"), "the faults on the way back, from the target to the client")
	}
	return object(props)
}

// A picker chooses datagrams: those at given positions, or each with a
// probability, drawn from the fault's seeded generator.
type picker struct {
	at   map[int]bool
	rate float64 // when at is nil
}

func (pk picker) hit(seq int, r *rand.Rand) bool {
	if pk.at != nil {
		return pk.at[seq]
	}
	return r.Float64() < pk.rate
}

// pickFault decodes a fault written as positions or {rate: P}, whose
// stage mk makes.
func pickFault(mk func(pk picker, r *rand.Rand) stage) func(d *decoder, n *yaml.Node, what string) *fault {
	return func(d *decoder, n *yaml.Node, what string) *fault {
		pk, ok := d.picker(n, what)
		if !ok {
			return nil
		}
		return &fault{stage: func(r *rand.Rand) stage { return mk(pk, r) }, random: pk.at == nil}
	}
}

func (d *decoder) picker(n *yaml.Node, what string) (picker, bool) {
	r := resolve(n)
	switch {
	case r != nil && r.Kind == yaml.SequenceNode:
		if len(r.Content) == 0 {
			d.errorf(n, "%s: found an empty list, expected the positions of datagrams ([1, 3]: the first and the third)", what)
			return picker{}, false
		}
		pk, ok := picker{at: map[int]bool{}}, true
		for _, e := range r.Content {
			v, good := d.integer(e, what, 0, math.MaxInt32, false)
			if good && v == 0 {
				d.errorf(e, "%s: found 0; positions count from 1, the first datagram sent that way", what)
				good = false
			}
			ok = ok && good
			pk.at[int(v)] = true
		}
		return pk, ok
	case r != nil && r.Kind == yaml.MappingNode:
		pairs, ok := d.mapping(r, what, "rate")
		if !ok || len(pairs) == 0 {
			if ok {
				d.errorf(n, "%s: found an empty mapping, expected {rate: P}", what)
			}
			return picker{}, false
		}
		p, ok := d.fraction(pairs[0].val, what+": rate")
		return picker{rate: p}, ok
	}
	d.errorf(n, "%s: found %s, expected a list of positions ([1, 3]: the first and the third datagram) or {rate: P}", what, found(n))
	return picker{}, false
}

// fraction decodes a probability: more than 0, at most 1.
func (d *decoder) fraction(n *yaml.Node, what string) (float64, bool) {
	r := resolve(n)
	if r != nil && r.Kind == yaml.ScalarNode && (r.Tag == "!!float" || r.Tag == "!!int") {
		if v, err := strconv.ParseFloat(r.Value, 64); err == nil && v > 0 && v <= 1 {
			return v, true
		}
	}
	d.errorf(n, "%s: found %s, expected a probability above 0, at most 1, such as 0.25", what, found(n))
	return 0, false
}

// A reorderStage holds back the datagrams it picks, and lets them go
// right after the next one it does not pick.
type reorderStage struct {
	pk   picker
	r    *rand.Rand
	held []piece
}

func (s *reorderStage) pass(p piece, out outlet) {
	if s.pk.hit(p.seq, s.r) {
		out.note("hold back", p)
		s.held = append(s.held, p)
		return
	}
	out.next(p)
	s.flush(out)
}

func (s *reorderStage) flush(out outlet) {
	for _, h := range s.held {
		out.next(h)
	}
	s.held = nil
}

func decodeSplit(d *decoder, n *yaml.Node, what string) *fault {
	var size int
	var gap time.Duration
	ok := true
	if r := resolve(n); r != nil && r.Kind == yaml.MappingNode {
		pairs, _ := d.mapping(r, what, "size", "gap")
		f, _ := splitPairs(pairs, "size", "gap")
		if f.val("size") == nil {
			d.errorf(n, "%s: needs size: N, the bytes in each piece", what)
			return nil
		}
		size, ok = d.count(f.val("size"), what+": size")
		if g := f.val("gap"); g != nil {
			var good bool
			gap, good = d.duration(g, what+": gap")
			ok = ok && good
		}
		n = f.val("size")
	} else {
		size, ok = d.count(n, what)
	}
	if ok && size == 0 {
		d.errorf(n, "%s: found 0, expected a piece size of 1 byte or more", what)
		ok = false
	}
	if !ok {
		return nil
	}
	return &fault{stage: func(*rand.Rand) stage {
		return passer(func(p piece, out outlet) {
			for i := 0; i < len(p.data); i += size {
				q := p
				q.data = p.data[i:min(i+size, len(p.data))]
				q.gap = gap
				out.next(q)
			}
		})
	}}
}

func decodeResetAfter(d *decoder, n *yaml.Node, what string) *fault {
	limit, ok := d.count(n, what)
	if ok && limit == 0 {
		d.errorf(n, "%s: found 0, expected a count of 1 byte or more (behaviour: close closes a connection at once)", what)
		ok = false
	}
	if !ok {
		return nil
	}
	return &fault{stage: func(*rand.Rand) stage { return &resetStage{left: limit} }}
}

// A resetStage lets a number of bytes through, then resets.
type resetStage struct {
	left int
	done bool
}

func (s *resetStage) pass(p piece, out outlet) {
	if s.done {
		return
	}
	if len(p.data) < s.left {
		s.left -= len(p.data)
		out.next(p)
		return
	}
	q := p
	q.data = p.data[:s.left]
	if len(q.data) > 0 {
		out.next(q)
	}
	s.done = true
	out.next(piece{seq: p.seq, at: p.at, reset: true})
}

func (s *resetStage) flush(outlet) {}

// faultsOf decodes a proxy's faults: the faults on the way to the target,
// and under replies:, those on the way back.
func (d *decoder) faultsOf(n *yaml.Node, what string, stream bool, top bool) (to, back []*fault) {
	names := faultNames(stream)
	// Every fault's name is a known key: one for the other socket type
	// is reported below, with why.
	var allowed []string
	for _, k := range faultKinds() {
		allowed = append(allowed, k.name)
	}
	if top {
		allowed = append(allowed, "replies")
	}
	pairs, ok := d.mapping(n, what, allowed...)
	if !ok {
		return nil, nil
	}
	byName := map[string]kv{}
	for _, p := range pairs {
		byName[p.name] = p
	}
	kind := Dgram
	if stream {
		kind = Stream
	}
	for _, k := range faultKinds() {
		p, ok := byName[k.name]
		if !ok {
			continue
		}
		if !(k.stream && stream || k.dgram && !stream) {
			d.errorf(p.key, "%s: %s: applies to %s proxies only; a %s proxy has: %s", what, k.name, k.socketTypes(), kind, strings.Join(names, ", "))
			continue
		}
		if f := k.decode(d, p.val, what+": "+k.name); f != nil {
			f.kind = k
			to = append(to, f)
		}
	}
	if p, ok := byName["replies"]; ok {
		back, _ = d.faultsOf(p.val, what+": replies", stream, false)
	}
	return to, back
}

// socketTypes names the socket types a fault applies to, for messages.
func (k *faultKind) socketTypes() string { return socketTypes(k.stream, k.dgram) }

// socketTypes names the socket types of a table entry that applies to
// streams, datagrams or both.
func socketTypes(stream, dgram bool) string {
	switch {
	case stream && dgram:
		return "stream and dgram"
	case stream:
		return Stream
	}
	return Dgram
}
