package runner

import (
	"fmt"
	"strconv"
	"strings"
)

// ParseShard reads K/N (1 <= K <= N), the form of --shard: 1-based, as
// Playwright's and Jest's --shard are.
func ParseShard(s string) (Shard, error) {
	k, n, ok := strings.Cut(s, "/")
	ki, kerr := strconv.Atoi(k)
	ni, nerr := strconv.Atoi(n)
	if !ok || kerr != nil || nerr != nil {
		return Shard{}, fmt.Errorf("%q: expected K/N, share K of N (for example 2/4)", s)
	}
	if ni < 1 || ki < 1 || ki > ni {
		return Shard{}, fmt.Errorf("%q: expected K/N with 1 <= K <= N", s)
	}
	return Shard{K: ki, N: ni}, nil
}

// String is K/N, or empty for the whole list.
func (s Shard) String() string {
	if s.N <= 1 {
		return ""
	}
	return fmt.Sprintf("%d/%d", s.K, s.N)
}
