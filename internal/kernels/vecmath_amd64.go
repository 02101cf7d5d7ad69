//go:build amd64 && !purego

package kernels

import "golang.org/x/sys/cpu"

// The AVX2 versions of the slice transcendentals (vecmath_amd64.s): the
// same float64 operations, in the same order and without FMA, as Exp32,
// Log32 and Log1p32, four lanes at a time, so their results are bitwise
// identical to the scalar functions'. Each returns true when some lane
// needed a special case (NaN, ±inf, an out-of-range argument); the caller
// then recomputes that block with the scalar function.

//go:noescape
func exp32AVX2(dst, src []float32) bool

//go:noescape
func log32AVX2(dst, src []float32) bool

//go:noescape
func log1p32AVX2(dst, src []float32) bool

// addRows32AVX2 adds rows rows of 4×8 float32 to the four vector accumulators
// acc (sum_amd64.s); x has at least rows·32 elements.
//
//go:noescape
func addRows32AVX2(acc *[4][8]float32, x []float32, rows int)

// bceGrad32AVX2 and inUnit32AVX2 are in bce_amd64.s.
//
//go:noescape
func bceGrad32AVX2(x, y, gx []float32, eps, d float32, div bool)

//go:noescape
func inUnit32AVX2(x, y []float32) bool

// klDiv32AVX2 is KLDivVec's loop for float32 (vecmath_amd64.s), eight lanes
// at a time with Logf; it returns true when a lane's target needed a
// special case (negative, subnormal, +inf, NaN), and the caller recomputes
// the block.
//
//go:noescape
func klDiv32AVX2(x, t, out, gx []float32, negu float32) bool

// poisson32AVX2 is PoissonNLLLogInputVec's loop for float32
// (vecmath_amd64.s), eight lanes at a time with Expf and Logf, the
// Stirling term of a vector whose targets are all ≤ 1 or integers below 32
// taken from tab (poissonTab); it returns true when a lane's target needed
// a special case (NaN, +inf, 2π·t overflowing), and the caller recomputes
// the block.
//
//go:noescape
func poisson32AVX2(x, t, out, gx []float32, u float32, full bool, tab *[32]float32) bool

// hasAVX2 switches the AVX2 kernels on: the CPU and the OS support AVX2.
var hasAVX2 = cpu.X86.HasAVX2

// The float32 row kernels of cerow.go (vecmath_amd64.s); each handles the
// first len&^7 elements.
//
//go:noescape
func expf32AVX2(dst, src []float32)

//go:noescape
func max32AVX2(x []float32) float32

//go:noescape
func expSum32AVX2(x, e []float32, m float32, w []float32, mode int, acc *[16]float32)

//go:noescape
func ceGrad32AVX2(g, w []float32, k, a float32)

// setAVX2 switches the AVX2 kernels on or off (tests compare both paths)
// and returns the previous setting.
func setAVX2(v bool) bool {
	old := hasAVX2
	hasAVX2 = v
	return old
}

//go:noescape
func sigmoid32AVX2(dst, src []float32)

//go:noescape
func bceFwd32AVX2(x, y, out []float32) bool

//go:noescape
func sigmoidBwd32AVX2(g, y, gx []float32)

//go:noescape
func logf32AVX2(dst, src []float32) bool

//go:noescape
func bceWL32AVX2(x, y, pw []float32, j int, out, gx []float32, u, d float32, flags int) bool

//go:noescape
func ctcRow32AVX2(a1, a2, a3 []float32, mask []uint32, lpg, out []float32) bool

//go:noescape
func gaussFG32AVX2(x, t, v, out, gx, gv []float32, eps, gs float32, flags int) bool

//go:noescape
func sigmoidBwd32NTAVX2(g, y, gx []float32)

//go:noescape
func ctcAcc32AVX2(g, l, out []float32) bool

// sfence orders the streaming stores before it (SFENCE).
func sfence()

// The fused loss-and-sum row kernels (gen_vecmath.py, used by
// sumfused.go): for rows rows of 4×8 values, each vector's losses are added
// to its accumulator in acc (addRows32AVX2's order) and the input gradient is
// written: mse (x−y)² and gx = (x−y)·c; l1 |x−y| and gx = c·sgn(x−y) (0
// for a zero or NaN difference); kl klDiv32AVX2's loss for the target y and
// gx = c·y, returning true when a lane's target needed a special case (the
// caller recomputes). The NT forms store gx with streaming stores (32-byte
// aligned gx) and leave the fence to the caller (sfence).
//
//go:noescape
func mseRows32AVX2(acc *[4][8]float32, x, y, gx []float32, c float32, rows int)

//go:noescape
func mseRows32NTAVX2(acc *[4][8]float32, x, y, gx []float32, c float32, rows int)

//go:noescape
func l1Rows32AVX2(acc *[4][8]float32, x, y, gx []float32, c float32, rows int)

//go:noescape
func l1Rows32NTAVX2(acc *[4][8]float32, x, y, gx []float32, c float32, rows int)

//go:noescape
func klRows32AVX2(acc *[4][8]float32, x, y, gx []float32, c float32, rows int) bool

//go:noescape
func klRows32NTAVX2(acc *[4][8]float32, x, y, gx []float32, c float32, rows int) bool
