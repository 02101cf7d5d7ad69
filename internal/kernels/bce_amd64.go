//go:build amd64 && !purego

package kernels

// bceSigGrad32AVX2 is in bce_amd64.s.
//
//go:noescape
func bceSigGrad32AVX2(p, y, gx []float32, eps, d float32, div, nt bool)
