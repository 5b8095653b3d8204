package runner

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"gopkg.in/yaml.v3"
)

// maxSpec caps the size of a spec file. The cap is what bounds yaml.v3's
// own parse, which runs before any check of ours: 1 MiB of the densest
// YAML there is (a list of one-character items) takes about a second and
// 100 MB to become nodes, while a hand-written spec is a few KiB (the
// largest exercise, specs/echo.yaml, is 5 KiB). Payloads too big to write
// inline belong in {file: PATH}, capped separately by maxData.
const maxSpec = 1 << 20

// Aliases (*name) and merge keys (<<: *name) let a small file stand for a
// huge tree: nine levels of nine aliases each are 387 million nodes. These
// bound what aliases may bring in beyond the file's own nodes: far more
// than any spec reuses (a shared list of steps used by every test of a
// large spec is a few thousand nodes), and little enough to decode in a
// fraction of a second.
const (
	maxAliasNodes = 100_000
	maxAliasText  = 16 << 20 // bytes of scalars
)

// maxUnixPath is the longest Unix socket path Linux takes: sun_path holds
// 108 bytes, including the terminating NUL (an abstract name, @name, has
// no NUL and may use all 108).
const maxUnixPath = 107

// readSpec reads a spec file, at most maxSpec+1 bytes of it, so that
// neither a huge file nor a device (/dev/zero) is read whole.
func readSpec(file string) ([]byte, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() && fi.Size() > maxSpec {
		return nil, specTooBig(file, fi.Size())
	}
	src, err := io.ReadAll(io.LimitReader(f, maxSpec+1))
	if err != nil {
		return nil, err
	}
	if len(src) > maxSpec {
		return nil, specTooBig(file, -1)
	}
	return src, nil
}

func specTooBig(file string, size int64) error {
	has := ""
	if size >= 0 {
		has = fmt.Sprintf(" %d bytes,", size)
	}
	return errorList([]*Error{{Pos: Pos{file, 1, 1}, Msg: fmt.Sprintf(
		"the file has%s more than the limit of %d bytes (1 MiB) for a spec; put large payloads in a file of their own and use {file: PATH}",
		has, maxSpec)}})
}

// readRegular reads a regular file of at most limit bytes. Anything else
// is refused before it is read: a FIFO would block the read for ever and
// /dev/zero never ends. The file is opened non-blocking, so that even a
// FIFO put in its place after the Stat cannot hang the open, and checked
// again once open.
func readRegular(path string, limit int64) ([]byte, error) {
	fi, err := os.Stat(path)
	if pe, ok := err.(*fs.PathError); ok {
		return nil, pe.Err // the caller names the file
	}
	if err != nil {
		return nil, err
	}
	if err := regularOf(fi, limit); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if fi, err = f.Stat(); err != nil {
		return nil, err
	}
	if err := regularOf(fi, limit); err != nil {
		return nil, err
	}
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("it grew past the limit of %d bytes while it was read", limit)
	}
	return b, nil
}

func regularOf(fi fs.FileInfo, limit int64) error {
	m := fi.Mode()
	switch {
	case m.IsRegular():
		if fi.Size() > limit {
			return fmt.Errorf("it has %d bytes, more than the limit of %d", fi.Size(), limit)
		}
		return nil
	case m.IsDir():
		return fmt.Errorf("it is a directory; expected a regular file")
	case m&fs.ModeNamedPipe != 0:
		return fmt.Errorf("it is a FIFO; expected a regular file")
	case m&fs.ModeSocket != 0:
		return fmt.Errorf("it is a socket; expected a regular file")
	case m&fs.ModeDevice != 0:
		return fmt.Errorf("it is a device; expected a regular file")
	}
	return fmt.Errorf("it is not a regular file")
}

// aliasBudget checks, before anything is decoded, what the aliases of the
// document bring in: every walk of the decoder visits a node through each
// alias that leads to it, so this bounds the walk. It also refuses an
// alias inside the node it names (&a [*a]), which yaml.v3 accepts and a
// walk would follow for ever. The error is at the alias where the budget
// runs out.
func (d *decoder) aliasBudget(root *yaml.Node) bool {
	a := &aliasCost{memo: map[*yaml.Node]cost{}}
	var nodes, text int64
	var walk func(n *yaml.Node) bool
	walk = func(n *yaml.Node) bool {
		if n.Kind == yaml.AliasNode {
			c, ok := a.of(n.Alias)
			if !ok {
				d.errorf(n, "the alias *%s is inside the node it names (&%s), so it never ends", n.Value, n.Value)
				return false
			}
			nodes, text = nodes+c.nodes, text+c.text
			switch {
			case nodes > maxAliasNodes:
				d.errorf(n, "aliases bring in more than %d nodes by this *%s; reuse less, or write the parts out", maxAliasNodes, n.Value)
				return false
			case text > maxAliasText:
				d.errorf(n, "aliases bring in more than %d bytes of text by this *%s; reuse less, or write the parts out", maxAliasText, n.Value)
				return false
			}
			return true
		}
		for _, c := range n.Content {
			if !walk(c) {
				return false
			}
		}
		return true
	}
	return walk(root)
}

// A cost is how much a node stands for once its aliases are followed.
type cost struct{ nodes, text int64 }

type aliasCost struct {
	memo map[*yaml.Node]cost // anchored nodes; a negative count: in progress
}

// of returns the cost of node n, following aliases, or false if an alias
// leads back into a node that contains it. Counts saturate just past the
// budgets, so that no bomb overflows them.
func (a *aliasCost) of(n *yaml.Node) (cost, bool) {
	if n == nil {
		return cost{}, true
	}
	if n.Kind == yaml.AliasNode {
		return a.of(n.Alias)
	}
	if n.Anchor != "" {
		if c, ok := a.memo[n]; ok {
			return c, c.nodes >= 0
		}
		a.memo[n] = cost{nodes: -1}
	}
	c := cost{nodes: 1, text: int64(len(n.Value))}
	for _, k := range n.Content {
		kc, ok := a.of(k)
		if !ok {
			return cost{}, false
		}
		c.nodes = min(c.nodes+kc.nodes, maxAliasNodes+1)
		c.text = min(c.text+kc.text, maxAliasText+1)
	}
	if n.Anchor != "" {
		a.memo[n] = c
	}
	return c, true
}

// unixPath checks a server's Unix socket path against the kernel's limit,
// at decode rather than as "bind: invalid argument" at run time. A bare
// name goes in a directory made at run time under $TMPDIR; its length is
// checked here for the longest name that directory can have, and again at
// run time (bindAddr) for the one it got.
func (d *decoder) unixPath(n *yaml.Node, srv *Server) {
	p := srv.Path
	switch {
	case strings.HasPrefix(p, "@"):
		if len(p) > maxUnixPath+1 {
			d.errorf(n, "server %s: path: %d bytes, more than the %d an abstract Unix socket name may have", srv.Name, len(p), maxUnixPath+1)
		}
	case isBareName(p):
		// os.MkdirTemp("", "sockrun-") adds up to 10 digits.
		dir := filepath.Join(os.TempDir(), "sockrun-0123456789")
		if full := len(dir) + 1 + len(p); full > maxUnixPath {
			d.errorf(n, "server %s: path: in %s, the socket path would be up to %d bytes, more than the %d a Unix socket path may have; use a shorter name, or set TMPDIR to a shorter directory",
				srv.Name, os.TempDir(), full, maxUnixPath)
		}
	case len(p) > maxUnixPath:
		d.errorf(n, "server %s: path: %d bytes, more than the %d a Unix socket path may have (108 with the NUL); use a shorter path, or a bare name for a fresh file in $TMPDIR",
			srv.Name, len(p), maxUnixPath)
	}
}
