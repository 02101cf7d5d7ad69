package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

var expfSpecials = []float32{0, float32(math.Copysign(0, -1)), 1, -1, 0.5, -0.5, 2, 1e-45, -1e-45, 1e-38, -1e-38,
	1.17549435e-38, 88.72, 88.7228, 88.73, 88.8, 89, -87.3, -87.34, -103.2, -103.28, -103.9, -103.97, -104, -104.1, -200,
	3.4028235e38, -3.4028235e38, float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()), 0x1p-29, -0x1p-29,
	1 - 0x1p-24, 1 + 0x1p-23, 70.4031, 5.9604645e-08}

// expfInputs returns the specials, 2^22 random bit patterns (every binade,
// subnormals and NaNs included) and 2^22 values spread over [-120, 100].
func expfInputs() []float32 {
	r := rand.New(rand.NewPCG(3, 4))
	xs := append([]float32{}, expfSpecials...)
	for i := 0; i < 1<<22; i++ {
		xs = append(xs, math.Float32frombits(r.Uint32()))
	}
	for i := 0; i < 1<<22; i++ {
		xs = append(xs, float32(r.Float64()*220-120))
	}
	return xs
}

// TestExpf checks Expf against the exact value (math.Exp in float64): at
// most 1 ULP from float32(math.Exp(x)) and below 1 ULP of the exact value
// (an exhaustive run over all 2^32 inputs, done once offline with the same
// check, found at most 0.99 ULP, at x = 70.4031), overflow to +inf,
// underflow to 0 and NaN kept.
func TestExpf(t *testing.T) {
	var worst int64
	var worstExact float64
	var at float32
	for _, x := range expfInputs() {
		got := Expf(x)
		e := math.Exp(float64(x))
		want := float32(e)
		if u := ulps(got, want); u > worst {
			worst, at = u, x
		}
		if x != x || math.IsInf(e, 0) || e > math.MaxFloat32 || e == 0 {
			continue
		}
		ulp := 0x1p-149
		if e >= 0x1p-126 {
			_, ex := math.Frexp(e)
			ulp = math.Ldexp(1, ex-24)
		}
		if d := math.Abs(float64(got)-e) / ulp; d > worstExact {
			worstExact = d
		}
	}
	if worst > 1 || worstExact >= 2 {
		t.Errorf("Expf: %d ULP from the rounded value at %v (%v, want %v); %.3f ULP from exact", worst, at, Expf(at), float32(math.Exp(float64(at))), worstExact)
	}
	t.Logf("Expf: at most %d ULP from the rounded value, %.3f ULP from exact", worst, worstExact)
}

// TestExpfSliceMatchesScalar checks that Expfs (the AVX2 kernel where
// present) is bitwise Expf, NaN included, for lengths around the 8-lane
// blocks.
func TestExpfSliceMatchesScalar(t *testing.T) {
	xs := expfInputs()
	for _, n := range []int{0, 1, 7, 8, 9, 15, 16, 17, 100, len(xs)} {
		src := xs[len(xs)-n:]
		if n < 40 {
			src = append(append([]float32{}, expfSpecials...), xs[:n]...)
		}
		dst := make([]float32, len(src))
		Expfs(dst, src)
		for i, x := range src {
			if want := Expf(x); math.Float32bits(dst[i]) != math.Float32bits(want) && !(want != want && dst[i] != dst[i]) {
				t.Fatalf("n=%d: Expfs(%v) = %v, Expf %v", n, x, dst[i], want)
			}
		}
	}
}

// TestCERowMatchesGo checks that CERowExp, RowMaxF and CERowGrad give
// bitwise the same results with the AVX2 kernels, with the AVX-512 ones
// (where the CPU has them) and without either, for rows of
// every length up to 70 and a long one, with and without weights.
func TestCERowMatchesGo(t *testing.T) {
	if !hasAVX2 {
		t.Skip("no AVX2")
	}
	r := rand.New(rand.NewPCG(5, 6))
	lengths := []int{}
	for n := 1; n <= 70; n++ {
		lengths = append(lengths, n)
	}
	lengths = append(lengths, 1000, 32000)
	type res struct {
		m, s, a float32
		e, g    []float32
	}
	run := func(x, w []float32, wantA bool) res {
		e := make([]float32, len(x))
		m, s, a := CERowExp(x, e, w, wantA)
		g := append([]float32{}, e...)
		CERowGrad(g, w, -0.37/s, -0.0123)
		return res{m, s, a, e, g}
	}
	for _, n := range lengths {
		x := make([]float32, n)
		w := make([]float32, n)
		for i := range x {
			x[i] = float32(r.NormFloat64() * 5)
			w[i] = float32(0.5 + r.Float64())
		}
		if n > 3 {
			x[n/3] = -1e30 // exp underflows to 0
		}
		for _, ww := range [][]float32{nil, w} {
			for _, wantA := range []bool{false, true} {
				setAVX2(false)
				want := run(x, ww, wantA)
				setAVX2(true)
				for _, z := range []bool{false, true} {
					old := setAVX512(z)
					got := run(x, ww, wantA)
					setAVX512(old)
					same := func(a, b float32) bool { return math.Float32bits(a) == math.Float32bits(b) }
					if !same(got.m, want.m) || !same(got.s, want.s) || !same(got.a, want.a) {
						t.Fatalf("n=%d w=%v A=%v avx512=%v: m, s, a = %v %v %v, Go %v %v %v", n, ww != nil, wantA, z, got.m, got.s, got.a, want.m, want.s, want.a)
					}
					for i := range x {
						if !same(got.e[i], want.e[i]) || !same(got.g[i], want.g[i]) {
							t.Fatalf("n=%d w=%v avx512=%v [%d]: e, g = %v %v, Go %v %v", n, ww != nil, z, i, got.e[i], got.g[i], want.e[i], want.g[i])
						}
					}
				}
			}
		}
	}
}

// TestCERowNaN: a NaN or +inf in a row makes its sum NaN whichever
// maximum RowMaxF returns.
func TestCERowNaN(t *testing.T) {
	for _, n := range []int{5, 8, 13, 40} {
		for _, bad := range []float32{float32(math.NaN()), float32(math.Inf(1))} {
			for pos := 0; pos < n; pos++ {
				x := make([]float32, n)
				for i := range x {
					x[i] = float32(i%7) - 3
				}
				x[pos] = bad
				e := make([]float32, n)
				if _, s, _ := CERowExp(x, e, nil, true); s == s {
					t.Fatalf("n=%d %v at %d: sum %v, want NaN", n, bad, pos, s)
				}
			}
		}
	}
}

func BenchmarkExpf(b *testing.B) {
	x := make([]float32, 4096)
	for i := range x {
		x[i] = float32(i)/256 - 8
	}
	y := make([]float32, len(x))
	b.Run("Expfs", func(b *testing.B) {
		b.SetBytes(int64(len(x)) * 4)
		for b.Loop() {
			Expfs(y, x)
		}
	})
	b.Run("Exps", func(b *testing.B) {
		b.SetBytes(int64(len(x)) * 4)
		for b.Loop() {
			Exps(y, x)
		}
	})
}

// TestSigmoidf checks Sigmoidfs against Sigmoidf bitwise, and Sigmoidf
// against the exact sigmoid (float64) within 2 ULP; for x < −88.72, where
// exp(−x) overflows float32 (as in PyTorch's float32 sigmoid), the result
// is 0 and the exact value below 2^-126.
func TestSigmoidf(t *testing.T) {
	xs := expfInputs()
	y := make([]float32, len(xs))
	Sigmoidfs(y, xs)
	var worst int64
	var at float32
	for i, x := range xs {
		want := Sigmoidf(x)
		if math.Float32bits(y[i]) != math.Float32bits(want) && !(want != want && y[i] != y[i]) {
			t.Fatalf("Sigmoidfs(%v) = %v, Sigmoidf %v", x, y[i], want)
		}
		exact := float32(1 / (1 + math.Exp(-float64(x))))
		if exact < 0x1p-126 {
			if want > 0x1p-126 {
				t.Fatalf("Sigmoidf(%v) = %v, exact %v", x, want, exact)
			}
			continue
		}
		if u := ulps(want, exact); u > worst {
			worst, at = u, x
		}
	}
	if worst > 2 {
		t.Errorf("Sigmoidf: %d ULP from the rounded value at %v", worst, at)
	}
	t.Logf("Sigmoidf: at most %d ULP from the rounded value", worst)
}

// TestSigmoidBackwardVec checks the AVX2 sigmoid backward bitwise against
// g·(1 − y)·y.
func TestSigmoidBackwardVec(t *testing.T) {
	r := rand.New(rand.NewPCG(15, 16))
	for _, n := range []int{1, 7, 8, 9, 100, 1001} {
		g, y, gx := make([]float32, n), make([]float32, n), make([]float32, n)
		for i := range g {
			g[i], y[i] = float32(r.NormFloat64()), float32(r.Float64())
		}
		SigmoidBackward(g, y, gx)
		for i := range gx {
			if want := g[i] * (1 - y[i]) * y[i]; math.Float32bits(gx[i]) != math.Float32bits(want) {
				t.Fatalf("n=%d [%d]: %v, want %v", n, i, gx[i], want)
			}
		}
	}
}
