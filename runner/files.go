package runner

import (
	"fmt"
	"os"
	"path/filepath"
)

// placeFiles decides where a program's files: go, in a fresh directory of
// its instance's, and records their paths in its address, so that every
// placeholder ({{NAME.KEY}}) can name them before any is written. clean
// removes the directory.
func placeFiles(srv *Server, a Addr) (Addr, func(), error) {
	if len(srv.Files) == 0 {
		return a, func() {}, nil
	}
	dir, err := os.MkdirTemp("", "sockrun-files-")
	if err != nil {
		return a, nil, err
	}
	a.Files = map[string]string{}
	for _, f := range srv.Files {
		a.Files[f.Key] = filepath.Join(dir, f.Name)
	}
	return a, func() { os.RemoveAll(dir) }, nil
}

// writeFiles writes a program's files, placeholders filled in from e,
// just before the program starts (again, on a retry with another port).
func writeFiles(srv *Server, e *env) error {
	a := e.addrs[srv.Name]
	for _, f := range srv.Files {
		text, err := f.Text.fill(e)
		if err != nil {
			return fmt.Errorf("files: %s: %w", f.Key, err)
		}
		if err := os.WriteFile(a.Files[f.Key], []byte(text), 0o644); err != nil {
			return fmt.Errorf("files: %w", err)
		}
	}
	return nil
}
