package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// dispatchInput returns n float32 values in [lo, hi) with, now and then, a
// special value (±0, ±inf, NaN, a subnormal, the bounds).
func dispatchInput(r *rand.Rand, n int, lo, hi float32) []float32 {
	x := make([]float32, n)
	specials := []float32{0, float32(math.Copysign(0, -1)), float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()), 1e-40, lo, hi}
	for i := range x {
		if r.IntN(50) == 0 {
			x[i] = specials[r.IntN(len(specials))]
		} else {
			x[i] = lo + (hi-lo)*r.Float32()
		}
	}
	return x
}

// sameBits reports whether a and b hold the same float32 values bit for
// bit, any NaN matching any NaN (a NaN's payload follows the operand order
// of the instruction, which the two paths need not share).
func sameBits(a, b []float32) int {
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) && !(a[i] != a[i] && b[i] != b[i]) {
			return i
		}
	}
	return -1
}

// TestDispatchMatchesGeneric checks each dispatch point against its pure-Go
// reference, bit for bit, on float32 slices of every length up to 40 and a
// few long ones (the assembly where the CPU has AVX2, the reference alone
// otherwise).
func TestDispatchMatchesGeneric(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 6))
	lengths := []int{1000, 4099, 70000}
	for n := range 41 {
		lengths = append(lengths, n)
	}
	for _, n := range lengths {
		x := dispatchInput(r, n, -20, 20)
		p := dispatchInput(r, n, 0, 1)
		y := dispatchInput(r, n, 0, 1)
		w := dispatchInput(r, n, -2, 2)
		got, want := make([]float32, n), make([]float32, n)
		check := func(name string) {
			t.Helper()
			if i := sameBits(got, want); i >= 0 {
				t.Fatalf("%s n=%d [%d]: %v, reference %v", name, n, i, got[i], want[i])
			}
		}
		Expfs(got, x)
		expfsGeneric(want, x)
		check("Expfs")
		Logfs(got, p)
		logfsGeneric(want, p)
		check("Logfs")
		Sigmoidfs(got, x)
		sigmoidfsGeneric(want, x)
		check("Sigmoidfs")
		SigmoidBackward(w, p, got)
		sigmoidBackwardGeneric(w, p, want)
		check("SigmoidBackward")
		for _, wt := range [][]float32{nil, y} {
			copy(got, w)
			copy(want, w)
			CERowGrad(got, wt, 0.75, -0.3)
			ceRowGradGeneric(want, wt, 0.75, -0.3)
			check("CERowGrad")
		}
		CosineRowGrad(x, w, got, 0.7, -1.3, false)
		cosineRowGradGeneric(x, w, want, 0.7, -1.3)
		check("CosineRowGrad")
		for _, m := range []int{0, 5} {
			eps, d := float32(BCEEpsilon), float32(m)
			BCEBackwardInputMean(p, y, m, got)
			bceBackwardInputMeanGeneric(p, y, eps, d, m > 0, want)
			check("BCEBackwardInputMean")
			BCESigmoidGradMean(p, y, m, got)
			bceSigmoidGradMeanGeneric(p, y, eps, d, m > 0, want)
			check("BCESigmoidGradMean")
		}
		i, isX := BCECheck(p, y)
		j, jsX := bceCheckGeneric(p, y)
		if i != j || isX != jsX {
			t.Fatalf("BCECheck n=%d: (%d, %v), reference (%d, %v)", n, i, isX, j, jsX)
		}
		tmp := make([]float32, n)
		ok := BCEForwardCheck(p, y, got, tmp)
		okRef := bceForwardCheckGeneric(p, y, want, tmp)
		if ok != okRef {
			t.Fatalf("BCEForwardCheck n=%d: %v, reference %v", n, ok, okRef)
		}
		if ok {
			check("BCEForwardCheck")
		}
	}
}
