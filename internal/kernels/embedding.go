package kernels

// This file holds the kernels of the embedding losses (cosine_embedding_loss,
// hinge_embedding_loss) and the sum over one dimension that
// cosine_embedding_loss and multilabel_soft_margin_loss reduce with.

import "unsafe"

// Narrow rounds v to float32 when f32 is true: it emulates an operation that
// PyTorch computes in float32 inside a float64 computation (mixed-dtype
// arguments). An IEEE +, −, ×, ÷ or √ of float32 values done in float64 and
// rounded once to float32 is the float32 operation's result, so a float64
// kernel that narrows after each such step reproduces the float32 one.
func Narrow[T Float](v T, f32 bool) T {
	if f32 {
		return T(float32(v))
	}
	return v
}

// vecWidth is the lane count of ATen's AVX2 sum kernel for T.
func vecWidth[T Float]() int {
	if Is32[T]() {
		return 8
	}
	return 4
}

// multiRowSum is ATen's multi_row_sum (SumKernel.cpp) over k ≤ 4 columns:
// column c sums x[base + i·rowStride + c·colStride] for i < size, in order,
// with the four-level cascade that keeps long sums accurate.
func multiRowSum[T Float](x []T, base, rowStride, colStride, size, k int) [4]T {
	const levels = 4
	lp := max(4, ceilLog2(size)/levels)
	step := 1 << lp
	mask := step - 1
	var acc [levels][4]T
	i := 0
	for i+step <= size {
		for j := 0; j < step; j++ {
			for c := 0; c < k; c++ {
				acc[0][c] += x[base+i*rowStride+c*colStride]
			}
			i++
		}
		for j := 1; j < levels; j++ {
			for c := 0; c < k; c++ {
				acc[j][c] += acc[j-1][c]
				acc[j-1][c] = 0
			}
			if i&(mask<<(j*lp)) != 0 {
				break
			}
		}
	}
	for ; i < size; i++ {
		for c := 0; c < k; c++ {
			acc[0][c] += x[base+i*rowStride+c*colStride]
		}
	}
	for j := 1; j < levels; j++ {
		for c := 0; c < k; c++ {
			acc[0][c] += acc[j][c]
		}
	}
	return acc[0]
}

// rowSum is ATen's scalar row_sum: the size values x[base + i·stride] seen
// as rows of four (ILP), each column summed by multiRowSum, the leftover
// values added to column 0, then the columns combined.
func rowSum[T Float](x []T, base, stride, size int) T {
	ilp := size / 4
	p := multiRowSum(x, base, 4*stride, stride, ilp, 4)
	for i := ilp * 4; i < size; i++ {
		p[0] += x[base+i*stride]
	}
	for c := 1; c < 4; c++ {
		p[0] += p[c]
	}
	return p[0]
}

// SumDim sums x, of shape (outer, n, inner) in row-major order, over its
// middle dimension into out (outer·inner values), in the order of PyTorch's
// CPU sum kernel (SumKernel.cpp, cascade_sum):
//
//   - inner == 1 (the reduced dimension is contiguous): a row of n ≥ W
//     values (W = 8 float32 or 4 float64 lanes) is summed like Sum (the
//     vectorized inner sum); a shorter row by the scalar row_sum, whose
//     four interleaved partial sums differ from left-to-right order;
//   - inner > 1: with inner ≥ W, the columns in whole blocks of 4·W are each
//     summed in order with the cascade (vectorized multi_row_sum), the
//     others by row_sum; with inner < W, whole groups of four columns in
//     order with the cascade, the remaining columns by row_sum.
//
// Each result is stored as 0 + sum, as the kernel adds into a zeroed output.
func SumDim[T Float](x []T, outer, n, inner int, out []T) {
	w := vecWidth[T]()
	for o := 0; o < outer; o++ {
		base := o * n * inner
		if inner == 1 {
			if n >= w {
				out[o] = Sum(x[base : base+n])
			} else {
				out[o] = 0 + rowSum(x, base, 1, n)
			}
			continue
		}
		// Columns summed in order (cascade) form the prefix [0, ordered).
		var ordered int
		if inner >= w {
			ordered = inner / (4 * w) * (4 * w)
		} else {
			ordered = inner / 4 * 4
		}
		for j := 0; j < inner; j++ {
			var s T
			if j < ordered {
				s = multiRowSum(x, base+j, inner, 0, n, 1)[0]
			} else {
				s = rowSum(x, base+j, inner, n)
			}
			out[o*inner+j] = 0 + s
		}
	}
}

// Target classes of the embedding losses: a target element equal to 1, to
// −1, or to anything else (NaN included).
const (
	TargetOther int8 = 0
	TargetPos   int8 = 1
	TargetNeg   int8 = -1
)

// SelfDot writes out[r] = Σ_k x[r·d + k]² + eps for each of the rows of d
// values: cosine_embedding_loss's squared magnitude (x * x).sum(dim) +
// EPSILON, summed like SumDim.
func SelfDot[T Float](x []T, rows, d int, eps T, out []T) {
	sq := make([]T, len(x))
	for i, v := range x {
		sq[i] = v * v
	}
	SumDim(sq, rows, d, 1, out)
	for i := range out {
		out[i] += eps
	}
}

// CosineForward computes cosine_embedding_loss from the row sums prod =
// Σ x1·x2, m1 = Σ x1² + ε and m2 = Σ x2² + ε (all of one shape):
//
//	den = sqrt(m1·m2), cos = prod / den.
func CosineForward[T Float](prod, m1, m2, cos, den []T) {
	for i := range cos {
		den[i] = Sqrt(m1[i] * m2[i])
		cos[i] = prod[i] / den[i]
	}
}

// CosineLoss writes the per-element loss for the target classes:
//
//	out = where(t == 1, 1 − cos, 0) + where(t == −1, clamp_min(cos − margin, 0), 0).
//
// Other targets give 0.
func CosineLoss[T Float](cos []T, cls []int8, margin T, out []T) {
	for i := range out {
		switch cls[i] {
		case TargetPos:
			out[i] = 1 - cos[i]
		case TargetNeg:
			out[i] = ClampMin(cos[i]-margin, 0)
		default:
			out[i] = 0
		}
	}
}

// CosineBackward back-propagates through cos = prod / sqrt(m1·m2) as
// PyTorch's autograd does. gpos and gneg are the gradients reaching the
// where() branches, already summed to cos's shape: the cos gradient is
// −gpos + (cos − margin ≥ 0 ? gneg : 0) (clamp_min passes the gradient at
// equality). It writes gprod = gcos / den and gp, the gradient of the product
// m1·m2: gden = −gcos·((prod/den)/den), gp = gden / (2·den).
func CosineBackward[T Float](prod, cos, den, gpos, gneg []T, margin T, gprod, gp []T) {
	for i := range cos {
		gn := gneg[i]
		if !(cos[i]-margin >= 0) {
			gn = 0
		}
		gc := -gpos[i] + gn
		gprod[i] = gc / den[i]
		gden := -gc * ((prod[i] / den[i]) / den[i])
		gp[i] = gden / (2 * den[i])
	}
}

// HingeForward writes hinge_embedding_loss per element:
//
//	out = where(t ≠ 1, clamp_min(margin − x, 0), 0) + where(t ≠ −1, x, 0)
//
// so t = 1 gives x, t = −1 gives max(0, margin − x) and any other target
// both terms.
func HingeForward[T Float](x []T, cls []int8, margin T, out []T) {
	if x32, ok := any(x).([]float32); ok {
		hingeForward32(x32, cls, float32(margin), f32s(out))
		return
	}
	for i := range out {
		var a, b T
		if cls[i] != TargetPos {
			a = ClampMin(margin-x[i], 0)
		}
		if cls[i] != TargetNeg {
			b = x[i]
		}
		out[i] = a + b
	}
}

// HingeBackward combines the gradients that reach hinge_embedding_loss's
// two branches, each already summed to the input's shape: gself (where
// t ≠ −1) passes unchanged, gmargin (where t ≠ 1) through clamp_min(margin −
// x, 0), which passes at equality, and the negation:
//
//	gx = gself − (margin − x ≥ 0 ? gmargin : 0).
func HingeBackward[T Float](x []T, margin T, gself, gmargin, gx []T) {
	for i := range gx {
		gm := gmargin[i]
		if !(margin-x[i] >= 0) {
			gm = 0
		}
		gx[i] = gself[i] + -gm
	}
}

// HingeBackwardConst is the gradient of hinge_embedding_loss when the input
// has the broadcast shape and every element receives the same upstream
// gradient up: HingeBackward with gself = [t ≠ −1]·up and
// gmargin = [t ≠ 1]·up, bit for bit.
func HingeBackwardConst[T Float](x []T, cls []int8, margin, up T, gx []T) {
	if x32, ok := any(x).([]float32); ok {
		hingeBackwardConst32(x32, cls, float32(margin), float32(up), f32s(gx))
		return
	}
	cls = cls[:len(x)]
	gx = gx[:len(x)]
	for i := range x {
		var gs, gm T
		if cls[i] != TargetNeg {
			gs = up
		}
		if cls[i] != TargetPos && margin-x[i] >= 0 {
			gm = up
		}
		gx[i] = gs + -gm
	}
}

// CosineRowSums returns cosine_embedding_loss's row sums Σ a·b, Σ a² and
// Σ b² of one pair of rows, each bit for bit Sum of its rounded products
// (what SumDim gives over the products written out): for float32 with
// AVX2 in one pass over both rows, the three sums running Sum's cascade
// side by side; otherwise from the products written to scratch (at least
// len(a) long).
func CosineRowSums[T Float](a, b, scratch []T) (p, s1, s2 T) {
	n := len(a)
	b = b[:n]
	if a32, ok := avx2F32(a); ok && n >= 8 {
		r, r1, r2 := cosineSums32(a32, f32s(b))
		return T(r), T(r1), T(r2)
	}
	q := scratch[:n]
	for j := range q {
		q[j] = a[j] * b[j]
	}
	p = Sum(q)
	for j, v := range a {
		q[j] = v * v
	}
	s1 = Sum(q)
	for j, v := range b {
		q[j] = v * v
	}
	s2 = Sum(q)
	return p, s1, s2
}

// cosineSums32 is CosineRowSums for float32 with AVX2 and len(a) ≥ 8:
// three cascades with sumCascade's steps, dot3Rows32AVX2 feeding their rows
// (dot3Sum32AVX2 the whole of a row too short for a carry).
func cosineSums32(a, b []float32) (p, s1, s2 float32) {
	const w = 8
	n := len(a)
	nvec := n / w
	c := newCascade[float32](nvec)
	if c.rows < c.step {
		var out [3]float32
		dot3Sum32AVX2(a, b, c.rows, &out)
		return out[0], out[1], out[2]
	}
	lo := c.rows * 32
	var tp, t1, t2 [32]float32
	m := n - lo
	for j := range m {
		x, y := a[lo+j], b[lo+j]
		tp[j], t1[j], t2[j] = x*y, x*x, y*y
	}
	var ap, a1, a2 [4][4][8]float32
	i := 0
	for i+c.step <= c.rows {
		dot3Rows32AVX2(&ap[0], &a1[0], &a2[0], a[i*32:(i+c.step)*32], b[i*32:(i+c.step)*32], c.step)
		i += c.step
		c.carry(&ap, i, w)
		c.carry(&a1, i, w)
		c.carry(&a2, i, w)
	}
	dot3Rows32AVX2(&ap[0], &a1[0], &a2[0], a[i*32:lo], b[i*32:lo], c.rows-i)
	return c.finish(&ap, tp[:m], nvec, w), c.finish(&a1, t1[:m], nvec, w), c.finish(&a2, t2[:m], nvec, w)
}

// CosineRowGrad writes g[j] = (gm·a[j] + gm·a[j]) + gp·b[j], each product
// rounded before the additions: the gradient of a row of input a of
// cosine_embedding_loss (gm the gradient of its squared magnitude, gp the
// gradient of the row's product with b). With nt, a float32 row whose g
// is 32-byte aligned is written with streaming stores; the caller calls
// RowFence before the rows are read.
func CosineRowGrad[T Float](a, b, g []T, gm, gp T, nt bool) {
	n := len(g)
	a, b = a[:n], b[:n]
	j := 0
	if g32, ok := avx2F32(g); ok {
		a32, b32 := f32s(a), f32s(b)
		if nt && uintptr(unsafe.Pointer(unsafe.SliceData(g32)))%32 == 0 {
			cosGrad32NTAVX2(a32, b32, g32, float32(gm), float32(gp))
		} else {
			cosGrad32AVX2(a32, b32, g32, float32(gm), float32(gp))
		}
		j = n &^ 7
	}
	cosineRowGradGeneric(a[j:], b[j:], g[j:], gm, gp)
}

// cosineRowGradGeneric is CosineRowGrad's pure-Go reference.
func cosineRowGradGeneric[T Float](a, b, g []T, gm, gp T) {
	for j := range g {
		r := gm * a[j]
		g[j] = (r + r) + T(gp*b[j])
	}
}

// RowFence orders the streaming stores of the row kernels before it (their
// nt forms leave it to the caller: one after a chunk of rows).
func RowFence() {
	if hasAVX2 {
		sfence()
	}
}
