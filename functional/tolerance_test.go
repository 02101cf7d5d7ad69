package functional

import (
	"math"
	"testing"
)

// The tests' one tolerance: got is close to want when |got − want| ≤
// atol + rtol·|want| (numpy's and torch's isclose), a NaN want matches
// only a NaN and an infinite want only itself.

// isClose reports whether got is close to want.
func isClose(got, want, rtol, atol float64) bool {
	switch {
	case math.IsNaN(want):
		return math.IsNaN(got)
	case math.IsInf(want, 0):
		return got == want
	}
	return math.Abs(got-want) <= atol+rtol*math.Abs(want)
}

// allClose reports whether got and want have the same length and each
// element is close.
func allClose(got, want []float64, rtol, atol float64) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range want {
		if !isClose(got[i], want[i], rtol, atol) {
			return false
		}
	}
	return true
}

// assertClose reports each element of got not close to want's.
func assertClose(t *testing.T, what string, got, want []float64, rtol, atol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	for i := range want {
		if !isClose(got[i], want[i], rtol, atol) {
			t.Errorf("%s[%d] = %v, want %v", what, i, got[i], want[i])
		}
	}
}

// AssertClose is assertClose for the tests of package functional_test.
var AssertClose = assertClose
