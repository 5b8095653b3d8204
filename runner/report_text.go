package runner

import (
	"encoding/hex"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

type textReporter struct{ o ReportOptions }

const (
	ansiRed   = "\x1b[31m"
	ansiGreen = "\x1b[32m"
	ansiBold  = "\x1b[1m"
	ansiDim   = "\x1b[2m"
	ansiReset = "\x1b[0m"
)

func (r textReporter) paint(code, s string) string {
	if !r.o.Color {
		return s
	}
	return code + s + ansiReset
}

// Report writes one line per test, then the failures in detail, then the
// score; or, when the run is incomplete, why there is no score. Every
// string that a program or a peer could have written is made safe for a
// terminal first (safeText).
func (r textReporter) Report(w io.Writer, rep *Report) error {
	var b strings.Builder
	if rep.Submission != "" {
		fmt.Fprintf(&b, "submission %s\n\n", safeText(rep.Submission))
	}
	r.testLines(&b, rep)
	for _, f := range rep.Files {
		for _, t := range f.Tests {
			head := r.paint(ansiRed, "--- FAIL:")
			switch {
			case t.Passed, t.Skipped != "":
				continue
			case t.Unfinished():
				// Where a test was stopped is worth a look; that the
				// others never started, the closing line says.
				if t.Failure.Step == "" {
					continue
				}
				head = r.paint(ansiDim, "--- STOP:")
			}
			fmt.Fprintf(&b, "\n%s %s (%s)\n", head, safeText(t.Name), safeText(t.Pos.String()))
			b.WriteString(indent(FailureText(t, r.o), "    "))
		}
	}
	fmt.Fprintf(&b, "\n%s\n", safeText(rep.Summary()))
	_, err := io.WriteString(w, b.String())
	return err
}

// testLines writes each file's name and a line per test: its verdict, its
// score and its name (and, with -v, its transcript).
func (r textReporter) testLines(b *strings.Builder, rep *Report) {
	for _, f := range rep.Files {
		fmt.Fprintf(b, "%s (%s)\n", r.paint(ansiBold, safeText(f.Name)), safeText(f.File))
		for _, t := range f.Tests {
			score := fmt.Sprintf("%d/%d", t.Score(), t.Points)
			verdict, note := r.paint(ansiRed, "FAIL"), ""
			switch {
			case t.Passed:
				verdict = r.paint(ansiGreen, "ok  ")
			case t.Skipped != "":
				verdict, note = r.paint(ansiDim, "SKIP"), " ("+safeText(t.Skipped)+")"
			case t.Unfinished():
				// No verdict, so no score: "-", not a 0 that reads as one.
				verdict, score = r.paint(ansiDim, "STOP"), fmt.Sprintf("-/%d", t.Points)
			}
			fmt.Fprintf(b, "  %s  %s  %s%s\n", verdict, score, safeText(t.Name), note)
			for _, n := range t.Notes {
				fmt.Fprintf(b, "        note: %s\n", safeText(n))
			}
			if r.o.Verbose && !concealed(t, r.o) {
				for _, ev := range t.Transcript {
					b.WriteString(r.paint(ansiDim, "        "+safeText(EventText(ev))) + "\n")
				}
			}
		}
	}
}

// EventText formats a transcript event on one line.
func EventText(ev Event) string {
	s := fmt.Sprintf("%+8.3fs %-8s %s", ev.At.Seconds(), ev.Conn, ev.What)
	if ev.Size > 0 {
		arrow := map[string]string{dirSent: ">", dirReceived: "<"}[ev.What]
		s = fmt.Sprintf("%+8.3fs %-8s %s %s", ev.At.Seconds(), ev.Conn, arrow, quoteShort(ev.Data, 200))
		if ev.Size > 200 || ev.Size != len(ev.Data) {
			s += fmt.Sprintf(" (%d bytes)", ev.Size)
		}
	}
	return s
}

// FailureText explains a failed test in plain text: where, what was
// expected, what arrived (quoted, and as hex when not printable), the hint
// and the programs' output. Every format that has room for prose uses it.
// It is safe to print on a terminal: see safeText.
func FailureText(t *TestResult, o ReportOptions) string {
	if t.Failure == nil {
		return ""
	}
	return safeText(failureText(t, o))
}

func failureText(t *TestResult, o ReportOptions) string {
	f := t.Failure
	var b strings.Builder
	if concealed(t, o) {
		fmt.Fprintf(&b, "%s (a hidden test: its steps and data are not shown)\n", f.Kind.Describe())
	} else {
		where := f.Pos.String()
		if f.Step != "" {
			where += ": " + f.Step
		}
		if f.Server != "" {
			where += " (in server " + f.Server + "'s script)"
		}
		fmt.Fprintf(&b, "%s\n%s: %s\n", where, f.Kind.Describe(), f.Message)
		if f.Expected != "" {
			writeExpected(&b, f)
		}
	}
	if t.Hint != "" {
		fmt.Fprintf(&b, "hint: %s\n", t.Hint)
	}
	if f.Output != "" && !concealed(t, o) {
		b.WriteString(f.Output)
	}
	return b.String()
}

// window is how many bytes around the first difference a report shows.
const window = 48

func writeExpected(b *strings.Builder, f *Failure) {
	// WantData and Received are the bytes from f.From on (all of them, or a
	// window of a long payload); positions below are in the whole stream.
	want, got := f.WantData, f.Received
	wantLen, recvLen := max(f.WantLen, f.From+len(want)), max(f.RecvLen, f.From+len(got))
	long := wantLen > window*2 || recvLen > window*2
	// Short data is shown whole; long data, in a window around the first
	// difference.
	from := f.From
	if f.Offset > window/2 && long {
		from = max(f.From, f.Offset-window/2)
	}
	cut := func(p []byte) []byte {
		if from-f.From >= len(p) {
			return nil
		}
		return p[from-f.From : min(len(p), from-f.From+window*2)]
	}
	at := ""
	if f.Offset >= 0 && long {
		at = fmt.Sprintf(" (from byte %d)", from)
	}
	if want != nil {
		fmt.Fprintf(b, "expected%s: %s%s\n", at, dots(from), quoteShort(cut(want), window*2)+sizeNote(wantLen))
	} else {
		fmt.Fprintf(b, "expected: %s\n", f.Expected)
	}
	if recvLen == 0 {
		b.WriteString("received: nothing\n")
	} else {
		fmt.Fprintf(b, "received%s: %s%s\n", at, dots(from), quoteShort(cut(got), window*2)+sizeNote(recvLen))
	}
	if f.Offset >= 0 && want != nil {
		fmt.Fprintf(b, "first difference at byte %d\n", f.Offset)
	}
	if !printable(want) || !printable(got) {
		if want != nil {
			fmt.Fprintf(b, "expected, hex:\n%s", hexDump(cut(want), from))
		}
		if len(got) > 0 {
			fmt.Fprintf(b, "received, hex:\n%s", hexDump(cut(got), from))
		}
	}
}

func dots(from int) string {
	if from > 0 {
		return "..."
	}
	return ""
}

func sizeNote(n int) string {
	if n > 16 {
		return fmt.Sprintf(" (%d bytes)", n)
	}
	return ""
}

// hexDump is hex.Dump with offsets starting at from, indented.
func hexDump(p []byte, from int) string {
	var b strings.Builder
	for i := 0; i < len(p); i += 16 {
		line := hex.Dump(p[i:min(len(p), i+16)])
		line = line[strings.IndexByte(line, ' '):] // drop hex.Dump's own offset
		fmt.Fprintf(&b, "  %08x%s", from+i, line)
	}
	return b.String()
}

func indent(s, pre string) string {
	if s == "" {
		return ""
	}
	lines := strings.SplitAfter(s, "\n")
	var b strings.Builder
	for _, l := range lines {
		if l != "" {
			b.WriteString(pre + l)
		}
	}
	return b.String()
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// safeText makes s safe to print on a terminal and to read: it keeps
// newlines, tabs and printable characters (UTF-8 included) and escapes
// everything else, as Go would quote it: control characters (ESC, BEL,
// backspace, a CR that would let a line overwrite itself), DEL, C1
// controls, invisible format characters (bidirectional overrides) and
// bytes that are not UTF-8. A program under test prints what it likes;
// it must not colour, retitle or rewrite the grader's terminal.
func safeText(s string) string {
	clean := true
	for _, r := range s {
		if !keep(r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case keep(r):
			b.WriteString(s[i : i+size])
		case r == '\r':
			b.WriteString(`\r`)
		case r < 0x80:
			fmt.Fprintf(&b, `\x%02x`, r)
		case r > 0xffff:
			fmt.Fprintf(&b, `\U%08x`, r)
		default:
			fmt.Fprintf(&b, `\u%04x`, r)
		}
		i += size
	}
	return b.String()
}

// keep reports whether a character may reach a terminal as it is.
func keep(r rune) bool {
	return r == '\n' || r == '\t' || (r != utf8.RuneError && unicode.IsGraphic(r))
}
