package runner

import (
	"bytes"
	"regexp"
	"testing"
)

// The byte regex against Go's regexp on the same input: a 1 MiB flood of
// text that matches only at its end, arriving in 16 KiB reads.
//
//   - floor: Go's regexp run once on the whole 1 MiB (the least work);
//   - rescan: Go's regexp run on the whole buffer after every read (what
//     the expect did before: quadratic in the buffer);
//   - stream: the byte regex fed each read's new bytes, asked after each;
//   - whole: the byte regex run once on the whole 1 MiB.
//
// Compare them in one run:
//
//	go test -run XXX -bench ByteRegexp -count 5 ./runner
const (
	floodSize = 1 << 20
	floodRead = 16 << 10
)

// floodInput is floodSize bytes of text lines, then the tail that matches.
func floodInput() []byte {
	tail := []byte("ID=AB1234 END\r\n")
	line := []byte("lorem ipsum dolor sit amet, id est 0123456789 k=v x\n")
	b := bytes.Repeat(line, floodSize/len(line)+1)[:floodSize-len(tail)]
	return append(b, tail...)
}

var floodPatterns = []struct{ name, expr string }{
	{"literal", `END\r\n`},
	{"prefix", `ID=(?P<id>[A-Z]{2}\d{4}) END`},
	{"class", `[A-Z]{2}\d{4} END`},
	{"fold", `(?i)id=\w+ end`},
	{"digits", `\d{4} END`},
	{"busy", `(\w+)=(\w+) END`},
}

func BenchmarkByteRegexp(b *testing.B) {
	in := floodInput()
	for _, p := range floodPatterns {
		gre := regexp.MustCompile(p.expr)
		re := mustByteRegexp(p.expr)
		want := gre.FindSubmatchIndex(in)
		if want == nil {
			b.Fatalf("%s does not match the flood", p.expr)
		}
		check := func(b *testing.B, loc []int) {
			if loc == nil || loc[1] != want[1] {
				b.Fatalf("%s: %v, want %v", p.expr, loc, want)
			}
		}
		b.Run(p.name+"/floor", func(b *testing.B) {
			b.SetBytes(floodSize)
			for range b.N {
				check(b, gre.FindSubmatchIndex(in))
			}
		})
		b.Run(p.name+"/rescan", func(b *testing.B) {
			b.SetBytes(floodSize)
			for range b.N {
				var loc []int
				for n := floodRead; loc == nil; n += floodRead {
					loc = gre.FindSubmatchIndex(in[:min(n, len(in))])
				}
				check(b, loc)
			}
		})
		b.Run(p.name+"/stream", func(b *testing.B) {
			b.SetBytes(floodSize)
			b.ReportAllocs()
			for range b.N {
				s := re.stream()
				var loc []int
				for n := 0; loc == nil; n += floodRead {
					s.feed(in[n:min(n+floodRead, len(in))])
					loc = s.match()
				}
				check(b, loc)
			}
		})
		b.Run(p.name+"/whole", func(b *testing.B) {
			b.SetBytes(floodSize)
			for range b.N {
				check(b, re.find(in))
			}
		})
	}
}
