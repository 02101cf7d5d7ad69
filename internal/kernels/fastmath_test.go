package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// ulps returns the distance in float32 ULPs between a and b (0 when both are
// the same NaN class or equal; a large number when only one is NaN).
func ulps(a, b float32) int64 {
	if a != a || b != b {
		if a != a && b != b {
			return 0
		}
		return 1 << 40
	}
	if a == b {
		return 0
	}
	ia, ib := int64(math.Float32bits(a)), int64(math.Float32bits(b))
	if ia < 0 || ia>>31 != 0 {
		ia = -(ia & 0x7fffffff)
	}
	if ib>>31 != 0 {
		ib = -(ib & 0x7fffffff)
	}
	d := ia - ib
	if d < 0 {
		d = -d
	}
	return d
}

// TestFast32 compares Exp32, Log32 and Log1p32 with the math package's
// float64 functions rounded to float32 over specials and 2^24 inputs: random
// bit patterns (every binade, subnormals and NaNs included) and a dense
// sweep of the ranges where the functions are used most.
func TestFast32(t *testing.T) {
	specials := []float32{0, float32(math.Copysign(0, -1)), 1, -1, 0.5, -0.5, 2, 1e-45, -1e-45, 1e-38, 1.17549435e-38,
		88.72, 88.73, 88.8, -87.3, -103.9, -104, -104.1, 3.4028235e38, -3.4028235e38,
		float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()), 0x1p-29, -0x1p-29, 0x1.0p-30, 1 - 0x1p-24, 1 + 0x1p-23}
	r := rand.New(rand.NewPCG(1, 2))
	xs := append([]float32{}, specials...)
	for i := 0; i < 1<<23; i++ {
		xs = append(xs, math.Float32frombits(r.Uint32()))
	}
	for i := 0; i < 1<<23; i++ {
		xs = append(xs, float32(r.Float64()*240-120))
	}
	type fn struct {
		name string
		fast func(float32) float32
		ref  func(float64) float64
	}
	for _, f := range []fn{{"Exp32", Exp32, math.Exp}, {"Log32", Log32, math.Log}, {"Log1p32", Log1p32, math.Log1p}} {
		var worst int64
		var at float32
		for _, x := range xs {
			want := float32(f.ref(float64(x)))
			if u := ulps(f.fast(x), want); u > worst {
				worst, at = u, x
			}
		}
		if worst > 1 {
			t.Errorf("%s: %d ULP from math at %v (%v, want %v)", f.name, worst, at, f.fast(at), float32(f.ref(float64(at))))
		} else {
			t.Logf("%s: at most %d ULP from math", f.name, worst)
		}
	}
}

func BenchmarkExp32(b *testing.B) {
	x := make([]float32, 4096)
	for i := range x {
		x[i] = float32(i)/256 - 8
	}
	y := make([]float32, len(x))
	b.Run("fast", func(b *testing.B) {
		for b.Loop() {
			for i, v := range x {
				y[i] = Exp32(v)
			}
		}
	})
	b.Run("math", func(b *testing.B) {
		for b.Loop() {
			for i, v := range x {
				y[i] = float32(math.Exp(float64(v)))
			}
		}
	})
	b.Run("log-fast", func(b *testing.B) {
		for b.Loop() {
			for i, v := range x {
				y[i] = Log32(v + 9)
			}
		}
	})
	b.Run("log-math", func(b *testing.B) {
		for b.Loop() {
			for i, v := range x {
				y[i] = float32(math.Log(float64(v + 9)))
			}
		}
	})
}

// TestSliceMatchesScalar checks that Exps, Logs and Log1ps (the AVX2
// path where the CPU has it) are bitwise identical to the scalar functions,
// specials in every lane position and odd lengths included.
func TestSliceMatchesScalar(t *testing.T) {
	t.Logf("AVX2: %v", hasAVX2)
	r := rand.New(rand.NewPCG(3, 4))
	specials := []float32{0, float32(math.Copysign(0, -1)), 1, -1, 1e-45, -1e-45, 88.8, 88.81, -104, -104.01, 3.4028235e38,
		float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()), 0x1p-29, -0x1p-29, 0x1p-30, -0.99999994}
	for _, n := range []int{0, 1, 3, 4, 5, 255, 256, 257, 1000, 1 << 16} {
		src := make([]float32, n)
		for i := range src {
			switch r.IntN(4) {
			case 0:
				src[i] = math.Float32frombits(r.Uint32())
			case 1:
				src[i] = specials[r.IntN(len(specials))]
			default:
				src[i] = float32(r.NormFloat64() * 10)
			}
		}
		if n == 1<<16 { // a block without specials
			for i := range src {
				src[i] = float32(r.Float64()*200 - 100)
			}
		}
		dst := make([]float32, n)
		for _, f := range []struct {
			name   string
			slice  func(d, s []float32)
			scalar func(float32) float32
		}{{"Exps", Exps[float32], Exp32}, {"Logs", Logs[float32], Log32}, {"Log1ps", Log1ps[float32], Log1p32}} {
			f.slice(dst, src)
			inPlace := append([]float32{}, src...)
			f.slice(inPlace, inPlace)
			for i, x := range src {
				if math.Float32bits(dst[i]) != math.Float32bits(inPlace[i]) && !(dst[i] != dst[i] && inPlace[i] != inPlace[i]) {
					t.Fatalf("%s(n=%d)[%d] in place = %v, want %v", f.name, n, i, inPlace[i], dst[i])
				}
				want := f.scalar(x)
				if math.Float32bits(dst[i]) != math.Float32bits(want) && !(dst[i] != dst[i] && want != want) {
					t.Fatalf("%s(n=%d)[%d] = %v (%#x), scalar %v, x = %v", f.name, n, i, dst[i], math.Float32bits(dst[i]), want, x)
				}
			}
		}
	}
}

func BenchmarkSlice(b *testing.B) {
	x := make([]float32, 4096)
	for i := range x {
		x[i] = float32(i)/256 + 0.001
	}
	y := make([]float32, len(x))
	b.Run("Exps", func(b *testing.B) {
		for b.Loop() {
			Exps(y, x)
		}
	})
	b.Run("Logs", func(b *testing.B) {
		for b.Loop() {
			Logs(y, x)
		}
	})
	b.Run("Log1ps", func(b *testing.B) {
		for b.Loop() {
			Log1ps(y, x)
		}
	})
}
