package kernels

import "unsafe"

// CTC (Connectionist Temporal Classification) loss kernels, after PyTorch's
// CPU implementation (aten/src/ATen/native/LossCTC.cpp), which follows
// Graves et al., "Connectionist Temporal Classification", ICML 2006.
//
// One sample is handled at a time. Its log-probabilities are rows of a
// (T, N, C) array: lp[off + t*stride + c] is log p(c | t) of the sample, with
// stride = N·C and off = b·C. The extended label sequence l' of a target
// l_0 … l_{S-1} has 2S+1 entries, the blank at even positions and l_{s/2} at
// odd ones. All arithmetic is scalar, in the element type T, in PyTorch's
// order of operations; exp and log are Expf and Logf for float32 (eight
// lanes with AVX2, bitwise the scalar functions; within 1 ULP) and Exp and
// Log for float64, except for the final log-sum of the forward (Exp, Log).

// CTCSample describes one sample of a batch for the CTC kernels.
type CTCSample[T Float] struct {
	LP     []T     // the whole (T, N, C) log-probability array
	Off    int     // offset of the sample's first class at t = 0 (b·C)
	Stride int     // distance between time steps (N·C)
	C      int     // number of classes
	L      int     // input length, 0 <= L <= T
	Labels []int64 // the target, S labels, each in [0, C) and != Blank
	Blank  int     // the blank label, in [0, C)
}

// prime returns l'(s): the blank for even s, the label s/2 for odd s.
func (x *CTCSample[T]) prime(s int) int {
	if s%2 == 0 {
		return x.Blank
	}
	return int(x.Labels[s/2])
}

func (x *CTCSample[T]) lp(t, c int) T { return x.LP[x.Off+t*x.Stride+c] }

// ctcBlock is the number of time steps whose gradient accumulations
// CTCBackward vectorizes together.
const ctcBlock = 64

// CTCAlphaLen is the size of the alpha table CTCForward needs for a sample
// of input length L and target length S: L·(2S+1) (0 when L is 0).
func CTCAlphaLen(L, S int) int { return L * (2*S + 1) }

// CTCForward runs the alpha (forward) recursion of one sample in log space
// and returns its negative log-likelihood. alpha has CTCAlphaLen(L, S)
// entries, alpha[t*(2S+1)+s]; it is filled for the backward. k is the
// scratch (nil: allocated for the call); the result does not depend on
// what k held.
//
//	alpha[0][0] = lp[0][blank], alpha[0][1] = lp[0][l'(1)] (S > 0), else -inf
//	alpha[t][s] = logsumexp(alpha[t-1][s], alpha[t-1][s-1],
//	                        alpha[t-1][s-2] if l'(s-2) != l'(s)) + lp[t][l'(s)]
//	nll = -logsumexp(alpha[L-1][2S], alpha[L-1][2S-1])   (-alpha[L-1][0] if S = 0)
//
// The log-sum-exp subtracts the maximum m of its terms (0 when all are -inf)
// and computes ((log((exp(a1-m) + exp(a2-m)) + exp(a3-m)) + m) + lp, as
// PyTorch does. With L = 0 the loss is -0.0 (negative zero) if S = 0 and +inf
// otherwise; an impossible alignment (S too long for L, or repeated labels
// without room for a blank) gives +inf.
func CTCForward[T Float](x *CTCSample[T], alpha []T, k *CTCWork[T]) T {
	if k == nil {
		k = new(CTCWork[T])
	}
	S := len(x.Labels)
	if x.L == 0 {
		var z T
		if S == 0 {
			return -z // -0.0, as PyTorch's -(0) in T
		}
		return Inf[T](1)
	}
	neginf := Inf[T](-1)
	w := 2*S + 1
	row0 := alpha[:w]
	for s := range row0 {
		row0[s] = neginf
	}
	row0[0] = x.lp(0, x.Blank)
	if S > 0 {
		row0[1] = x.lp(0, x.prime(1))
	}
	// Each row is computed in four vectorizable steps (the exponentials and
	// logarithms of a whole row at once), with the same operations as
	//
	//	cur[s] = (Log((Exp(a1-m)+Exp(a2-m))+Exp(a3-m)) + m) + lp(t, l'(s))
	//
	// (Expf and Logf for float32).
	pr, skip := k.primes(x)
	e, ms := k.rowScratch(w)
	e1, e2, e3 := e[:w], e[w:2*w], e[2*w:3*w]
	var v *ctcVec[T]
	if Is32[T]() && hasAVX2 {
		// The eight-lane row kernel: rows padded with two -inf in front.
		vv := k.newVec(w, 2)
		v = &vv
		for s := range skip {
			if skip[s] {
				v.mask[s] = ^uint32(0)
			}
		}
		copy(v.p[2:], row0)
	}
	for t := 1; t < x.L; t++ {
		prev := alpha[(t-1)*w : t*w]
		cur := alpha[t*w : (t+1)*w]
		lpt := x.LP[x.Off+t*x.Stride : x.Off+t*x.Stride+x.C]
		if v != nil {
			w8 := len(v.lpg)
			for s, c := range pr {
				v.lpg[s] = lpt[c]
			}
			out := v.q[2 : 2+w8]
			if ctcRowVec(v.p[2:2+w8], v.p[1:1+w8], v.p[:w8], v.mask, v.lpg, out) {
				ctcAlphaRow(prev, cur, pr, skip, lpt, e, e1, e2, e3, ms)
				copy(out, cur)
			} else {
				copy(cur, out)
			}
			for s := w; s < w8; s++ {
				out[s] = neginf
			}
			v.p, v.q = v.q, v.p
			continue
		}
		ctcAlphaRow(prev, cur, pr, skip, lpt, e, e1, e2, e3, ms)
	}
	last := alpha[(x.L-1)*w : x.L*w]
	if S == 0 {
		return -last[0]
	}
	l1, l2 := last[2*S], last[2*S-1]
	m := Max(l1, l2)
	if m == neginf {
		m = 0
	}
	return -(Log(Exp(l1-m)+Exp(l2-m)) + m)
}

// ctcAlphaRow computes one alpha row cur from prev with the scalar
// operations of CTCForward (the exponentials and logarithms of the row at
// once).
func ctcAlphaRow[T Float](prev, cur []T, pr []int32, skip []bool, lpt, e, e1, e2, e3, ms []T) {
	neginf := Inf[T](-1)
	w := len(cur)
	for s := 0; s < w; s++ {
		a1 := prev[s]
		m := a1
		a2, a3 := neginf, neginf
		if s > 0 {
			a2 = prev[s-1]
			if a2 > m {
				m = a2
			}
		}
		if skip[s] {
			a3 = prev[s-2]
			if a3 > m {
				m = a3
			}
		}
		if m == neginf {
			m = 0
		}
		ms[s] = m
		e1[s], e2[s], e3[s] = a1-m, a2-m, a3-m
	}
	ExpfSlice(e, e)
	for s := range cur {
		cur[s] = (e1[s] + e2[s]) + e3[s]
	}
	LogfSlice(cur, cur)
	for s, c := range pr {
		cur[s] = (cur[s] + ms[s]) + lpt[c]
	}
}

// ctcVec holds the padded rows of the eight-lane recursion kernel
// (ctcRow32AVX2): p and q (the previous and the next row, w rounded up to
// eight plus two -inf entries of padding), the transition mask and the
// gathered log-probabilities of a row.
type ctcVec[T Float] struct {
	p, q []T
	mask []uint32
	lpg  []T
}

// ctcRowVec runs ctcRow32AVX2 on float32 rows (T is float32): for each
// lane, m = max(a1, a2, a3') with a3' = a3 where mask is set and -inf
// elsewhere (0 when m is -inf) and out = (Logf((Expf(a1−m) + Expf(a2−m))
// + Expf(a3'−m)) + m) + lpg, the scalar recursion's operations, bit for
// bit, with two exponentials per lane instead of three: the maximum's
// term is exactly Expf(0) = 1 and is not computed (nor, when a1 and a2 are
// not the maximum, e3, which is then 1 or Expf(−inf) = 0). It returns true
// when a lane needs the scalar path (a NaN difference).
func ctcRowVec[T Float](a1, a2, a3 []T, mask []uint32, lpg, out []T) bool {
	f := func(s []T) []float32 { return unsafe.Slice((*float32)(unsafe.Pointer(unsafe.SliceData(s))), len(s)) }
	return ctcRow32AVX2(f(a1), f(a2), f(a3), mask, f(lpg), f(out))
}

// CTCBackward writes the gradient of one sample with respect to its
// log-probabilities into grad, which has the layout of x.LP (the same Off and
// Stride): the sample's rows t < steps, steps being the number of time steps
// of the array. alpha is the table CTCForward filled, nll its result and gr
// the gradient reaching the sample's loss.
//
// The beta (backward) recursion mirrors the forward one from t = L-1 down,
// keeping two rows; for each t the products alpha·beta are log-summed per
// class c into grad[t][c] (Graves eq. 16). Then, for t < L,
//
//	grad[t][c] = (exp(lp[t][c]) - exp((grad[t][c] + nll) - lp[t][c])) * gr
//
// which is PyTorch's result: the gradient with respect to the logits of a
// log_softmax (exp(lp) minus the posterior), not the true derivative of the
// loss with respect to lp (minus the posterior). Rows t >= L are 0. With
// zeroInfinity and nll = +inf every row is 0; without it an impossible
// alignment gives NaN in every row t < L (-inf + inf). k is the scratch
// (nil: allocated for the call); the result does not depend on what k held.
func CTCBackward[T Float](x *CTCSample[T], steps int, alpha []T, nll, gr T, zeroInfinity bool, grad []T, k *CTCWork[T]) {
	zeroRows := func(from int) {
		for t := from; t < steps; t++ {
			row := grad[x.Off+t*x.Stride : x.Off+t*x.Stride+x.C]
			for c := range row {
				row[c] = 0
			}
		}
	}
	if zeroInfinity && nll == Inf[T](1) {
		zeroRows(0)
		return
	}
	if k == nil {
		k = new(CTCWork[T])
	}
	neginf := Inf[T](-1)
	S := len(x.Labels)
	w := 2*S + 1
	at := func(t, c int) *T { return &grad[x.Off+t*x.Stride+c] }
	if x.L > 0 {
		for c := 0; c < x.C; c++ {
			*at(x.L-1, c) = neginf
		}
		L := x.L
		k.rows = grow(k.rows, 2*w)
		next := k.rows[:w] // beta[t+1]
		cur := k.rows[w:]  // beta[t]
		pr, skip := k.primes(x)
		var v *ctcVec[T]
		if Is32[T]() && hasAVX2 {
			// The eight-lane row kernel: rows padded with -inf behind;
			// next and cur are views of its rows.
			vv := k.newVec(w, 2)
			v = &vv
			for s := 0; s < 2*S-1; s++ {
				if skip[s+2] {
					v.mask[s] = ^uint32(0)
				}
			}
			next, cur = v.p[:w], v.q[:w]
		}
		for s := range next {
			next[s] = neginf
		}
		la := alpha[(L-1)*w : L*w]
		next[2*S] = x.lp(L-1, x.Blank)
		*at(L-1, x.Blank) = la[2*S] + next[2*S]
		if S > 0 {
			cp := x.prime(2*S - 1)
			next[2*S-1] = x.lp(L-1, cp)
			*at(L-1, cp) = la[2*S-1] + next[2*S-1]
		}
		e, ms := k.rowScratch(w)
		e1, e2, e3 := e[:w], e[w:2*w], e[2*w:3*w]
		// The products alpha·beta of a block of up to ctcBlock time steps,
		// transposed (lab[s*ctcBlock+j] for t = t0+j), and their per-class
		// accumulators acc[c*ctcBlock+j]: the log-add-exp chain of each
		// (t, c) is PyTorch's (s from 2S down to 0), computed for the
		// block's time steps side by side.
		k.lab = grow(k.lab, w*ctcBlock)
		k.acc = grow(k.acc, x.C*ctcBlock)
		k.tmp = grow(k.tmp, 3*ctcBlock)
		lab, acc, tmp := k.lab, k.acc, k.tmp
		top := L - 2 // the block's last time step
		for t := L - 2; t >= 0; t-- {
			la = alpha[t*w : (t+1)*w]
			lpt := x.LP[x.Off+t*x.Stride : x.Off+t*x.Stride+x.C]
			// beta[t] for every s first, vectorized as in CTCForward.
			if v != nil {
				w8 := len(v.lpg)
				for s, c := range pr {
					v.lpg[s] = lpt[c]
				}
				if ctcRowVec(v.p[:w8], v.p[1:1+w8], v.p[2:2+w8], v.mask, v.lpg, v.q[:w8]) {
					ctcBetaRow(next, cur, skip, e, e1, e2, e3, ms)
					for s, c := range pr {
						cur[s] = (cur[s] + ms[s]) + lpt[c]
					}
				}
				for s := w; s < len(v.q); s++ {
					v.q[s] = neginf
				}
				v.p, v.q = v.q, v.p
				next, cur = cur, next
				j := top - t
				for s := range pr {
					lab[s*ctcBlock+j] = la[s] + next[s]
				}
				if j == ctcBlock-1 || t == 0 {
					ctcAccumulate(x, pr, lab, acc, tmp, j+1, top, grad)
					top = t - 1
				}
				continue
			}
			ctcBetaRow(next, cur, skip, e, e1, e2, e3, ms)
			j := top - t
			for s, c := range pr {
				cur[s] = (cur[s] + ms[s]) + lpt[c]
				lab[s*ctcBlock+j] = la[s] + cur[s]
			}
			if j == ctcBlock-1 || t == 0 {
				ctcAccumulate(x, pr, lab, acc, tmp, j+1, top, grad)
				top = t - 1
			}
			next, cur = cur, next
		}
	}
	k.ea = grow(k.ea, 2*x.C)
	ea := k.ea
	eb := ea[x.C:]
	ea = ea[:x.C]
	for t := 0; t < x.L; t++ {
		row := grad[x.Off+t*x.Stride : x.Off+t*x.Stride+x.C]
		lps := x.LP[x.Off+t*x.Stride : x.Off+t*x.Stride+x.C]
		// exp(-inf) = 0 is not computed (in Expf's vector form it takes
		// slow subnormal arithmetic): the argument kept in row, 0 in eb.
		for c, lp := range lps {
			d := (row[c] + nll) - lp
			row[c] = d
			if d == neginf {
				d = 0
			}
			eb[c] = d
		}
		ExpfSlice(ea, lps)
		ExpfSlice(eb, eb)
		for c, d := range row {
			e := eb[c]
			if d == neginf {
				e = 0
			}
			row[c] = (ea[c] - e) * gr
		}
	}
	zeroRows(x.L)
}

// ctcAccStep log-adds l into g elementwise (ctcAccumulate's step for one
// state); e and ms are scratch of len(g).
func ctcAccStep[T Float](g, l, e, ms []T) {
	neginf := Inf[T](-1)
	for j, a := range g {
		m := Max(a, l[j])
		ms[j] = m
		// One of a−m and l−m is 0 (the maximum's), whose exponential
		// is exactly 1: only the other one is computed, and
		// exp(a−m) + exp(l−m) = 1 + exp(d) bit for bit (a NaN gives
		// NaN either way).
		d := a - m
		if d == 0 {
			d = l[j] - m
		}
		if a == neginf {
			// The result is lab; a finite argument keeps the block on
			// the vector path (-inf - -inf would be NaN).
			d = 0
		}
		e[j] = d
	}
	ExpfSlice(e, e)
	for j := range e {
		e[j] = 1 + e[j]
	}
	LogfSlice(e, e)
	for j, a := range g {
		if a == neginf {
			g[j] = l[j]
		} else {
			g[j] = e[j] + ms[j]
		}
	}
}

// ctcBetaRow computes the log-sum-exp part of one beta row, cur[s] before
// the addition of ms[s] and lp, from next (beta[t+1]) with the scalar
// operations of CTCBackward.
func ctcBetaRow[T Float](next, cur []T, skip []bool, e, e1, e2, e3, ms []T) {
	neginf := Inf[T](-1)
	S := (len(cur) - 1) / 2
	for s := 2 * S; s >= 0; s-- {
		b1 := next[s]
		m := b1
		b2, b3 := neginf, neginf
		if s < 2*S {
			b2 = next[s+1]
			if b2 > m {
				m = b2
			}
		}
		if s < 2*S-1 && skip[s+2] {
			b3 = next[s+2]
			if b3 > m {
				m = b3
			}
		}
		if m == neginf {
			m = 0
		}
		ms[s] = m
		e1[s], e2[s], e3[s] = b1-m, b2-m, b3-m
	}
	ExpfSlice(e, e)
	for s := range cur {
		cur[s] = (e1[s] + e2[s]) + e3[s]
	}
	LogfSlice(cur, cur)
}

// ctcAccumulate log-sums, for the n time steps top, top-1, …, top-n+1
// (column j of lab is t = top-j), the products alpha·beta of each class
// into acc, s from 2S down to 0, with the scalar operations
//
//	acc = lab                               if acc = -inf
//	acc = Log(Exp(acc-m)+Exp(lab-m)) + m    otherwise, m = Max(acc, lab)
//
// (Expf and Logf for float32)
//
// (the exponential of the maximum's term, exactly 1, skipped; the exponentials and logarithms of a block at once), and writes the
// sums into grad's rows.
func ctcAccumulate[T Float](x *CTCSample[T], pr []int32, lab, acc, tmp []T, n, top int, grad []T) {
	neginf := Inf[T](-1)
	for i := range acc {
		acc[i] = neginf
	}
	vec := Is32[T]() && hasAVX2
	for s := len(pr) - 1; s >= 0; s-- {
		g := acc[int(pr[s])*ctcBlock:][:n]
		l := lab[s*ctcBlock:][:n]
		j0 := 0
		if m8 := n &^ 7; vec && m8 > 0 {
			// Eight lanes (ctcAcc32AVX2), the same operations; a block
			// with a special case is redone by the loops below.
			out := tmp[ctcBlock : ctcBlock+m8]
			f := func(s []T) []float32 { return unsafe.Slice((*float32)(unsafe.Pointer(unsafe.SliceData(s))), len(s)) }
			if !ctcAcc32AVX2(f(g[:m8]), f(l[:m8]), f(out)) {
				copy(g, out)
				j0 = m8
			}
		}
		if j0 < n {
			ctcAccStep(g[j0:], l[j0:], tmp[:n-j0], tmp[2*ctcBlock:2*ctcBlock+n-j0])
		}
	}
	for j := 0; j < n; j++ {
		row := grad[x.Off+(top-j)*x.Stride:][:x.C]
		for c := range row {
			row[c] = acc[c*ctcBlock+j]
		}
	}
}
