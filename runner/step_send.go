package runner

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"gopkg.in/yaml.v3"
)

var sendStep = &stepKind{
	name:  "send",
	forms: []string{"send: DATA", "send: {data: DATA, on: CONN, chunks: N or [sizes], gap: DURATION, timeout: DURATION, partial: true, cork: true}"},
	doc: "Write DATA. `chunks` splits it into N near-equal writes, or writes of the given sizes (the rest, if any, goes in one more write); " +
		"`gap` waits between the writes, to expose a peer that assumes one recv() is one message. On a datagram socket each write is one datagram. " +
		"With `partial: true` the send writes what the peer takes until the deadline, and a write cut short (by the deadline, or by the peer " +
		"closing) is not a failure: a client that floods a server and leaves without reading. " +
		"With `cork: true` (TCP) the data is held back (TCP_CORK) until the next send without it, or a close, and then leaves at once, " +
		"with the FIN: a client that writes a request and exits before any reply comes. Linux sends corked data early once it passes " +
		"half the peer's window (32 KiB on loopback).",
	server: true,
	decode: decodeSend,
	schema: func() js {
		return anyOf(ref("data"), js{"type": "object", "additionalProperties": false, "properties": merge(dataFormProps(), js{
			"data": ref("data"), "on": ref("name"), "chunks": anyOf(intSchema(1, 1<<31-1), listOfSchema(intSchema(1, 1<<31-1))),
			"gap": ref("duration"), "timeout": ref("duration"), "partial": boolSchema(), "cork": boolSchema(),
		})})
	},
}

type sendAction struct {
	conn    string
	data    *Data // own, unless built otherwise
	own     Data
	chunks  int   // N equal writes; 0: see sizes
	sizes   []int // writes of these sizes
	gap     time.Duration
	timeout time.Duration
	partial bool // a write cut short by the deadline ends the send, and passes
	cork    bool // hold the data back until a later send or a close
}

func (a *sendAction) String() string { return "send on " + a.conn }

// sendOpts are the keys of a send mapping beside its data.
var sendOpts = []string{"data", "on", "chunks", "gap", "timeout", "partial", "cork"}

func decodeSend(d *decoder, key, val *yaml.Node) action {
	a := &sendAction{}
	var on, corkAt *yaml.Node
	n := resolve(val)
	if n != nil && n.Kind == yaml.MappingNode {
		var buf [8]kv
		pairs, _ := d.mappingIn(buf[:0], n, "send", sendKeys()...)
		own, rest := partition(pairs, sendOpts...)
		on = own.val("on")
		switch {
		case own.val("data") != nil && len(rest) > 0:
			d.errorf(rest[0].key, "send: %s: beside data:; put it inside data: as a list", rest[0].name)
			return nil
		case own.val("data") != nil:
			a.data = d.sendDataAt(&a.own, own.val("data"), "send: data")
		case len(rest) > 0:
			a.data = &a.own
			d.dataForm(n, rest, "send", a.data)
			d.spend(n, a.data, "send")
			if a.data.wild {
				d.errorf(n, "send: {any: N} matches any bytes, so it can only be expected, not sent")
			}
		default:
			d.errorf(n, "send: needs data: DATA (or a data form such as hex:)")
			return nil
		}
		if c := own.val("chunks"); c != nil {
			d.chunks(c, a)
		}
		if g := own.val("gap"); g != nil {
			a.gap, _ = d.duration(g, "send: gap")
		}
		if t := own.val("timeout"); t != nil {
			a.timeout, _ = d.duration(t, "send: timeout")
		}
		if p := own.val("partial"); p != nil {
			a.partial, _ = d.boolean(p, "send: partial")
		}
		if c := own.val("cork"); c != nil {
			a.cork, _ = d.boolean(c, "send: cork")
			corkAt = c
		}
	} else {
		a.data = d.sendDataAt(&a.own, val, "send")
	}
	name, srv, ok := d.conn(on, key, "send")
	if !ok {
		return nil
	}
	a.conn = name
	if a.cork && srv != nil && (srv.Type != Stream || srv.Path != "") {
		d.errorf(corkAt, "send: cork: needs a TCP connection; %s is %s", a.conn, srv.Network())
	}
	if a.data.size >= 0 && len(a.sizes) > 0 {
		if total := sum(a.sizes); int64(total) > a.data.size {
			d.errorf(key, "send: chunks add up to %d bytes, but the data has %d", total, a.data.size)
		}
	}
	return a
}

func (d *decoder) chunks(n *yaml.Node, a *sendAction) {
	n = resolve(n)
	if n.Kind == yaml.SequenceNode {
		for _, e := range n.Content {
			if v, ok := d.count(e, "send: chunks"); ok {
				if v == 0 {
					d.errorf(e, "send: chunks: a chunk of 0 bytes writes nothing; expected sizes of 1 or more")
				}
				a.sizes = append(a.sizes, v)
			}
		}
		if len(n.Content) == 0 {
			d.errorf(n, "send: chunks: found an empty list, expected a count or a list of sizes")
		}
		return
	}
	if v, ok := d.count(n, "send: chunks"); ok {
		if v == 0 {
			d.errorf(n, "send: chunks: found 0, expected a count of 1 or more")
		}
		a.chunks = v
	}
}

func sum(xs []int) int {
	t := 0
	for _, x := range xs {
		t += x
	}
	return t
}

// split gives the sizes of the writes a send of size bytes makes.
func (a *sendAction) split(size int64) ([]int64, error) {
	var sizes []int64
	switch {
	case a.chunks > 0:
		n := min(int64(a.chunks), max(size, 1))
		for i := range n {
			// Spread the remainder over the first chunks.
			c := size / n
			if i < size%n {
				c++
			}
			sizes = append(sizes, c)
		}
	case len(a.sizes) > 0:
		total := int64(sum(a.sizes))
		if total > size {
			return nil, fmt.Errorf("chunks add up to %d bytes, but the data has %d", total, size)
		}
		for _, c := range a.sizes {
			sizes = append(sizes, int64(c))
		}
		if rest := size - total; rest > 0 {
			sizes = append(sizes, rest)
		}
	default:
		sizes = []int64{size}
	}
	return sizes, nil
}

// run writes the data: its timeout covers all the writes together, and
// the gaps come on top.
func (a *sendAction) run(ctx context.Context, s *session) error {
	e, err := s.conn(a.conn)
	if err != nil {
		return err
	}
	p, err := a.data.resolve(s.env)
	if err != nil {
		return err
	}
	sizes, err := a.split(p.size)
	if err != nil {
		return err
	}
	if err := e.setCork(a.cork); err != nil {
		return fmt.Errorf("send on %s: cork: %w", a.conn, err)
	}
	// One deadline for all the writes together, never renewed per write;
	// the gaps the step was told to wait are on top of it, as long as they
	// really took (a loaded machine wakes a sleeper late).
	dl := deadline(ctx, s.stepTimeout(a.timeout))
	off := int64(0)
	for i, size := range sizes {
		if i > 0 && a.gap > 0 {
			slept := time.Now()
			if err := s.sleep(ctx, a.gap); err != nil {
				return err
			}
			dl = dl.Add(time.Since(slept))
			if c, ok := ctx.Deadline(); ok && c.Before(dl) {
				dl = c
			}
		}
		if err := e.writePayload(ctx, p, off, off+size, dl); err != nil {
			if a.partial && ctx.Err() == nil && (errors.Is(err, os.ErrDeadlineExceeded) || isReset(err)) {
				return nil // the peer took what it would, or went away
			}
			return fmt.Errorf("send on %s: %s: %w", a.conn, sentSoFar(sizes, i), err)
		}
		off += size
	}
	return nil
}

// sentSoFar says which write of a send failed.
func sentSoFar(sizes []int64, i int) string {
	if len(sizes) == 1 {
		return "writing " + strconv.FormatInt(sizes[0], 10) + " bytes"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "write %d of %d (%d bytes)", i+1, len(sizes), sizes[i])
	return b.String()
}

// tcpCork is Linux's TCP_CORK, which the syscall package names only on Linux.
const tcpCork = 3

// setCork holds back what is written from now on (TCP_CORK) while on is
// true; clearing it, or closing the connection, sends what was held at
// once, with the FIN from a close. Only a change makes a system call.
func (e *endpoint) setCork(on bool) error {
	if on == e.corked {
		return nil
	}
	tc, ok := e.conn.(*net.TCPConn)
	if !ok || runtime.GOOS != "linux" {
		return fmt.Errorf("needs a TCP connection on Linux")
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return err
	}
	v := 0
	if on {
		v = 1
	}
	var serr error
	if err := rc.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, tcpCork, v) }); err != nil {
		return err
	}
	if serr != nil {
		return serr
	}
	e.corked = on
	return nil
}
