package runner

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// A YAML syntax error, as yaml.v3 reports it, names the line of the
// construct being parsed, not of the fault, and no column: a key indented
// one column short on line 5 comes out as line 3, a tab on line 5 as line
// 4. yaml.v3 keeps the fault's own position to itself. So sockrun finds it
// again, with yaml.v3 as the judge: the fault is where the file, cut just
// after it, fails with the very same error. Cutting after line k, for a
// search over k from yaml.v3's line (never later than the fault), finds
// the line; cutting after each character of that line finds the column. The lines before the fault parse, and their
// nodes say which columns the open blocks are at, which is what a message
// about indentation needs.

var yamlLineRE = regexp.MustCompile(`^yaml: (?:line (\d+): )?(.*)$`)

// locateWork bounds the bytes re-parsed to find a fault: 32 times the file,
// up to 2 MiB. The search parses prefixes that end near the fault some 10
// to 30 times, which is nothing for a spec of a few KiB; in a file near the
// size cap, a fault far down keeps yaml.v3's line rather than cost seconds.
func locateWork(size int) int { return min(32*size+4096, 2<<20) }

// yamlError positions a YAML syntax error at its fault and says how to
// mend it, where it can; otherwise it keeps yaml.v3's message and line.
func yamlError(file string, src []byte, err error) error {
	msg := err.Error()
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil && !strings.Contains(msg, "\n") {
		line, _ := strconv.Atoi(m[1])
		f := &syntaxFault{src: src, want: msg, work: locateWork(len(src))}
		if f.locate(max(line, 1)) {
			return errorList([]*Error{f.explain(file, m[2], err)})
		}
	}
	// yaml.v3's own lines. For parser errors (they begin "did not find
	// expected") each is the 0-based line of the construct being parsed
	// (go-yaml/yaml#542), so one is added.
	var list []*Error
	for _, line := range strings.Split(msg, "\n") {
		line = strings.TrimSpace(strings.TrimPrefix(line, "yaml: unmarshal errors:"))
		if line == "" {
			continue
		}
		e := &Error{Pos: Pos{file, 1, 1}, Msg: "YAML: " + strings.TrimPrefix(line, "yaml: "), Err: err}
		if m := yamlLineRE.FindStringSubmatch("yaml: " + strings.TrimPrefix(line, "yaml: ")); m != nil && m[1] != "" {
			e.Pos.Line, _ = strconv.Atoi(m[1])
			e.Msg = "YAML: " + m[2]
			if strings.HasPrefix(m[2], "did not find expected") {
				e.Pos.Line++
				e.Msg += " (in what starts on this line)"
			}
			// Never past the file's end, where no caret can be drawn.
			_, ends := lines(src)
			e.Pos.Line = min(e.Pos.Line, len(ends))
		}
		list = append(list, e)
	}
	return errorList(list)
}

// A syntaxFault is the search for where a YAML syntax error is.
type syntaxFault struct {
	src   []byte
	want  string // the file's error; a prefix that fails the same way holds the fault
	work  int    // bytes left to parse
	spent bool   // the work ran out: what was found is not to be trusted

	starts []int // byte offset of each line's start; one more for the end
	ends   []int // byte offset of each line's break (or of the end)
	line   int   // 1-based line of the fault
	col    int   // 1-based column (in characters) of the fault
	off    int   // byte offset of the character at the fault
}

// failsAt reports whether src cut after n bytes fails as the whole does.
// It is false once the work is spent.
func (f *syntaxFault) failsAt(n int) bool {
	if f.work < n {
		f.spent = true
		return false
	}
	f.work -= n
	var doc yaml.Node
	err := yaml.Unmarshal(f.src[:n], &doc)
	return err != nil && err.Error() == f.want
}

// locate finds the fault's line, at or after from (yaml.v3's line is never
// later than the fault's), then its column.
func (f *syntaxFault) locate(from int) bool {
	f.starts, f.ends = lines(f.src)
	nlines := len(f.starts) - 1
	if nlines == 0 {
		return false
	}
	// The smallest k in [from, nlines] whose lines 1..k fail as the file
	// does. The fault is mostly a line or two after yaml.v3's line: gallop
	// from there (from+1, +2, +4...), then halve the last stride.
	lo, hi := min(from, nlines), nlines // the whole file, hi, fails
	for stride := 1; lo < hi; stride *= 2 {
		k := min(lo+stride-1, hi-1)
		if f.failsAt(f.starts[k]) {
			hi = k
			break
		}
		lo = k + 1
	}
	for lo < hi {
		k := (lo + hi) / 2
		if f.failsAt(f.starts[k]) {
			hi = k
		} else {
			lo = k + 1
		}
	}
	if lo == nlines && !f.failsAt(len(f.src)) {
		return false // the work ran out, or the search went astray
	}
	f.line = lo
	// The smallest number of characters of the line that, with the lines
	// before it, fail so; one more than the line's length is its line break.
	start, end := f.starts[lo-1], f.starts[lo]
	var ends []int
	for i := start; i < f.ends[lo-1]; {
		// The width of what is there: an invalid byte is one byte wide,
		// though it reads as U+FFFD, which is three.
		_, size := utf8.DecodeRune(f.src[i:end])
		i += size
		ends = append(ends, i)
	}
	ends = append(ends, end)
	lo, hi = 0, len(ends)-1
	for lo < hi {
		j := (lo + hi) / 2
		if f.failsAt(ends[j]) {
			hi = j
		} else {
			lo = j + 1
		}
	}
	f.col = lo + 1
	f.off = start
	if lo > 0 {
		f.off = ends[lo-1]
	}
	return !f.spent
}

// text returns line n (1-based) without its line break.
func (f *syntaxFault) text(n int) string {
	return string(f.src[f.starts[n-1]:f.ends[n-1]])
}

// lines splits src into lines as yaml.v3 counts them, at CR LF, CR, LF,
// NEL, LS and PS, so that its line numbers and these agree; after a final
// break comes an empty last line, where an error at the end of the file
// stands. starts holds where each line starts, and one more, the end;
// ends, where each line ends, its break left out.
func lines(src []byte) (starts, ends []int) {
	starts = append(starts, 0)
	s := string(src)
	for i := 0; i < len(s); {
		if n := lineBreak(s, i); n > 0 {
			ends = append(ends, i)
			i += n
			starts = append(starts, i)
			continue
		}
		i++
	}
	return append(starts, len(src)), append(ends, len(src))
}

// explain turns the fault into an error that says how to mend it.
func (f *syntaxFault) explain(file, text string, err error) *Error {
	e := &Error{Pos: Pos{file, f.line, f.col}, Msg: "YAML: " + text, Err: err}
	line := f.text(f.line)
	indent := len(line) - len(strings.TrimLeft(line, " \t"))
	if tab := strings.IndexByte(line[:indent], '\t'); tab >= 0 && indent < len(line) {
		e.Pos.Col = tab + 1
		e.Msg = "YAML: a tab in the indentation; indent with spaces, not tabs"
		return e
	}
	if msg, ok := f.indentation(line, indent); ok {
		e.Pos.Col = indent + 1
		e.Msg = "YAML: " + msg
		return e
	}
	c := byte(0)
	if f.off < len(f.src) {
		c = f.src[f.off]
	}
	switch {
	case strings.HasPrefix(text, "found unexpected end of stream") && (c == '"' || c == '\''):
		e.Msg = fmt.Sprintf("YAML: the string opened here with %c is never closed; end it with %c", c, c)
	case strings.HasPrefix(text, "did not find expected ',' or '}'"):
		f.unclosed(e, '}')
	case strings.HasPrefix(text, "did not find expected ',' or ']'"):
		f.unclosed(e, ']')
	case strings.HasPrefix(text, "mapping values are not allowed") && c == ':':
		if key, val, ok := strings.Cut(strings.TrimLeft(line[indent:], "- "), ": "); ok && strings.Contains(val, ": ") {
			e.Msg = fmt.Sprintf("YAML: a plain value cannot hold \": \"; quote it: %s: %q", key, strings.TrimSpace(val))
			if hint, ok := colonHint(key, val); ok {
				e.Msg = "YAML: a plain value cannot hold \": \"; " + hint
			}
		}
	case strings.HasPrefix(text, "unknown anchor"):
		if f.off > 0 && f.src[f.off-1] == '*' {
			e.Pos.Col--
		}
		e.Msg += "; an alias (*name) needs an anchor (&name) earlier in the file"
	case strings.HasPrefix(text, "found character that cannot start any token") && (c == '@' || c == '`'):
		e.Msg = fmt.Sprintf("YAML: %c cannot start a plain value; quote the value", c)
	case text == "did not find expected key" && afterQuote(string(f.src[f.starts[f.line-1]:f.off])):
		e.Msg = "YAML: text after a quoted value; put it inside the quotes"
	case text == "did not find expected key" && (c == '}' || c == ']'):
		e.Msg = fmt.Sprintf("YAML: this %c closes nothing that is open", c)
	case strings.HasPrefix(text, "found unknown escape character") && c == '\\' && f.off+1 < len(f.src):
		r, _ := utf8.DecodeRune(f.src[f.off+1:])
		e.Msg = fmt.Sprintf("YAML: \\%c is no escape in a double-quoted string; write \\\\ for a backslash, or use single quotes", r)
	}
	return e
}

// afterQuote reports whether s ends in a closing quote and blanks.
func afterQuote(s string) bool {
	s = strings.TrimRight(s, " \t")
	return strings.HasSuffix(s, `"`) || strings.HasSuffix(s, "'")
}

// A level is a block mapping or list open at the end of the lines before
// the fault: a line there must start at one of their columns.
type level struct {
	node *yaml.Node
	col  int
	seq  bool       // a list, whose items start with "-" at col
	last *yaml.Node // a mapping's last key, or a list's last item
	val  *yaml.Node // the last key's value
}

// levels returns the block collections open at the end of the file's
// first n lines, outermost first, or false if those lines do not parse.
func (f *syntaxFault) levels(n int) ([]level, bool) {
	if f.work < f.starts[n] {
		return nil, false
	}
	f.work -= f.starts[n]
	var doc yaml.Node
	if err := yaml.Unmarshal(f.src[:f.starts[n]], &doc); err != nil || len(doc.Content) == 0 {
		return nil, false
	}
	var out []level
	for n := doc.Content[0]; n != nil && n.Style&yaml.FlowStyle == 0 && len(n.Content) > 0; {
		switch n.Kind {
		case yaml.MappingNode:
			k, v := n.Content[len(n.Content)-2], n.Content[len(n.Content)-1]
			out = append(out, level{node: n, col: n.Content[0].Column, last: k, val: v})
			n = v
		case yaml.SequenceNode:
			last := n.Content[len(n.Content)-1]
			out = append(out, level{node: n, col: n.Column, seq: true, last: last, val: last})
			n = last
		default:
			return out, true
		}
	}
	return out, true
}

// indentation explains a fault in the indentation of line (of the fault),
// indented by indent spaces, if that is what it is.
func (f *syntaxFault) indentation(line string, indent int) (string, bool) {
	if indent == len(line) || line[indent] == '#' {
		return "", false
	}
	levels, ok := f.levels(f.line - 1)
	if !ok || len(levels) == 0 {
		return "", false
	}
	col := indent + 1
	item := line[indent] == '-' && (indent+1 == len(line) || line[indent+1] == ' ')
	what := "the list item"
	if !item {
		what = "this line"
		if k, _, ok := strings.Cut(line[indent:], ":"); ok && !strings.ContainsAny(k, "\"'{[") {
			what = strconv.Quote(k)
		}
	}
	deepest := &levels[len(levels)-1]
	// The level at the line's column, and the nearest ones either side:
	// lists for an item, mappings for a key, where there are such.
	var at, deeper, shallower *level
	for _, kind := range []bool{item, !item} {
		for i := range levels {
			l := &levels[i]
			switch {
			case l.col == col && (at == nil || l.seq == item):
				at = l
			case l.seq != kind:
			case l.col > col && deeper == nil:
				deeper = l
			case l.col < col:
				shallower = l
			}
		}
		if deeper != nil || shallower != nil {
			break
		}
	}
	switch {
	case col > deepest.col && hasValue(deepest.val):
		// Deeper than every open block, under a key or item that has a
		// value on its own line already: "key: value" then "  key2: ...".
		under := "that item"
		if !deepest.seq {
			under = strconv.Quote(deepest.last.Value)
		}
		return fmt.Sprintf("%s is indented more than %s, which has a value already (%s); indent it %s, or, to put it under %s, remove that value",
			what, name(deepest), valueOf(deepest.val), lineUp(deepest), under), true
	case at != nil && item && !at.seq:
		// A list item at the column of a mapping's keys.
		msg := fmt.Sprintf("the list item is at column %d, the column of %s", col, name(at))
		if hasValue(at.val) {
			msg += fmt.Sprintf(", which has a value already (%s)", valueOf(at.val))
		}
		if s := seqAbove(levels, at); s != nil {
			msg += "; to add it to the list, indent it " + lineUp(s)
		}
		return msg, true
	case at != nil && !item && at.seq:
		// A key at the column of a list's "-": neither an item of the
		// list nor a key of the item.
		msg := fmt.Sprintf("%s is at column %d, the column of the \"-\" on line %d", what, col, at.last.Line)
		var options []string
		for _, l := range []*level{deeper, shallower} {
			if l != nil && !l.seq {
				options = append(options, lineUp(l))
			}
		}
		if len(options) > 0 {
			msg += "; indent it " + strings.Join(options, ", or ")
		}
		return msg, true
	case at == nil && deeper != nil:
		// Between two levels: one column short, or one too far.
		msg := fmt.Sprintf("%s is at column %d; indent it %s", what, col, lineUp(deeper))
		if shallower != nil {
			msg += ", or " + lineUp(shallower)
		}
		return msg, true
	}
	return "", false
}

// hasValue reports whether n, a key's value or a list item, was written on
// the line of its key (a scalar, a flow collection, an alias), so that
// lines indented below it cannot add to it.
func hasValue(n *yaml.Node) bool {
	if n == nil {
		return false
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" && n.Value == "" {
		return false
	}
	return n.Kind == yaml.ScalarNode || n.Kind == yaml.AliasNode || n.Style&yaml.FlowStyle != 0
}

// seqAbove returns the list that holds the mapping at l, if there is one.
func seqAbove(levels []level, l *level) *level {
	for i := range levels {
		if &levels[i] == l && i > 0 && levels[i-1].seq {
			return &levels[i-1]
		}
	}
	return nil
}

// name names an open level for a message: its last key, or its last item.
func name(l *level) string {
	if l.seq {
		return fmt.Sprintf("the item on line %d", l.last.Line)
	}
	return fmt.Sprintf("%q (line %d)", l.last.Value, l.last.Line)
}

// lineUp says where to indent a line to be a sibling at an open level.
func lineUp(l *level) string {
	if l.seq {
		return fmt.Sprintf("to column %d to line up with the \"-\" on line %d", l.col, l.last.Line)
	}
	return fmt.Sprintf("to column %d to line up with %q (line %d)", l.col, l.last.Value, l.last.Line)
}

// valueOf names a value for a message.
func valueOf(n *yaml.Node) string {
	if n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
		return "a block of text"
	}
	return found(n)
}

// unclosedMark is put in a file to see which collection it lands in.
const unclosedMark = "sockrun-unclosed-mark"

// unclosed points e at the flow collection that is never closed. Where
// the file fails the same way, cut short, says little here: a cut inside a
// closed collection leaves it open too. So the file is mended instead: a
// marker and the closer go at the end of the fault's line, or of a line
// after it, with more closers while yaml.v3 asks for them, until the file
// parses; the collection that holds the marker is the one left open.
// Only the file up to that line is parsed: what follows cannot change
// where the marker lands.
func (f *syntaxFault) unclosed(e *Error, closer byte) {
	for k := f.line; k < len(f.starts) && k < f.line+5; k++ {
		end := f.ends[k-1]
		mark := ", " + unclosedMark
		if closer == '}' {
			mark += ": 1"
		}
		mark += string(closer)
		for range 4 {
			// The lines up to k and the marker: what follows cannot move it.
			fix := append(append([]byte{}, f.src[:end]...), mark...)
			if f.work < len(fix) {
				return
			}
			f.work -= len(fix)
			var doc yaml.Node
			err := yaml.Unmarshal(fix, &doc)
			if err == nil {
				if open := holder(&doc); open != nil && open.Style&yaml.FlowStyle != 0 {
					kind := map[yaml.Kind]string{yaml.MappingNode: "mapping", yaml.SequenceNode: "list"}[open.Kind]
					opener := map[yaml.Kind]byte{yaml.MappingNode: '{', yaml.SequenceNode: '['}[open.Kind]
					e.Pos.Line, e.Pos.Col = open.Line, open.Column
					e.Msg = fmt.Sprintf("YAML: the %s opened here with %c is never closed; end it with %c", kind, opener, closer)
				}
				return
			}
			switch t := err.Error(); {
			case strings.HasSuffix(t, "did not find expected ',' or '}'"):
				mark += "}"
			case strings.HasSuffix(t, "did not find expected ',' or ']'"):
				mark += "]"
			default:
				goto next
			}
		}
	next:
	}
}

// holder returns the collection in which unclosedMark is a key or an item.
func holder(n *yaml.Node) *yaml.Node {
	for i, c := range n.Content {
		if c.Kind == yaml.ScalarNode && c.Value == unclosedMark && (n.Kind != yaml.MappingNode || i%2 == 0) {
			return n
		}
		if h := holder(c); h != nil {
			return h
		}
	}
	return nil
}
