package runner

import (
	"encoding/binary"
	"fmt"
	"math"
	"strings"
	"unicode"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// Caps on data, so that a typo in a repeat count, or a hostile spec,
// cannot eat the machine: one DATA value describes at most maxData bytes,
// and all the DATA of one spec at most maxSpecData. Neither is ever held
// in memory whole: a repeat is generated as it is written or matched.
const (
	maxData     = 64 << 20
	maxSpecData = 1 << 30
)

// Data is a byte payload of a spec, as decoded: for send, expect and stdin.
// Parts with placeholders are filled in, and the whole resolved into a
// payload, when a step runs.
type Data struct {
	parts []dataPart
	size  int64 // the size in bytes, or -1 while it depends on placeholders
	wild  bool  // it holds {any: N}, which only an expect can match
	fixed *payload
	// Room for the first part and the sealed payload, so that DATA of
	// one part costs no allocations of their own.
	one    [1]dataPart
	sealed payload
}

// A dataPart is one piece of DATA: exactly one field is set.
type dataPart struct {
	lit   []byte
	text  *template
	rep   *Data // repeated count times
	count int64
	lenOf *Data // its length in enc, then it
	enc   lenEnc
	any   int64 // this many bytes, whatever they are
	// num: lit is a number in network byte order ({u16: N}...), which
	// sockrun audit's byteorder mutant swaps.
	num bool
}

func newData() *Data { return &Data{} }

func (v *Data) add(p dataPart) {
	if v.parts == nil {
		v.parts = v.one[:0]
	}
	v.parts = append(v.parts, p)
	switch {
	case p.text != nil:
		if _, ok := p.text.static(); !ok {
			v.size = -1
		}
	case p.rep != nil && p.rep.size < 0, p.lenOf != nil && p.lenOf.size < 0:
		v.size = -1
	}
	if p.rep != nil && p.rep.wild || p.lenOf != nil && p.lenOf.wild || p.any > 0 {
		v.wild = true
	}
	if v.size >= 0 {
		v.size += p.staticSize()
	}
}

func (p dataPart) staticSize() int64 {
	switch {
	case p.text != nil:
		s, _ := p.text.static()
		return int64(len(s))
	case p.rep != nil:
		return p.rep.size * p.count
	case p.lenOf != nil:
		return int64(p.enc.width()) + p.lenOf.size
	case p.any > 0:
		return p.any
	}
	return int64(len(p.lit))
}

func (v *Data) addBytes(b []byte) { v.add(dataPart{lit: b}) }

func (v *Data) addText(t *template) {
	if s, ok := t.static(); ok {
		v.addBytes([]byte(s))
		return
	}
	v.add(dataPart{text: t})
}

func (v *Data) addData(w *Data) {
	for _, p := range w.parts {
		v.add(p)
	}
}

// static returns the bytes if they are known before the test runs (and
// hold no wildcard): for tests and small checks, never for a flood.
func (v *Data) static() ([]byte, bool) {
	if v.size < 0 || v.wild {
		return nil, false
	}
	p, err := v.resolve(nil)
	if err != nil {
		return nil, false
	}
	return p.bytes(0, p.size), true
}

// resolve fills in the placeholders from e and returns the payload. A
// payload known while decoding is made once and shared.
func (v *Data) resolve(e *env) (*payload, error) {
	if v.fixed != nil {
		return v.fixed, nil
	}
	p := &payload{}
	if err := v.fill(p, e); err != nil {
		return nil, err
	}
	return p, nil
}

// fill adds the payload of v, its placeholders filled in from e, to p.
func (v *Data) fill(p *payload, e *env) error {
	for _, part := range v.parts {
		switch {
		case part.text != nil:
			s, err := part.text.fill(e)
			if err != nil {
				return err
			}
			p.addBytes([]byte(s))
		case part.rep != nil:
			inner, err := part.rep.resolve(e)
			if err != nil {
				return err
			}
			if inner.size*part.count > maxData {
				return fmt.Errorf("repeat: %d times %d bytes is more than the limit of %d bytes", part.count, inner.size, maxData)
			}
			p.addRepeat(inner, part.count)
		case part.lenOf != nil:
			inner, err := part.lenOf.resolve(e)
			if err != nil {
				return err
			}
			head, err := part.enc.encode(inner.size)
			if err != nil {
				return err
			}
			p.addBytes(head)
			p.addPayload(inner)
		case part.any > 0:
			p.addAny(part.any)
		default:
			p.addBytes(part.lit)
		}
	}
	return nil
}

// seal makes the payload of static data once, at decode time.
func (v *Data) seal() {
	if v.size >= 0 && v.fixed == nil {
		if err := v.fill(&v.sealed, nil); err == nil {
			v.fixed = &v.sealed
		}
	}
}

// A lenEnc is how {len: ENC, of: DATA} writes the length of DATA.
type lenEnc string

var lenEncs = []string{"u8", "u16", "u32", "u64", "u16le", "u32le", "u64le"}

func (l lenEnc) width() int {
	switch strings.TrimSuffix(string(l), "le") {
	case "u8":
		return 1
	case "u16":
		return 2
	case "u32":
		return 4
	}
	return 8
}

func (l lenEnc) encode(n int64) ([]byte, error) {
	w := l.width()
	if w < 8 && uint64(n) > uint64(1)<<(8*w)-1 {
		return nil, fmt.Errorf("len: %d bytes do not fit in %s (at most %d)", n, l, uint64(1)<<(8*w)-1)
	}
	return putUint(uint64(n), w, strings.HasSuffix(string(l), "le")), nil
}

// putUint writes v in width bytes, big-endian unless le.
func putUint(v uint64, width int, le bool) []byte {
	var full [8]byte
	if le {
		binary.LittleEndian.PutUint64(full[:], v)
		return append([]byte(nil), full[:width]...)
	}
	binary.BigEndian.PutUint64(full[:], v)
	return append([]byte(nil), full[8-width:]...)
}

// data decodes DATA: a string, a mapping form, or a list of these.
func (d *decoder) data(n *yaml.Node, what string) *Data {
	return d.dataAt(newData(), n, what)
}

// dataAt decodes DATA into v and returns it: v can live inside what holds
// it (a send, a matcher), in the same allocation.
func (d *decoder) dataAt(v *Data, n *yaml.Node, what string) *Data {
	d.dataInto(v, n, what)
	d.spend(resolve(n), v, what)
	return v
}

// dataInto decodes DATA into v. The items of a list go straight into v,
// each charged against the caps as part of the whole.
func (d *decoder) dataInto(v *Data, n *yaml.Node, what string) {
	n = resolve(n)
	switch {
	case isNull(n):
		d.errorf(n, "%s: found nothing, expected data: a string, {hex: ...}, {u16: N}, ... or a list of these", what)
	case n.Kind == yaml.ScalarNode:
		if s := d.scalarBytes(n); strings.Contains(s, "{{") {
			v.addText(d.template(n, s))
		} else {
			v.addBytes([]byte(s)) // no placeholder: no template to make
		}
	case n.Kind == yaml.SequenceNode:
		for _, e := range n.Content {
			d.dataInto(v, e, what)
		}
	case n.Kind == yaml.MappingNode:
		var buf [8]kv
		pairs, _ := d.mappingIn(buf[:0], n, what, dataKeys()...)
		d.dataForm(n, pairs, what, v)
	}
}

// sendData decodes DATA that is written, not matched: no wildcards.
func (d *decoder) sendData(n *yaml.Node, what string) *Data {
	return d.sendDataAt(newData(), n, what)
}

// sendDataAt is sendData into v.
func (d *decoder) sendDataAt(v *Data, n *yaml.Node, what string) *Data {
	d.dataAt(v, n, what)
	if v.wild {
		d.errorf(n, "%s: {any: N} matches any bytes, so it can only be expected, not sent", what)
	}
	return v
}

// spend charges a decoded value against the caps: each value, and all the
// DATA of the spec together. A value nested in another (a list's items, a
// repeat's of:) is charged again as part of its parent, which only makes
// the spec's budget stricter, never looser.
func (d *decoder) spend(n *yaml.Node, v *Data, what string) {
	if v.size < 0 {
		return
	}
	if v.size > maxData {
		d.errorf(n, "%s: the data is %d bytes, more than the limit of %d bytes for one value", what, v.size, maxData)
		v.parts, v.size = nil, 0
		return
	}
	d.dataSpent += v.size
	if d.dataSpent > maxSpecData && !d.overBudget {
		d.overBudget = true
		d.errorf(n, "%s: the spec's data adds up to more than %d bytes (the limit for one spec)", what, int64(maxSpecData))
	}
	v.seal()
}

// dataForm decodes the pairs of one mapping form of DATA into v.
func (d *decoder) dataForm(n *yaml.Node, pairs []kv, what string, v *Data) {
	var form *dataKind
	var forms []kv
	for _, p := range pairs {
		if p.name == "of" {
			continue
		}
		forms = append(forms, p)
		form = lookupDataKind(p.name)
	}
	switch {
	case len(forms) > 1:
		d.errorf(forms[1].key, "%s: data has more than one form (%s and %s); use a list to concatenate them", what, forms[0].name, forms[1].name)
		return
	case len(forms) == 0 && len(pairs) > 0:
		d.errorf(pairs[0].key, "%s: of: needs repeat: COUNT or len: ENCODING beside it", what)
		return
	case form == nil:
		d.errorf(n, "%s: found an empty mapping, expected one of: %s", what, strings.Join(dataKeys(), ", "))
		return
	}
	var of *kv
	for i, p := range pairs {
		if p.name == "of" {
			of = &pairs[i]
		}
	}
	if form.of && of == nil {
		d.errorf(forms[0].key, "%s: %s: needs of: DATA beside it", what, form.name)
		return
	}
	if !form.of && of != nil {
		d.errorf(of.key, "%s: of: goes with repeat: or len:, not with %s:", what, form.name)
		return
	}
	var ofVal *yaml.Node
	if of != nil {
		ofVal = of.val
	}
	form.decode(d, forms[0], ofVal, what, v)
}

// A dataKind is one mapping form of DATA: an entry of the data table.
type dataKind struct {
	name   string
	form   string // how it is written, for the reference
	doc    string
	of     bool // it takes of: DATA beside it
	decode func(d *decoder, p kv, of *yaml.Node, what string, v *Data)
	schema js // the JSON Schema of its value
}

// buildDataKinds builds the table of DATA's mapping forms, in the reference's order.
func buildDataKinds() []*dataKind {
	kinds := []*dataKind{
		{name: "text", form: "{text: STRING}", doc: "the string's bytes (placeholders filled in)", decode: decodeText, schema: strSchema()},
		{name: "hex", form: `{hex: "de ad be ef"}`, doc: "bytes in hex; spaces allowed", decode: decodeHex,
			schema: js{"type": "string", "pattern": `^[0-9A-Fa-f\s]*$`}},
		{name: "file", form: "{file: PATH}", doc: "a file's bytes, relative to the spec", decode: decodeFile, schema: strSchema()},
	}
	for _, name := range lenEncs {
		order := "big-endian (network byte order)"
		if strings.HasSuffix(name, "le") {
			order = "little-endian"
		}
		if name == "u8" {
			order = "one byte"
		}
		kinds = append(kinds, &dataKind{name: name, form: "{" + name + ": N}", doc: "the number N, " + order, decode: decodeNumber,
			schema: anyOf(js{"type": "integer", "minimum": 0}, js{"type": "string", "pattern": `^(0x[0-9A-Fa-f_]+|[0-9_]+)$`})})
	}
	return append(kinds,
		&dataKind{name: "repeat", form: "{repeat: COUNT, of: DATA}", doc: "DATA, COUNT times (made as it is written, never held whole)", of: true, decode: decodeRepeat,
			schema: intSchema(0, 1<<31-1)},
		&dataKind{name: "len", form: "{len: " + strings.Join(lenEncs, "|") + ", of: DATA}", doc: "the length of DATA in that encoding, then DATA", of: true, decode: decodeLen,
			schema: enum(lenEncs)},
		&dataKind{name: "any", form: "{any: N}", doc: "in what an expect matches: any N bytes", decode: decodeAny, schema: intSchema(1, 1<<31-1)},
	)
}

func lookupDataKind(name string) *dataKind {
	for _, k := range dataKinds() {
		if k.name == name {
			return k
		}
	}
	return nil
}

// buildDataKeys lists the keys of the mapping forms of DATA.
func buildDataKeys() []string {
	var out []string
	for _, k := range dataKinds() {
		out = append(out, k.name)
	}
	return append(out, "of")
}

func decodeText(d *decoder, p kv, _ *yaml.Node, what string, v *Data) {
	if _, ok := d.str(p.val, d.sub(what, "text")); ok {
		v.addText(d.template(p.val, d.scalarBytes(resolve(p.val))))
	}
}

func decodeHex(d *decoder, p kv, _ *yaml.Node, what string, v *Data) {
	if s, ok := d.str(p.val, d.sub(what, "hex")); ok {
		if b, ok := d.hexBytes(p.val, s); ok {
			v.addBytes(b)
		}
	}
}

func decodeFile(d *decoder, p kv, _ *yaml.Node, what string, v *Data) {
	if s, ok := d.str(p.val, d.sub(what, "file")); ok {
		if b, ok := d.readDataFile(p.val, s, what); ok {
			v.addBytes(b)
		}
	}
}

// decodeNumber decodes {u8: N} and its kin: big-endian unless the name
// ends in le.
func decodeNumber(d *decoder, p kv, _ *yaml.Node, what string, v *Data) {
	enc := lenEnc(p.name)
	max := uint64(math.MaxUint64) >> (64 - 8*enc.width())
	n, ok := d.integer(p.val, d.sub(what, p.name), 0, max, false)
	if !ok {
		return
	}
	// n holds the value's bits even above MaxInt64; uint64 takes them back.
	le := strings.HasSuffix(p.name, "le")
	v.add(dataPart{lit: putUint(uint64(n), enc.width(), le), num: !le && enc.width() > 1})
}

func decodeRepeat(d *decoder, p kv, of *yaml.Node, what string, v *Data) {
	count, ok := d.count(p.val, d.sub(what, "repeat"))
	inner := d.data(of, d.sub(what, "of"))
	if !ok {
		return
	}
	if inner.size > 0 && int64(count)*inner.size > maxData {
		d.errorf(p.val, "%s: repeat: %d times %d bytes is more than the limit of %d bytes", what, count, inner.size, maxData)
		return
	}
	v.add(dataPart{rep: inner, count: int64(count)})
}

func decodeLen(d *decoder, p kv, of *yaml.Node, what string, v *Data) {
	enc, ok := d.oneOf(p.val, d.sub(what, "len"), lenEncs...)
	inner := d.data(of, d.sub(what, "of"))
	if !ok {
		return
	}
	if inner.size >= 0 {
		if _, err := lenEnc(enc).encode(inner.size); err != nil {
			d.errorf(p.val, "%s: %v", what, err)
			return
		}
	}
	v.add(dataPart{lenOf: inner, enc: lenEnc(enc)})
}

func decodeAny(d *decoder, p kv, _ *yaml.Node, what string, v *Data) {
	n, ok := d.count(p.val, d.sub(what, "any"))
	if !ok {
		return
	}
	if n == 0 {
		d.errorf(p.val, "%s: any: found 0, expected a count of 1 or more bytes", what)
		return
	}
	v.add(dataPart{any: int64(n)})
}

// hexBytes decodes hex digits; white space between them is allowed. An
// error points at the offending character where the scalar is on one line.
func (d *decoder) hexBytes(n *yaml.Node, s string) ([]byte, bool) {
	n = resolve(n)
	b := make([]byte, 0, len(s)/2)
	digits := 0
	for i, r := range s {
		switch {
		case unicode.IsSpace(r):
		case r < 0x80 && isHexDigit(byte(r)):
			v := fromHex(byte(r))
			if digits%2 == 0 {
				b = append(b, v<<4)
			} else {
				b[len(b)-1] |= v
			}
			digits++
		default:
			d.errorf(n, "hex: found %q (character %d of the string), expected hex digits (0-9, a-f) and spaces", r, utf8.RuneCountInString(s[:i])+1)
			return nil, false
		}
	}
	if digits%2 != 0 {
		d.errorf(n, "hex: found %d hex digits, expected an even number (two per byte)", digits)
		return nil, false
	}
	return b, true
}

// fromHex is the value of hex digit c.
func fromHex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c >= 'a':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

func isHexDigit(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}
