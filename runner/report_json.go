package runner

import (
	"encoding/hex"
	"encoding/json"
	"io"
	"time"
)

type jsonReporter struct{ o ReportOptions }

// The JSON report's shape. Field names are part of sockrun's interface:
// add to them, never rename.
type jsonReport struct {
	Started    time.Time `json:"started"`
	DurationMS float64   `json:"duration_ms"`
	Score      int       `json:"score"`
	MaxScore   int       `json:"max_score"`
	Passed     int       `json:"passed"`
	Failed     int       `json:"failed"`
	Skipped    int       `json:"skipped"`
	// Unfinished counts the tests without a verdict: an incomplete run's.
	Unfinished int `json:"unfinished,omitempty"`
	// Incomplete says why the run ended before every test had its
	// verdict; when present, the scores are no grade.
	Incomplete string `json:"incomplete,omitempty"`
	// Shard is K/N when the run had a share of the tests (--shard).
	Shard string `json:"shard,omitempty"`
	// Submission is the submission's folder, when grading.
	Submission string     `json:"submission,omitempty"`
	Files      []jsonFile `json:"files"`
}

type jsonFile struct {
	File     string     `json:"file"`
	Name     string     `json:"name"`
	About    string     `json:"about,omitempty"`
	Score    int        `json:"score"`
	MaxScore int        `json:"max_score"`
	Tests    []jsonTest `json:"tests"`
}

type jsonTest struct {
	Name       string       `json:"name"`
	Pos        string       `json:"pos"`
	Passed     bool         `json:"passed"`
	Skipped    string       `json:"skipped,omitempty"` // why it did not run
	Points     int          `json:"points"`
	Score      int          `json:"score"`
	Hidden     bool         `json:"hidden,omitempty"`
	Hint       string       `json:"hint,omitempty"`
	DurationMS float64      `json:"duration_ms"`
	Failure    *jsonFailure `json:"failure,omitempty"`
	Transcript []jsonEvent  `json:"transcript,omitempty"`
	Notes      []string     `json:"notes,omitempty"`
}

type jsonFailure struct {
	Kind        Kind   `json:"kind"`
	Reason      string `json:"reason"`
	Pos         string `json:"pos,omitempty"`
	Step        string `json:"step,omitempty"`
	Server      string `json:"server,omitempty"`
	Message     string `json:"message"`
	Expected    string `json:"expected,omitempty"`
	ExpectedHex string `json:"expected_hex,omitempty"`
	Received    string `json:"received,omitempty"`
	ReceivedHex string `json:"received_hex,omitempty"`
	Offset      *int   `json:"offset,omitempty"`
	Output      string `json:"output,omitempty"`
	Text        string `json:"text"` // the whole explanation, as the text report prints it
}

type jsonEvent struct {
	AtMS    float64 `json:"at_ms"`
	Conn    string  `json:"conn"`
	What    string  `json:"what"`
	Data    string  `json:"data,omitempty"`
	DataHex string  `json:"data_hex,omitempty"`
	Size    int     `json:"size,omitempty"`
}

func (r jsonReporter) Report(w io.Writer, rep *Report) error {
	tot := rep.Totals()
	out := jsonReport{Started: rep.Started, DurationMS: ms(rep.Duration), Score: tot.Score, MaxScore: tot.MaxScore,
		Passed: tot.Passed, Failed: tot.Failed, Skipped: tot.Skipped, Unfinished: tot.Unfinished,
		Incomplete: rep.Incomplete, Shard: rep.Shard.String(), Submission: rep.Submission, Files: []jsonFile{}}
	for _, f := range rep.Files {
		ft := f.Totals()
		jf := jsonFile{File: f.File, Name: f.Name, About: f.About, Score: ft.Score, MaxScore: ft.MaxScore, Tests: []jsonTest{}}
		for _, t := range f.Tests {
			jt := jsonTest{Name: t.Name, Pos: t.Pos.String(), Passed: t.Passed, Skipped: t.Skipped, Points: t.Points, Score: t.Score(),
				Hidden: t.Hidden, Hint: t.Hint, DurationMS: ms(t.Duration), Notes: t.Notes}
			if f := t.Failure; f != nil {
				jf := &jsonFailure{Kind: f.Kind, Reason: f.Kind.Describe(), Message: f.Message, Text: FailureText(t, r.o)}
				if !concealed(t, r.o) {
					jf.Pos, jf.Step, jf.Server, jf.Output = f.Pos.String(), f.Step, f.Server, f.Output
					jf.Expected = f.Expected
					if f.WantData != nil {
						jf.ExpectedHex = hex.EncodeToString(f.WantData)
					}
					if f.Received != nil {
						jf.Received, jf.ReceivedHex = quote(f.Received), hex.EncodeToString(f.Received)
					}
					if f.Offset >= 0 {
						off := f.Offset
						jf.Offset = &off
					}
				} else {
					jf.Message = "hidden test"
				}
				jt.Failure = jf
			}
			if r.o.Verbose && !concealed(t, r.o) {
				for _, ev := range t.Transcript {
					je := jsonEvent{AtMS: ms(ev.At), Conn: ev.Conn, What: ev.What, Size: ev.Size}
					if len(ev.Data) > 0 {
						je.Data, je.DataHex = quote(ev.Data), hex.EncodeToString(ev.Data)
					}
					jt.Transcript = append(jt.Transcript, je)
				}
			}
			jf.Tests = append(jf.Tests, jt)
		}
		out.Files = append(out.Files, jf)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
