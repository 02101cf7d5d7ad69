package kernels

import "math"

// The likelihood family: poisson_nll_loss, gaussian_nll_loss and kl_div.
// All three are CompositeImplicitAutograd in PyTorch: a chain of elementwise
// tensor operations whose gradient is autograd of that chain. The kernels
// below evaluate the chain one element at a time, in PyTorch's order, and
// their backward kernels replay the backward formulas of each operation
// (derivatives.yaml) in the order the autograd engine accumulates them.
//
// Mixed dtypes. Each operation of the chain runs in its own result dtype:
// exp(input) runs in input's dtype even when target is float64, and the
// Stirling term of poisson_nll_loss runs in target's dtype (float32 for an
// integer target). The kernels compute in T, the dtype of the loss, and
// round to float32 the operations PyTorch runs in float32: a flag F32 per
// argument says that its own operations are float32. Rounding a float64
// result of +, −, ×, ÷ to float32 gives the float32 operation's result
// (float64 carries more than 2·24+2 bits), and Exp/Log are defined as the
// float64 function rounded to T, so this is float32 arithmetic exactly. When
// T is float32 the rounding is the identity.

// narrow rounds v to float32 when f32 is set (see above). It is also a
// rounding barrier: the explicit conversion keeps the compiler from fusing
// a product into a following addition (FMA), which PyTorch does not do.
func narrow[T Float](v T, f32 bool) T {
	if f32 {
		return T(float32(v))
	}
	return T(v)
}

// expIn and logIn are exp and log computed in float32 when f32 is set, else
// in T.
func expIn[T Float](x T, f32 bool) T {
	if f32 {
		return T(Exp(float32(x)))
	}
	return Exp(x)
}

func logIn[T Float](x T, f32 bool) T {
	if f32 {
		return T(Log(float32(x)))
	}
	return Log(x)
}

// twoPi is 2π as the C++ double 2 * c10::pi<double>; operations convert it
// to the element type at run time, as a Scalar operand is.
var twoPi = 2 * math.Pi

// PoissonNLL describes one poisson_nll_loss evaluation.
type PoissonNLL struct {
	LogInput bool    // the input is log(rate)
	Full     bool    // add the Stirling term
	Eps      float64 // added to the rate before its log when !LogInput
	// XF32 and TF32: the input's and the target's own operations (exp(x),
	// x + eps, log(·); the Stirling term) run in float32: the argument is
	// float32 or an integer tensor (whose unary float ops give float32).
	XF32, TF32 bool
}

// stirling is ((t·log t) − t) + 0.5·log(2π·t), in S.
func stirling[S Float](t S) S {
	m := S(t * logT(t))
	s1 := m - t
	c := S(twoPi) * t
	h := S(S(0.5) * logT(c))
	return s1 + h
}

// stirlingIn is the Stirling term in the target's dtype, returned in T.
func stirlingIn[T Float](t T, f32 bool) T {
	if f32 {
		return T(stirling(float32(t)))
	}
	return stirling(t)
}

// PoissonNLLForward writes the unreduced loss of input x and target t (broadcast,
// converted to T) to out:
//
//	LogInput: exp(x) − t·x
//	else:     x − t·log(x + eps)
//	Full:     + (t·log t − t + 0.5·log(2π·t)) where t > 1, else + 0
func PoissonNLLForward[T Float](p PoissonNLL, x, t, out []T) {
	eps := narrow(T(p.Eps), p.XF32)
	for i := range out {
		xi, ti := x[i], t[i]
		var l T
		if p.LogInput {
			e := expIn(xi, p.XF32)
			l = e - T(ti*xi)
		} else {
			a := narrow(xi+eps, p.XF32)
			lg := logIn(a, p.XF32)
			l = xi - T(ti*lg)
		}
		if p.Full {
			var st T // masked_fill(t <= 1, 0)
			if !(ti <= 1) {
				st = stirlingIn(ti, p.TF32)
			}
			l += st
		}
		out[i] = l
	}
}

// PoissonNLLLogInputVec is PoissonNLLForward with LogInput, when x and t
// are both of the element type T (XF32 and TF32 equal to Is32[T]), with the
// transcendentals computed by the slice functions (for float32 the
// eight-lane Expf, ≤ 1 ULP from PoissonNLLForward's Exp32, and Logf, as
// PoissonNLLForward's Stirling term); when gx is
// not nil it also writes PoissonNLLBackward's input gradient for the
// constant upstream gradient u. e, a and b are scratch of len(x).
//
// For float32 with AVX2 it is one pass, poisson32AVX2, bit for bit
// poissonNLLLogInputVecGeneric (the same operations in the same order).
func PoissonNLLLogInputVec[T Float](full bool, x, t, out, e, a, b []T, u T, gx []T) {
	if x32, ok := avx2F32(x); ok {
		var g32 []float32
		if gx != nil {
			g32 = f32s(gx[:len(x)])
		}
		poissonVec32(full, x32, f32s(t), f32s(out), f32s(e),
			f32s(a), f32s(b), float32(u), g32)
		return
	}
	poissonNLLLogInputVecGeneric(full, x, t, out, e, a, b, u, gx)
}

// poissonVec32 runs poisson32AVX2 by blocks of vecBlock elements (n&^7 of
// them), poissonNLLLogInputVecGeneric for a block with a lane it cannot do (a
// NaN, +inf or huge target) and for the tail.
func poissonVec32(full bool, x, t, out, e, a, b []float32, u float32, gx []float32) {
	n := len(x)
	t, out = t[:n], out[:n]
	i := 0
	for ; i+8 <= n; i += vecBlock {
		j := min(i+vecBlock, n&^7)
		if poisson32AVX2(x[i:j], t[i:j], out[i:j], sub(gx, i, j), u, full, &poissonTab) {
			poissonNLLLogInputVecGeneric(full, x[i:j], t[i:j], out[i:j], e[i:j], a[i:j], b[i:j], u, sub(gx, i, j))
		}
	}
	i = n &^ 7
	if i < n {
		poissonNLLLogInputVecGeneric(full, x[i:], t[i:], out[i:], e[i:n], a[i:n], b[i:n], u, sub(gx, i, n))
	}
}

// poissonTab[k] is the Stirling term of poissonNLLLogInputVecGeneric for the
// target k before its mask, (k·log a − k) + 0.5·log(2π·a) with a = max(k,
// 1), by the same float32 operations (stirlingAdd32's): poisson32AVX2 takes
// it from here for the integer targets below 32, the usual counts, bit for
// bit what it would compute (TestPoissonTab).
var poissonTab = func() (tab [32]float32) {
	two := float32(twoPi)
	for k := range tab {
		t := float32(k)
		a := max(t, 1)
		la, lb := Logf(a), Logf(two*a)
		m := float32(t * la)
		s1 := m - t
		h := float32(0.5 * lb)
		tab[k] = s1 + h
	}
	return
}()

// poissonNLLLogInputVecGeneric is PoissonNLLLogInputVec's pure-Go
// reference, by slice passes: Expf (or Exp) of every element, the loss,
// the Stirling term's logarithms, the gradient.
func poissonNLLLogInputVecGeneric[T Float](full bool, x, t, out, e, a, b []T, u T, gx []T) {
	n := len(x)
	t, out, e, a, b = t[:n], out[:n], e[:n], a[:n], b[:n]
	Expfs(e, x)
	for i := range out {
		out[i] = e[i] - T(t[i]*x[i])
	}
	if full {
		two := T(twoPi)
		for i, ti := range t {
			// a = t where t > 1 (or NaN), else 1 (log 1 = 0, masked below),
			// without a branch: the comparison is unpredictable.
			ai := max(ti, 1)
			a[i], b[i] = ai, two*ai
		}
		Logfs(a, a)
		Logfs(b, b)
		if o32, ok := any(out).([]float32); ok {
			stirlingAdd32(o32, f32s(t), f32s(a), f32s(b))
		} else {
			for i, ti := range t {
				if !(ti <= 1) {
					m := T(ti * a[i])
					s1 := m - ti
					h := T(T(0.5) * b[i])
					out[i] += s1 + h
				}
			}
		}
	}
	if gx != nil {
		gx = gx[:n]
		for i := range gx {
			c1 := u * e[i]
			c2 := -u * t[i]
			gx[i] = T(c2 + c1)
		}
	}
}

// stirlingAdd32 adds the Stirling term t·log t − t + 0.5·log(2π·t) (la =
// log t, lb = log(2π·t)) to out where !(t <= 1), adding +0 elsewhere as
// PoissonNLLForward does, without a branch.
func stirlingAdd32(out, t, la, lb []float32) {
	t, la, lb = t[:len(out)], la[:len(out)], lb[:len(out)]
	for i, ti := range t {
		m := float32(ti * la[i])
		s1 := m - ti
		h := float32(0.5 * lb[i])
		st := math.Float32bits(s1 + h)
		var mask uint32
		if !(ti <= 1) {
			mask = ^uint32(0)
		}
		out[i] += math.Float32frombits(st & mask)
	}
}

// PoissonNLLBackward writes the gradients of the unreduced loss for the
// upstream gradient up(i) of each element: autograd of Forward's graph.
// gx and gt (either may be nil) receive each element's gradient already
// rounded to the argument's own dtype.
//
//	LogInput: ∂x = u·exp(x) + (−u)·t          ∂t = (−u)·x
//	else:     ∂x = u + ((−u)·t)/(x + eps)     ∂t = (−u)·log(x + eps)
//	Full:     ∂t += ((gs·0.5)/(2π·t))·2π − gs + gs·log t + (gs·t)/t,
//	          with gs = u where t > 1 and 0 elsewhere: NaN at t = 0 (0·log 0
//	          and 0/0) and for t < 0 (0·NaN), as in PyTorch.
func PoissonNLLBackward[T Float](p PoissonNLL, x, t []T, up func(int) T, gx, gt []T) {
	eps := narrow(T(p.Eps), p.XF32)
	for i := range x {
		xi, ti, u := x[i], t[i], up(i)
		if p.LogInput {
			if gx != nil {
				e := expIn(xi, p.XF32)
				c1 := narrow(narrow(u, p.XF32)*e, p.XF32) // exp backward, in x's dtype
				c2 := narrow(-u*ti, p.XF32)               // mul backward, in T
				gx[i] = narrow(c2+c1, p.XF32)
			}
			if gt != nil {
				gt[i] = poissonTargetGrad(p, ti, u, narrow(-u*xi, p.TF32))
			}
			continue
		}
		a := narrow(xi+eps, p.XF32)
		if gx != nil {
			gl := narrow(-u*ti, p.XF32)
			c2 := narrow(gl/a, p.XF32) // log backward
			gx[i] = narrow(narrow(u, p.XF32)+c2, p.XF32)
		}
		if gt != nil {
			lg := logIn(a, p.XF32)
			gt[i] = poissonTargetGrad(p, ti, u, narrow(-u*lg, p.TF32))
		}
	}
}

// poissonTargetGrad adds the Stirling term's gradient to main, the target
// gradient of the main branch, in the order PyTorch's engine accumulates
// them (the Stirling nodes were created last, so they run first).
func poissonTargetGrad[T Float](p PoissonNLL, t, u, main T) T {
	if !p.Full {
		return main
	}
	if p.TF32 {
		return T(stirlingGrad(float32(t), float32(u), float32(main)))
	}
	return stirlingGrad(t, u, main)
}

func stirlingGrad[S Float](t, u, main S) S {
	var gs S
	if !(t <= 1) {
		gs = u
	}
	c := S(twoPi) * t
	g := S(S(S(gs*0.5)/c) * S(twoPi)) // 0.5·log(2π·t)
	g += -gs                          // − t
	g += S(gs * Log(t))               // t·log t, through t
	g += S(gs*t) / t                  // t·log t, through log t
	return g + main
}

// GaussianNLL describes one gaussian_nll_loss evaluation.
type GaussianNLL struct {
	Full bool
	Eps  float64 // var is clamped to at least eps (in var's dtype)
	// DF32: input − target runs in float32; VF32: var's own operations
	// (clamp, log) run in float32.
	DF32, VF32 bool
}

// halfLog2Pi is Python's 0.5 * math.log(2 * math.pi).
const halfLog2Pi = 0.9189385332046727

// GaussianClamp returns var clamped to at least eps in var's dtype: the
// value every other step uses (NaN stays NaN).
func GaussianClamp[T Float](p GaussianNLL, v T) T {
	return ClampMin(v, narrow(T(p.Eps), p.VF32))
}

// GaussianNLLForward writes the unreduced loss of input x, target t and
// the clamped variance vc (all broadcast, in T) to out:
//
//	0.5·(log(vc) + (x − t)²/vc)  [+ 0.5·log(2π) when Full]
func GaussianNLLForward[T Float](p GaussianNLL, x, t, vc, out []T) {
	for i := range out {
		d := narrow(x[i]-t[i], p.DF32)
		sq := narrow(d*d, p.DF32)
		q := sq / vc[i]
		lv := logIn(vc[i], p.VF32)
		l := T(T(0.5) * (lv + q))
		if p.Full {
			l += T(halfLog2Pi)
		}
		out[i] = l
	}
}

// GaussianNLLBackward writes, for the upstream gradient up(i) of each
// element, the gradient reaching input − target (gd, in its dtype; the
// input's gradient is gd and the target's −gd), the gradient reaching var
// through the division (gq, in T: −gs·((d²/vc)/vc)) and the gradient reaching
// log(var) before its reduction to var's shape (gl, in T: gs), with
// gs = u·0.5. The caller sums gq and gl to var's shape and forms
// ∂var = Σgq + Σgl/vc (GaussianVarGrad): the clamp is hidden from autograd,
// so ∂var is evaluated at the clamped value and is not masked. Any of the
// slices may be nil.
func GaussianNLLBackward[T Float](p GaussianNLL, x, t, vc []T, up func(int) T, gd, gq, gl []T) {
	for i := range x {
		gs := up(i) * 0.5
		d := narrow(x[i]-t[i], p.DF32)
		if gd != nil {
			gsq := narrow(gs/vc[i], p.DF32)
			gd[i] = narrow(gsq*narrow(2*d, p.DF32), p.DF32) // pow backward: g·(2·d)
		}
		if gq != nil {
			sq := narrow(d*d, p.DF32)
			gq[i] = -gs * ((sq / vc[i]) / vc[i])
		}
		if gl != nil {
			gl[i] = gs
		}
	}
}

// GaussianNLLVec is GaussianNLLForward with GaussianClamp, and, when gx or
// gv is not nil, GaussianNLLBackward and GaussianVarGrad for the constant
// upstream gradient u, for input, target and var of one shape and of the
// element type T (DF32 and VF32 equal to Is32[T]): bit for bit except that
// float32 log(var) is the eight-lane Logf (≤ 1 ULP from the scalar path's
// Log32). eps is the clamp in T; vc and lv are scratch of len(x).
func GaussianNLLVec[T Float](full bool, eps T, x, t, v, out, vc, lv, gx, gv []T, u T) {
	n := len(x)
	if x32, ok := avx2F32(x); ok && n >= 8 {
		// One eight-lane pass (gaussFG32AVX2), the same operations as the
		// loops below; the whole slice again by the loops when some
		// clamped var is not a positive normal float32 or NaN.
		m := n &^ 7
		flags := 0
		var gx32, gv32 []float32
		if full {
			flags |= 1
		}
		if gx != nil {
			flags |= 2
			gx32 = f32s(gx[:m])
		}
		if gv != nil {
			flags |= 4
			gv32 = f32s(gv[:m])
		}
		t32, v32, o32 := f32s(t[:m]), f32s(v[:m]), f32s(out[:m])
		if !gaussFG32AVX2(x32[:m], t32, v32, o32, gx32, gv32, float32(eps), float32(T(u*0.5)), flags) {
			if m < n {
				gaussianNLLVecGeneric(full, eps, x[m:], t[m:n], v[m:n], out[m:n], vc, lv, sub(gx, m, n), sub(gv, m, n), u)
			}
			return
		}
	}
	gaussianNLLVecGeneric(full, eps, x, t, v, out, vc, lv, gx, gv, u)
}

// gaussianNLLVecGeneric is GaussianNLLVec's pure-Go reference.
func gaussianNLLVecGeneric[T Float](full bool, eps T, x, t, v, out, vc, lv, gx, gv []T, u T) {
	n := len(x)
	t, v, out, vc, lv = t[:n], v[:n], out[:n], vc[:n], lv[:n]
	for i, e := range v {
		vc[i] = ClampMin(e, eps)
	}
	Logfs(lv, vc)
	for i := range out {
		d := x[i] - t[i]
		sq := T(d * d)
		q := sq / vc[i]
		l := T(T(0.5) * (lv[i] + q))
		if full {
			l += T(halfLog2Pi)
		}
		out[i] = l
	}
	gs := T(u * 0.5)
	if gx != nil {
		gx = gx[:n]
		for i := range gx {
			d := x[i] - t[i]
			gsq := gs / vc[i]
			gx[i] = T(gsq * T(2*d))
		}
	}
	if gv != nil {
		gv = gv[:n]
		for i := range gv {
			d := x[i] - t[i]
			sq := T(d * d)
			gq := T(-gs * T(T(sq/vc[i])/vc[i]))
			lg := gs / vc[i]
			gv[i] = gq + lg
		}
	}
}

// GaussianVarGrad combines, per element of var, the division's gradient gq
// and the log's upstream gl (both summed to var's shape, in T) into the
// gradient of var, in var's dtype: gq + gl/vc.
func GaussianVarGrad[T Float](p GaussianNLL, vc, gq, gl, out []T) {
	for i := range out {
		lg := narrow(narrow(gl[i], p.VF32)/vc[i], p.VF32)
		out[i] = narrow(narrow(gq[i], p.VF32)+lg, p.VF32)
	}
}

// KLDiv describes one kl_div evaluation.
type KLDiv struct {
	LogTarget bool
	// TF32: the target's own operations (xlogy(t, t), exp(t)) run in
	// float32; XF32: the input is float32.
	TF32, XF32 bool
}

// Xlogy is ATen's CPU xlogy: NaN if y is NaN, 0 if x == 0, else x·log(y)
// (Logf for float32, as the vectorized kernels).
func Xlogy[T Float](x, y T) T {
	if y != y {
		return NaN[T]()
	}
	if x == 0 {
		return 0
	}
	return T(x * logT(y))
}

func xlogyIn[T Float](x, y T, f32 bool) T {
	if f32 {
		return T(Xlogy(float32(x), float32(y)))
	}
	return Xlogy(x, y)
}

// KLDivForward writes the unreduced loss of input x and target t (broadcast,
// in T) to out:
//
//	LogTarget: exp(t)·(t − x)
//	else:      xlogy(t, t) − t·x   (0 where t == 0, NaN where t < 0)
func KLDivForward[T Float](p KLDiv, x, t, out []T) {
	for i := range out {
		xi, ti := x[i], t[i]
		if p.LogTarget {
			e := expIn(ti, p.TF32)
			out[i] = e * (ti - xi)
		} else {
			out[i] = xlogyIn(ti, ti, p.TF32) - T(ti*xi)
		}
	}
}

// KLDivVec is KLDivForward without LogTarget, for input and target of the
// element type T, bit for bit, with the logarithms computed by the slice
// functions; when gx is not nil it also writes KLDivBackward's input
// gradient (−u)·t for the constant upstream gradient u. lt is scratch.
func KLDivVec[T Float](x, t, out, lt, gx []T, u T) {
	n := len(x)
	t, out, lt = t[:n], out[:n], lt[:n]
	if x32, ok := avx2F32(x); ok {
		var g32 []float32
		if gx != nil {
			g32 = f32s(gx[:n])
		}
		klDivVec32(x32, f32s(t), f32s(out), f32s(lt), g32, float32(-u))
		return
	}
	klDivVecGeneric(x, t, out, lt, gx, u)
}

// klDivVec32 runs klDiv32AVX2 by blocks of vecBlock elements (n&^7 of them),
// the scalar loop for a block with a special case and for the tail.
func klDivVec32(x, t, out, lt, gx []float32, negu float32) {
	n := len(x)
	i := 0
	for ; i+8 <= n; i += vecBlock {
		j := min(i+vecBlock, n&^7)
		if klDiv32AVX2(x[i:j], t[i:j], out[i:j], sub(gx, i, j), negu) {
			klDivVecGeneric(x[i:j], t[i:j], out[i:j], lt[i:j], sub(gx, i, j), -negu)
		}
	}
	i = n &^ 7
	if i < n {
		klDivVecGeneric(x[i:], t[i:], out[i:], lt[i:], sub(gx, i, n), -negu)
	}
}

// klDivVecGeneric is KLDivVec's pure-Go reference.
func klDivVecGeneric[T Float](x, t, out, lt, gx []T, u T) {
	n := len(x)
	Logfs(lt, t)
	for i, ti := range t {
		var xl T // xlogy(t, t)
		if ti != ti {
			xl = ti
		} else if ti != 0 {
			xl = T(ti * lt[i])
		}
		out[i] = xl - T(ti*x[i])
	}
	if gx != nil {
		KLDivGradConst(t, u, gx[:n])
	}
}

// KLDivGradConst writes KLDivVec's input gradient alone, gx[i] = (−u)·t[i]
// for the constant upstream gradient u.
func KLDivGradConst[T Float](t []T, u T, gx []T) {
	gx = gx[:len(t)]
	for i, ti := range t {
		gx[i] = -u * ti
	}
}

// KLDivBackward writes the gradients for the upstream gradient up(i) of
// each element, in each argument's dtype (gx or gt may be nil):
//
//	LogTarget: ∂x = −(u·e^t)   ∂t = u·e^t + (u·(t − x))·e^t
//	else:      ∂x = (−u)·t     ∂t = (−u)·x + xlogy(u, t)·[t ≠ 0] + (u·t)/t
//
// The last term is 0/0 = NaN at t == 0, as in PyTorch.
func KLDivBackward[T Float](p KLDiv, x, t []T, up func(int) T, gx, gt []T) {
	for i := range x {
		xi, ti, u := x[i], t[i], up(i)
		if p.LogTarget {
			e := expIn(ti, p.TF32)
			gD := u * e // mul backward to t − x
			if gx != nil {
				gx[i] = narrow(-gD, p.XF32)
			}
			if gt != nil {
				gE := narrow(u*(ti-xi), p.TF32)
				gt[i] = narrow(narrow(gD, p.TF32)+narrow(gE*e, p.TF32), p.TF32)
			}
			continue
		}
		if gx != nil {
			gx[i] = narrow(-u*ti, p.XF32)
		}
		if gt != nil {
			uA := narrow(u, p.TF32)
			var gself T
			if ti != 0 {
				gself = xlogyIn(uA, ti, p.TF32)
			}
			gother := narrow(narrow(uA*ti, p.TF32)/ti, p.TF32)
			g := narrow(narrow(-u*xi, p.TF32)+gself, p.TF32)
			gt[i] = narrow(g+gother, p.TF32)
		}
	}
}
