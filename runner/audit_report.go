package runner

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// AuditFormats are the formats an audit report is written in.
func AuditFormats() []string { return []string{"json", "text"} }

// WriteAudit writes an audit report in format (see AuditFormats). The
// text is one table a spec: each mutant and the first test that failed
// it, or NOT CAUGHT; with verbose, each failure as a run reports it.
func WriteAudit(w io.Writer, rep *AuditReport, format string, verbose bool) error {
	switch format {
	case "text":
		_, err := io.WriteString(w, auditText(rep, verbose))
		return err
	case "json":
		b, err := json.MarshalIndent(auditJSON(rep), "", "  ")
		if err != nil {
			return err
		}
		_, err = w.Write(append(b, '\n'))
		return err
	}
	return fmt.Errorf("unknown format %q; expected one of: %s", format, strings.Join(AuditFormats(), ", "))
}

// AuditTotals counts the mutants of a report.
type AuditTotals struct {
	Mutants, Caught, NotCaught, NotApplicable, Unfinished int
	// Survivors name the mutants no test caught, by target:
	// "specs/x.yaml, server echo: truncate, sigpipe".
	Survivors []string
	// BadReferences name the specs whose reference fails a test.
	BadReferences []string
}

// Totals counts the mutants of the report.
func (r *AuditReport) Totals() AuditTotals {
	var t AuditTotals
	for _, s := range r.Specs {
		if len(s.ReferenceFailures()) > 0 {
			t.BadReferences = append(t.BadReferences, s.File)
			continue
		}
		for _, ta := range s.Targets {
			var survivors []string
			for _, m := range ta.Mutants {
				switch {
				case m.NotApplicable != "":
					t.NotApplicable++
					continue
				case m.Unfinished:
					t.Unfinished++
				case m.Caught != nil:
					t.Caught++
				default:
					t.NotCaught++
					survivors = append(survivors, m.Name)
				}
				t.Mutants++
			}
			if len(survivors) > 0 {
				t.Survivors = append(t.Survivors, fmt.Sprintf("%s, %s: %s", s.File, ta.what(), strings.Join(survivors, ", ")))
			}
		}
	}
	return t
}

// Summary is the report's closing line.
func (r *AuditReport) Summary() string {
	t := r.Totals()
	s := fmt.Sprintf("audit: %s: %d caught, %d not caught", plural(t.Mutants, "mutant"), t.Caught, t.NotCaught)
	if t.NotApplicable > 0 {
		s += fmt.Sprintf("; %d not applicable", t.NotApplicable)
	}
	for _, sv := range t.Survivors {
		s += "\nnot caught in " + sv
	}
	if len(t.BadReferences) > 0 {
		s += "\nno audit: the reference fails its spec: " + strings.Join(t.BadReferences, ", ")
	}
	if r.Incomplete != "" {
		s += fmt.Sprintf("\nINCOMPLETE: %s; %d mutants have no verdict", r.Incomplete, t.Unfinished)
	}
	return s
}

// what names the target, for messages.
func (ta *TargetAudit) what() string {
	if ta.Server == "" {
		return "the client"
	}
	return "server " + ta.Server
}

func auditText(rep *AuditReport, verbose bool) string {
	var b strings.Builder
	o := ReportOptions{ShowHidden: true}
	width := 0
	for _, k := range mutantKinds() {
		width = max(width, len(k.name))
	}
	for _, s := range rep.Specs {
		passed, skipped := 0, 0
		for _, t := range s.Reference.Tests {
			switch {
			case t.Passed:
				passed++
			case t.Skipped != "":
				skipped++
			}
		}
		fails := s.ReferenceFailures()
		fmt.Fprintf(&b, "%s (%s): ", safeText(s.File), safeText(s.Name))
		switch {
		case len(fails) > 0:
			fmt.Fprintf(&b, "the reference FAILS %d of %s, so an audit of it means nothing\n", len(fails), plural(len(s.Reference.Tests), "test"))
			for _, t := range fails {
				fmt.Fprintf(&b, "  FAIL  %s (%s)\n", safeText(t.Name), t.Pos)
				b.WriteString(indent(FailureText(t, o), "    "))
			}
			b.WriteString("\n")
			continue
		case skipped > 0:
			fmt.Fprintf(&b, "the reference passes %d of %s, %d skipped\n", passed, plural(len(s.Reference.Tests), "test"), skipped)
		default:
			fmt.Fprintf(&b, "the reference passes its %s\n", plural(passed, "test"))
		}
		if len(s.Targets) == 0 {
			b.WriteString("  nothing to mutate: no test connects to a server or runs a client\n")
		}
		for _, ta := range s.Targets {
			if ta.Server != "" {
				fmt.Fprintf(&b, "  server %s (%s)\n", safeText(ta.Server), safeText(ta.Reference))
			} else {
				fmt.Fprintf(&b, "  the client (%s), through %s\n", safeText(ta.Reference), safeText(strings.Join(ta.Through, ", ")))
			}
			for _, m := range ta.Mutants {
				fmt.Fprintf(&b, "    %-*s  ", width, m.Name)
				switch {
				case m.NotApplicable != "":
					fmt.Fprintf(&b, "n/a: %s\n", safeText(m.NotApplicable))
				case m.Unfinished:
					b.WriteString("no verdict: interrupted\n")
				case m.Caught == nil:
					fmt.Fprintf(&b, "NOT CAUGHT: %s\n", m.Bug)
				default:
					fmt.Fprintf(&b, "%s  %s\n", m.Caught.Pos, safeText(m.Caught.Name))
					if verbose {
						b.WriteString(indent(FailureText(m.Caught, o), strings.Repeat(" ", width+6)))
					}
				}
			}
		}
		b.WriteString("\n")
	}
	b.WriteString(safeText(rep.Summary()) + "\n")
	return b.String()
}

type jsonAudit struct {
	Passed        bool        `json:"passed"`
	Incomplete    string      `json:"incomplete,omitempty"`
	Mutants       int         `json:"mutants"`
	Caught        int         `json:"caught"`
	NotCaught     int         `json:"not_caught"`
	NotApplicable int         `json:"not_applicable"`
	Specs         []jsonAuSpc `json:"specs"`
}

type jsonAuSpc struct {
	File      string        `json:"file"`
	Name      string        `json:"name"`
	Reference jsonAuRef     `json:"reference"`
	Targets   []jsonAuTgt   `json:"targets"`
	Failures  []jsonAuCatch `json:"reference_failures,omitempty"`
}

type jsonAuRef struct {
	Passed  int `json:"passed"`
	Failed  int `json:"failed"`
	Skipped int `json:"skipped"`
}

type jsonAuTgt struct {
	Server    string     `json:"server,omitempty"`
	Client    bool       `json:"client,omitempty"`
	Reference string     `json:"reference"`
	Through   []string   `json:"through,omitempty"`
	Mutants   []jsonAuMt `json:"mutants"`
}

type jsonAuMt struct {
	Name   string       `json:"name"`
	Bug    string       `json:"bug"`
	Status string       `json:"status"` // caught, not_caught, not_applicable, unfinished
	Reason string       `json:"reason,omitempty"`
	Caught *jsonAuCatch `json:"caught_by,omitempty"`
}

type jsonAuCatch struct {
	Test    string `json:"test"`
	Pos     string `json:"pos"`
	Kind    Kind   `json:"kind"`
	Message string `json:"message"`
}

func auditJSON(rep *AuditReport) jsonAudit {
	t := rep.Totals()
	out := jsonAudit{Passed: rep.Passed(), Incomplete: rep.Incomplete, Mutants: t.Mutants, Caught: t.Caught, NotCaught: t.NotCaught,
		NotApplicable: t.NotApplicable, Specs: []jsonAuSpc{}}
	catch := func(r *TestResult) *jsonAuCatch {
		return &jsonAuCatch{Test: r.Name, Pos: r.Pos.String(), Kind: r.Failure.Kind, Message: r.Failure.Message}
	}
	for _, s := range rep.Specs {
		js := jsonAuSpc{File: s.File, Name: s.Name, Targets: []jsonAuTgt{}}
		for _, r := range s.Reference.Tests {
			switch {
			case r.Passed:
				js.Reference.Passed++
			case r.Skipped != "":
				js.Reference.Skipped++
			default:
				js.Reference.Failed++
				js.Failures = append(js.Failures, *catch(r))
			}
		}
		for _, ta := range s.Targets {
			jt := jsonAuTgt{Server: ta.Server, Client: ta.Server == "", Reference: ta.Reference, Through: ta.Through, Mutants: []jsonAuMt{}}
			for _, m := range ta.Mutants {
				jm := jsonAuMt{Name: m.Name, Bug: m.Bug}
				switch {
				case m.NotApplicable != "":
					jm.Status, jm.Reason = "not_applicable", m.NotApplicable
				case m.Unfinished:
					jm.Status = "unfinished"
				case m.Caught != nil:
					jm.Status, jm.Caught = "caught", catch(m.Caught)
				default:
					jm.Status = "not_caught"
				}
				jt.Mutants = append(jt.Mutants, jm)
			}
			js.Targets = append(js.Targets, jt)
		}
		out.Specs = append(out.Specs, js)
	}
	return out
}

// MutantList is the mutant table in plain text, for sockrun audit --list.
func MutantList() string {
	var b strings.Builder
	width := 0
	for _, k := range mutantKinds() {
		width = max(width, len(k.name))
	}
	for _, k := range mutantKinds() {
		who := "server"
		if k.client {
			who = "client"
		}
		fmt.Fprintf(&b, "%-*s  %s, %s: %s\n", width, k.name, who, k.socketTypes(), k.bug)
	}
	return b.String()
}

// MutantReference is the mutant table in Markdown, for the README (a test
// checks that the README's is this one).
func MutantReference() string {
	var b strings.Builder
	b.WriteString("| mutant | of | sockets | the bug | how the mutant is made |\n|---|---|---|---|---|\n")
	cell := func(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
	for _, k := range mutantKinds() {
		who := "server"
		if k.client {
			who = "client"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s |\n", k.name, who, k.socketTypes(), cell(k.bug), cell(k.how))
	}
	return b.String()
}
