package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// poissonSpecials returns the inputs and targets TestPoissonVecMatchesScalar
// mixes in: signed zeros, infinities, NaNs with distinct payloads and
// signs, Expf's clamp bounds and overflow, subnormals; for the target also
// 1 and its neighbours, values in (0, 1), negative and non-integer ones,
// the integers around poissonTab's range (−2 … 40) and their neighbours,
// values beyond int32, and the values around MaxFloat32/2π where 2π·t
// overflows. flag lists the targets poisson32AVX2 must leave to the scalar
// path.
func poissonSpecials() (xs, ts, flag []float32) {
	nan := func(bits uint32) float32 { return math.Float32frombits(bits) }
	inf := float32(math.Inf(1))
	negz := float32(math.Copysign(0, -1))
	xs = []float32{0, negz, inf, -inf, nan(0x7fc00000), nan(0xffc00001), nan(0x7fa00003), 88.7, 88.8, 88.80001, 89, 100,
		-87.3, -88, -103.9, -104, -104.1, -150, 1e-40, -1e-40, math.MaxFloat32, -math.MaxFloat32, 1, -1, 0.5, 20}
	big := float32(math.MaxFloat32) / float32(2*math.Pi)
	ts = []float32{0, negz, 1, math.Nextafter32(1, 2), math.Nextafter32(1, 0), 0.5, 1e-40, -1e-40, -3, -0.25, -inf,
		2.5, 3.7, 7, 1e6, 1e20, 1e30, math.Nextafter32(big, 0), 16777217, 31.5, 1 << 31, 1 << 32, -(1 << 31), 4e9}
	// The integers around poissonTab's range and their neighbours.
	for k := float32(-2); k <= 40; k++ {
		ts = append(ts, k, math.Nextafter32(k, -inf), math.Nextafter32(k, inf))
	}
	flag = []float32{nan(0x7fc00000), nan(0xffc00005), nan(0x7fa00007), inf, 1e38, math.MaxFloat32,
		math.Nextafter32(big, inf), math.Nextafter32(math.Nextafter32(big, inf), inf)}
	return
}

// poissonOverflows reports whether poisson32AVX2 must flag the target t:
// 2π·max(t, 1) is NaN or +inf.
func poissonOverflows(t float32) bool {
	b := float32(2*math.Pi) * max(t, 1)
	return !(b < float32(math.Inf(1)))
}

// TestPoissonVecMatchesScalar checks PoissonNLLLogInputVec's float32 AVX2
// path (poisson32AVX2 by blocks) against poissonNLLLogInputVecGeneric, the slice
// passes, with the AVX2 slice functions and with the pure-Go ones, bit for
// bit (any NaN matching any NaN: which payload a NaN operation returns
// depends on the compiler's operand order, which differs, e.g. under
// -race), special inputs and targets included, full or not, with and without the gradient; and poisson32AVX2 block by block:
// it must flag exactly the blocks with a target it cannot do, and match the
// scalar path bit for bit on the others.
func TestPoissonVecMatchesScalar(t *testing.T) {
	if !hasAVX2 {
		t.Skip("no AVX2")
	}
	xs, ts, flag := poissonSpecials()
	r := rand.New(rand.NewPCG(5, 6))
	var ns []int
	for n := 0; n <= 70; n++ {
		ns = append(ns, n)
	}
	ns = append(ns, 255, 256, 257, 1000, 32768+5)
	kernelBlocks, flaggedBlocks := 0, 0
	for _, n := range ns {
		for mode := 0; mode < 3; mode++ { // plain, specials, specials and flagged targets
			x := make([]float32, n)
			tg := make([]float32, n)
			for i := range x {
				x[i] = float32(r.NormFloat64()) * 3
				tg[i] = float32(r.IntN(9))
				switch {
				case mode == 0: // counts: the Stirling term from poissonTab, or computed where some lane is 32 or more
					tg[i] = float32(r.IntN(34))
				case r.IntN(4) == 0:
					tg[i] = float32(r.Float64() * 6)
				}
				if mode > 0 && r.IntN(8) == 0 {
					x[i] = xs[r.IntN(len(xs))]
				}
				if mode > 0 && r.IntN(8) == 0 {
					tg[i] = ts[r.IntN(len(ts))]
				}
				if mode == 2 && r.IntN(300) == 0 {
					tg[i] = flag[r.IntN(len(flag))]
				}
			}
			for _, full := range []bool{false, true} {
				for _, withGrad := range []bool{false, true} {
					u := float32(1) / 3
					name := fmt.Sprintf("n %d mode %d full %v grad %v", n, mode, full, withGrad)
					var outs, gxs [3][]float32
					for k := range outs {
						outs[k] = make([]float32, n)
						for i := range outs[k] {
							outs[k][i] = 12345 // overwritten
						}
						if withGrad {
							gxs[k] = make([]float32, n)
						}
						e, a, b := make([]float32, n), make([]float32, n), make([]float32, n)
						switch k {
						case 0:
							PoissonNLLLogInputVec(full, x, tg, outs[k], e, a, b, u, gxs[k])
						case 1:
							poissonNLLLogInputVecGeneric(full, x, tg, outs[k], e, a, b, u, gxs[k])
						case 2:
							old := setAVX2(false)
							PoissonNLLLogInputVec(full, x, tg, outs[k], e, a, b, u, gxs[k])
							setAVX2(old)
						}
					}
					for i := range x {
						for k := 1; k < 3; k++ {
							if !sameBits32(outs[0][i], outs[k][i]) {
								t.Fatalf("%s: out[%d] = %v (%#x), want %v (%#x) (path %d; x %v (%#x), t %v (%#x))", name, i,
									outs[0][i], math.Float32bits(outs[0][i]), outs[k][i], math.Float32bits(outs[k][i]), k,
									x[i], math.Float32bits(x[i]), tg[i], math.Float32bits(tg[i]))
							}
							if withGrad && !sameBits32(gxs[0][i], gxs[k][i]) {
								t.Fatalf("%s: gx[%d] = %v (%#x), want %v (%#x) (path %d; x %v, t %v)", name, i,
									gxs[0][i], math.Float32bits(gxs[0][i]), gxs[k][i], math.Float32bits(gxs[k][i]), k, x[i], tg[i])
							}
						}
					}
					// The kernel alone, block by block, against the scalar
					// result (outs[1], gxs[1]).
					for lo := 0; lo+8 <= n; lo += vecBlock {
						hi := min(lo+vecBlock, n&^7)
						o := make([]float32, hi-lo)
						var g []float32
						if withGrad {
							g = make([]float32, hi-lo)
						}
						got := poisson32AVX2(x[lo:hi], tg[lo:hi], o, g, u, full, &poissonTab)
						want := false
						for _, v := range tg[lo:hi] {
							want = want || full && poissonOverflows(v)
						}
						if got != want {
							t.Fatalf("%s: block [%d, %d) flagged %v, want %v", name, lo, hi, got, want)
						}
						if got {
							flaggedBlocks++
							continue
						}
						kernelBlocks++
						for i := range o {
							if !sameBits32(o[i], outs[1][lo+i]) {
								t.Fatalf("%s: kernel out[%d] = %v, want %v (x %v, t %v)", name, lo+i, o[i], outs[1][lo+i], x[lo+i], tg[lo+i])
							}
							if withGrad && !sameBits32(g[i], gxs[1][lo+i]) {
								t.Fatalf("%s: kernel gx[%d] = %v, want %v (x %v, t %v)", name, lo+i, g[i], gxs[1][lo+i], x[lo+i], tg[lo+i])
							}
						}
					}
				}
			}
		}
	}
	if kernelBlocks < 100 || flaggedBlocks < 20 {
		t.Fatalf("%d blocks by the kernel, %d flagged: the test does not exercise both", kernelBlocks, flaggedBlocks)
	}
}

// TestPoissonVecEveryTarget runs every special target against every special
// input, each pair in every lane position of a block, full and not.
func TestPoissonVecEveryTarget(t *testing.T) {
	if !hasAVX2 {
		t.Skip("no AVX2")
	}
	xs, ts, flag := poissonSpecials()
	ts = append(ts, flag...)
	var x, tg []float32
	for _, xv := range xs {
		for _, tv := range ts {
			x = append(x, xv)
			tg = append(tg, tv)
		}
	}
	n := len(x)
	for _, full := range []bool{false, true} {
		o1, o2 := make([]float32, n), make([]float32, n)
		g1, g2 := make([]float32, n), make([]float32, n)
		e, a, b := make([]float32, n), make([]float32, n), make([]float32, n)
		PoissonNLLLogInputVec(full, x, tg, o1, e, a, b, 0.25, g1)
		poissonNLLLogInputVecGeneric(full, x, tg, o2, e, a, b, 0.25, g2)
		for i := range x {
			if !sameBits32(o1[i], o2[i]) || !sameBits32(g1[i], g2[i]) {
				t.Fatalf("full %v: x %v (%#x), t %v (%#x): out %v gx %v, want %v and %v", full, x[i], math.Float32bits(x[i]),
					tg[i], math.Float32bits(tg[i]), o1[i], g1[i], o2[i], g2[i])
			}
		}
		// Eight lanes at a time through the kernel: every pair whose target
		// is not flagged, in each lane position.
		for _, xv := range xs {
			for _, tv := range ts {
				if full && poissonOverflows(tv) {
					continue
				}
				for lane := 0; lane < 8; lane++ {
					bx := []float32{0.5, -1, 2, 0, 1, 3, -2, 0.25}
					bt := []float32{0, 1, 2, 3, 4, 5, 0.5, 9}
					bx[lane], bt[lane] = xv, tv
					o, g := make([]float32, 8), make([]float32, 8)
					w, wg := make([]float32, 8), make([]float32, 8)
					if poisson32AVX2(bx, bt, o, g, 0.25, full, &poissonTab) {
						t.Fatalf("full %v: t %v flagged", full, tv)
					}
					poissonNLLLogInputVecGeneric(full, bx, bt, w, make([]float32, 8), make([]float32, 8), make([]float32, 8), 0.25, wg)
					for i := range o {
						if !sameBits32(o[i], w[i]) || !sameBits32(g[i], wg[i]) {
							t.Fatalf("full %v lane %d: x %v (%#x), t %v: out %v (%#x) gx %v, want %v (%#x) and %v", full, i, bx[i],
								math.Float32bits(bx[i]), bt[i], o[i], math.Float32bits(o[i]), g[i], w[i], math.Float32bits(w[i]), wg[i])
						}
					}
				}
			}
		}
	}
}

// sameBits32 reports whether a and b have the same bits, or are both NaN.
func sameBits32(a, b float32) bool {
	return math.Float32bits(a) == math.Float32bits(b) || a != a && b != b
}
