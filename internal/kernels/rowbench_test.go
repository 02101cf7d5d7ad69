package kernels

import (
	"math/rand/v2"
	"testing"
)

// BenchmarkCERow times cross_entropy's row kernels over 64 cached rows of
// 1000 logits, with each instruction set the CPU has.
func BenchmarkCERow(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	const rows, c = 64, 1000
	x := make([]float32, rows*c)
	for i := range x {
		x[i] = float32(r.NormFloat64())
	}
	e := make([]float32, c)
	for _, z := range []bool{false, true} {
		if z && !avx512Supported {
			continue
		}
		name := map[bool]string{false: "avx2", true: "avx512"}[z]
		b.Run(name, func(b *testing.B) {
			old := setAVX512(z)
			defer setAVX512(old)
			b.SetBytes(rows * c * 4)
			for b.Loop() {
				for i := range rows {
					_, s, _ := CERowExp(x[i*c:i*c+c], e, nil, false)
					CERowGrad(e, nil, -1/s, 0)
				}
			}
		})
	}
}

// BenchmarkKLRows times kl_div's fused loss-and-gradient over 64000
// cached elements (the gradient written with streaming stores), with each
// instruction set the CPU has.
func BenchmarkKLRows(b *testing.B) {
	r := rand.New(rand.NewPCG(3, 4))
	const n = 64000
	x, t, g := make([]float32, n), make([]float32, n), make([]float32, n)
	for i := range x {
		x[i] = float32(-r.ExpFloat64() - 6)
		t[i] = float32(r.Float64() / 500)
	}
	for _, z := range []bool{false, true} {
		if z && !avx512Supported {
			continue
		}
		b.Run(map[bool]string{false: "avx2", true: "avx512"}[z], func(b *testing.B) {
			old := setAVX512(z)
			defer setAVX512(old)
			b.SetBytes(n * 4)
			for b.Loop() {
				KLDivVecSum(x, t, g, 1.0/8192)
			}
		})
	}
}
