//go:build !amd64 || purego

package kernels

func bceSigGrad32AVX2(p, y, gx []float32, eps, d float32, div, nt bool) { panic("unreachable") }
