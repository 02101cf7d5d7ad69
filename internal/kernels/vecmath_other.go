//go:build !amd64 || purego

package kernels

const hasAVX2 = false

func exp32AVX2(dst, src []float32) bool   { panic("unreachable") }
func log32AVX2(dst, src []float32) bool   { panic("unreachable") }
func log1p32AVX2(dst, src []float32) bool { panic("unreachable") }

func addRows32(acc *[4][8]float32, x []float32, rows int) { panic("unreachable") }

func bceGradAVX2(x, y, gx []float32, eps, d float32, div bool) { panic("unreachable") }
func recipOnePlusAVX2(y []float32)                             { panic("unreachable") }

func klDivAVX2(x, t, out, gx []float32, negu float32) bool { panic("unreachable") }
func inUnitAVX2(x, y []float32) bool                       { panic("unreachable") }
