// Package runner runs sockrun's scripted network tests: it decodes a YAML
// spec, runs its tests against real sockets and processes, and reports
// what it found.
//
// # A spec, by example
//
// A spec declares servers and tests. A test is a list of client steps:
//
//	name: echo
//	about: A stream echo server sends back every byte it receives, in order.
//	timeout: 2s                  # default deadline of each step
//
//	servers:
//	  echo:                      # a name; steps and placeholders use it
//	    type: stream             # stream (TCP) or dgram (UDP)
//	    port: 0                  # 0: any free port (the default)
//	    behaviour: echo          # built in: echo, discard, close, refuse, script
//
//	tests:
//	  - name: one message comes back
//	    points: 2                # a test scores all or nothing
//	    hint: One recv() is not one message.   # printed under a failure
//	    steps:
//	      - connect: echo
//	      - send: "Test message."
//	      - expect: "Test message."
//	      - close:
//
// A test starts fresh instances of the servers it uses, and only those:
// the servers its steps connect to or restart, those its placeholders
// name ({{port}} is the first server's), those a servers: list on the test
// names, and those these name in turn. So one test's crash cannot fail the
// next, and tests run in parallel; tests that use a server with a fixed
// port or path take turns on it.
//
// # Servers
//
// host (default 127.0.0.1; "::1" for IPv6) and port say where a server
// listens; path makes it a Unix-domain socket instead. A bare path name
// (echo.sock) is a fresh file in a temporary directory per instance, as
// port 0 is any free port; a path with a slash is used as it is.
//
// A built-in server has a behaviour: echo sends back what it receives
// (and, when the client half-closes, the rest and then end-of-stream);
// discard reads and drops; close accepts and closes at once; hold accepts
// and never reads, so that the client's buffers fill; refuse binds the
// port without listening, so that every connection is refused; script
// runs steps from the server's side, once per connection (stream) or per
// datagram (dgram), and with loop: true again and again on the same
// connection until the client closes:
//
//	servers:
//	  sum:
//	    behaviour: script
//	    loop: true
//	    script:
//	      - choose:                          # a table of requests and replies
//	          - expect: [{u32: 2}, {u32: 3}]
//	            then: [{send: {u32: 5}}]
//	          - expect: [{u32: 255}, {u32: 1}]
//	            then: [{send: {u32: 256}}]
//
// A script is an expectation, too: when a test uses a scripted server and
// its script did not run to its end (no client came, no datagram came, or
// a step was still waiting when the test ended), the test fails, at the
// step that was waiting. A step of a script that fails, fails the test, at
// the script's position. When the test's own step failed as well, the
// report names the cause: the test's step, unless it saw its connection
// end because the script failed (or the program under test died).
//
// A program under test replaces the behaviour: run: (or --run NAME=COMMAND
// on the command line) is its command line, split into words like a shell
// does but never given to a shell. sockrun picks a free port outside the
// kernel's ephemeral range, fills in {{port}}, starts the program with a
// clean environment (PATH, a private HOME and TMPDIR, LANG=C.UTF-8,
// TERM=dumb, --env, then env:), waits until one of its processes listens
// on that address (ready:, default 5s; asked of the kernel, no probe
// connection; 0.0.0.0 serves 127.0.0.1, 127.0.0.2 does not), and stops it
// after the test: SIGTERM, SIGKILL after 500ms.
//
//	servers:
//	  echo:
//	    run: ./echo_server {{port}}
//	    ready: 2s
//	    dir: ../build            # relative to the spec file
//	    env: {DEBUG: "1"}
//	    limits: {cpu: 10s, memory: 512MiB, procs: 64, fsize: 64MiB}
//	  dns:                                       # one program, two sockets
//	    type: dgram
//	    run: dnsmasq -k --port={{dns.port}} --listen-address=127.0.0.1
//	  dns-tcp: {type: stream, socket_of: dns, port: same}
//	  redis:
//	    run: [redis-server, "{{redis.conf}}"]    # a list of words, used as they are
//	    files:                                   # written before it starts
//	      conf: "port {{redis.port}}\nbind 127.0.0.1\n"
//
// A program is its whole process tree. While its first process runs, it
// runs; if that process exits 0 while another of its processes serves the
// address, it has daemonized, which is accepted; otherwise its exit ends
// the program, with its status. Whatever of it still runs then, or when
// the test ends, is ended and named in a note of the test ("left a
// background process: pid 12 (sleeper); ended"). Programs run under
// limits (cpu 60s, memory 1GiB, procs 256, fsize 256MiB by default; a run
// step takes limits: too), and die with sockrun, even by SIGKILL: see the
// README's "Grading untrusted code".
//
// # TLS
//
// A server with tls: true has a certificate sockrun makes for each test: a
// CA of its own and a leaf for the server's host, localhost, 127.0.0.1 and
// ::1. A built-in serves TLS with it; a program under test is given its
// PEM files, {{NAME.cert}} and {{NAME.key}}; {{NAME.ca}} is the file of the
// CA, for a client to trust. tls: starttls serves plain text until the
// script's starttls step; tls: {alpn: [h2, http/1.1]} names the protocols
// the server accepts.
//
//	servers:
//	  echo: {behaviour: echo, tls: true}
//	  web:
//	    tls: true
//	    run: openssl s_server -accept {{port}} -cert {{web.cert}} -key {{web.key}} -rev
//	  smtp:
//	    tls: starttls
//	    behaviour: script
//	    script:
//	      - send: "220 ready\r\n"
//	      - expect: "STARTTLS\r\n"
//	      - send: "220 go ahead\r\n"
//	      - starttls:                      # the server side, with its certificate
//	      - expect: {line: "EHLO me"}
//
// connect: {to: NAME, tls: true} runs a TLS handshake within the step's
// deadline, trusting the CA sockrun made for NAME (else the system's); the
// long form is tls: {server_name: NAME, insecure: true, ca: FILE, alpn:
// [PROTO...]}. The starttls step upgrades an open connection the same way:
//
//	steps:
//	  - connect: {to: web, tls: {ca: "{{web.ca}}", server_name: localhost}}
//	  - connect: smtp
//	  - expect: {line: "220 ready"}
//	  - send: "STARTTLS\r\n"
//	  - expect: {line: "220 go ahead"}
//	  - starttls: {on: smtp}               # the client side
//	  - send: "EHLO me\r\n"
//
// A failed handshake fails as kind tls, and says why: a bad certificate, a
// wrong name, no common ALPN protocol, a peer that does not speak TLS.
// Plain text still unread when an upgrade runs goes to the handshake, so a
// peer that sends plain text after asking for the upgrade fails it.
//
// # Fault injection
//
// A server with proxy: NAME forwards every connection (stream), or every
// client's datagrams (dgram), to server NAME, and applies faults: on the
// way, and faults: {replies: ...} on the way back. A test that uses the
// proxy starts NAME too. Datagrams: drop, duplicate and reorder take the
// positions of the datagrams each client sends that way, counted from 1,
// or {rate: P}, drawn from a generator seeded by seed: (default 1); delay
// holds everything back. Streams: split delivers in pieces, delay holds
// back, reset_after: N delivers N bytes, then resets both connections:
//
//	servers:
//	  pong:
//	    type: dgram
//	    behaviour: script
//	    script: [{expect: "ping"}, {send: "pong"}]
//	  lossy:
//	    proxy: pong                          # a dgram server, as pong is
//	    seed: 7
//	    faults:
//	      drop: [1]                          # the first datagram is lost
//	      reorder: {rate: 0.25}
//	      delay: 20ms
//	      replies: {duplicate: [1]}
//	  echo: {behaviour: echo}
//	  choppy:
//	    proxy: echo
//	    faults: {split: {size: 1, gap: 10ms}, replies: {reset_after: 100}}
//
// The same spec and seed give the same deliveries, every run. When the
// test ends a proxy passes on everything it holds, then its target is
// judged: a script behind a proxy sees all the test sent. -v shows what a
// proxy delivered and each fault as it struck (lossy>pong, lossy<pong).
//
// # Steps
//
// A step is a mapping with one key: connect, send, expect, discard,
// choose, close, sleep, restart, run, wait or starttls. on: names the
// connection a step acts on; the default is the one opened or used last.
//
//	steps:
//	  - connect: {to: echo, as: second}  # connect: echo names it "echo"
//	  - send: {data: "abc", on: second, chunks: 3, gap: 50ms}
//	  - expect: {line: "OK", timeout: 500ms}
//	  - close: {how: write}              # full, write (shutdown SHUT_WR) or reset (RST)
//	  - sleep: 100ms
//	  - restart: echo                    # same port, at once
//	  - run: {cmd: "./client {{echo.port}}", stdout: {contains: "OK"}, exit: 0}
//	  - discard: {line: "* bob joined"}   # drop what comes before it
//	  - wait: {server: once, exit: 0}      # a one-shot server ends by itself
//
// send with partial: true writes what the peer takes before the deadline:
// a client that floods and leaves; with cork: true (TCP) the data waits for
// the next close and leaves with the FIN: a client that writes a request
// and exits. A send's timeout covers all its writes together; the gaps
// between its chunks come on top. run's cmd: is a command line or a list of words; its
// exit: is a code, a list of codes, nonzero, any or {signal: SIGPIPE}; its
// stdout and stderr are matched whole.
//
// # Data
//
// DATA is a string (YAML double-quoted escapes give any byte: "a\x00\xff"),
// or {text: S}, {hex: "de ad be ef"}, {file: PATH} (relative to the spec),
// big-endian {u8: N} {u16: N} {u32: N} {u64: N}, little-endian {u16le: N}
// {u32le: N} {u64le: N}, {repeat: COUNT, of: DATA}, {len: ENC, of: DATA}
// (DATA's length in ENC, u8 to u32le, then DATA), or a list of these,
// concatenated. In what an expect matches, {any: N} is any N bytes:
//
//	steps:
//	  - send: [{u16: 5}, "hello", {repeat: 3, of: {hex: "00"}}]
//	  - send: {len: u16, of: "hello"}             # 00 05 68 65 6c 6c 6f
//	  - expect: [{u16: 0x8180}, {any: 4}, "tail"]  # a 4-byte clock, masked
//
// A repeat is never held in memory whole: it is generated as it is
// written or matched.
//
// # Matchers
//
// expect reads until its matcher holds, fails for certain, or its deadline
// passes; it decides on every read, so it returns the moment the bytes
// come, and fails at the first wrong byte.
//
//	steps:
//	  - expect: "exactly these bytes next"      # or {data: DATA}
//	  - expect: {contains: "needle"}             # consumes through the match
//	  - expect: {regex: '\d+\r\n'}               # RE2; consumes through the match
//	  - expect: {line: "200 OK"}                 # the next line; \r\n accepted
//	  - expect: {length: 8}                      # any 8 bytes
//	  - expect: {eof: true}                      # the peer closed, nothing more came
//	  - expect: {silence: true, timeout: 200ms}  # nothing arrives
//	  - expect: {unordered: [{line: "A: 1"}, {line: "B: 2"}]}  # any order
//
// On a dgram connection each matcher judges the next whole datagram;
// unordered takes one datagram per matcher. regex works on bytes; on a
// stream it holds once more bytes could not change its match (a repeat at
// the end waits for the byte that ends it, $ and \z for the end of the
// stream), so that neither verdict nor capture depends on how the bytes
// were cut into reads. Its named groups are captured: after
//
//   - expect: {regex: 'token=(?P<token>\w+)'}
//
// {{token}} is the bytes matched, in every later step of the test.
//
// # Placeholders
//
// {{port}}, {{host}}, {{addr}} and {{path}} are the first server's (inside
// a server's own run:, dir:, env: and files:, that server's); {{NAME.port}}
// and so on name server NAME's; {{VAR}} is a var from vars:, overridden by
// --var VAR=value; {{NAME}} is also a regex capture of an earlier step.
// They are filled in strings, text:, line:, commands, dir: and env:. An
// unknown placeholder is a spec error. In a command, a word written
// {{NAME...}} is the words of var NAME, split like a command line: a var
// that holds several arguments. A var declared with no value
// (client: ~) must be given with --var: until it is, the tests that need
// it are skipped, saying how to give it; a skipped test scores 0 and does
// not fail the run.
//
// # Recording
//
// sockrun record --to HOST:PORT is a proxy that writes what passed as a
// spec (Record, Recording.Spec): one test per connection (or per client
// address, for datagrams), the client's bytes as sends and the server's
// as expects, a step ending where the other side speaks or its side
// paused, text as quoted text and the rest as {hex: ...}. Its server has
// neither behaviour: nor run:, so the command line gives it: --addr
// server=HOST:PORT, or --run server=COMMAND.
//
// # Results
//
// Load decodes a spec; every error is an *Error at file:line:col. Run runs
// specs and returns a Report of plain results; NewReporter writes it in
// one of Formats(): text, json, junit, tap, gradescope or prairielearn. A
// test may be Skipped (it did not run, and says how to make it run); a run
// that ctx ended early is Incomplete, and no format shows it as a score.
package runner
