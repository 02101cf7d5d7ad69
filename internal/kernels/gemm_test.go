package kernels

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/torchloss/torchloss/internal/parallel"
)

func randSlice[T Float](r *rand.Rand, n int) []T {
	s := make([]T, n)
	for i := range s {
		s[i] = T(r.NormFloat64())
	}
	return s
}

// refNN is C = A·B (+ C0) in float64, and Σ|A||B| for the error bound.
func refNN[T Float](m, n, k int, a []T, ars, aks int, b []T, brs int) (c, mag []float64) {
	c, mag = make([]float64, m*n), make([]float64, m*n)
	for i := range m {
		for j := range n {
			var s, g float64
			for p := range k {
				v := float64(a[i*ars+p*aks]) * float64(b[p*brs+j])
				s += v
				g += math.Abs(v)
			}
			c[i*n+j], mag[i*n+j] = s, g
		}
	}
	return c, mag
}

// within checks got against the float64 reference: a k-term dot product
// in T is within k·u·Σ|a·b| of the exact value (u the unit roundoff).
func within[T Float](t *testing.T, what string, got []T, want, mag []float64, k int) {
	t.Helper()
	u := 0x1p-53
	if Is32[T]() {
		u = 0x1p-24
	}
	for i := range want {
		bound := float64(k+2)*u*mag[i] + 1e-300
		if d := math.Abs(float64(got[i]) - want[i]); !(d <= bound) {
			t.Fatalf("%s: element %d = %v, want %v (|diff| %g > %g)", what, i, got[i], want[i], d, bound)
		}
	}
}

func TestFma32(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 200000 {
		a, b, c := float32(r.NormFloat64()), float32(r.NormFloat64()), float32(r.NormFloat64())
		got := fma32(a, b, c)
		// Reference: exact a·b + c by big rounding through math.FMA in
		// float64 is exact here when the float64 sum is exact; check the
		// float32 result is a correctly rounded neighbour.
		ex := float64(a)*float64(b) + float64(c)
		lo, hi := math.Nextafter32(got, float32(math.Inf(-1))), math.Nextafter32(got, float32(math.Inf(1)))
		if math.Abs(float64(got)-ex) > math.Abs(float64(lo)-ex) || math.Abs(float64(got)-ex) > math.Abs(float64(hi)-ex) {
			t.Fatalf("fma32(%v, %v, %v) = %v, not the nearest float32 to %v", a, b, c, got, ex)
		}
	}
	// A double-rounding case: a·b + c whose float64 rounding lands on a
	// float32 tie. 1 + 2^-24 + 2^-60 rounds up in one step.
	a, b, c := float32(1+0x1p-23), float32(0.5), float32(0.5) // a·b = 0.5 + 2^-24
	if got := fma32(a, b, c); got != 1 {                      // tie, to even: 1
		t.Fatalf("fma32 tie: %v", got)
	}
}

func TestGemmNN(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, sz := range [][3]int{{1, 1, 1}, {6, 16, 1}, {7, 17, 3}, {13, 40, 300}, {50, 530, 70}, {6, 16, 513}, {200, 33, 9}} {
		m, n, k := sz[0], sz[1], sz[2]
		for _, trans := range []bool{false, true} {
			a := randSlice[float32](r, m*k)
			ars, aks := k, 1
			if trans {
				ars, aks = 1, m
			}
			b := randSlice[float32](r, k*n)
			want, mag := refNN(m, n, k, a, ars, aks, b, n)
			for _, packB := range []bool{false, true} {
				c := make([]float32, m*n)
				GemmNN(m, n, k, a, ars, aks, b, n, c, n, false, packB, nil)
				within(t, "GemmNN", c, want, mag, k)
				if gemmAsm() {
					c2 := make([]float32, m*n)
					old := setAVX2(false)
					GemmNN(m, n, k, a, ars, aks, b, n, c2, n, false, packB, nil)
					setAVX2(old)
					for i := range c {
						if math.Float32bits(c[i]) != math.Float32bits(c2[i]) {
							t.Fatalf("%v: assembly and Go differ at %d: %v vs %v", sz, i, c[i], c2[i])
						}
					}
				}
				// acc adds the product to C.
				c3 := make([]float32, m*n)
				for i := range c3 {
					c3[i] = 1
				}
				GemmNN(m, n, k, a, ars, aks, b, n, c3, n, true, packB, nil)
				for i := range c3 {
					if d := math.Abs(float64(c3[i]) - 1 - want[i]); d > float64(k+4)*0x1p-24*(mag[i]+1) {
						t.Fatalf("acc: element %d: %v, want 1 + %v", i, c3[i], want[i])
					}
				}
			}
			a64, b64 := make([]float64, len(a)), make([]float64, len(b))
			for i := range a {
				a64[i] = float64(a[i])
			}
			for i := range b {
				b64[i] = float64(b[i])
			}
			c64 := make([]float64, m*n)
			ParGemmNN(m, n, k, a64, ars, aks, b64, n, c64, n, false)
			within(t, "ParGemmNN float64", c64, want, mag, k)
		}
	}
}

func TestGemmNT(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, sz := range [][3]int{{1, 1, 1}, {4, 3, 8}, {5, 7, 3}, {9, 100, 17}, {64, 300, 256}, {3, 2, 1000}} {
		m, n, k := sz[0], sz[1], sz[2]
		a, b, bias := randSlice[float32](r, m*k), randSlice[float32](r, n*k), randSlice[float32](r, n)
		bt := make([]float32, k*n)
		for j := range n {
			for p := range k {
				bt[p*n+j] = b[j*k+p]
			}
		}
		want, mag := refNN(m, n, k, a, k, 1, bt, n)
		for _, withBias := range []bool{false, true} {
			var bs []float32
			if withBias {
				bs = bias
			}
			c := make([]float32, m*n)
			GemmNT(m, n, k, a, k, b, k, c, n, bs)
			w := append([]float64{}, want...)
			mg := append([]float64{}, mag...)
			if withBias {
				for i := range w {
					w[i] += float64(bias[i%n])
					mg[i] += math.Abs(float64(bias[i%n]))
				}
			}
			within(t, "GemmNT", c, w, mg, k+1)
			// Every element is ntDot of its row and column, wherever its
			// tile falls, with the assembly or without.
			for i := range m {
				for j := range n {
					v := ntDot(a[i*k:i*k+k], b[j*k:j*k+k])
					if withBias {
						v += bias[j]
					}
					if math.Float32bits(v) != math.Float32bits(c[i*n+j]) {
						t.Fatalf("%v (%d, %d): %v, ntDot gives %v", sz, i, j, c[i*n+j], v)
					}
				}
			}
		}
	}
}

func TestParGemmDeterministic(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	m, n, k := 400, 1100, 300
	a, b := randSlice[float32](r, m*k), randSlice[float32](r, k*n)
	run := func(th int) ([]float32, []float32) {
		defer parallel.SetThreads(parallel.Threads())
		parallel.SetThreads(th)
		c1, c2 := make([]float32, m*n), make([]float32, m*m)
		ParGemmNN(m, n, k, a, k, 1, b, n, c1, n, false)
		ParGemmNT(m, m, k, a, k, a, k, c2, m, nil)
		return c1, c2
	}
	x1, y1 := run(1)
	for _, th := range []int{2, 3, 7} {
		x, y := run(th)
		for i := range x {
			if math.Float32bits(x[i]) != math.Float32bits(x1[i]) {
				t.Fatalf("ParGemmNN differs at %d with %d threads", i, th)
			}
		}
		for i := range y {
			if math.Float32bits(y[i]) != math.Float32bits(y1[i]) {
				t.Fatalf("ParGemmNT differs at %d with %d threads", i, th)
			}
		}
	}
}

func benchGemm(b *testing.B, nt bool) {
	r := rand.New(rand.NewPCG(9, 9))
	m, n, k := 1024, 1024, 256
	a, bb := randSlice[float32](r, m*k), randSlice[float32](r, k*n)
	c := make([]float32, m*n)
	b.SetBytes(0)
	for b.Loop() {
		if nt {
			GemmNT(m, n/4, k, a, k, bb, k, c, n, nil)
		} else {
			GemmNN(m, n, k, a, k, 1, bb, n, c, n, false, true, nil)
		}
	}
	flops := 2.0 * float64(m*n*k)
	if nt {
		flops /= 4
	}
	b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

func BenchmarkGemmNN(b *testing.B) { benchGemm(b, false) }
func BenchmarkGemmNT(b *testing.B) { benchGemm(b, true) }

// TestGemmNNPacked checks that a product with B packed once (PackB) is
// bitwise GemmNN's.
func TestGemmNNPacked(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for _, sz := range [][3]int{{13, 40, 60}, {510, 256, 72}, {7, 600, 256}, {6, 16, 1}} {
		m, n, k := sz[0], sz[1], sz[2]
		a, b := randSlice[float32](r, m*k), randSlice[float32](r, k*n)
		want, got := randSlice[float32](r, m*n), make([]float32, m*n)
		copy(got, want)
		GemmNN(m, n, k, a, 1, m, b, n, want, n, true, true, nil)
		GemmNNPacked(m, n, k, a, 1, m, PackB(b, n, k, n), got, n, true, nil)
		for i := range want {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				t.Fatalf("%v: element %d: %v, GemmNN %v", sz, i, got[i], want[i])
			}
		}
	}
}
