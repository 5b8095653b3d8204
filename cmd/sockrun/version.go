package main

import (
	"fmt"
	"runtime/debug"
	"strings"
)

// versionText says which sockrun this is, from what the Go toolchain
// stamped into the binary: the module version (a tag, or a pseudo-version
// made of the commit's time and hash, for go install ...@version), the
// VCS revision and whether the tree was modified (for go build in a
// clone). Where the toolchain knew neither, it says "(devel)", as Go
// itself does: a build from source whose version is not known.
func versionText(bi *debug.BuildInfo, ok bool) string {
	if !ok {
		return "sockrun (devel): the binary carries no build information\n"
	}
	v := bi.Main.Version
	if v == "" {
		v = "(devel)"
	}
	set := map[string]string{}
	for _, s := range bi.Settings {
		set[s.Key] = s.Value
	}
	var vcs []string
	if rev := set["vcs.revision"]; rev != "" {
		vcs = append(vcs, "revision "+rev[:min(len(rev), 12)])
	}
	if t := set["vcs.time"]; t != "" {
		vcs = append(vcs, t)
	}
	if set["vcs.modified"] == "true" {
		vcs = append(vcs, "with uncommitted changes")
	}
	s := "sockrun " + v
	if len(vcs) > 0 {
		s += " (" + strings.Join(vcs, ", ") + ")"
	}
	return fmt.Sprintf("%s, built with %s\n", s, bi.GoVersion)
}
