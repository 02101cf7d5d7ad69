package kernels

import "unsafe"

// vecmath_amd64.s is generated; TestVecmathUpToDate checks it.
//
//go:generate python3 gen_vecmath.py -o vecmath_amd64.s

// Slice versions of the float32 transcendentals: dst[i] = f(src[i]) for
// i < len(src) (dst at least as long), bitwise identical to the scalar
// Exp32, Log32 and Log1p32, with an AVX2 path on amd64 (CPU detected at
// start; the build tag purego disables it) and the scalar loop elsewhere.

// vecBlock is the block the AVX2 path falls back from as a whole when a lane
// needs a special case.
const vecBlock = 256

const (
	vecExp = iota
	vecLog
	vecLog1p
)

// vecAVX2 calls the AVX2 kernel of kind (a switch, not a func value, so
// that the caller's block buffer stays on its stack).
func vecAVX2(kind int, dst, src []float32) bool {
	switch kind {
	case vecExp:
		return exp32AVX2(dst, src)
	case vecLog:
		return log32AVX2(dst, src)
	}
	return log1p32AVX2(dst, src)
}

func vecApply(dst, src []float32, kind int, f func(float32) float32) {
	dst = dst[:len(src)]
	i := 0
	if hasAVX2 {
		// A block is copied first: dst may be src (in place), and a block
		// with a special case is recomputed from its inputs.
		var buf [vecBlock]float32
		for ; i+4 <= len(src); i += vecBlock {
			j := min(i+vecBlock, len(src)&^3)
			b := buf[:j-i]
			copy(b, src[i:j])
			if vecAVX2(kind, dst[i:j], b) {
				for k, v := range b {
					dst[i+k] = f(v)
				}
			}
		}
		i = len(src) &^ 3
	}
	for ; i < len(src); i++ {
		dst[i] = f(src[i])
	}
}

// Exp32s writes dst[i] = Exp32(src[i]).
func Exp32s(dst, src []float32) { vecApply(dst, src, vecExp, Exp32) }

// Log32s writes dst[i] = Log32(src[i]).
func Log32s(dst, src []float32) { vecApply(dst, src, vecLog, Log32) }

// Log1p32s writes dst[i] = Log1p32(src[i]).
func Log1p32s(dst, src []float32) { vecApply(dst, src, vecLog1p, Log1p32) }

// ExpSlice writes dst[i] = Exp(src[i]) in T (Exp32s for float32).
func ExpSlice[T Float](dst, src []T) {
	if d, ok := any(dst).([]float32); ok {
		Exp32s(d, f32s(src))
		return
	}
	for i, v := range src {
		dst[i] = Exp(v)
	}
}

// LogSlice writes dst[i] = Log(src[i]) in T.
func LogSlice[T Float](dst, src []T) {
	if d, ok := any(dst).([]float32); ok {
		Log32s(d, f32s(src))
		return
	}
	for i, v := range src {
		dst[i] = Log(v)
	}
}

// Log1pSlice writes dst[i] = Log1p(src[i]) in T.
func Log1pSlice[T Float](dst, src []T) {
	if d, ok := any(dst).([]float32); ok {
		Log1p32s(d, f32s(src))
		return
	}
	for i, v := range src {
		dst[i] = Log1p(v)
	}
}

// streamable reports whether an output block g is written with streaming
// (non-temporal) stores: at least 16384 elements (64 KB: a gradient that
// large is written once and read back after the cache has moved on) and
// 32-byte aligned.
func streamable(g []float32) bool {
	return len(g) >= 1<<14 && uintptr(unsafe.Pointer(unsafe.SliceData(g)))%32 == 0
}
