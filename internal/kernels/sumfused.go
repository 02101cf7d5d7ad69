package kernels

// This file is the fused loss-and-sum of the elementwise losses whose
// per-element loss would otherwise be written out only to be summed: the
// loss of each element is computed, added to Sum's column accumulators in
// Sum's order (sumCascade) and its gradient written, in one pass, so the sum
// is bit for bit Sum of the per-element losses.

import "unsafe"

// rowKind says what a rowSource delivers.
type rowKind uint8

const (
	rowsPlain rowKind = iota // the values of x (Sum)
	rowsMSE                  // (x−y)², writing gx = c·(x−y)
	rowsL1                   // |x−y|, writing gx = c·sgn(x−y)
	rowsKL                   // xlogy(y, y) − y·x (kl_div, y the target), writing gx = −c·y
)

// rowSource delivers the values sumCascade adds: x itself, or the
// per-element losses of (x, y), whose input gradients it writes to gx as it
// goes.
type rowSource[T Float] struct {
	kind     rowKind
	x, y, gx []T
	c        T    // the gradient's factor: norm for mse, the upstream gradient for l1
	nt       bool // gx is written with streaming stores
	special  bool // a row kernel met a lane it does not handle: recompute
	buf      [32]T
}

// rows adds rows r … r+count−1 (row r is the values [r·4w, (r+1)·4w)) to
// the column accumulators acc, in row order.
func (s *rowSource[T]) rows(acc *[4][8]T, r, count, w int) {
	if count == 0 {
		return
	}
	lo, hi := r*4*w, (r+count)*4*w
	if useAVX2[T]() {
		acc32 := (*[4][8]float32)(unsafe.Pointer(acc))
		x := f32s(s.x)[lo:hi]
		switch s.kind {
		case rowsPlain:
			addRows32AVX2(acc32, x, count)
			return
		case rowsMSE:
			y, g := f32s(s.y)[lo:hi], f32s(s.gx)[lo:hi]
			if s.nt {
				mseRows32NTAVX2(acc32, x, y, g, float32(s.c), count)
			} else {
				mseRows32AVX2(acc32, x, y, g, float32(s.c), count)
			}
			return
		case rowsL1:
			y, g := f32s(s.y)[lo:hi], f32s(s.gx)[lo:hi]
			if s.nt {
				l1Rows32NTAVX2(acc32, x, y, g, float32(s.c), count)
			} else {
				l1Rows32AVX2(acc32, x, y, g, float32(s.c), count)
			}
			return
		case rowsKL:
			y, g := f32s(s.y)[lo:hi], f32s(s.gx)[lo:hi]
			var sp bool
			switch {
			case hasAVX512 && s.nt && uintptr(unsafe.Pointer(unsafe.SliceData(g)))%64 == 0:
				sp = klRows32NTAVX512(acc32, x, y, g, float32(-s.c), count)
			case hasAVX512 && !s.nt:
				sp = klRows32AVX512(acc32, x, y, g, float32(-s.c), count)
			case s.nt:
				sp = klRows32NTAVX2(acc32, x, y, g, float32(-s.c), count)
			default:
				sp = klRows32AVX2(acc32, x, y, g, float32(-s.c), count)
			}
			s.special = s.special || sp
			return
		}
	}
	if s.kind == rowsPlain {
		addRows(acc, s.x, r, count, w)
		return
	}
	// Blocks of whole rows through the elementwise kernels.
	var buf [512]T
	per := len(buf) / (4 * w)
	for count > 0 {
		c := min(count, per)
		lo, hi := r*4*w, (r+c)*4*w
		b := buf[:hi-lo]
		s.eval(lo, hi, b)
		addRows(acc, b, 0, c, w)
		r += c
		count -= c
	}
}

// tail returns the values from lo on (fewer than 32 when not plain).
func (s *rowSource[T]) tail(lo int) []T {
	if s.kind == rowsPlain {
		return s.x[lo:]
	}
	b := s.buf[:len(s.x)-lo]
	s.eval(lo, len(s.x), b)
	return b
}

// eval writes the losses of elements [lo, hi) to out and their gradients
// to gx, with the elementwise kernels.
func (s *rowSource[T]) eval(lo, hi int, out []T) {
	x, y, gx := s.x[lo:hi], s.y[lo:hi], s.gx[lo:hi]
	switch s.kind {
	case rowsMSE:
		MSEForward(x, y, out)
		MSEBackwardOne(x, y, s.c, gx, nil)
	case rowsL1:
		L1Forward(x, y, out)
		L1BackwardConst(x, y, s.c, gx, nil)
	case rowsKL:
		var lt [512]T
		KLDivVec(x, y, out, lt[:len(x)], gx, s.c)
	}
}

// fusedSum runs sumCascade over the losses of kind for (x, y), writing gx.
func fusedSum[T Float](kind rowKind, x, y, gx []T, c T) T {
	n := len(x)
	src := rowSource[T]{kind: kind, x: x, y: y[:n], gx: gx[:n], c: c}
	if g32, ok := avx2F32(gx); ok {
		src.nt = streamable(g32[:n&^31])
	}
	s := sumCascade(n, &src)
	if src.nt {
		sfence()
	}
	if src.special {
		// Rare (special values): the whole block again with the
		// elementwise kernels, then Sum.
		loss, lt := make([]T, n), make([]T, n)
		switch kind {
		case rowsKL:
			KLDivVec(x, y, loss, lt, gx, c)
		}
		s = Sum(loss)
	}
	return s
}

// MSEForwardGradSum returns Sum of MSEForward's losses (x−y)² and writes
// MSEBackwardOne's input gradient gx = norm·(x−y), in one pass, both bit for
// bit (AVX2 with streaming stores of a large gx for float32).
func MSEForwardGradSum[T Float](x, y, gx []T, norm T) T {
	return fusedSum(rowsMSE, x, y, gx, norm)
}

// L1ForwardGradSum returns Sum of L1Forward's losses |x−y| and writes
// L1BackwardConst's input gradient gx = u·sgn(x−y), in one pass, both bit
// for bit (AVX2 with streaming stores of a large gx for float32).
func L1ForwardGradSum[T Float](x, y, gx []T, u T) T {
	return fusedSum(rowsL1, x, y, gx, u)
}

// KLDivVecSum returns Sum of KLDivVec's losses xlogy(t, t) − t·x and writes
// its input gradient gx = −u·t, in one pass, both bit for bit (AVX2 with
// streaming stores of a large gx for float32).
func KLDivVecSum[T Float](x, t, gx []T, u T) T {
	return fusedSum(rowsKL, x, t, gx, u)
}
