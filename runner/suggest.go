package runner

import "strings"

// Nearest returns the candidate that word was most likely meant to be: one
// at most two edits away, or the only one that word begins (with three
// letters or more). It reports false when none is near.
func Nearest(word string, candidates []string) (string, bool) {
	best, bestDist := "", 3
	prefixed := []string{}
	for _, c := range candidates {
		if d := editDistance(strings.ToLower(word), c); d < bestDist {
			best, bestDist = c, d
		}
		if len(word) >= 3 && strings.HasPrefix(c, strings.ToLower(word)) {
			prefixed = append(prefixed, c)
		}
	}
	if best == "" && len(prefixed) == 1 {
		best = prefixed[0]
	}
	return best, best != ""
}
