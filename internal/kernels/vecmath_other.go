//go:build !amd64 || purego

package kernels

const hasAVX2 = false

func exp32AVX2(dst, src []float32) bool   { panic("unreachable") }
func log32AVX2(dst, src []float32) bool   { panic("unreachable") }
func log1p32AVX2(dst, src []float32) bool { panic("unreachable") }
