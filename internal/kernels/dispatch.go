package kernels

import "unsafe"

// Dispatch. A kernel with an assembly path (AVX2, amd64 without the purego
// build tag) is one function, its dispatch point: it asks avx2F32 (or
// useAVX2) once whether the assembly runs on its slices, and otherwise runs
// its pure-Go reference, named after it with the suffix Generic
// (BCECheck → bceCheckGeneric), which also finishes the elements the
// assembly leaves (a tail shorter than a vector, a block with a special
// case). The assembly functions are named after the operation on float32,
// then NT for streaming stores, then the instruction set (bceFwd32AVX2,
// mseRows32NTAVX2, klRows32AVX512); vecmath_other.go and rows_other.go
// have their stubs for the builds without assembly, where hasAVX2 is the
// constant false and the compiler drops the branch. CPU features come from
// golang.org/x/sys/cpu (hasAVX2, hasAVX512).

// avx2F32 returns x as a []float32 when the AVX2 kernels run on it: T is
// float32 and the CPU has AVX2.
func avx2F32[T Float](x []T) ([]float32, bool) {
	if !hasAVX2 || !Is32[T]() {
		return nil, false
	}
	return f32s(x), true
}

// useAVX2 reports whether the AVX2 kernels run on slices of T.
func useAVX2[T Float]() bool { return hasAVX2 && Is32[T]() }

// f32s views s, whose element type T is float32 (the caller checks), as
// a []float32 for the float32 kernels, without the allocation of an
// interface conversion.
func f32s[T Float](s []T) []float32 {
	return unsafe.Slice((*float32)(unsafe.Pointer(unsafe.SliceData(s))), len(s))
}
