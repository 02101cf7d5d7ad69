//go:build amd64 && !purego

package kernels

// bceSigGradAVX2 is in bce_amd64.s.
//
//go:noescape
func bceSigGradAVX2(p, y, gx []float32, eps, d float32, div, nt bool)
