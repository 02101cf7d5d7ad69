package kernels

import (
	"math"
	"math/rand"
	"testing"
)

// TestGaussianNLLVecAVX2: the eight-lane pass equals the loops bit for bit
// (full or not, with and without either gradient, tails, special var).
func TestGaussianNLLVecAVX2(t *testing.T) {
	rng := rand.New(rand.NewSource(8))
	sp := []float32{0, -1, float32(math.Inf(1)), float32(math.NaN()), 1e-40, 1e-7}
	for _, n := range []int{1, 8, 13, 64, 1001} {
		for _, special := range []bool{false, true} {
			x, tt, v := make([]float32, n), make([]float32, n), make([]float32, n)
			for i := range x {
				x[i], tt[i], v[i] = float32(rng.NormFloat64()), float32(rng.NormFloat64()), 0.1+rng.Float32()
				if special && rng.Intn(50) == 0 {
					v[i] = sp[rng.Intn(len(sp))]
				}
			}
			for _, full := range []bool{false, true} {
				for _, mode := range []int{0, 1, 2, 3} {
					run := func(avx bool) (o, gx, gv []float32) {
						old := setAVX2(avx)
						defer setAVX2(old)
						o = make([]float32, n)
						if mode&1 != 0 {
							gx = make([]float32, n)
						}
						if mode&2 != 0 {
							gv = make([]float32, n)
						}
						GaussianNLLVec(full, 1e-6, x, tt, v, o, make([]float32, n), make([]float32, n), gx, gv, 0.37)
						return
					}
					o1, gx1, gv1 := run(true)
					o2, gx2, gv2 := run(false)
					same32(t, "loss", o1, o2, o1, o2)
					same32(t, "gx", gx1, gx2, gx1, gx2)
					same32(t, "gv", gv1, gv2, gv1, gv2)
				}
			}
		}
	}
}
