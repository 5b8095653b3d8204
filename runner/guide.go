package runner

import (
	_ "embed"
	"strings"
)

// docSource is this package's doc.go, whose comment is the language
// guide: embedded, so that the binary can show it from any folder.
//
//go:embed doc.go
var docSource string

// Guide returns the spec language by example, as plain text: the package
// documentation (doc.go) without its first paragraph, which speaks of the
// Go package.
func Guide() string {
	var b strings.Builder
	for _, line := range strings.Split(docSource, "\n") {
		if !strings.HasPrefix(line, "//") {
			break // the comment ends at the package clause
		}
		line = strings.TrimPrefix(line, "//")
		b.WriteString(strings.TrimPrefix(line, " ") + "\n")
	}
	_, rest, _ := strings.Cut(b.String(), "\n\n")
	return rest
}
