package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestCosineRowMatchesGo checks CosineRowSums against SumDim of the
// written-out products (what cosine_embedding_loss's graph sums) and
// CosineRowGrad against its scalar loop, bitwise, with and without the
// assembly kernels, for rows short and long enough for every level of
// Sum's cascade, with zeros, infinities and NaN among the values.
func TestCosineRowMatchesGo(t *testing.T) {
	r := rand.New(rand.NewPCG(15, 3))
	var lengths []int
	for n := 1; n <= 70; n++ {
		lengths = append(lengths, n)
	}
	lengths = append(lengths, 255, 256, 257, 511, 512, 513, 1000, 4096, 8191, 8192, 8200, 16411, 32768, 70000)
	same := func(a, b float32) bool { return math.Float32bits(a) == math.Float32bits(b) || a != a && b != b }
	sumOf := func(q []float32) float32 {
		var out [1]float32
		SumDim(q, 1, len(q), 1, out[:])
		return out[0]
	}
	for _, n := range lengths {
		for variant := range 3 {
			a := make([]float32, n)
			b := make([]float32, n)
			for i := range a {
				a[i] = float32(r.NormFloat64() * 3)
				b[i] = float32(r.NormFloat64())
			}
			switch {
			case variant == 1 && n > 2:
				a[n/2], b[n-1] = 0, float32(math.Inf(-1))
			case variant == 2 && n > 2:
				a[n/3], b[0] = float32(math.NaN()), 1e30
			}
			q := make([]float32, n)
			for i := range q {
				q[i] = a[i] * b[i]
			}
			wp := sumOf(q)
			for i := range q {
				q[i] = a[i] * a[i]
			}
			w1 := sumOf(q)
			for i := range q {
				q[i] = b[i] * b[i]
			}
			w2 := sumOf(q)
			gm, gp := float32(r.NormFloat64()), float32(r.NormFloat64())
			want := make([]float32, n)
			for i := range want {
				rr := gm * a[i]
				want[i] = (rr + rr) + float32(gp*b[i])
			}
			for _, asm := range []bool{true, false} {
				old := setAVX2(asm && hasAVX2)
				p, s1, s2 := CosineRowSums(a, b, make([]float32, n))
				if !same(p, wp) || !same(s1, w1) || !same(s2, w2) {
					t.Fatalf("n=%d variant %d asm=%v: sums %v %v %v, want %v %v %v", n, variant, asm, p, s1, s2, wp, w1, w2)
				}
				for _, nt := range []bool{false, true} {
					g := make([]float32, n)
					CosineRowGrad(a, b, g, gm, gp, nt)
					RowFence()
					for i := range g {
						if !same(g[i], want[i]) {
							t.Fatalf("n=%d variant %d asm=%v nt=%v: g[%d] = %v, want %v", n, variant, asm, nt, i, g[i], want[i])
						}
					}
				}
				setAVX2(old)
			}
		}
	}
}
