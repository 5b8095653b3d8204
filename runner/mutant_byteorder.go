package runner

import (
	"slices"
	"sync/atomic"
)

// The byteorder mutant is a server that forgot ntohl() and htonl(): it
// reads the numbers of a request in its own byte order, and writes those
// of its reply so. As a proxy in front of a reference program, it swaps
// the bytes of each number the client sends before the reference reads
// them, and of each number the reference sends back. Where the numbers
// are is what the spec says: the {u16: N}, {u32: N}, {u64: N} (and len:
// prefixes) of each test's sends on a connection, and of its expects.

// A connLayout is where the numbers are in what one client connection
// sends and receives: the DATA of its sends, and of its expects, in
// order. A list ends where a step's bytes cannot be known (a send with
// placeholders, an expect that is not DATA): no number after it is
// swapped.
type connLayout struct {
	up, down []*Data
	upEnd    bool // up is cut short: nothing after it is known
	downEnd  bool
}

// testLayouts is what a test sends to and expects from server target,
// connection by connection: for each instance of the server (a restart
// starts the next), its connections in the order it sees them (stream:
// connected; dgram: first datagram sent). why says why they cannot be
// known, if so.
func testLayouts(spec *Spec, t *Test, target string) (gens [][]*connLayout, why string) {
	gens = [][]*connLayout{nil}
	conns := map[string]*connLayout{}
	started := map[*connLayout]bool{}
	srv := spec.Server(target)
	for _, st := range t.Steps {
		switch a := st.act.(type) {
		case *connectAction:
			if a.server != target {
				if spec.end(a.server) == target {
					return nil, "a test reaches it through a proxy, which does not keep the order of its clients"
				}
				delete(conns, a.as)
				continue
			}
			l := &connLayout{}
			conns[a.as] = l
			if a.tls != nil {
				return nil, "a test speaks TLS to it"
			}
			if srv.Type == Stream {
				gens[len(gens)-1] = append(gens[len(gens)-1], l)
				started[l] = true
			}
		case restartAction:
			if string(a) == target {
				gens = append(gens, nil)
				clear(conns)
			}
		case *runAction:
			return nil, "a test runs a program, which may reach it in any order"
		case *sendAction:
			l := conns[a.conn]
			if l == nil {
				continue
			}
			if !started[l] {
				gens[len(gens)-1] = append(gens[len(gens)-1], l)
				started[l] = true
			}
			if a.data.size < 0 {
				l.upEnd = true
			}
			if !l.upEnd {
				l.up = append(l.up, a.data)
			}
		case *expectAction:
			l := conns[a.conn]
			if l == nil {
				continue
			}
			ds, ok := a.m.(*dataSpec)
			if !ok || ds.data.size < 0 || ds.data.wild {
				l.downEnd = true
			}
			if !l.downEnd {
				l.down = append(l.down, ds.data)
			}
		case *discardAction:
			if l := conns[a.conn]; l != nil {
				l.downEnd = true
			}
		case *starttlsAction:
			if l := conns[a.conn]; l != nil {
				l.upEnd, l.downEnd = true, true
			}
		}
	}
	return gens, ""
}

// sendsNumbers reports whether a layout has a number the client sends.
func (l *connLayout) sendsNumbers() bool {
	found := false
	numbersIn(l.up, 0, 1<<62, func(int64, int) { found = true })
	return found
}

// numbersIn calls fn for each number in network byte order that lies in
// [lo, hi) of the bytes of list, with its offset and width.
func numbersIn(list []*Data, lo, hi int64, fn func(at int64, width int)) {
	base := int64(0)
	for _, d := range list {
		if base >= hi {
			return
		}
		if base+d.size > lo {
			d.numbers(base, lo, hi, fn)
		}
		base += d.size
	}
}

// numbers calls fn for each number of v, which starts at base, that lies
// in [lo, hi). A repeat is walked only where it meets the window, and
// not at all if it holds no number.
func (v *Data) numbers(base, lo, hi int64, fn func(at int64, width int)) {
	off := base
	for _, p := range v.parts {
		if off >= hi {
			return
		}
		size := p.staticSize()
		switch {
		case off+size <= lo:
		case p.num:
			fn(off, len(p.lit))
		case p.rep != nil && p.rep.size > 0 && p.rep.hasNumbers():
			first := max(0, (lo-off)/p.rep.size)
			for k := first; k < p.count && off+k*p.rep.size < hi; k++ {
				p.rep.numbers(off+k*p.rep.size, lo, hi, fn)
			}
		case p.lenOf != nil:
			if w := p.enc.width(); w > 1 && !p.enc.littleEndian() {
				fn(off, w)
			}
			p.lenOf.numbers(off+int64(p.enc.width()), lo, hi, fn)
		}
		off += size
	}
}

// hasNumbers reports whether v holds a number in network byte order.
func (v *Data) hasNumbers() bool {
	for _, p := range v.parts {
		switch {
		case p.num:
			return true
		case p.rep != nil && p.rep.hasNumbers():
			return true
		case p.lenOf != nil && (p.enc.width() > 1 && !p.enc.littleEndian() || p.lenOf.hasNumbers()):
			return true
		}
	}
	return false
}

func (l lenEnc) littleEndian() bool { return len(l) > 2 && l[len(l)-2:] == "le" }

// A swapStage reverses the bytes of each number of its layout as the
// stream passes: a number split between two reads waits for the rest.
// On datagrams (each read whole) a number split between two is left be.
type swapStage struct {
	layout []*Data
	dgram  bool
	off    int64 // where the next byte handed on lies in the stream
	held   []byte
}

func (s *swapStage) pass(p piece, out outlet) {
	data := append(s.held, p.data...)
	s.held = nil
	end := s.off + int64(len(data))
	keep := int64(len(data))
	numbersIn(s.layout, s.off, end, func(at int64, w int) {
		switch {
		case at < s.off:
			// Begun in a datagram before: left be.
		case at+int64(w) > end && !s.dgram:
			keep = min(keep, at-s.off)
		case at+int64(w) <= end:
			slices.Reverse(data[at-s.off : at-s.off+int64(w)])
		}
	})
	if keep < int64(len(data)) {
		s.held = append([]byte(nil), data[keep:]...)
		data = data[:keep]
	}
	s.off += int64(len(data))
	if len(data) > 0 || s.dgram {
		p.data = data
		out.next(p)
	}
}

func (s *swapStage) flush(out outlet) {
	if len(s.held) > 0 {
		out.next(piece{data: s.held})
		s.held = nil
	}
}

// swapping is what a byteorder mutant knows of one test: where the
// numbers are on each connection of each instance of the server, and how
// many instances have started.
type swapping struct {
	gens    [][]*connLayout
	started atomic.Int32
}

// forTest returns a copy of spec with test t only, whose byteorder
// mutants know where t's numbers are.
func (s *Spec) forTest(t *Test) *Spec {
	one := *s
	one.Tests = []*Test{t}
	one.Servers = slices.Clone(s.Servers)
	for i, srv := range s.Servers {
		m := srv.mutation()
		if m == nil || !m.byteorder {
			continue
		}
		gens, _ := testLayouts(s, t, srv.Name)
		cm := *m
		cm.swap = &swapping{gens: gens}
		cs, px := *srv, *srv.Proxy
		px.mutant = &cm
		cs.Proxy = &px
		one.Servers[i] = &cs
	}
	return &one
}

// faults returns the faults of the flows of a proxy's k-th client (a
// connection, or a datagram client): its own, and for a byteorder mutant
// the number swaps of that client's layout.
func (px *proxy) faults(k int) (to, back []*fault) {
	to, back = px.spec.to, px.spec.back
	st := px.mut
	if st == nil || st.m.swap == nil {
		return to, back
	}
	gens := st.m.swap.gens
	if st.gen >= len(gens) || k >= len(gens[st.gen]) {
		return to, back // a client the test does not know of: nothing swapped
	}
	l := gens[st.gen][k]
	dgram := st.b.srv.Type == Dgram
	to = append(slices.Clip(to), mutantFault("byteorder", func() stage { return &swapStage{layout: l.up, dgram: dgram} }))
	back = append(slices.Clip(back), mutantFault("byteorder", func() stage { return &swapStage{layout: l.down, dgram: dgram} }))
	return to, back
}
