//go:build !amd64 || purego

package kernels

const hasAVX2 = false

func exp32AVX2(dst, src []float32) bool   { panic("unreachable") }
func log32AVX2(dst, src []float32) bool   { panic("unreachable") }
func log1p32AVX2(dst, src []float32) bool { panic("unreachable") }

func addRows32AVX2(acc *[4][8]float32, x []float32, rows int) { panic("unreachable") }

func bceGrad32AVX2(x, y, gx []float32, eps, d float32, div bool) { panic("unreachable") }

func klDiv32AVX2(x, t, out, gx []float32, negu float32) bool { panic("unreachable") }
func inUnit32AVX2(x, y []float32) bool                       { panic("unreachable") }

func poisson32AVX2(x, t, out, gx []float32, u float32, full bool, tab *[32]float32) bool {
	panic("unreachable")
}

func expf32AVX2(dst, src []float32) { panic("unreachable") }
func max32AVX2(x []float32) float32 { panic("unreachable") }
func expSum32AVX2(x, e []float32, m float32, w []float32, mode int, acc *[16]float32) {
	panic("unreachable")
}
func ceGrad32AVX2(g, w []float32, k, a float32) { panic("unreachable") }

func setAVX2(bool) bool { return false }

func sigmoid32AVX2(dst, src []float32) { panic("unreachable") }

func bceFwd32AVX2(x, y, out []float32) bool { panic("unreachable") }

func sigmoidBwd32AVX2(g, y, gx []float32) { panic("unreachable") }

func logf32AVX2(dst, src []float32) bool { panic("unreachable") }

func bceWL32AVX2(x, y, pw []float32, j int, out, gx []float32, u, d float32, flags int) bool {
	panic("unreachable")
}

func ctcRow32AVX2(a1, a2, a3 []float32, mask []uint32, lpg, out []float32) bool {
	panic("unreachable")
}

func gaussFG32AVX2(x, t, v, out, gx, gv []float32, eps, gs float32, flags int) bool {
	panic("unreachable")
}

func sigmoidBwd32NTAVX2(g, y, gx []float32) { panic("unreachable") }

func ctcAcc32AVX2(g, l, out []float32) bool { panic("unreachable") }

func mseRows32AVX2(acc *[4][8]float32, x, y, gx []float32, norm float32, rows int) {
	panic("unreachable")
}
func mseRows32NTAVX2(acc *[4][8]float32, x, y, gx []float32, norm float32, rows int) {
	panic("unreachable")
}
func l1Rows32AVX2(acc *[4][8]float32, x, y, gx []float32, u float32, rows int) { panic("unreachable") }
func l1Rows32NTAVX2(acc *[4][8]float32, x, y, gx []float32, u float32, rows int) {
	panic("unreachable")
}

func sfence() { panic("unreachable") }

func klRows32AVX2(acc *[4][8]float32, x, t, gx []float32, negu float32, rows int) bool {
	panic("unreachable")
}
func klRows32NTAVX2(acc *[4][8]float32, x, t, gx []float32, negu float32, rows int) bool {
	panic("unreachable")
}
