package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestBranchlessMatchesGeneric compares the float32 branch-free kernels
// with the generic formulas (run in float64 through the generic code path
// and in float32 element by element), specials included.
func TestBranchlessMatchesGeneric(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	sp := []float32{0, float32(math.Copysign(0, -1)), 1, -1, 2, float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), 1e-45}
	n := 5000
	x, y := make([]float32, n), make([]float32, n)
	cls := make([]int8, n)
	for i := range x {
		if r.IntN(4) == 0 {
			x[i], y[i] = sp[r.IntN(len(sp))], sp[r.IntN(len(sp))]
		} else {
			x[i], y[i] = float32(r.NormFloat64()), float32(r.NormFloat64())
		}
		cls[i] = int8(r.IntN(3) - 1)
	}
	same := func(name string, i int, got, want float32) {
		if math.Float32bits(got) != math.Float32bits(want) && !(got != got && want != want) {
			t.Fatalf("%s[%d] = %v, want %v (x=%v y=%v cls=%d)", name, i, got, want, x[i], y[i], cls[i])
		}
	}
	out := make([]float32, n)
	g1, g2 := make([]float32, n), make([]float32, n)
	for _, u := range []float32{1, 0.25, -3} {
		l1Forward32(x, y, out)
		l1BackwardConst32(x, y, u, g1, g2)
		for i := range x {
			same("l1", i, out[i], Abs(x[i]-y[i]))
			g := u * Sgn(x[i]-y[i])
			same("l1 gx", i, g1[i], g)
			same("l1 gy", i, g2[i], -g)
		}
		for _, margin := range []float32{1, 0, -0.5} {
			hingeForward32(x, cls, margin, out)
			hingeBackwardConst32(x, cls, margin, u, g1)
			for i, v := range x {
				var a, b float32
				if cls[i] != TargetPos {
					a = ClampMin(margin-v, 0)
				}
				if cls[i] != TargetNeg {
					b = v
				}
				same("hinge", i, out[i], a+b)
				var gs, gm float32
				if cls[i] != TargetNeg {
					gs = u
				}
				if cls[i] != TargetPos && margin-v >= 0 {
					gm = u
				}
				same("hinge gx", i, g1[i], gs+-gm)
			}
		}
	}
}

// TestBCEVectorKernels checks BCEBackwardInputMean and SigmoidForward (AVX2
// where available) against their scalar formulas, bit for bit, with
// boundary and NaN inputs and odd lengths.
func TestBCEVectorKernels(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	for _, n := range []int{0, 1, 7, 8, 9, 100, 1027} {
		x, y, g := make([]float32, n), make([]float32, n), make([]float32, n)
		for i := range x {
			x[i], y[i] = float32(r.Float64()), float32(r.Float64())
			switch r.IntN(8) {
			case 0:
				x[i] = 0
			case 1:
				x[i] = 1
			case 2:
				x[i] = float32(math.NaN())
			}
		}
		for _, m := range []int{0, 3, 1000} {
			BCEBackwardInputMean(x, y, m, g)
			for i := range x {
				want := T32(x[i]-y[i]) / Max((1-x[i])*x[i], float32(BCEEpsilon))
				if m > 0 {
					want /= float32(m)
				}
				if math.Float32bits(g[i]) != math.Float32bits(want) && !(g[i] != g[i] && want != want) {
					t.Fatalf("n=%d m=%d [%d]: %v, want %v (x=%v y=%v)", n, m, i, g[i], want, x[i], y[i])
				}
			}
		}
		s := make([]float32, n)
		SigmoidForward(y, s)
		for i, v := range y {
			if want := Sigmoidf(v); math.Float32bits(s[i]) != math.Float32bits(want) {
				t.Fatalf("sigmoid n=%d [%d]: %v, want %v", n, i, s[i], want)
			}
		}
	}
}

// T32 rounds to float32 (a named conversion for readability).
func T32(v float32) float32 { return v }
