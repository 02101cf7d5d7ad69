package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestBCECheckVector checks BCECheck's vector pass against the scalar loop:
// one or two bad elements (below 0, above 1, NaN, ±inf) of the input or
// the target at every position of short slices, and in random positions of
// long ones.
func TestBCECheckVector(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	bad := []float32{-1e-8, 1.0000001, float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), -0.5, 2}
	fill := func(n int) ([]float32, []float32) {
		x, y := make([]float32, n), make([]float32, n)
		for i := range x {
			x[i], y[i] = float32(r.Float64()), float32(r.Float64())
			if r.IntN(20) == 0 {
				x[i] = float32(r.IntN(2)) // 0 and 1 are in range
			}
			switch r.IntN(60) {
			case 0:
				x[i] = float32(math.Copysign(0, -1)) // so is -0
			case 1:
				y[i] = float32(math.Copysign(0, -1))
			case 2:
				y[i] = float32(r.IntN(2))
			case 3:
				x[i] = 1e-40 // subnormal
			}
		}
		return x, y
	}
	check := func(x, y []float32) {
		i, isx := BCECheck(x, y)
		j, jsx := bceCheckGeneric(x, y)
		if i != j || isx != jsx {
			t.Fatalf("BCECheck = %d %v, want %d %v", i, isx, j, jsx)
		}
		// The forward pass's own check agrees, and in range its losses
		// are BCEForward's, bit for bit.
		out, tmp := make([]float32, len(x)), make([]float32, len(x))
		if ok := BCEForwardCheck(x, y, out, tmp); ok != (j < 0) {
			t.Fatalf("BCEForwardCheck = %v, first bad element %d", ok, j)
		}
		if j < 0 {
			want := make([]float32, len(x))
			BCEForward(x, y, want)
			for k := range want {
				if math.Float32bits(out[k]) != math.Float32bits(want[k]) {
					t.Fatalf("BCEForwardCheck [%d] = %v, BCEForward %v", k, out[k], want[k])
				}
			}
		}
		x64, y64 := make([]float64, len(x)), make([]float64, len(x))
		for k := range x {
			x64[k], y64[k] = float64(x[k]), float64(y[k])
		}
		o64, t64 := make([]float64, len(x)), make([]float64, len(x))
		if ok := BCEForwardCheck(x64, y64, o64, t64); ok != (j < 0) {
			t.Fatalf("BCEForwardCheck (float64) = %v, first bad element %d", ok, j)
		}
	}
	for n := 0; n < 40; n++ {
		x, y := fill(n)
		check(x, y)
		for p := 0; p < n; p++ {
			for _, v := range bad {
				for _, inX := range []bool{false, true} {
					x, y := fill(n)
					if inX {
						x[p] = v
					} else {
						y[p] = v
					}
					if r.IntN(2) == 0 {
						q := r.IntN(n)
						if r.IntN(2) == 0 {
							x[q] = bad[r.IntN(len(bad))]
						} else {
							y[q] = bad[r.IntN(len(bad))]
						}
					}
					check(x, y)
				}
			}
		}
	}
	for it := 0; it < 200; it++ {
		n := 1 + r.IntN(5000)
		x, y := fill(n)
		if it%4 != 0 {
			p := r.IntN(n)
			if it%2 == 0 {
				x[p] = bad[r.IntN(len(bad))]
			} else {
				y[p] = bad[r.IntN(len(bad))]
			}
		}
		check(x, y)
	}
}
