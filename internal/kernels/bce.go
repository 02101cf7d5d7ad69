package kernels

import "math"

// Kernels of the binary cross-entropy family: binary_cross_entropy (on
// probabilities) and binary_cross_entropy_with_logits (on logits), forward
// and backward side by side, in ATen's order of operations
// (aten/src/ATen/native/Loss.cpp, torch/csrc/autograd/FunctionsManual.cpp).

// BCEEpsilon is ATen's `constexpr float EPSILON = 1e-12` (Loss.cpp): a float
// constant, so float64 kernels see double(float(1e-12)) =
// 9.999999960041972e-13, not 1e-12.
const BCEEpsilon = float64(float32(1e-12))

// BCEPrec is the precision of a tensor taking part in a PyTorch elementwise
// op, with its zero-dimensionality: BCEPrecInt (an int64 or bool tensor,
// which defers to a floating-point operand), BCEPrecF32 or BCEPrecF64, or'd
// with BCEZeroDim for a 0-d tensor. It lets one float64 kernel reproduce
// PyTorch's mixed-dtype arithmetic: an op computes in the promoted type and
// stores its result in the type of its output (the first operand for an
// in-place op). Type promotion ranks dimensioned tensors above 0-d ones:
// a float32 (3,) tensor times a float64 0-d tensor computes in float32.
type BCEPrec uint8

// The precisions.
const (
	BCEPrecInt BCEPrec = iota // int64 or bool: exact, takes the other operand's type
	BCEPrecF32                // float32
	BCEPrecF64                // float64

	BCEZeroDim BCEPrec = 0x10 // flag: the tensor is 0-d
)

func (p BCEPrec) level() BCEPrec { return p &^ BCEZeroDim }

// Round rounds v to what a tensor of precision p stores: float32 for
// BCEPrecF32, unchanged otherwise.
func (p BCEPrec) Round(v float64) float64 {
	if p.level() == BCEPrecF32 {
		return float64(float32(v))
	}
	return v
}

// BCEPrecOf returns the precision of the element type T (dimensioned).
func BCEPrecOf[T Float]() BCEPrec {
	if Is32[T]() {
		return BCEPrecF32
	}
	return BCEPrecF64
}

// bcePromote is the precision PyTorch computes a binary op of operands a and
// b in (torch.result_type): a floating-point operand wins over an integer
// one; between floating-point operands, a dimensioned one wins over a 0-d
// one, and otherwise the wider type wins.
func bcePromote(a, b BCEPrec) BCEPrec {
	la, lb := a.level(), b.level()
	switch {
	case la == BCEPrecInt:
		return lb
	case lb == BCEPrecInt:
		return la
	case a&BCEZeroDim != b&BCEZeroDim && a&BCEZeroDim != 0:
		return lb
	case a&BCEZeroDim != b&BCEZeroDim:
		return la
	}
	return max(la, lb)
}

// bceResult is the precision of the result of an out-of-place op on a and b:
// the promoted type, 0-d only when both are.
func bceResult(a, b BCEPrec) BCEPrec {
	return bcePromote(a, b) | (a & b & BCEZeroDim)
}

// bceMul, bceSub, bceAdd and bceDiv apply a binary op the way a PyTorch
// TensorIterator does for operands a (precision pa) and b (precision pb):
// both cast to the promoted type, the op computed there, the result stored
// in precision out. Computing a float32 op in float64 and rounding once is
// exact: float64 has more than 2·24+2 bits, so the double rounding of +, −,
// ·, / is innocuous. A Python scalar operand has precision BCEPrecInt.
func bceMul(out, pa, pb BCEPrec, a, b float64) float64 {
	c := bcePromote(pa, pb)
	return out.Round(c.Round(c.Round(a) * c.Round(b)))
}

func bceSub(out, pa, pb BCEPrec, a, b float64) float64 {
	c := bcePromote(pa, pb)
	return out.Round(c.Round(c.Round(a) - c.Round(b)))
}

func bceAdd(out, pa, pb BCEPrec, a, b float64) float64 {
	c := bcePromote(pa, pb)
	return out.Round(c.Round(c.Round(a) + c.Round(b)))
}

func bceDiv(out, pa, pb BCEPrec, a, b float64) float64 {
	c := bcePromote(pa, pb)
	return out.Round(c.Round(c.Round(a) / c.Round(b)))
}

// BCEScale multiplies g in place by the weight w, as `g.mul_(weight)` does
// for a weight of precision pw (float32, float64 or integer): the product is
// computed in the promoted type and stored in T.
func BCEScale[T Float](g []T, w []float64, pw BCEPrec) {
	pt := BCEPrecOf[T]()
	for i := range g {
		g[i] = T(bceMul(pt, pt, pw, float64(g[i]), w[i]))
	}
}

// BCEDivN divides g in place by n, as `g.div_(numel)` does: n is converted to
// T first.
func BCEDivN[T Float](g []T, n int) {
	d := T(n)
	for i := range g {
		g[i] /= d
	}
}

// ---- binary_cross_entropy ----

// BCECheck returns the index of the first element that fails ATen's range
// checks, 0 <= x <= 1 then 0 <= y <= 1 (NaN fails both), and whether it is
// the input (x) that fails; -1 when every element passes.
func BCECheck[T Float](x, y []T) (int, bool) {
	if x32, ok := avx2F32(x); ok && len(y) >= len(x) {
		// Every element in range (the common case) in one vector pass;
		// otherwise the scalar loop finds the first bad one.
		n := len(x) &^ 7
		if inUnit32AVX2(x32[:n], f32s(y)[:n]) && !bceFails(x[n:], y[n:len(x)]) {
			return -1, false
		}
	}
	return bceCheckGeneric(x, y)
}

// bceFails reports whether some element fails BCECheck.
func bceFails[T Float](x, y []T) bool {
	i, _ := bceCheckGeneric(x, y)
	return i >= 0
}

// bceCheckGeneric is BCECheck's pure-Go reference.
func bceCheckGeneric[T Float](x, y []T) (int, bool) {
	for i := range x {
		if !(x[i] >= 0 && x[i] <= 1) {
			return i, true
		}
		if !(y[i] >= 0 && y[i] <= 1) {
			return i, false
		}
	}
	return -1, false
}

// BCEForward writes ATen's per-element loss
//
//	out = (y − 1)·max(log1p(−x), −100) − y·max(log(x), −100)
//
// in T (the logs clamped at −100, so x ∈ {0, 1} gives at most 100), with
// Logf and Log1pf for float32. The inputs must have passed BCECheck.
func BCEForward[T Float](x, y, out []T) {
	for i := range out {
		out[i] = bceOne(x[i], y[i])
	}
}

func bceOne[T Float](x, y T) T {
	var l1, l T
	if Is32[T]() {
		l1, l = T(Log1pf(float32(-x))), T(Logf(float32(x)))
	} else {
		l1, l = Log1p(-x), Log(x)
	}
	a := T((y - 1) * Max(l1, -100))
	b := T(y * Max(l, -100))
	return a - b
}

// BCEForwardCheck is BCEForward, bit for bit, that also checks the range
// of its inputs while they are in cache: it reports whether every element
// passes BCECheck (x and y in [0, 1], not NaN); on false the losses are
// not meaningful and the caller runs BCECheck for the exact first bad
// element. For float32 with AVX2 it is one pass (bceFwd32AVX2, eight lanes
// of Logf and Log1pf) that flags every block holding an x outside
// [2^-126, 1) or a y outside [0, 1]; only a flagged block, recomputed by
// BCEForward, is checked element by element. For float64 the logarithms
// are computed by the slice functions. tmp is scratch of at least len(x)
// elements.
func BCEForwardCheck[T Float](x, y, out, tmp []T) bool {
	n := len(x)
	y, out, tmp = y[:n], out[:n], tmp[:n]
	ok := true
	if x32, ok32 := avx2F32(x); ok32 {
		y32, o32 := f32s(y), f32s(out)
		i := 0
		for ; i+8 <= n; i += vecBlock {
			j := min(i+vecBlock, n&^7)
			if bceFwd32AVX2(x32[i:j], y32[i:j], o32[i:j]) {
				BCEForward(x32[i:j], y32[i:j], o32[i:j])
				if bceFails(x32[i:j], y32[i:j]) {
					ok = false
				}
			}
		}
		i = n &^ 7
		BCEForward(x[i:], y[i:], out[i:])
		if bceFails(x[i:], y[i:]) {
			ok = false
		}
		return ok
	}
	return bceForwardCheckGeneric(x, y, out, tmp)
}

// bceForwardCheckGeneric is BCEForwardCheck's pure-Go reference.
func bceForwardCheckGeneric[T Float](x, y, out, tmp []T) bool {
	ok := !bceFails(x, y)
	if Is32[T]() {
		BCEForward(x, y, out)
		return ok
	}
	Logs(out, x)
	for i, v := range x {
		tmp[i] = -v
	}
	Log1ps(tmp, tmp)
	for i := range out {
		a := T((y[i] - 1) * Max(tmp[i], -100))
		b := T(y[i] * Max(out[i], -100))
		out[i] = a - b
	}
	return ok
}

// BCEBackwardInputMean is BCEBackwardInput for the upstream gradient 1
// followed by BCEDivN(gx, n) when n > 0, bit for bit.
func BCEBackwardInputMean[T Float](x, y []T, n int, gx []T) {
	eps := T(BCEEpsilon)
	d := T(n)
	y, gx = y[:len(x)], gx[:len(x)]
	start := 0
	if x32, ok := avx2F32(x); ok {
		start = len(x) &^ 7
		bceGrad32AVX2(x32[:start], f32s(y)[:start], f32s(gx)[:start], float32(eps), float32(d), n > 0)
	}
	bceBackwardInputMeanGeneric(x[start:], y[start:], eps, d, n > 0, gx[start:])
}

// bceBackwardInputMeanGeneric is BCEBackwardInputMean's pure-Go reference.
func bceBackwardInputMeanGeneric[T Float](x, y []T, eps, d T, div bool, gx []T) {
	for i := range x {
		gx[i] = bceGradMean(x[i], y[i], eps, d, div)
	}
}

// bceGradMean is BCEBackwardInputMean's operations for one element:
// (1·(x − y)) / max((1 − x)·x, eps), then / d when div.
func bceGradMean[T Float](x, y, eps, d T, div bool) T {
	num := T(1 * (x - y))
	g := num / Max(T((1-x)*x), eps)
	if div {
		g /= d
	}
	return g
}

// BCESigmoidGradMean is the gradient of binary_cross_entropy with respect
// to the logits x of its input p = σ(x), for the output gradient 1:
// BCEBackwardInputMean(p, y, n, g) followed by SigmoidBackward(g, p, gx),
// bit for bit, without the intermediate g,
//
//	gx = ((p − y) / max((1 − p)·p, EPSILON) [/ n]) · (1 − p) · p
//
// (/n when n > 0), each operation rounded to T in that order. Large
// aligned float32 outputs are written with streaming stores.
func BCESigmoidGradMean[T Float](p, y []T, n int, gx []T) {
	eps := T(BCEEpsilon)
	d := T(n)
	y, gx = y[:len(p)], gx[:len(p)]
	start := 0
	if p32, ok := avx2F32(p); ok {
		start = len(p) &^ 7
		g32 := f32s(gx)[:start]
		bceSigGrad32AVX2(p32[:start], f32s(y)[:start], g32, float32(eps), float32(d), n > 0, streamable(g32))
	}
	bceSigmoidGradMeanGeneric(p[start:], y[start:], eps, d, n > 0, gx[start:])
}

// bceSigmoidGradMeanGeneric is BCESigmoidGradMean's pure-Go reference.
func bceSigmoidGradMeanGeneric[T Float](p, y []T, eps, d T, div bool, gx []T) {
	for i := range p {
		gx[i] = bceGradMean(p[i], y[i], eps, d, div) * (1 - p[i]) * p[i]
	}
}

// BCEBackwardInput writes ATen's binary_cross_entropy_backward kernel,
//
//	gx = up·(x − y) / max((1 − x)·x, EPSILON)
//
// with up(i) the gradient reaching element i (the output gradient, not yet
// weighted nor divided by the element count) and EPSILON the float 1e-12
// (BCEEpsilon). At x ∈ {0, 1} the clamp gives ±(x−y)·1e12.
func BCEBackwardInput[T Float](x, y []T, up func(int) T, gx []T) {
	eps := T(BCEEpsilon)
	for i := range gx {
		num := T(up(i) * (x[i] - y[i]))
		gx[i] = num / Max(T((1-x[i])*x[i]), eps)
	}
}

// BCEBackwardTarget writes binary_cross_entropy_target_backward's
// gy = −logit(x)·up with logit(x) = log(x/(1 − x)) (+inf at x = 1), so gy is
// +inf at x = 0 and −inf at x = 1.
func BCEBackwardTarget[T Float](x []T, up func(int) T, gy []T) {
	for i := range gy {
		var lg T
		if x[i] == 1 {
			lg = Inf[T](1)
		} else {
			lg = Log(x[i] / (1 - x[i]))
		}
		gy[i] = -lg * up(i)
	}
}

// ---- binary_cross_entropy_with_logits ----

// bceLogSigmoidT is ATen's CPU log_sigmoid, min(x, 0) − log1p(exp(−|x|)),
// in T (float32: Expf, Log1pf); the minimum propagates NaN like
// vec::minimum.
func bceLogSigmoidT[T Float](x T) T {
	m := x
	if !(x < 0) && x == x {
		m = 0
	}
	return m - log1pT(expT(-Abs(x)))
}

// bceSigmoidT is ATen's CPU sigmoid, 1/(1 + exp(−x)), in T.
func bceSigmoidT[T Float](x T) T { return 1 / (1 + expT(-x)) }

func bceLogSigmoid(p BCEPrec, x float64) float64 {
	if p.level() == BCEPrecF32 {
		return float64(bceLogSigmoidT(float32(x)))
	}
	return bceLogSigmoidT(x)
}

func bceSigmoid(p BCEPrec, x float64) float64 {
	if p.level() == BCEPrecF32 {
		return float64(bceSigmoidT(float32(x)))
	}
	return bceSigmoidT(x)
}

// BCEWLPrec holds the precisions (with BCEZeroDim flags) of
// binary_cross_entropy_with_logits' arguments: input X and target Y
// (floating point, same shape), pos_weight PW and weight W (any dtype;
// unused when absent), and G, the output gradient (0-d for a reduced loss,
// of the output's dtype Y).
type BCEWLPrec struct{ X, Y, PW, W, G BCEPrec }

// BCEWLForward writes the per-element loss of
// binary_cross_entropy_with_logits, ATen's composite in its order of
// operations and with its intermediate dtypes:
//
//	ls   = log_sigmoid(x)                      (in X)
//	lw   = (pw − 1)·y + 1; ls = ls·lw          (with pos_weight; ls.mul_ keeps X)
//	loss = (1 − y)·x − ls                      (in Y: (1 − target).mul_(input).sub_(ls))
//	loss = loss·w                              (with weight; keeps Y)
//
// All slices hold values of their argument's precision as float64, broadcast
// to the input's shape; pw and w are nil when absent. out holds values of
// precision Y.
func BCEWLForward(x, y, pw, w []float64, p BCEWLPrec, out []float64) {
	lwP := bceResult(p.PW, p.Y)
	for i := range out {
		ls := bceLogSigmoid(p.X, x[i])
		if pw != nil {
			pm1 := bceSub(p.PW, p.PW, BCEPrecInt, pw[i], 1)
			lw := bceMul(lwP, p.PW, p.Y, pm1, y[i])
			lw = bceAdd(lwP, lwP, BCEPrecInt, lw, 1)
			ls = bceMul(p.X, p.X, lwP, ls, lw)
		}
		l := bceSub(p.Y, BCEPrecInt, p.Y, 1, y[i])
		l = bceMul(p.Y, p.Y, p.X, l, x[i])
		l = bceSub(p.Y, p.Y, p.X, l, ls)
		if w != nil {
			l = bceMul(p.Y, p.Y, p.W, l, w[i])
		}
		out[i] = l
	}
}

// BCEWLBackwardInput writes binary_cross_entropy_with_logits_backward
// (FunctionsManual.cpp, in-place ops as run by backward), with up(i) the
// output gradient reaching element i (not divided for mean):
//
//	g = sigmoid(x) − y                                  (no pos_weight; in X)
//	t = pw·y; g = ((t + 1) − y)·sigmoid(x) − t          (pos_weight; in the type of pw·y)
//	g = g·up; g = g·w (weight); g = g/n (mean, n = numel)
//
// then cast to X, as autograd casts a gradient to its input's dtype.
func BCEWLBackwardInput(x, y, pw, w []float64, p BCEWLPrec, up func(int) float64, mean bool, gx []float64) {
	n := float64(len(gx))
	for i := range gx {
		s := bceSigmoid(p.X, x[i])
		var g float64
		var pg BCEPrec
		if pw != nil {
			pg = bceResult(p.PW, p.Y)
			t := bceMul(pg, p.PW, p.Y, pw[i], y[i])
			a := bceAdd(pg, pg, BCEPrecInt, t, 1)
			a = bceSub(pg, pg, p.Y, a, y[i])
			a = bceMul(pg, pg, p.X, a, s)
			g = bceSub(pg, pg, pg, a, t)
		} else {
			pg = p.X
			g = bceSub(pg, p.X, p.Y, s, y[i])
		}
		g = bceMul(pg, pg, p.G, g, up(i))
		if w != nil {
			g = bceMul(pg, pg, p.W, g, w[i])
		}
		if mean {
			g = bceDiv(pg, pg, BCEPrecInt, g, n)
		}
		gx[i] = p.X.Round(g)
	}
}

// BCEWLBackwardTarget writes binary_cross_entropy_with_logits_target_backward:
//
//	g = (log_sigmoid(−x) − log_sigmoid(x)·pw)·up        (pos_weight; in X)
//	g = −x·up                                           (no pos_weight; out of place)
//	g = g·w (weight); g = g/n (mean)
//
// then cast to Y.
func BCEWLBackwardTarget(x, pw, w []float64, p BCEWLPrec, up func(int) float64, mean bool, gy []float64) {
	n := float64(len(gy))
	for i := range gy {
		var g float64
		var pg BCEPrec
		if pw != nil {
			pg = p.X
			a := bceLogSigmoid(p.X, -x[i])
			b := bceLogSigmoid(p.X, x[i])
			b = bceMul(pg, pg, p.PW, b, pw[i])
			g = bceSub(pg, pg, pg, a, b)
			g = bceMul(pg, pg, p.G, g, up(i))
		} else {
			pg = bceResult(p.X, p.G)
			g = bceMul(pg, p.X, p.G, -x[i], up(i))
		}
		if w != nil {
			g = bceMul(pg, pg, p.W, g, w[i])
		}
		if mean {
			g = bceDiv(pg, pg, BCEPrecInt, g, n)
		}
		gy[i] = p.Y.Round(g)
	}
}

// BCEWLVec is BCEWLForward and BCEWLBackwardInput, bit for bit (float32:
// Expf and Log1pf in both, eight lanes in bceWL32AVX2), for input,
// target and pos_weight all of the element type T, dimensioned (so that
// every step of ATen's composite runs in T), without a weight: it writes the
// loss of each element to out and, when gx is not nil, the input gradient
// for the constant upstream gradient u, divided by n when n > 0 (mean).
// pw is nil or a pos_weight of c elements along the last dimension, element
// i of x using pw[(off+i) % c]. e1 and e2 are scratch of len(x). out and gx
// must not overlap x, y or pw (the eight-lane pass keeps intermediate
// values in them).
func BCEWLVec[T Float](x, y, pw []T, off int, out, e1, e2, gx []T, u T, n int) {
	k := len(x)
	c := len(pw)
	if x32, ok := avx2F32(x); ok && k >= 8 && (c == 0 || c%8 == 0 && off%c%8 == 0) {
		// One eight-lane pass (bceWL32AVX2) over k&^7 elements, the same
		// operations as the loops below; the whole slice again by the loops
		// when some x is NaN.
		m := k &^ 7
		flags, j := 0, 0
		var g32 []float32
		if c > 0 {
			flags, j = 1, off%c
		}
		if gx != nil {
			flags |= 2
			g32 = f32s(gx[:m])
		}
		d := float32(n)
		if n > 0 {
			if math.Float32bits(d)&(1<<23-1) == 0 {
				// d = 2^k (normal, as is 2^-k for k <= 127): g/2^k and
				// g·2^-k are the same real number, so they round to the
				// same float32 (a subnormal one included), and both give
				// ±inf for ±inf and pass a NaN through: the kernel
				// multiplies by the exact reciprocal instead of dividing.
				flags |= 8
				d = 1 / d
			} else {
				flags |= 4
			}
		}
		if !bceWL32AVX2(x32[:m], f32s(y[:m]), f32s(pw), j, f32s(out[:m]), g32, float32(u), d, flags) {
			if m < k {
				bceWLVecGeneric(x[m:], y[m:k], pw, off+m, out[m:k], e1, e2, sub(gx, m, k), u, n)
			}
			return
		}
	}
	bceWLVecGeneric(x, y, pw, off, out, e1, e2, gx, u, n)
}

// sub is s[i:j], nil for a nil s (an optional output).
func sub[T any](s []T, i, j int) []T {
	if s == nil {
		return nil
	}
	return s[i:j]
}

// bceWLVecGeneric is BCEWLVec's pure-Go reference.
func bceWLVecGeneric[T Float](x, y, pw []T, off int, out, e1, e2, gx []T, u T, n int) {
	k := len(x)
	y, out, e1, e2 = y[:k], out[:k], e1[:k], e2[:k]
	for i, v := range x {
		e1[i] = -Abs(v)
	}
	Expfs(e1, e1)
	for i, v := range e1 {
		e1[i] = log1pT(v) // log1p(exp(−|x|))
	}
	c := len(pw)
	j := 0
	if c > 0 {
		j = off % c
	}
	for i, v := range x {
		// min(x, 0), NaN propagating, without a branch (−0 for x = −0,
		// where ATen has +0: the same ls, as e1 > 0).
		ls := min(v, 0) - e1[i]
		if c > 0 {
			lw := T(pw[j]-1) * y[i]
			lw = lw + 1
			ls = T(ls * lw)
			if j++; j == c {
				j = 0
			}
		}
		l := 1 - y[i]
		l = T(l * v)
		out[i] = l - ls
	}
	if gx == nil {
		return
	}
	gx = gx[:k]
	for i, v := range x {
		e2[i] = -v
	}
	Expfs(e2, e2)
	d := T(n)
	if c > 0 {
		j = off % c
	}
	for i := range x {
		s := 1 / (1 + e2[i])
		var g T
		if c > 0 {
			t := T(pw[j] * y[i])
			a := t + 1
			a = a - y[i]
			a = T(a * s)
			g = a - t
			if j++; j == c {
				j = 0
			}
		} else {
			g = s - y[i]
		}
		g = T(g * u)
		if n > 0 {
			g = g / d
		}
		gx[i] = g
	}
}
