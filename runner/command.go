package runner

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"
)

// A command is a program's command line, split into words the way a shell
// splits them, quotes honoured, but never given to a shell. Placeholders
// are filled per word after splitting, so a value with spaces (or shell
// characters) stays one word.
type command struct {
	src   string
	words []*template
}

func (c *command) String() string { return c.src }

// startHint says how to give the program, if its path came from a var:
// the advice a "could not be started" needs.
func (c *command) startHint() string {
	if vars := c.words[0].vars; len(vars) > 0 {
		return fmt.Sprintf(" (the program is {{%s}}: give its path with --var %s=PATH)", vars[0], vars[0])
	}
	return ""
}

// fill returns the words with placeholders filled in.
func (c *command) fill(e *env) ([]string, error) {
	out := make([]string, len(c.words))
	for i, w := range c.words {
		var err error
		if out[i], err = w.fill(e); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// commandValue decodes a command: a command line to split into words, or
// a list of words used as they are (each may hold placeholders).
func (d *decoder) commandValue(n *yaml.Node, what string) *command {
	r := resolve(n)
	if r == nil || r.Kind != yaml.SequenceNode {
		s, ok := d.str(n, what)
		if !ok {
			return nil
		}
		return d.command(n, s, what)
	}
	if len(r.Content) == 0 {
		d.errorf(n, "%s: found an empty list, expected a program and its arguments", what)
		return nil
	}
	c := &command{}
	var src []string
	for _, w := range r.Content {
		s, ok := d.str(w, what)
		if !ok {
			return nil
		}
		c.words = append(c.words, d.word(w, s, what)...)
		src = append(src, shellQuote(s))
	}
	c.src = strings.Join(src, " ")
	return c
}

// shellQuote quotes a word so that splitWords gives it back, for reports.
func shellQuote(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t\n'\"\\$`") {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func (d *decoder) command(n *yaml.Node, s, what string) *command {
	words, err := splitWords(s)
	if err != nil {
		d.errorf(n, "%s: %v", what, err)
		return nil
	}
	if len(words) == 0 {
		d.errorf(n, "%s: found an empty command line, expected a program and its arguments", what)
		return nil
	}
	c := &command{src: s}
	for _, w := range words {
		c.words = append(c.words, d.word(n, w, what)...)
	}
	if len(c.words) == 0 {
		d.errorf(n, "%s: the command line has no words once its vars are spliced in", what)
		return nil
	}
	return c
}

// spliceRE is a word that is a var's words: {{NAME...}}.
var spliceRE = regexp.MustCompile(`^\{\{\s*([A-Za-z_][A-Za-z0-9_.-]*?)\.\.\.\s*\}\}$`)

// word decodes one word of a command: a template, or, written {{NAME...}},
// the words of var NAME split like a command line ("-v -p 1" is two
// words), spliced in: a var that holds several arguments.
func (d *decoder) word(n *yaml.Node, w, what string) []*template {
	m := spliceRE.FindStringSubmatch(w)
	if m == nil {
		return []*template{d.template(n, w)}
	}
	v, ok := d.vars[m[1]]
	switch {
	case !ok:
		d.errorf(n, "%s: {{%s...}} splices the words of a var, and there is no var %s%s", what, m[1], m[1], didYouMean(m[1], keys(d.vars)))
		return nil
	case v == nil:
		d.need(m[1])
		return []*template{literal("")}
	}
	words, err := splitWords(*v)
	if err != nil {
		d.errorf(n, "%s: {{%s...}}: %v", what, m[1], err)
		return nil
	}
	var out []*template
	for _, s := range words {
		out = append(out, literal(s))
	}
	return out
}

// SplitCommand splits a command line into words as run: and --run do
// (see splitWords): for a command sockrun runs outside a spec, such as
// grade's --build.
func SplitCommand(s string) ([]string, error) { return splitWords(s) }

// splitWords splits a command line like a POSIX shell: blanks separate
// words; '...' quotes everything literally; "..." quotes with \ escaping
// \ " $ and `; a \ outside quotes takes the next character literally.
// Nothing is expanded: no variables, globs or substitutions.
func splitWords(s string) ([]string, error) {
	var words []string
	var w strings.Builder
	inWord := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n':
			if inWord {
				words = append(words, w.String())
				w.Reset()
				inWord = false
			}
		case c == '\\':
			inWord = true
			if i+1 < len(s) {
				i++
				if s[i] != '\n' {
					w.WriteByte(s[i])
				}
			}
		case c == '\'':
			inWord = true
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return nil, errors.New("unterminated ' quote in the command line")
			}
			w.WriteString(s[i+1 : i+1+j])
			i += j + 1
		case c == '"':
			inWord = true
			i++
			for ; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' && i+1 < len(s) && strings.IndexByte("\\\"$`\n", s[i+1]) >= 0 {
					i++
				}
				w.WriteByte(s[i])
			}
			if i >= len(s) {
				return nil, errors.New("unterminated \" quote in the command line")
			}
		default:
			inWord = true
			w.WriteByte(c)
		}
	}
	if inWord {
		words = append(words, w.String())
	}
	return words, nil
}
