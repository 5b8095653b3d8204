package runner

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// scalarBytes returns the bytes a scalar stands for. YAML reads "\xff" as
// the character U+00FF, which yaml.v3 stores as two UTF-8 bytes; SPEC.md
// promises that double-quoted escapes give any byte. So a double-quoted
// scalar is decoded again from its source with \xNN meaning the byte NN. The
// same pass also decodes it the YAML way; unless that equals yaml.v3's own
// value, yaml.v3's value is used as it is.
func (d *decoder) scalarBytes(n *yaml.Node) string {
	if n.Style != yaml.DoubleQuotedStyle || !hasLatin1(n.Value) {
		return n.Value
	}
	raw, ok := d.source(n)
	if !ok {
		return n.Value
	}
	b, asYAML, ok := unquoteDouble(raw)
	if !ok || asYAML != n.Value {
		return n.Value
	}
	return b
}

// hasLatin1 reports whether s holds a character U+0080..U+00FF, the only
// ones whose bytes differ between the two readings.
func hasLatin1(s string) bool {
	for _, r := range s {
		if 0x80 <= r && r <= 0xff {
			return true
		}
	}
	return false
}

// source returns the file's text from node n's position to the end.
func (d *decoder) source(n *yaml.Node) (string, bool) {
	if d.src == nil || n.Line < 1 {
		return "", false
	}
	s := string(d.src)
	for line := 1; line < n.Line; line++ {
		i := strings.IndexByte(s, '\n')
		if i < 0 {
			return "", false
		}
		s = s[i+1:]
	}
	for col := 1; col < n.Column; col++ { // yaml.v3 counts columns in characters
		_, size := utf8.DecodeRuneInString(s)
		if size == 0 {
			return "", false
		}
		s = s[size:]
	}
	return s, strings.HasPrefix(s, `"`)
}

// unquoteDouble decodes the double-quoted scalar at the start of src twice:
// with \xNN as a byte, and as YAML does, with \xNN as a character.
func unquoteDouble(src string) (bytes, asYAML string, ok bool) {
	var b, y strings.Builder
	both := func(s string) { b.WriteString(s); y.WriteString(s) }
	i := 1
	for i < len(src) {
		c := src[i]
		switch {
		case c == '"':
			return b.String(), y.String(), true
		case c == '\\':
			if i+1 >= len(src) {
				return "", "", false
			}
			e := src[i+1]
			i += 2
			if simple, ok := dqEscapes[e]; ok {
				both(simple)
				continue
			}
			width := map[byte]int{'x': 2, 'u': 4, 'U': 8}[e]
			switch {
			case width > 0:
				if i+width > len(src) {
					return "", "", false
				}
				v, err := strconv.ParseUint(src[i:i+width], 16, 32)
				if err != nil {
					return "", "", false
				}
				i += width
				if e == 'x' {
					b.WriteByte(byte(v))
				} else {
					b.WriteRune(rune(v))
				}
				y.WriteRune(rune(v))
			case e == '\n' || e == '\r':
				// An escaped line break joins the lines; the next line's
				// leading white space goes.
				if e == '\r' && i < len(src) && src[i] == '\n' {
					i++
				}
				for i < len(src) && (src[i] == ' ' || src[i] == '\t') {
					i++
				}
			default:
				return "", "", false
			}
		case c == '\n' || c == '\r':
			// A line break folds: into a space, or into the breaks of the
			// empty lines that follow it. Trailing blanks go.
			trimmed := strings.TrimRight(b.String(), " \t")
			b.Reset()
			b.WriteString(trimmed)
			trimmed = strings.TrimRight(y.String(), " \t")
			y.Reset()
			y.WriteString(trimmed)
			breaks := 0
			for i < len(src) {
				switch src[i] {
				case '\r', ' ', '\t':
					i++
					continue
				case '\n':
					breaks++
					i++
					continue
				}
				break
			}
			if breaks <= 1 {
				both(" ")
			} else {
				both(strings.Repeat("\n", breaks-1))
			}
		default:
			b.WriteByte(c)
			y.WriteByte(c)
			i++
		}
	}
	return "", "", false
}

// dqEscapes are YAML's one-character escapes in double-quoted scalars.
var dqEscapes = map[byte]string{
	'0': "\x00", 'a': "\a", 'b': "\b", 't': "\t", '\t': "\t", 'n': "\n",
	'v': "\v", 'f': "\f", 'r': "\r", 'e': "\x1b", ' ': " ", '"': `"`,
	'/': "/", '\\': `\`, 'N': "\u0085", '_': "\u00a0", 'L': "\u2028", 'P': "\u2029",
}
