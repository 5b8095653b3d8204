package runner

import (
	"path/filepath"
	"strconv"
	"strings"
)

// ReportNames returns a file name for each submission's report, with the
// extension ext: the folder's name, made safe (only letters, digits, '.',
// '-' and '_'; no leading dot) and unique (alice.json, alice-2.json...,
// compared without case, for the file systems that ignore it), in the
// order given, so that the same class always gets the same names.
func ReportNames(subs []*Submission, ext string) []string {
	taken := map[string]bool{}
	out := make([]string, len(subs))
	for i, s := range subs {
		base := safeName(filepath.Base(s.Dir))
		name := base + ext
		for n := 2; taken[strings.ToLower(name)]; n++ {
			name = base + "-" + strconv.Itoa(n) + ext
		}
		taken[strings.ToLower(name)] = true
		out[i] = name
	}
	return out
}

func safeName(s string) string {
	b := []byte(s)
	for i, c := range b {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' && i > 0
		if !ok {
			b[i] = '_'
		}
	}
	if len(b) == 0 || s == "/" {
		return "submission"
	}
	return string(b)
}
