package runner

import (
	"fmt"
	"strings"
)

// quote writes bytes as a double-quoted string a spec could hold: printable
// ASCII as it is, \n \r \t, and every other byte as \xNN. (strconv.Quote
// would print valid UTF-8 as characters and hide the bytes.)
func quote(b []byte) string {
	var s strings.Builder
	s.Grow(len(b) + 2)
	s.WriteByte('"')
	for _, c := range b {
		switch {
		case c == '"' || c == '\\':
			s.WriteByte('\\')
			s.WriteByte(c)
		case c == '\n':
			s.WriteString(`\n`)
		case c == '\r':
			s.WriteString(`\r`)
		case c == '\t':
			s.WriteString(`\t`)
		case c < 0x20 || c >= 0x7f:
			fmt.Fprintf(&s, `\x%02x`, c)
		default:
			s.WriteByte(c)
		}
	}
	s.WriteByte('"')
	return s.String()
}

// quoteShort quotes at most max bytes of b and says how many there are.
func quoteShort(b []byte, max int) string {
	if len(b) <= max {
		return quote(b)
	}
	return fmt.Sprintf("%s... (%d bytes)", quote(b[:max]), len(b))
}

// printable reports whether every byte of b is printable ASCII or \n \r
// \t: then the quoted form says it all, and no hex dump is needed.
func printable(b []byte) bool {
	for _, c := range b {
		if (c < 0x20 && c != '\n' && c != '\r' && c != '\t') || c >= 0x7f {
			return false
		}
	}
	return true
}
