package runner

import (
	"slices"
	"sync"
)

// The open sets (steps, DATA's forms, matchers) are tables built by
// functions, so that no test can overwrite them and decoders can refer
// back to them without an initialization cycle. Rebuilt at every call,
// they cost decoding tens of allocations per step; so each is built the
// first time it is asked for and shared after, clipped, so that an append
// to it copies rather than writes into the shared table.

// A table is built once, on first use.
type table[T any] struct {
	once sync.Once
	v    []T
}

func (t *table[T]) get(build func() []T) []T {
	t.once.Do(func() { t.v = slices.Clip(build()) })
	return t.v
}

var (
	dataKindTable    table[*dataKind]
	dataKeyTable     table[string]
	matcherKindTable table[*matcherKind]
	matcherNameTable table[string]
	matchKeyTable    table[string]
	expectKeyTable   table[string]
	sendKeyTable     table[string]
)

// dataKinds is the table of DATA's mapping forms, in the reference's order.
func dataKinds() []*dataKind { return dataKindTable.get(buildDataKinds) }

// dataKeys are the keys of the mapping forms of DATA.
func dataKeys() []string { return dataKeyTable.get(buildDataKeys) }

// matcherKinds is the table of matchers, in the reference's order.
func matcherKinds() []*matcherKind { return matcherKindTable.get(buildMatcherKinds) }

// matcherNames are the keys that choose a matcher.
func matcherNames() []string { return matcherNameTable.get(buildMatcherNames) }

// matchKeys are the keys of a matcher written as a mapping.
func matchKeys() []string {
	return matchKeyTable.get(func() []string { return slices.Concat(matcherNames(), dataKeys()) })
}

// expectKeys are the keys of an expect mapping.
func expectKeys() []string {
	return expectKeyTable.get(func() []string { return slices.Concat(matcherNames(), expectOpts, dataKeys()) })
}

// sendKeys are the keys of a send mapping.
func sendKeys() []string {
	return sendKeyTable.get(func() []string { return slices.Concat(sendOpts, dataKeys()) })
}
