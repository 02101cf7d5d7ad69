package kernels

import (
	"math"
	"math/rand"
	"testing"
)

// TestBCEWLVecMatchesScalar: the eight-lane bceWL32AVX2 pass equals the
// loops (AVX2 off) bit for bit, with and without pos_weight, gradient and
// mean division, for offsets, tails and special inputs, and equals
// BCEWLForward / BCEWLBackwardInput.
func TestBCEWLVecMatchesScalar(t *testing.T) {
	rng := rand.New(rand.NewSource(5))
	specials := []float32{0, float32(math.Copysign(0, -1)), float32(math.Inf(1)), float32(math.Inf(-1)), 1e-40, -1e-40, 100, -100, 88.7, -88.7, 1e-8, -1e-8}
	for _, size := range []int{1, 7, 8, 9, 64, 100, 1000, 4099} {
		for _, c := range []int{0, 1, 8, 64} {
			for _, nan := range []bool{false, true} {
				x := make([]float32, size)
				y := make([]float32, size)
				for i := range x {
					x[i] = float32(rng.NormFloat64() * 6)
					if rng.Intn(10) == 0 {
						x[i] = specials[rng.Intn(len(specials))]
					}
					y[i] = rng.Float32()
				}
				if nan {
					x[rng.Intn(size)] = float32(math.NaN())
				}
				pw := make([]float32, c)
				for i := range pw {
					pw[i] = 0.5 + rng.Float32()
				}
				for _, off := range []int{0, 8, 64, 3} {
					for _, n := range []int{0, size} {
						run := func(avx bool) ([]float32, []float32) {
							old := setAVX2(avx)
							defer setAVX2(old)
							out, gx := make([]float32, size), make([]float32, size)
							e1, e2 := make([]float32, size), make([]float32, size)
							BCEWLVec(x, y, pw, off, out, e1, e2, gx, 1.5, n)
							return out, gx
						}
						o1, g1 := run(true)
						o2, g2 := run(false)
						for i := range o1 {
							if math.Float32bits(o1[i]) != math.Float32bits(o2[i]) || math.Float32bits(g1[i]) != math.Float32bits(g2[i]) {
								if !(o1[i] != o1[i] && o2[i] != o2[i] && g1[i] != g1[i] && g2[i] != g2[i]) {
									t.Fatalf("size %d c %d off %d n %d i %d x %v: vec %v %v scalar %v %v", size, c, off, n, i, x[i], o1[i], g1[i], o2[i], g2[i])
								}
							}
						}
						if off != 0 || c == 1 || nan {
							continue
						}
						// against the general float64-emulating kernels
						x64, y64 := make([]float64, size), make([]float64, size)
						var pw64 []float64
						for i := range x {
							x64[i], y64[i] = float64(x[i]), float64(y[i])
						}
						if c > 0 {
							pw64 = make([]float64, size)
							for i := range pw64 {
								pw64[i] = float64(pw[i%c])
							}
						}
						p := BCEWLPrec{X: BCEPrecF32, Y: BCEPrecF32, PW: BCEPrecF32, W: BCEPrecF32, G: BCEPrecF32 | BCEZeroDim}
						lo, gg := make([]float64, size), make([]float64, size)
						BCEWLForward(x64, y64, pw64, nil, p, lo)
						BCEWLBackwardInput(x64, y64, pw64, nil, p, func(int) float64 { return 1.5 }, n > 0, gg)
						for i := range lo {
							if float32(lo[i]) != o1[i] && !(o1[i] != o1[i]) || float32(gg[i]) != g1[i] && !(g1[i] != g1[i]) {
								t.Fatalf("general: size %d c %d n %d i %d x %v: vec %v %v general %v %v", size, c, n, i, x[i], o1[i], g1[i], lo[i], gg[i])
							}
						}
					}
				}
			}
		}
	}
}

// TestBCEWLVecBlocks: the eight-lane pass (three phases over blocks of
// 256 elements) equals the loops bit for bit for every length 1..600 and
// lengths over one block and one fused chunk, pos_weight periods that
// do and do not divide the block (24, 296 > 256 elements), with and without
// a gradient, and mean divisors 2^22 (multiplied by 2^-22), 3·2^20 and
// 2^24+1 (float32 2^24) with upstream gradients so small that the quotients
// are subnormal.
func TestBCEWLVecBlocks(t *testing.T) {
	rng := rand.New(rand.NewSource(9))
	specials := []float32{0, float32(math.Copysign(0, -1)), float32(math.Inf(1)), float32(math.Inf(-1)), 1e-40, -1e-40, 100, -100, 88.7, -88.7, 1e-8, -1e-8}
	sizes := []int{}
	for k := 1; k <= 600; k++ {
		sizes = append(sizes, k)
	}
	sizes = append(sizes, 1023, 1024, 1031, 1<<15+77)
	check := func(size, c, off, n int, u float32, grad bool, x, y, pw []float32) {
		t.Helper()
		run := func(avx bool) ([]float32, []float32) {
			old := setAVX2(avx)
			defer setAVX2(old)
			out := make([]float32, size)
			e1, e2 := make([]float32, size), make([]float32, size)
			var gx []float32
			if grad {
				gx = make([]float32, size)
			}
			BCEWLVec(x, y, pw, off, out, e1, e2, gx, u, n)
			return out, gx
		}
		o1, g1 := run(true)
		o2, g2 := run(false)
		for i := range o1 {
			if math.Float32bits(o1[i]) != math.Float32bits(o2[i]) {
				t.Fatalf("size %d c %d off %d n %d u %v i %d x %v: loss vec %v scalar %v", size, c, off, n, u, i, x[i], o1[i], o2[i])
			}
			if grad && math.Float32bits(g1[i]) != math.Float32bits(g2[i]) {
				t.Fatalf("size %d c %d off %d n %d u %v i %d x %v: grad vec %v (%#x) scalar %v (%#x)", size, c, off, n, u, i, x[i], g1[i], math.Float32bits(g1[i]), g2[i], math.Float32bits(g2[i]))
			}
		}
	}
	subnormal := 0
	for _, size := range sizes {
		x := make([]float32, size)
		y := make([]float32, size)
		for i := range x {
			x[i] = float32(rng.NormFloat64() * 4)
			if rng.Intn(20) == 0 {
				x[i] = specials[rng.Intn(len(specials))]
			}
			y[i] = rng.Float32()
		}
		for _, c := range []int{0, 8, 24, 64, 296} {
			pw := make([]float32, c)
			for i := range pw {
				pw[i] = 0.5 + rng.Float32()
			}
			off := 0
			if c > 0 {
				off = 8 * rng.Intn(c/8+2)
			}
			for _, n := range []int{0, 1 << 22, 3 << 20, 1<<24 + 1, size} {
				us := []float32{1.5}
				if n != 0 && (size <= 64 || size > 600) {
					us = append(us, 1e-33, 3e-37, -2e-38)
				}
				for _, u := range us {
					check(size, c, off, n, u, true, x, y, pw)
					if n == 0 && u == 1.5 {
						check(size, c, off, n, u, false, x, y, pw)
					}
				}
				if n == 1<<22 && c == 8 {
					gx := make([]float32, size)
					BCEWLVec(x, y, pw, off, make([]float32, size), make([]float32, size), make([]float32, size), gx, 1e-33, n)
					for _, g := range gx {
						if g != 0 && math.Abs(float64(g)) < 0x1p-126 {
							subnormal++
						}
					}
				}
			}
		}
	}
	if subnormal == 0 {
		t.Fatal("no subnormal gradient was tested")
	}
}

func TestLogfsMatchesScalar(t *testing.T) {
	rng := rand.New(rand.NewSource(6))
	src := make([]float32, 5003)
	for i := range src {
		src[i] = math.Float32frombits(rng.Uint32())
		if rng.Intn(3) == 0 {
			src[i] = rng.Float32() * 10
		}
	}
	dst := make([]float32, len(src))
	Logfs(dst, src)
	for i, v := range src {
		if w := Logf(v); math.Float32bits(w) != math.Float32bits(dst[i]) && !(w != w && dst[i] != dst[i]) {
			t.Fatalf("Logfs(%v) = %v, Logf %v", v, dst[i], w)
		}
	}
	cp := append([]float32(nil), src...)
	Logfs(cp, cp)
	for i := range cp {
		if math.Float32bits(cp[i]) != math.Float32bits(dst[i]) {
			t.Fatalf("in place differs at %d", i)
		}
	}
}
