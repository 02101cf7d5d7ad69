// Package kernels holds torchloss's numeric kernels: plain functions over
// flat slices, generic over float32 and float64, with no knowledge of
// tensors, shapes or autograd. Each loss family has a file with its forward
// and backward kernels; this file has what they share: the element-type
// constraint, scalar transcendentals rounded to the element type, and
// PyTorch's summation order.
//
// Keeping the kernels here, apart from the public API, lets later work fuse,
// vectorize and parallelize them (or add a second set for another device)
// without touching the functional package.
package kernels

import "math"

// Float is the constraint of the element types of the kernels.
type Float interface{ float32 | float64 }

// Is32 reports whether T is float32.
func Is32[T Float]() bool {
	var z T
	_, ok := any(z).(float32)
	return ok
}

// Exp returns e**x rounded to T: for float32, Exp32 (within 1 ULP of the
// correctly rounded result, as glibc's expf and SLEEF's expf_u10, the
// functions PyTorch calls, are); for float64, math.Exp.
func Exp[T Float](x T) T {
	if Is32[T]() {
		return T(Exp32(float32(x)))
	}
	return T(math.Exp(float64(x)))
}

// Log returns the natural logarithm of x rounded to T (Log32 for float32).
func Log[T Float](x T) T {
	if Is32[T]() {
		return T(Log32(float32(x)))
	}
	return T(math.Log(float64(x)))
}

// Log1p returns log(1+x) rounded to T (Log1p32 for float32).
func Log1p[T Float](x T) T {
	if Is32[T]() {
		return T(Log1p32(float32(x)))
	}
	return T(math.Log1p(float64(x)))
}

// Sqrt returns the square root of x (correctly rounded for both types).
func Sqrt[T Float](x T) T { return T(math.Sqrt(float64(x))) }

// Abs returns |x|.
func Abs[T Float](x T) T { return T(math.Abs(float64(x))) }

// Inf returns +inf of type T for sign >= 0, else -inf.
func Inf[T Float](sign int) T { return T(math.Inf(sign)) }

// NaN returns a NaN of type T.
func NaN[T Float]() T { return T(math.NaN()) }

// Max returns the larger of a and b the way C++'s std::max does
// ((a < b) ? b : a): a NaN in a propagates, a NaN in b does not.
func Max[T Float](a, b T) T {
	if a < b {
		return b
	}
	return a
}

// ClampMin returns max(x, lo) as torch.clamp_min does: NaN propagates.
func ClampMin[T Float](x, lo T) T {
	if x != x {
		return x
	}
	if x < lo {
		return lo
	}
	return x
}

// ceilLog2 is ATen's CeilLog2 (aten/src/ATen/native/cpu/utils.h).
func ceilLog2(x int) int {
	if x <= 2 {
		return 1
	}
	b := 0
	for v := x - 1; v > 0; v >>= 1 {
		b++
	}
	return b
}

// Sum returns the sum of x in the order PyTorch's CPU sum kernel uses for a
// contiguous tensor (aten/src/ATen/native/cpu/SumKernel.cpp, the AVX2 kernel:
// 8 float32 or 4 float64 lanes, four columns, a multi-level cascade), so that
// float32 means and sums agree with PyTorch's bit for bit where that
// algorithm was verified (docs/semantics.md §1.3). On amd64 with AVX2 the
// float32 row additions run in assembly (addRows32AVX2), in the same order.
func Sum[T Float](x []T) T {
	src := rowSource[T]{x: x}
	return sumCascade(len(x), &src)
}

// sumCascade is Sum's algorithm over the n values src delivers: whole rows
// of four w-lane vectors go through src.rows into the column accumulators,
// the rest (fewer than 4w values) comes from src.tail. Sum and the fused
// loss-and-sum kernels (sumfused.go) share it, so they add in the same
// order.
func sumCascade[T Float](n int, src *rowSource[T]) T {
	w := vecWidth[T]()
	nvec := n / w
	if nvec == 0 {
		return 0 + rowSum(src.tail(0), 0, 1, n)
	}
	c := newCascade[T](nvec)
	var acc [4][4][8]T
	i := 0
	for i+c.step <= c.rows {
		src.rows(&acc[0], i, c.step, w)
		i += c.step
		c.carry(&acc, i, w)
	}
	src.rows(&acc[0], i, c.rows-i, w)
	return c.finish(&acc, src.tail(c.rows*4*w), nvec, w)
}

// cascade is the shape of Sum's algorithm for nvec ≥ 1 vectors of w
// lanes: rows of four vectors go to the level-0 column accumulators step
// rows at a time, each step followed by carry; the last partial step and
// the rest are combined by finish. Kernels that compute several sums in
// one pass (cosine's three) run one cascade per sum with the same steps.
type cascade[T Float] struct {
	rows, lp, step, mask int
}

func newCascade[T Float](nvec int) cascade[T] {
	rows := nvec / 4
	lp := max(4, ceilLog2(rows)/4)
	return cascade[T]{rows: rows, lp: lp, step: 1 << lp, mask: 1<<lp - 1}
}

// carry moves the lower levels' sums up after row i (acc[level][column][lane]).
func (c cascade[T]) carry(acc *[4][4][8]T, i, w int) {
	for j := 1; j < 4; j++ {
		for k := 0; k < 4; k++ {
			for l := 0; l < w; l++ {
				acc[j][k][l] += acc[j-1][k][l]
				acc[j-1][k][l] = 0
			}
		}
		if i&(c.mask<<(j*c.lp)) != 0 {
			break
		}
	}
}

// finish combines the levels, adds rest (the values after the c.rows
// whole rows: nvec − 4·c.rows vectors, then fewer than w values) and the
// lanes, and returns the sum.
func (c cascade[T]) finish(acc *[4][4][8]T, rest []T, nvec, w int) T {
	for j := 1; j < 4; j++ {
		for k := 0; k < 4; k++ {
			for l := 0; l < w; l++ {
				acc[0][k][l] += acc[j][k][l]
			}
		}
	}
	return c.finishLevel0(&acc[0], rest, nvec, w)
}

// finishLevel0 is finish once the levels are combined into part. A sum
// short enough that no carry ran (c.rows < c.step) may start here: its
// upper levels are +0, and adding +0 changes no accumulator (one that
// started at +0 is never −0).
func (c cascade[T]) finishLevel0(part *[4][8]T, rest []T, nvec, w int) T {
	for r := 0; r < nvec-c.rows*4; r++ {
		v := rest[r*w : r*w+w]
		for l := 0; l < w; l++ {
			part[0][l] += v[l]
		}
	}
	for k := 1; k < 4; k++ {
		for l := 0; l < w; l++ {
			part[0][l] += part[k][l]
		}
	}
	var f T
	for k := nvec*w - c.rows*4*w; k < len(rest); k++ {
		f += rest[k]
	}
	for l := 0; l < w; l++ {
		f += part[0][l]
	}
	return 0 + f
}

// addRows adds count rows of four w-lane vectors of x, from row i, to the
// column accumulators acc (addRows32AVX2 is its AVX2 form for float32).
func addRows[T Float](acc *[4][8]T, x []T, i, count, w int) {
	for r := i; r < i+count; r++ {
		for k := 0; k < 4; k++ {
			v := x[(r*4+k)*w : (r*4+k)*w+w]
			a := &acc[k]
			for l := range v {
				a[l] += v[l]
			}
		}
	}
}

// Mean returns Sum(x) / len(x) in T, as PyTorch's mean (NaN when empty).
func Mean[T Float](x []T) T { return Sum(x) / T(len(x)) }
