package runner

import (
	"cmp"
	"errors"
	"slices"
)

// An Error is a problem at a position in a spec file. Error() is plain
// "file:line:col: message"; drawing carets and colour is the CLI's job.
type Error struct {
	Pos Pos
	Msg string
	Err error // the cause, if any
}

func (e *Error) Error() string { return e.Pos.String() + ": " + e.Msg }

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// errorList joins spec errors sorted by position, one per line, or returns
// nil if there are none. errors.As finds each *Error in it.
func errorList(errs []*Error) error {
	if len(errs) == 0 {
		return nil
	}
	slices.SortStableFunc(errs, func(a, b *Error) int {
		return cmp.Or(cmp.Compare(a.Pos.File, b.Pos.File),
			cmp.Compare(a.Pos.Line, b.Pos.Line), cmp.Compare(a.Pos.Col, b.Pos.Col))
	})
	list := make([]error, len(errs))
	for i, e := range errs {
		list[i] = e
	}
	return errors.Join(list...)
}

// SpecErrors returns every *Error in err, in order.
func SpecErrors(err error) []*Error {
	var out []*Error
	var walk func(error)
	walk = func(err error) {
		if e, ok := err.(*Error); ok {
			out = append(out, e)
			return
		}
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				walk(e)
			}
		}
	}
	walk(err)
	return out
}
