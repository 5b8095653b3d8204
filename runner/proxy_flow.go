package runner

import (
	"hash/fnv"
	"math/rand/v2"
	"strconv"
	"time"
)

// A piece is what passes through a proxy one way: a datagram, or the
// bytes of one read of a stream; and when it may go on.
type piece struct {
	data  []byte
	seq   int           // its position among the datagrams (reads) sent this way, from 1
	at    time.Time     // not before this time (delay)
	gap   time.Duration // at least this long after the piece before it (split)
	reset bool          // no data: reset both connections here
}

// A stage is one fault at work on one flow. pass takes each piece in
// turn and hands on what goes further, through out, any number of times;
// flush hands on what it still holds when the flow ends.
type stage interface {
	pass(p piece, out outlet)
	flush(out outlet)
}

// A passer is a stage that holds nothing: one function of a piece.
type passer func(p piece, out outlet)

func (f passer) pass(p piece, out outlet) { f(p, out) }
func (passer) flush(outlet)               {}

// An outlet is where a stage hands pieces on: the next stage, or the
// delivery at the end of the flow.
type outlet struct {
	f *flow
	i int // the stage handing on
}

func (o outlet) next(p piece) { o.f.passFrom(o.i+1, p) }

// note records what a fault did, in the transcript (-v): "drop datagram 1".
func (o outlet) note(what string, p piece) {
	o.f.log.add(o.f.name, what+" "+o.f.unit+" "+strconv.Itoa(p.seq), nil)
}

// A flow is one direction of one proxied connection, or of one client's
// datagrams: its faults' stages, and a delivery that keeps the order of
// what they hand on and waits as long as they say.
type flow struct {
	name     string // in the transcript: proxy>target, or proxy<target for replies
	unit     string // "datagram", "reply" or "read", in notes
	towards  bool   // to the target (else back to the client)
	stages   []stage
	seq      int
	in       chan piece
	done     chan struct{}
	write    func([]byte) error
	reset    func() // reset both connections; nil for datagrams
	stream   bool
	stopping <-chan struct{}
	log      *transcript
	broken   bool // a reset was delivered, or a write failed: no more
}

// newFlow makes the flow of faults fs, and starts its delivery.
func (px *proxy) newFlow(b *builtin, fs []*fault, towards bool, write func([]byte) error, reset func()) *flow {
	arrow := "<"
	if towards {
		arrow = ">"
	}
	f := &flow{name: px.name + arrow + px.spec.target, towards: towards, in: make(chan piece, 64), done: make(chan struct{}), write: write, reset: reset,
		stream: b.srv.Type == Stream, stopping: b.stopping, log: px.log}
	switch {
	case f.stream:
		f.unit = "read"
	case towards:
		f.unit = "datagram"
	default:
		f.unit = "reply"
	}
	for _, ft := range fs {
		f.stages = append(f.stages, ft.stage(newRand(px.spec.seed, ft.kind.name, towards)))
	}
	b.serve(f.deliver)
	return f
}

// newRand is the generator of one fault on one flow. Each fault draws
// from its own, seeded by the seed, its name and the direction: every
// flow (every client) sees the same choices, and adding a fault changes
// no other's.
func newRand(seed uint64, fault string, towards bool) *rand.Rand {
	h := fnv.New64a()
	h.Write([]byte(fault))
	if !towards {
		h.Write([]byte("/replies"))
	}
	return rand.New(rand.NewPCG(seed, h.Sum64()))
}

// feed passes a piece of data into the flow; it is copied.
func (f *flow) feed(data []byte) {
	f.seq++
	f.passFrom(0, piece{data: append([]byte(nil), data...), seq: f.seq})
}

func (f *flow) passFrom(i int, p piece) {
	if i == len(f.stages) {
		f.in <- p
		return
	}
	f.stages[i].pass(p, outlet{f, i})
}

// end flushes the stages, in order, and waits until everything they
// handed on is delivered.
func (f *flow) end() {
	for i, st := range f.stages {
		st.flush(outlet{f, i})
	}
	close(f.in)
	<-f.done
}

// deliver writes the pieces in order, each when it may go. Once the test
// is over (stopping), nothing waits: what is left goes at once.
func (f *flow) deliver() {
	defer close(f.done)
	dir := dirReceived
	if f.towards {
		dir = dirSent
	}
	var last time.Time
	for p := range f.in {
		if f.broken {
			continue
		}
		due := p.at
		if p.gap > 0 && !last.IsZero() && last.Add(p.gap).After(due) {
			due = last.Add(p.gap)
		}
		if wait := time.Until(due); wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-f.stopping:
			}
			t.Stop()
		}
		if p.reset {
			f.log.add(f.name, "reset both connections", nil)
			f.reset()
			f.broken = true
			continue
		}
		f.log.add(f.name, dir, p.data) // first: the reply it causes may be logged before Write returns
		err := f.write(p.data)
		if err != nil && f.stream {
			f.broken = true
		}
		last = time.Now()
	}
}
