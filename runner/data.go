package runner

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"math"
	"os"
	"path/filepath"
	"strings"
	"unicode"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// maxData caps one DATA value, so a typo in a repeat count cannot eat the
// machine's memory.
const maxData = 64 << 20

// Data is a byte payload of a spec: for send, expect and stdin. Parts with
// placeholders are filled in at run time.
type Data struct {
	parts []*template // text parts, with placeholders
	lit   [][]byte    // byte parts; parts[i] == nil where lit[i] is used
}

// dataKeys are the keys of the mapping forms of DATA.
var dataKeys = []string{"text", "hex", "file", "u8", "u16", "u32", "u64", "u16le", "u32le", "u64le", "repeat", "of"}

func (v *Data) addBytes(b []byte) {
	v.parts = append(v.parts, nil)
	v.lit = append(v.lit, b)
}

func (v *Data) addText(t *template) {
	if s, ok := t.static(); ok {
		v.addBytes([]byte(s))
		return
	}
	v.parts = append(v.parts, t)
	v.lit = append(v.lit, nil)
}

func (v *Data) add(w *Data) {
	v.parts = append(v.parts, w.parts...)
	v.lit = append(v.lit, w.lit...)
}

// static returns the bytes if they are known before the test runs.
func (v *Data) static() ([]byte, bool) {
	var out []byte
	for i, t := range v.parts {
		if t != nil {
			return nil, false
		}
		out = append(out, v.lit[i]...)
	}
	return out, true
}

// bytes returns the payload with placeholders filled in.
func (v *Data) bytes(addrs map[string]Addr) []byte {
	var out []byte
	for i, t := range v.parts {
		if t != nil {
			out = append(out, t.fill(addrs)...)
		} else {
			out = append(out, v.lit[i]...)
		}
	}
	if out == nil {
		out = []byte{}
	}
	return out
}

// data decodes DATA: a string, a mapping form, or a list of these.
func (d *decoder) data(n *yaml.Node, what string) *Data {
	v := &Data{}
	n = resolve(n)
	switch {
	case isNull(n):
		d.errorf(n, "%s: found nothing, expected data: a string, {hex: ...}, {u16: N}, ... or a list of these", what)
	case n.Kind == yaml.ScalarNode:
		v.addText(d.template(n, d.scalarBytes(n)))
	case n.Kind == yaml.SequenceNode:
		for _, e := range n.Content {
			v.add(d.data(e, what))
		}
	case n.Kind == yaml.MappingNode:
		pairs, _ := d.mapping(n, what, dataKeys...)
		d.dataForm(n, pairs, what, v)
	}
	return v
}

// dataForm decodes the pairs of one mapping form of DATA into v.
func (d *decoder) dataForm(n *yaml.Node, pairs []kv, what string, v *Data) {
	var rep, of *kv
	for i, p := range pairs {
		switch p.name {
		case "repeat":
			rep = &pairs[i]
		case "of":
			of = &pairs[i]
		}
	}
	kinds := len(pairs)
	if rep != nil || of != nil {
		kinds -= btoi(rep != nil) + btoi(of != nil) - 1
	}
	if kinds > 1 {
		d.errorf(pairs[1].key, "%s: data has more than one form (%s and %s); use a list to concatenate them", what, pairs[0].name, pairs[1].name)
		return
	}
	if kinds == 0 {
		d.errorf(n, "%s: found an empty mapping, expected one of: %s", what, strings.Join(dataKeys, ", "))
		return
	}
	if rep != nil || of != nil {
		d.repeat(n, rep, of, what, v)
		return
	}
	p := pairs[0]
	switch p.name {
	case "text":
		if _, ok := d.str(p.val, what+": text"); ok {
			v.addText(d.template(p.val, d.scalarBytes(resolve(p.val))))
		}
	case "hex":
		if s, ok := d.str(p.val, what+": hex"); ok {
			if b, ok := d.hexBytes(p.val, s); ok {
				v.addBytes(b)
			}
		}
	case "file":
		if s, ok := d.str(p.val, what+": file"); ok {
			path := s
			if !filepath.IsAbs(path) {
				path = filepath.Join(d.dir, path)
			}
			b, err := os.ReadFile(path)
			switch {
			case err != nil:
				d.errorf(p.val, "%s: file: %v", what, err)
			case len(b) > maxData:
				d.errorf(p.val, "%s: file: %s has %d bytes, more than the limit of %d", what, s, len(b), maxData)
			default:
				v.addBytes(b)
			}
		}
	default:
		d.number(p, what, v)
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// number decodes {u8: N} and its kin: big-endian unless the name ends in le.
func (d *decoder) number(p kv, what string, v *Data) {
	bits := map[string]int{"u8": 8, "u16": 16, "u32": 32, "u64": 64, "u16le": 16, "u32le": 32, "u64le": 64}[p.name]
	max := uint64(math.MaxUint64) >> (64 - bits)
	n, ok := d.integer(p.val, what+": "+p.name, 0, max, false)
	if !ok {
		return
	}
	// n holds the value's bits even above MaxInt64; uint64 takes them back.
	var full [8]byte
	b := full[:bits/8]
	if strings.HasSuffix(p.name, "le") {
		binary.LittleEndian.PutUint64(full[:], uint64(n))
	} else {
		binary.BigEndian.PutUint64(full[:], uint64(n))
		b = full[8-bits/8:]
	}
	v.addBytes(b)
}

func (d *decoder) repeat(n *yaml.Node, rep, of *kv, what string, v *Data) {
	if rep == nil {
		d.errorf(of.key, "%s: of: needs repeat: COUNT beside it", what)
		return
	}
	if of == nil {
		d.errorf(rep.key, "%s: repeat: needs of: DATA beside it", what)
		return
	}
	count, ok := d.count(rep.val, what+": repeat")
	inner := d.data(of.val, what+": of")
	if !ok {
		return
	}
	b, static := inner.static()
	if !static {
		d.errorf(of.val, "%s: repeat: of: cannot hold placeholders of server addresses", what)
		return
	}
	if len(b)*count > maxData {
		d.errorf(rep.val, "%s: repeat: %d times %d bytes is more than the limit of %d bytes", what, count, len(b), maxData)
		return
	}
	v.addBytes(bytes.Repeat(b, count))
}

// hexBytes decodes hex digits; white space between them is allowed. An
// error points at the offending character where the scalar is on one line.
func (d *decoder) hexBytes(n *yaml.Node, s string) ([]byte, bool) {
	n = resolve(n)
	var digits []byte
	for i, r := range s {
		switch {
		case unicode.IsSpace(r):
		case r < 0x80 && isHexDigit(byte(r)):
			digits = append(digits, byte(r))
		default:
			d.errorf(n, "hex: found %q (character %d of the string), expected hex digits (0-9, a-f) and spaces", r, utf8.RuneCountInString(s[:i])+1)
			return nil, false
		}
	}
	if len(digits)%2 != 0 {
		d.errorf(n, "hex: found %d hex digits, expected an even number (two per byte)", len(digits))
		return nil, false
	}
	b := make([]byte, len(digits)/2)
	if _, err := hex.Decode(b, digits); err != nil {
		d.errorf(n, "hex: %v", err)
		return nil, false
	}
	return b, true
}

func isHexDigit(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}
