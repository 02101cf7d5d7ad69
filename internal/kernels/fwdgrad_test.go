package kernels

import (
	"math"
	"math/rand"
	"testing"
)

func same32(t *testing.T, name string, o1, o2, g1, g2 []float32) {
	t.Helper()
	for i := range o1 {
		if math.Float32bits(o1[i]) != math.Float32bits(o2[i]) && !(o1[i] != o1[i] && o2[i] != o2[i]) ||
			math.Float32bits(g1[i]) != math.Float32bits(g2[i]) && !(g1[i] != g1[i] && g2[i] != g2[i]) {
			t.Fatalf("%s n=%d i=%d: %v %v, want %v %v", name, len(o1), i, o1[i], g1[i], o2[i], g2[i])
		}
	}
}

func seq(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}

// TestSigmoidBackwardStreaming: the streaming-store path (large, aligned)
// equals the Go loop bit for bit.
func TestSigmoidBackwardStreaming(t *testing.T) {
	n := 1<<15 + 3
	g, y := make([]float32, n), make([]float32, n)
	for i := range g {
		g[i], y[i] = float32(i%97)-48, float32(i%89)/88
	}
	gx := make([]float32, n)
	if !streamable(gx[:n&^7]) && hasAVX2 {
		t.Fatal("expected the streaming path")
	}
	SigmoidBackward(g, y, gx)
	for i := range gx {
		if w := g[i] * (1 - y[i]) * y[i]; math.Float32bits(w) != math.Float32bits(gx[i]) {
			t.Fatalf("gx[%d] = %v, want %v", i, gx[i], w)
		}
	}
}

// TestForwardGradSumMatches: MSEForwardGradSum, L1ForwardGradSum and
// KLDivVecSum return Sum of the separate forward kernel's losses and write
// the separate gradient kernel's gradients, bit for bit, with AVX-512 (where
// the CPU has it), AVX2 and neither, float32
// and float64, at every length up to 130 and at lengths around the
// cascade's steps, with ±0, ±inf and NaN, and with a gradient buffer that
// is 64-byte aligned (streaming stores), 32-byte aligned (AVX2's only) or
// not.
func TestForwardGradSumMatches(t *testing.T) {
	for _, set := range []struct{ avx2, avx512 bool }{{true, true}, {true, false}, {false, false}} {
		old, old512 := setAVX2(set.avx2), setAVX512(set.avx512)
		for _, n := range append(seq(131), 511, 512, 513, 1024, 1<<15, 1<<15+5, 1<<17+33) {
			for _, off := range []int{0, 1, 8} {
				checkFusedSum[float32](t, n, off)
				checkFusedSum[float64](t, n, off)
			}
		}
		setAVX2(old)
		setAVX512(old512)
	}
}

func checkFusedSum[T Float](t *testing.T, n, off int) {
	t.Helper()
	rng := rand.New(rand.NewSource(int64(n)))
	sp := []float64{0, math.Copysign(0, -1), math.Inf(1), math.Inf(-1), math.NaN(), 1e-40}
	x, y := make([]T, n), make([]T, n)
	for i := range x {
		x[i], y[i] = T(rng.NormFloat64()), T(rng.NormFloat64())
		if n < 200 && rng.Intn(7) == 0 {
			x[i] = T(sp[rng.Intn(len(sp))])
		}
		if rng.Intn(9) == 0 {
			y[i] = x[i]
		}
	}
	same := func(a, b T) bool {
		return a == b && math.Signbit(float64(a)) == math.Signbit(float64(b)) || a != a && b != b
	}
	loss := make([]T, n)
	g1, g2 := make([]T, n+off)[off:], make([]T, n)
	for _, k := range []string{"mse", "l1", "kl"} {
		var s1 T
		switch k {
		case "mse":
			s1 = MSEForwardGradSum(x, y, g1, 0.25)
			MSEForward(x, y, loss)
			MSEBackwardOne(x, y, 0.25, g2, nil)
		case "l1":
			s1 = L1ForwardGradSum(x, y, g1, 0.5)
			L1Forward(x, y, loss)
			L1BackwardConst(x, y, 0.5, g2, nil)
		case "kl":
			// Targets ≥ 0 and 0 often; y's specials (negative, subnormal,
			// ±inf, NaN) take the recompute path.
			tg := make([]T, n)
			for i, v := range y {
				tg[i] = T(math.Abs(float64(v)))
				if i%5 == 0 {
					tg[i] = 0
				}
				if n < 200 && i%11 == 3 {
					tg[i] = v
				}
			}
			s1 = KLDivVecSum(x, tg, g1, 0.125)
			KLDivVec(x, tg, loss, make([]T, n), g2, 0.125)
		}
		if s2 := Sum(loss); !same(s1, s2) {
			t.Fatalf("%s %T n=%d off=%d avx2=%v: sum %v, want %v", k, s1, n, off, hasAVX2, s1, s2)
		}
		for i := range g1 {
			if !same(g1[i], g2[i]) {
				t.Fatalf("%s %T n=%d off=%d avx2=%v: gx[%d] = %v, want %v", k, s1, n, off, hasAVX2, i, g1[i], g2[i])
			}
		}
	}
}
