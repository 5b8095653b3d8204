package runner

import (
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// benchSpec generates a spec of tests*10 steps in the shapes the
// exercises use: scalars and flow mappings, text, bytes, hex, numbers,
// options, named connections.
func benchSpec(tests int) ([]byte, int) {
	var b strings.Builder
	b.WriteString("name: bench\ntimeout: 2s\nvars: {greeting: hello}\nservers:\n  echo: {type: stream, behaviour: echo}\n  udp: {type: dgram, behaviour: echo}\ntests:\n")
	for i := range tests {
		fmt.Fprintf(&b, `  - name: test %d
    hint: One recv() is not one message.
    steps:
      - connect: echo
      - send: "Test message {{greeting}}."
      - expect: "Test message hello."
      - send: "bin\x00ary\xff\x80 data"
      - expect: {hex: "62696e 00 617279 ff 80 2064617461"}
      - connect: {to: echo, as: second}
      - send: {data: "Slowly.", chunks: 7, gap: 15ms, on: second}
      - expect: {line: "Slowly.", timeout: 1s}
      - send: [{u16: 5}, "hello"]
      - close: {how: write}
`, i)
	}
	return []byte(b.String()), tests * 10
}

// The floor is yaml.v3's own parse into nodes; decoding is what Parse adds
// to it, measured both as parse minus the floor and alone (decode: the
// decoder on nodes parsed once). Compare them per step in one run:
//
//	go test -run XXX -bench Decode -count 10 ./runner
//
// Besides wall time, each reports the CPU time of the process per step
// (cpu-ns/step), which a loaded machine inflates far less.
func BenchmarkDecode(b *testing.B) {
	src, steps := benchSpec(200)
	b.Run("floor", func(b *testing.B) {
		perStep(b, steps, func() error {
			var doc yaml.Node
			return yaml.Unmarshal(src, &doc)
		})
	})
	b.Run("parse", func(b *testing.B) {
		perStep(b, steps, func() error {
			_, err := Parse("bench.yaml", src, LoadOptions{})
			return err
		})
	})
	// What parse adds to the floor, alone: the decoder on nodes parsed once.
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		b.Fatal(err)
	}
	b.Run("decode", func(b *testing.B) {
		perStep(b, steps, func() error {
			_, err := decodeDoc("bench.yaml", src, &doc, LoadOptions{})
			return err
		})
	})
}

func perStep(b *testing.B, steps int, f func() error) {
	b.ReportAllocs()
	cpu := cpuTime()
	for range b.N {
		if err := f(); err != nil {
			b.Fatal(err)
		}
	}
	n := float64(b.N * steps)
	b.ReportMetric(float64((cpuTime()-cpu).Nanoseconds())/n, "cpu-ns/step")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/n, "ns/step")
}

// cpuTime is the CPU time the process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// Decoding allocates at most 5 times per step beyond yaml.v3's parse:
// counts, unlike times, do not depend on the machine's load.
func TestDecodeAllocsPerStep(t *testing.T) {
	src, steps := benchSpec(50)
	floor := testing.AllocsPerRun(5, func() {
		var doc yaml.Node
		yaml.Unmarshal(src, &doc)
	})
	parse := testing.AllocsPerRun(5, func() {
		if _, err := Parse("bench.yaml", src, LoadOptions{}); err != nil {
			t.Fatal(err)
		}
	})
	per := (parse - floor) / float64(steps)
	t.Logf("%.0f allocations for yaml.v3, %.0f for Parse: %.2f per step beyond yaml.v3", floor, parse, per)
	if per > 5 {
		t.Errorf("%.2f allocations per step beyond yaml.v3's parse, want at most 5", per)
	}
}
