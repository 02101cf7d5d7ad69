package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestBCESigmoidGradMean checks the fused binary_cross_entropy → sigmoid
// gradient bitwise against its two steps, BCEBackwardInputMean then
// SigmoidBackward, for float32 (the AVX2 pass with and without streaming
// stores, unaligned outputs, and the scalar path) and float64, with p at 0
// and 1 and targets at 0 and 1.
func TestBCESigmoidGradMean(t *testing.T) {
	r := rand.New(rand.NewPCG(45, 46))
	for _, avx := range []bool{false, true} {
		if avx && !hasAVX2 {
			continue
		}
		old := setAVX2(avx)
		for _, n := range []int{1, 7, 8, 9, 31, 1000, 1 << 14, 1<<14 + 9, 40000} {
			for _, off := range []int{0, 1} {
				p, y := make([]float32, n), make([]float32, n)
				p64, y64 := make([]float64, n), make([]float64, n)
				for i := range p {
					p[i], y[i] = float32(r.Float64()), float32(r.Float64())
					switch r.IntN(40) {
					case 0:
						p[i] = 0
					case 1:
						p[i] = 1
					case 2:
						y[i] = float32(r.IntN(2))
					case 3:
						p[i] = 1e-30
					}
					p64[i], y64[i] = float64(p[i]), float64(y[i])
				}
				for _, m := range []int{0, n} {
					buf := make([]float32, n+off+8)
					gx := buf[off : off+n]
					BCESigmoidGradMean(p, y, m, gx)
					g, want := make([]float32, n), make([]float32, n)
					BCEBackwardInputMean(p, y, m, g)
					SigmoidBackward(g, p, want)
					for i := range want {
						if math.Float32bits(gx[i]) != math.Float32bits(want[i]) {
							t.Fatalf("avx=%v n=%d off=%d m=%d [%d] p=%v y=%v: %v, two steps %v", avx, n, off, m, i, p[i], y[i], gx[i], want[i])
						}
					}
					gx64 := make([]float64, n)
					BCESigmoidGradMean(p64, y64, m, gx64)
					g64, want64 := make([]float64, n), make([]float64, n)
					BCEBackwardInputMean(p64, y64, m, g64)
					SigmoidBackward(g64, p64, want64)
					for i := range want64 {
						if math.Float64bits(gx64[i]) != math.Float64bits(want64[i]) {
							t.Fatalf("float64 n=%d m=%d [%d]: %v, two steps %v", n, m, i, gx64[i], want64[i])
						}
					}
				}
			}
		}
		setAVX2(old)
	}
}
