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

// source returns the file's text from node n's position to the end. The
// text and the start of each line are made once per file: made per scalar,
// they cost the whole file each time.
func (d *decoder) source(n *yaml.Node) (string, bool) {
	if d.src == nil || n.Line < 1 {
		return "", false
	}
	if d.lines == nil {
		d.text = string(d.src)
		d.lines = append(d.lines, 0)
		for i := 0; i < len(d.text); i++ {
			if d.text[i] == '\n' {
				d.lines = append(d.lines, i+1)
			}
		}
	}
	if n.Line > len(d.lines) {
		return "", false
	}
	s := d.text[d.lines[n.Line-1]:]
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
// with \xNN as a byte, and as YAML does, with \xNN as a character. It
// follows yaml.v3's scanner (yaml_parser_scan_flow_scalar) step by step,
// line folding included, so that the second reading is yaml.v3's own.
func unquoteDouble(src string) (bytes, asYAML string, ok bool) {
	var b, y strings.Builder
	b.Grow(min(len(src), 256)) // src runs on to the end of the file
	y.Grow(min(len(src), 256))
	both := func(s string) { b.WriteString(s); y.WriteString(s) }
	var leadingBreak, trailingBreaks string
	i := 1
	for {
		if i >= len(src) {
			return "", "", false
		}
		// Characters up to a blank or a line break.
		leadingBlanks := false
	chars:
		for i < len(src) && !isBlank(src[i]) && lineBreak(src, i) == 0 {
			c := src[i]
			switch {
			case c == '"':
				break chars
			case c == '\\' && lineBreak(src, i+1) > 0:
				// An escaped line break joins the lines.
				i += 1 + lineBreak(src, i+1)
				leadingBlanks = true
				break chars
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
				if width == 0 || i+width > len(src) {
					return "", "", false
				}
				v, err := strconv.ParseUint(src[i:i+width], 16, 32)
				if err != nil || 0xd800 <= v && v <= 0xdfff || v > 0x10ffff {
					return "", "", false
				}
				i += width
				if e == 'x' {
					b.WriteByte(byte(v))
				} else {
					b.WriteRune(rune(v))
				}
				y.WriteRune(rune(v))
			default:
				b.WriteByte(c)
				y.WriteByte(c)
				i++
			}
		}
		if i >= len(src) {
			return "", "", false
		}
		if src[i] == '"' {
			return b.String(), y.String(), true
		}
		// Blanks and line breaks: blanks inside a line are kept, those
		// around a line break go, and the breaks fold.
		var blanks strings.Builder
		for i < len(src) {
			if isBlank(src[i]) {
				if !leadingBlanks {
					blanks.WriteByte(src[i])
				}
				i++
				continue
			}
			n := lineBreak(src, i)
			if n == 0 {
				break
			}
			br := "\n" // CR LF, CR, LF and NEL read as LF; LS and PS as themselves
			if n == 3 {
				br = src[i : i+3]
			}
			if !leadingBlanks {
				blanks.Reset()
				leadingBreak = br
				leadingBlanks = true
			} else {
				trailingBreaks += br
			}
			i += n
		}
		switch {
		case !leadingBlanks:
			both(blanks.String())
		case leadingBreak == "\n" && trailingBreaks == "":
			both(" ")
		case leadingBreak == "\n":
			both(trailingBreaks)
		default:
			both(leadingBreak + trailingBreaks)
		}
		leadingBreak, trailingBreaks = "", ""
	}
}

func isBlank(c byte) bool { return c == ' ' || c == '\t' }

// lineBreak returns the length of the line break at src[i], or 0: CR LF,
// CR, LF, NEL (U+0085), LS (U+2028) or PS (U+2029), as yaml.v3 reads them.
func lineBreak(src string, i int) int {
	switch {
	case i >= len(src):
		return 0
	case strings.HasPrefix(src[i:], "\r\n"), strings.HasPrefix(src[i:], "\u0085"):
		return 2
	case src[i] == '\r' || src[i] == '\n':
		return 1
	case strings.HasPrefix(src[i:], "\u2028"), strings.HasPrefix(src[i:], "\u2029"):
		return 3
	}
	return 0
}

// dqEscapes are the one-character escapes in double-quoted scalars that
// yaml.v3 takes: YAML's, and \' (which libyaml, and so yaml.v3, accepts
// too). YAML's \/ is not among them: yaml.v3 refuses it.
var dqEscapes = map[byte]string{
	'0': "\x00", 'a': "\a", 'b': "\b", 't': "\t", '\t': "\t", 'n': "\n",
	'v': "\v", 'f': "\f", 'r': "\r", 'e': "\x1b", ' ': " ", '"': `"`, '\'': "'",
	'\\': `\`, 'N': "\u0085", '_': "\u00a0", 'L': "\u2028", 'P': "\u2029",
}
