//go:build !amd64 || purego

package kernels

func dot3Rows32AVX2(p, s1, s2 *[4][8]float32, a, b []float32, rows int) { panic("unreachable") }
func cosGrad32AVX2(a, b, g []float32, gm, gp float32)                   { panic("unreachable") }
func cosGrad32NTAVX2(a, b, g []float32, gm, gp float32)                 { panic("unreachable") }
func dot3Sum32AVX2(a, b []float32, rows int, out *[3]float32)           { panic("unreachable") }

const (
	hasAVX512       = false
	avx512Supported = false
)

func setAVX512(bool) bool { return false }

func expSum32AVX512(x, e []float32, m float32, w []float32, mode int, acc *[16]float32) {
	panic("unreachable")
}

func klRows32AVX512(acc *[4][8]float32, x, y, gx []float32, c float32, rows int) bool {
	panic("unreachable")
}
func klRows32NTAVX512(acc *[4][8]float32, x, y, gx []float32, c float32, rows int) bool {
	panic("unreachable")
}
