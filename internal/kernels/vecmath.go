package kernels

import "unsafe"

// vecmath_amd64.s is generated; TestVecmathUpToDate checks it.
//
//go:generate python3 gen_vecmath.py -o vecmath_amd64.s

// Slice kernels. The slice form of a scalar function F is Fs (Exp → Exps,
// Expf → Expfs, Sigmoidf → Sigmoidfs): dst[i] = F(src[i]) for i <
// len(src), dst at least as long and possibly src itself, bitwise F's
// results; generic over the element type where F is (for float32 the AVX2
// path on amd64, see dispatch.go). Exps, Logs and Log1ps are Exp, Log and
// Log1p (Exp32, Log32, Log1p32 for float32).

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

// Exps writes dst[i] = Exp(src[i]) in T (dst at least as long as src; dst
// may be src): for float32 Exp32 by vecApply.
func Exps[T Float](dst, src []T) {
	if Is32[T]() {
		vecApply(f32s(dst), f32s(src), vecExp, Exp32)
		return
	}
	for i, v := range src {
		dst[i] = Exp(v)
	}
}

// Logs writes dst[i] = Log(src[i]) in T.
func Logs[T Float](dst, src []T) {
	if Is32[T]() {
		vecApply(f32s(dst), f32s(src), vecLog, Log32)
		return
	}
	for i, v := range src {
		dst[i] = Log(v)
	}
}

// Log1ps writes dst[i] = Log1p(src[i]) in T.
func Log1ps[T Float](dst, src []T) {
	if Is32[T]() {
		vecApply(f32s(dst), f32s(src), vecLog1p, Log1p32)
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
