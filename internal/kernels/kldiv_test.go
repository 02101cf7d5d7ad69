package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestKLDivVecMatchesScalar checks KLDivVec's vector path against its scalar
// loop and against KLDivForward (the unfused path) bit for bit, special
// targets (0, negative, ±inf, NaN, subnormal) included.
func TestKLDivVecMatchesScalar(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	specials := []float32{0, float32(math.Copysign(0, -1)), -0.5, float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()), 1e-40, 1, math.MaxFloat32}
	for _, n := range []int{0, 1, 3, 4, 7, 255, 256, 257, 1000, 4099} {
		for _, special := range []bool{false, true} {
			x := make([]float32, n)
			tg := make([]float32, n)
			for i := range x {
				x[i] = float32(r.NormFloat64())
				tg[i] = float32(r.Float64())
				if special && r.IntN(50) == 0 {
					tg[i] = specials[r.IntN(len(specials))]
				}
				if special && r.IntN(50) == 0 {
					x[i] = specials[r.IntN(len(specials))]
				}
			}
			for _, withGrad := range []bool{false, true} {
				o1, o2 := make([]float32, n), make([]float32, n)
				l1, l2 := make([]float32, n), make([]float32, n)
				var g1, g2 []float32
				if withGrad {
					g1, g2 = make([]float32, n), make([]float32, n)
				}
				KLDivVec(x, tg, o1, l1, g1, 0.125)
				klDivVecGeneric(x, tg, o2, l2, g2, 0.125)
				o3 := make([]float32, n)
				KLDivForward(KLDiv{}, x, tg, o3)
				same := func(a, b float32) bool {
					return math.Float32bits(a) == math.Float32bits(b) || (a != a && b != b)
				}
				for i := range o1 {
					if !same(o1[i], o2[i]) || !same(o1[i], o3[i]) {
						t.Fatalf("n %d: out[%d] = %v, want %v and KLDivForward's %v (x %v, t %v)", n, i, o1[i], o2[i], o3[i], x[i], tg[i])
					}
					if withGrad && !same(g1[i], g2[i]) {
						t.Fatalf("n %d: gx[%d] = %v, want %v", n, i, g1[i], g2[i])
					}
				}
			}
		}
	}
}
