package kernels

import (
	"math"
	"math/rand"
	"testing"
)

// TestForwardGradMatches: MSEForwardGrad and L1ForwardGrad equal the
// separate forward and gradient kernels bit for bit, with and without
// AVX2, at every length up to 70 and with ±0, ±inf and NaN.
func TestForwardGradMatches(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	sp := []float32{0, float32(math.Copysign(0, -1)), float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()), 1e-40}
	for _, avx := range []bool{true, false} {
		old := setAVX2(avx)
		for _, n := range append(seq(71), 1024, 1<<15+5) {
			x, y := make([]float32, n), make([]float32, n)
			for i := range x {
				x[i], y[i] = float32(rng.NormFloat64()), float32(rng.NormFloat64())
				if rng.Intn(5) == 0 {
					x[i] = sp[rng.Intn(len(sp))]
				}
				if rng.Intn(5) == 0 {
					y[i] = x[i]
				}
			}
			o1, g1, o2, g2 := make([]float32, n), make([]float32, n), make([]float32, n), make([]float32, n)
			MSEForwardGrad(x, y, o1, g1, 0.25)
			MSEForward(x, y, o2)
			MSEBackwardOne(x, y, 0.25, g2, nil)
			same32(t, "mse", o1, o2, g1, g2)
			L1ForwardGrad(x, y, o1, g1, 0.5)
			L1Forward(x, y, o2)
			L1Backward(x, y, func(int) float32 { return 0.5 }, g2, nil)
			same32(t, "l1", o1, o2, g1, g2)
		}
		setAVX2(old)
	}
}

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
