package runner

import (
	"fmt"
	"time"
)

// Pos is a position in a spec file: the line and column of a key or value.
type Pos struct {
	File string
	Line int
	Col  int
}

// String formats the position as file:line:col, the form editors jump to.
func (p Pos) String() string {
	if p.Line == 0 {
		return p.File
	}
	return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col)
}

// A Spec is one decoded spec file: its servers and its tests.
type Spec struct {
	File    string        // the path it was read from, as given
	Name    string        // the name: key, or the file's base name
	About   string        // the about: key, the assignment in prose
	Timeout time.Duration // default deadline of each step
	Vars    map[string]string
	Servers []*Server // in file order; the first one answers {{port}}
	Tests   []*Test
}

// Server returns the server called name, or nil.
func (s *Spec) Server(name string) *Server {
	for _, srv := range s.Servers {
		if srv.Name == name {
			return srv
		}
	}
	return nil
}

// Socket types of a server.
const (
	Stream = "stream" // SOCK_STREAM: TCP, or a Unix stream socket
	Dgram  = "dgram"  // SOCK_DGRAM: UDP, or a Unix datagram socket
)

// A Server is a server of a spec: built in, with a behaviour, or a program
// under test that sockrun starts.
type Server struct {
	Name string
	Pos  Pos
	Type string // Stream or Dgram
	Host string // address to bind or reach, when Path is empty
	Port int    // 0: any free port
	// Path is a Unix socket path. A bare name (no slash) means a fresh
	// temporary directory per instance holds it, as port 0 means any port.
	Path string

	Behaviour *behaviourKind // a built-in behaviour; nil for a program under test
	Script    []*Step        // the steps of behaviour script, from the server's side
	Loop      bool           // run Script again on the same connection until the peer closes

	Run *command // a program under test: its command line
	// SocketOf is the program server this server is a further socket of
	// (socket_of:); Sockets, a program's further sockets. SamePort gives
	// the socket its program's port number (port: same).
	SocketOf *Server
	Sockets  []*Server
	SamePort bool
	Ready    time.Duration        // how long a program has to be serving
	Dir      *template            // working directory of a program
	Env      map[string]*template // extra environment of a program
	// Files are written before a program starts; {{NAME.KEY}} is the path
	// of file KEY.
	Files []*serverFile

	// TLS, if set, is the certificate sockrun makes for the server (tls:):
	// a built-in serves TLS with it, a program is given its files.
	TLS *serverTLS
	// Proxy, if set, makes the server a proxy (proxy: NAME) that forwards
	// to another server, with faults on the way.
	Proxy *proxySpec

	// uses are the servers its own placeholders name (in run:, env:,
	// a script...): a test that starts it starts them too.
	uses map[string]bool
	// needs are the vars without a value that it names.
	needs map[string]bool

	// Limits bound a program's processes; zero fields are the defaults.
	Limits Limits

	// alias is set on the reference behind a mutant (sockrun audit): the
	// mutant took the server's name, and its own placeholders, which
	// name it, must still find it.
	alias string
	// lenient: a failure of its script fails no test. The reference
	// behind a mutant is not under test; the mutant is.
	lenient bool
}

// Network is the Go network name of the server's socket.
func (s *Server) Network() string {
	switch {
	case s.Path != "" && s.Type == Dgram:
		return "unixgram"
	case s.Path != "":
		return "unix"
	case s.Type == Dgram:
		return "udp"
	}
	return "tcp"
}

// Fixed reports whether the server's address is fixed by the spec (a port
// or an exact path), so that two instances of it cannot live at once.
func (s *Server) Fixed() bool {
	return s.Port != 0 || (s.Path != "" && !isBareName(s.Path))
}

// A Test is a named list of client steps worth some points.
type Test struct {
	Name    string
	Pos     Pos
	Points  int
	Hidden  bool   // in reports, show the verdict but not steps or data
	Hint    string // the likely bug, in one sentence, printed under a failure
	Timeout time.Duration
	Steps   []*Step
	// Servers are the names of the servers the test uses, in file order:
	// those its steps and placeholders name (or its servers: key lists),
	// and those these use in turn. A test starts only these.
	Servers []string
	// Needs are the vars the test needs that were declared without a
	// value and not given (--var): such a test is skipped, saying so.
	Needs []string
}

// A Step is one action of a test or of a server script.
type Step struct {
	Kind string // the step key: connect, send, expect...
	Pos  Pos    // where the step key stands
	act  action
}

// String describes the step in a few words, for reports.
func (s *Step) String() string { return s.act.String() }

// file returns the server's file called key, or nil.
func (s *Server) file(key string) *serverFile {
	for _, f := range s.Files {
		if f.Key == key {
			return f
		}
	}
	return nil
}
