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
const ctcBlock = 32

// CTCAlphaLen is the size of the alpha table CTCForward needs for a sample
// of input length L and target length S: L·(2S+1) (0 when L is 0).
func CTCAlphaLen(L, S int) int { return L * (2*S + 1) }

// ctcBand is the part of each row of the recursions the kernels compute:
// states lo <= s < hi of row t (at). When on, it leaves out the states
// whose alpha or beta is exactly -inf whatever the log-probabilities
// (alpha[t][s] for s > 2t+1: no path reaches them; beta[t][s] for
// s < 2S+1-2(L-t): no path from them reaches the end), and whose products
// alpha·beta are then -inf and change no gradient sum: they contribute
// nothing to the loss or to the gradient, and no state inside the band
// reads one outside it except the upper ones of alpha and the lower ones
// of beta, which stay -inf in the padded rows.
//
// That holds when the sample's log-probabilities are neither NaN nor +inf
// (-inf + NaN and -inf + inf are NaN, not -inf) and its alphas and betas
// cannot overflow to +inf (a -inf product added to a +inf sum is NaN): the
// band is on when every log-probability of the sample's classes in its L
// rows is <= 0 (log-probabilities; NaN fails the test), and S <= L (else
// no alignment exists and every row is needed for PyTorch's NaNs). When it
// is off, every row is computed whole, lo = 0 and hi = 2S+1.
type ctcBand struct {
	on      bool
	S, L, w int
}

func (b ctcBand) at(t int) (lo, hi int) {
	if !b.on {
		return 0, b.w
	}
	return max(0, 2*b.S+1-2*(b.L-t)), min(b.w, 2*t+2)
}

// in reports whether state s of row t is in the band.
func (b ctcBand) in(t, s int) bool {
	lo, hi := b.at(t)
	return lo <= s && s < hi
}

// band returns the band of x (pr its l'). The band CTCForward finds is
// kept in k for the CTCBackward of the same sample that follows it (the
// same CTCSample fields), which then does not scan the log-probabilities
// again: the caller does not change them in between (the alpha table would
// not match them either). That backward forgets it, and so does
// PutCTCWork: no later call, after the log-probabilities may have changed,
// finds it.
func (k *CTCWork[T]) band(x *CTCSample[T], pr []int32) ctcBand {
	key := ctcKey[T]{unsafe.SliceData(x.LP), len(x.LP), x.Off, x.Stride, x.C, x.L, x.Blank, unsafe.SliceData(x.Labels), len(x.Labels)}
	if k.last.ok && k.last.key == key {
		return k.last.band
	}
	b := ctcBandOf(x, pr, k)
	k.last.ok, k.last.key, k.last.band = true, key, b
	return b
}

// ctcKey identifies a sample: its CTCSample fields.
type ctcKey[T Float] struct {
	lp                        *T
	n, off, stride, c, l, blk int
	labels                    *int64
	s                         int
}

// ctcBandOf computes the band of x (pr its l'), scanning its
// log-probabilities.
func ctcBandOf[T Float](x *CTCSample[T], pr []int32, k *CTCWork[T]) ctcBand {
	b := ctcBand{S: len(x.Labels), L: x.L, w: len(pr)}
	if b.S > x.L {
		return b
	}
	// The distinct classes of l', then their log-probabilities.
	k.head = grow(k.head, x.C)
	seen := k.head
	for c := range seen {
		seen[c] = 0
	}
	cls := k.cls[:0]
	for _, c := range pr {
		if seen[c] == 0 {
			seen[c] = 1
			cls = append(cls, c)
		}
	}
	k.cls = cls
	// Class by class, the rows one after the other: the loads of many
	// rows (each in its own cache lines) are in flight at once.
	lp := x.LP[x.Off : x.Off+(x.L-1)*x.Stride+x.C]
	for _, c := range cls {
		for i := int(c); i < len(lp); i += x.Stride {
			if !(lp[i] <= 0) {
				return b
			}
		}
	}
	b.on = true
	return b
}

// ctcRows holds the two rows of a recursion (the previous and the next,
// swapped after each time step), each as its blank states (e: state 2i at
// index 1+i, i <= S) and its label states (o: state 2i+1 at index 1+i,
// i < S), padded with -inf: one entry in front, and behind 10 more (the
// lanes the eight-lane kernels compute past a band's end, and the states
// past 2S the backward reads). masks are the transition masks of the label
// states (the blanks have none: zmask, all 0) for the forward and the
// backward, lpg the gathered log-probabilities of a row's label states
// (lpg[i] = lp[t][l_i]) and lpb the blank's, repeated, for the scalar
// operations.
type ctcRows[T Float] struct {
	pe, po, qe, qo []T
	fmask, bmask   []uint32
	zmask          []uint32
	lpg, lpb       []T
}

// newRows returns the rows for S labels: pe, po, qe and qo all -inf, the
// masks, lpg and lpb all 0.
func (k *CTCWork[T]) newRows(S int) ctcRows[T] {
	n := S + 12
	k.vec = grow(k.vec, 6*n)
	k.mask = grow(k.mask, 3*n)
	buf := k.vec
	neginf := Inf[T](-1)
	for i := range buf[:4*n] {
		buf[i] = neginf
	}
	clear(buf[4*n:])
	clear(k.mask)
	m := k.mask
	return ctcRows[T]{pe: buf[:n], po: buf[n : 2*n], qe: buf[2*n : 3*n], qo: buf[3*n : 4*n],
		fmask: m[:n], bmask: m[n : 2*n], zmask: m[2*n:], lpg: buf[4*n : 5*n], lpb: buf[5*n:]}
}

// swap makes the next row the previous one.
func (r *ctcRows[T]) swap() { r.pe, r.po, r.qe, r.qo = r.qe, r.qo, r.pe, r.po }

// gather sets lpg[i] = lpt[l_i] for lo <= i < hi.
func (r *ctcRows[T]) gather(lpt []T, labels []int64, lo, hi int) {
	g := r.lpg[lo:hi]
	for i, c := range labels[lo:hi] {
		g[i] = lpt[c]
	}
}

// ctcHalves returns the blank states [elo, ehi) and the label states [olo,
// ohi) (as indices i of states 2i and 2i+1) of the states [lo, hi).
func ctcHalves(lo, hi int) (elo, ehi, olo, ohi int) {
	return (lo + 1) / 2, (hi + 1) / 2, lo / 2, hi / 2
}

// row computes, for i < n, out[i] = (Log((Exp(a1[i]-m) + Exp(a2[i]-m)) +
// Exp(a3'[i]-m)) + m) + lpg[i], with a3' = a3 where mask is set and -inf
// elsewhere, m = max(a1, a2, a3') (0 when -inf): one row of either
// recursion, in PyTorch's operations (Expf and Logf for float32). The
// eight-lane kernel computes n rounded up to 8 lanes (the slices are long
// enough); row returns the number of lanes written.
func (k *CTCWork[T]) row(a1, a2, a3 []T, mask []uint32, lpg, out []T, n int) int {
	if useAVX2[T]() {
		n8 := (n + 7) &^ 7
		if !ctcRowVec(a1[:n8], a2[:n8], a3[:n8], mask[:n8], lpg[:n8], out[:n8]) {
			return n8
		}
		n = n8 // a lane needs the scalar operations: redo them all
	}
	e, ms := k.rowScratch(n)
	ctcRowGeneric(a1[:n], a2[:n], a3[:n], mask[:n], lpg[:n], out[:n], e, ms)
	return n
}

// rowBlank computes n blank states of a row: out[i] = row's result for
// a1 = a[i], a2 = l[i], no third term and the blank's log-probability lpb
// (lpg, the first n8 entries of r.lpb, is filled with it when needed).
//
// In the band (fast), with the eight-lane kernels, that is ctcAcc32AVX2's
// log-add-exp plus lpb, bit for bit: without a third term (Expf(-inf) = 0
// exactly) the recursion's sum is 1 + Expf(d), d the difference of the
// non-maximal term (1 + 1 when both are the maximum), as ctcAcc32AVX2's;
// where a = -inf it returns l itself where the recursion computes
// Logf(1) + m = 0 + l: the same but for l = -0 (0 + -0 is +0), which
// adding +0 gives too; both terms -inf give -inf either way, and without
// NaN or +inf in the band (ctcBand) the kernel needs no special case. The
// lanes past n the kernel computes are left without lpb. Outside the band
// (NaN, +inf: the two kernels' special cases differ) it is row itself.
func (k *CTCWork[T]) rowBlank(r *ctcRows[T], a, l, out []T, n int, lpb T, fast bool) int {
	n8 := (n + 7) &^ 7
	if fast && useAVX2[T]() {
		if !ctcAcc32AVX2(f32s(a[:n8]), f32s(l[:n8]), f32s(out[:n8])) {
			var zero T
			o := out[:n]
			for i, v := range o {
				o[i] = (v + zero) + lpb
			}
			return n8
		}
	}
	lpg := r.lpb[:n8]
	for i := range lpg {
		lpg[i] = lpb
	}
	return k.row(a, l, a, r.zmask, lpg, out, n)
}

// ctcRowGeneric is row's pure-Go reference: its operations, the exponentials and logarithms of the
// lanes at once (e: 3·len(out), ms: len(out)).
func ctcRowGeneric[T Float](a1, a2, a3 []T, mask []uint32, lpg, out, e, ms []T) {
	neginf := Inf[T](-1)
	n := len(out)
	e1, e2, e3 := e[:n], e[n:2*n], e[2*n:3*n]
	for i := range out {
		b1 := a1[i]
		m := b1
		b2 := a2[i]
		if b2 > m {
			m = b2
		}
		b3 := neginf
		if mask[i] != 0 {
			b3 = a3[i]
			if b3 > m {
				m = b3
			}
		}
		if m == neginf {
			m = 0
		}
		ms[i] = m
		e1[i], e2[i], e3[i] = b1-m, b2-m, b3-m
	}
	Expfs(e, e)
	for i := range out {
		out[i] = (e1[i] + e2[i]) + e3[i]
	}
	Logfs(out, out)
	for i := range out {
		out[i] = (out[i] + ms[i]) + lpg[i]
	}
}

// CTCForward runs the alpha (forward) recursion of one sample in log space
// and returns its negative log-likelihood. alpha has CTCAlphaLen(L, S)
// entries, filled for CTCBackward: row t, at t*(2S+1), holds the blank
// states (alpha[t][2i] at i, i <= S), then the label states
// (alpha[t][2i+1] at S+1+i); the entries outside the sample's band (see
// ctcBand) are left as they were: neither kernel reads them. k is the
// scratch (nil: allocated for the call); the result does not depend on
// what k held.
//
// Each row is computed as its label states, then its blank states, eight
// lanes at a time where the CPU has AVX2 (ctcRow32AVX2; in the band, the
// blanks, which have two terms, ctcAcc32AVX2's log-add-exp, see rowBlank).
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
	S := len(x.Labels)
	if x.L == 0 {
		var z T
		if S == 0 {
			return -z // -0.0, as PyTorch's -(0) in T
		}
		return Inf[T](1)
	}
	if k == nil {
		k = new(CTCWork[T])
	}
	neginf := Inf[T](-1)
	w := 2*S + 1
	pr, skip := k.primes(x)
	band := k.band(x, pr)
	r := k.newRows(S)
	for i := 0; i < S; i++ {
		if skip[2*i+1] {
			r.fmask[i] = ^uint32(0)
		}
	}
	// Row t of alpha holds the blank states (S+1), then the label states.
	put := func(t, lo, hi int) {
		elo, ehi, olo, ohi := ctcHalves(lo, hi)
		copy(alpha[t*w+elo:t*w+ehi], r.pe[1+elo:1+ehi])
		copy(alpha[t*w+S+1+olo:t*w+S+1+ohi], r.po[1+olo:1+ohi])
	}
	r.pe[1] = x.lp(0, x.Blank)
	if S > 0 {
		r.po[1] = x.lp(0, int(pr[1]))
	}
	lo0, hi0 := band.at(0)
	put(0, lo0, hi0)
	for t := 1; t < x.L; t++ {
		lo, hi := band.at(t)
		elo, ehi, olo, ohi := ctcHalves(lo, hi)
		lpt := x.LP[x.Off+t*x.Stride:][:x.C]
		// Label state 2i+1: alpha[t-1] at 2i+1, 2i and 2i-1 (masked).
		if ohi > olo {
			r.gather(lpt, x.Labels, olo, ohi)
			n := k.row(r.po[1+olo:], r.pe[1+olo:], r.po[olo:], r.fmask[olo:], r.lpg[olo:], r.qo[1+olo:], ohi-olo)
			for i := 1 + S; i < 1+olo+n; i++ {
				r.qo[i] = neginf
			}
		}
		// Blank state 2i: alpha[t-1] at 2i and 2i-1.
		n := k.rowBlank(&r, r.pe[1+elo:], r.po[elo:], r.qe[1+elo:], ehi-elo, lpt[x.Blank], band.on)
		for i := 2 + S; i < 1+elo+n; i++ {
			r.qe[i] = neginf
		}
		r.swap()
		put(t, lo, hi)
	}
	// alpha[L-1], -inf past the band.
	if S == 0 {
		return -r.pe[1]
	}
	l1, l2 := r.pe[1+S], r.po[S]
	m := Max(l1, l2)
	if m == neginf {
		m = 0
	}
	return -(Log(Exp(l1-m)+Exp(l2-m)) + m)
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
	return ctcRow32AVX2(f32s(a1), f32s(a2), f32s(a3), mask, f32s(lpg), f32s(out))
}

// CTCBackward writes the gradient of one sample with respect to its
// log-probabilities into grad, which has the layout of x.LP (the same Off and
// Stride): the sample's rows t < steps, steps being the number of time steps
// of the array. alpha is the table CTCForward filled, nll its result and gr
// the gradient reaching the sample's loss. k is the scratch (nil: allocated
// for the call); the result does not depend on what k held.
//
// The beta (backward) recursion mirrors the forward one from t = L-1 down,
// keeping two rows; for each t the products alpha·beta are log-summed per
// class c into g[t][c] (Graves eq. 16; -inf for a class without a state).
// Then, for t < L,
//
//	grad[t][c] = (exp(lp[t][c]) - exp((g[t][c] + nll) - lp[t][c])) * gr
//
// which is PyTorch's result: the gradient with respect to the logits of a
// log_softmax (exp(lp) minus the posterior), not the true derivative of the
// loss with respect to lp (minus the posterior). Rows t >= L are 0. With
// zeroInfinity and nll = +inf every row is 0; without it an impossible
// alignment gives NaN in every row t < L (-inf + inf).
func CTCBackward[T Float](x *CTCSample[T], steps int, alpha []T, nll, gr T, zeroInfinity bool, grad []T, k *CTCWork[T]) {
	zeroRows := func(from int) {
		for t := from; t < steps; t++ {
			row := grad[x.Off+t*x.Stride : x.Off+t*x.Stride+x.C]
			for c := range row {
				row[c] = 0
			}
		}
	}
	if k == nil {
		k = new(CTCWork[T])
	}
	if (zeroInfinity && nll == Inf[T](1)) || x.L == 0 {
		k.last.ok = false
		zeroRows(0)
		return
	}
	neginf := Inf[T](-1)
	S := len(x.Labels)
	w := 2*S + 1
	L := x.L
	pr, skip := k.primes(x)
	band := k.band(x, pr)
	r := k.newRows(S)
	for i := 0; i < S-1; i++ {
		if skip[2*i+3] {
			r.bmask[i] = ^uint32(0)
		}
	}
	k.ea = grow(k.ea, 3*x.C*ctcBlock)
	// alpha[t][s] where the band has it, -inf elsewhere (the blank states
	// first in a row of the table, see CTCForward).
	la := func(t, s int) T {
		if !band.in(t, s) {
			return neginf
		}
		if s%2 == 0 {
			return alpha[t*w+s/2]
		}
		return alpha[t*w+S+1+s/2]
	}
	// beta[L-1] and the products of row L-1.
	sums := k.ea[:x.C]
	for c := range sums {
		sums[c] = neginf
	}
	r.pe[1+S] = x.lp(L-1, x.Blank)
	sums[x.Blank] = la(L-1, 2*S) + r.pe[1+S]
	if S > 0 {
		cp := int(pr[2*S-1])
		r.po[S] = x.lp(L-1, cp)
		sums[cp] = la(L-1, 2*S-1) + r.po[S]
	}
	k.finish(x, L-1, 1, nll, gr, grad)
	// The rows below, in blocks of up to ctcBlock time steps top, top-1,
	// …, bot: the beta rows first, their products alpha·beta transposed
	// into lab (lab[s*ctcBlock+j] for t = top-j, the block's states
	// lo(bot) <= s < hi(top), -inf outside each row's band), then their
	// sums per class, the time steps side by side (accumulate).
	k.lab = grow(k.lab, (w+1)*ctcBlock)
	k.tmp = grow(k.tmp, 3*ctcBlock)
	k.head = grow(k.head, x.C)
	lab := k.lab
	for top := L - 2; top >= 0; top -= ctcBlock {
		bot := max(0, top-ctcBlock+1)
		blo, _ := band.at(bot)
		_, bhi := band.at(top)
		for t := top; t >= bot; t-- {
			lo, hi := band.at(t)
			elo, ehi, olo, ohi := ctcHalves(lo, hi)
			lpt := x.LP[x.Off+t*x.Stride:][:x.C]
			// Blank state 2i: beta[t+1] at 2i and 2i+1.
			n := k.rowBlank(&r, r.pe[1+elo:], r.po[1+elo:], r.qe[1+elo:], ehi-elo, lpt[x.Blank], band.on)
			for i := 2 + S; i < 1+elo+n; i++ {
				r.qe[i] = neginf
			}
			// Label state 2i+1: beta[t+1] at 2i+1, 2i+2 and 2i+3
			// (masked).
			if ohi > olo {
				r.gather(lpt, x.Labels, olo, ohi)
				n := k.row(r.po[1+olo:], r.pe[2+olo:], r.po[2+olo:], r.bmask[olo:], r.lpg[olo:], r.qo[1+olo:], ohi-olo)
				for i := 1 + S; i < 1+olo+n; i++ {
					r.qo[i] = neginf
				}
			}
			j := top - t
			for s := blo; s < lo; s++ {
				lab[s*ctcBlock+j] = neginf
			}
			ae := alpha[t*w+elo : t*w+ehi]
			for i, b := range r.qe[1+elo : 1+ehi] {
				lab[(2*(elo+i))*ctcBlock+j] = ae[i] + b
			}
			ao := alpha[t*w+S+1+olo : t*w+S+1+ohi]
			for i, b := range r.qo[1+olo : 1+ohi] {
				lab[(2*(olo+i)+1)*ctcBlock+j] = ao[i] + b
			}
			for s := hi; s < bhi; s++ {
				lab[s*ctcBlock+j] = neginf
			}
			r.swap()
		}
		k.accumulate(x, pr, blo, bhi, top-bot+1, top, nll, gr, grad)
	}
	k.last.ok = false
	zeroRows(L)
}

// finish writes the n rows top, top-1, …, top-n+1 of grad (the sample's
// rows t < L) from the log-sums of the products per class, k.ea[j*C+c]
// for t = top-j (see CTCBackward), its only stores to the rows. The
// exponentials of the rows are computed at once, exp(lp) and exp(d) of
// row j at k.ea[n*C+j*2C:][:2C].
func (k *CTCWork[T]) finish(x *CTCSample[T], top, n int, nll, gr T, grad []T) {
	neginf := Inf[T](-1)
	C := x.C
	ds, e := k.ea[:n*C], k.ea[n*C:3*n*C]
	for j := 0; j < n; j++ {
		lps := x.LP[x.Off+(top-j)*x.Stride:][:C]
		dj, ea, eb := ds[j*C:][:C], e[2*j*C:][:C], e[2*j*C+C:][:C]
		// exp(-inf) = 0 is not computed (in Expf's vector form it
		// takes slow subnormal arithmetic): the argument kept in ds, 0
		// in eb.
		for c, lp := range lps {
			d := (dj[c] + nll) - lp
			dj[c] = d
			if d == neginf {
				d = 0
			}
			ea[c] = lp
			eb[c] = d
		}
	}
	Expfs(e, e)
	for j := 0; j < n; j++ {
		row := grad[x.Off+(top-j)*x.Stride:][:C]
		dj, ea, eb := ds[j*C:][:C], e[2*j*C:][:C], e[2*j*C+C:][:C]
		for c, d := range dj {
			v := eb[c]
			if d == neginf {
				v = 0
			}
			row[c] = (ea[c] - v) * gr
		}
	}
}

// ctcAccStep log-adds l into g elementwise (accumulate's step for one
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
	Expfs(e, e)
	for j := range e {
		e[j] = 1 + e[j]
	}
	Logfs(e, e)
	for j, a := range g {
		if a == neginf {
			g[j] = l[j]
		} else {
			g[j] = e[j] + ms[j]
		}
	}
}

// accumulate log-sums, for the n time steps top, top-1, …, top-n+1 (column
// j of lab is t = top-j), the products alpha·beta of each class, states s
// from hi-1 down to lo (the block's; the states outside have -inf products
// only, which change no sum), with PyTorch's operations
//
//	acc = lab                               if acc = -inf (at first)
//	acc = Log(Exp(acc-m)+Exp(lab-m)) + m    otherwise, m = Max(acc, lab)
//
// (Expf and Logf for float32; the exponential of the maximum's term,
// exactly 1, skipped; the exponentials and logarithms of a block at once),
// then finishes grad's rows from the sums (finish).
//
// A class's sum starts as the products of its first state (the -inf start
// gives them unchanged) and lives in that state's row of lab: head[c] is
// the row. The eight-lane kernel writes each new sum into a spare row,
// which becomes the class's; the row it replaces becomes the spare.
func (k *CTCWork[T]) accumulate(x *CTCSample[T], pr []int32, lo, hi, n, top int, nll, gr T, grad []T) {
	neginf := Inf[T](-1)
	lab := k.lab
	head := k.head[:x.C]
	for c := range head {
		head[c] = -1
	}
	vec := useAVX2[T]()
	n8 := n
	if vec {
		// Whole vectors: the columns past n are -inf (their sums stay
		// -inf, unused).
		n8 = (n + 7) &^ 7
		for s := lo; s < hi; s++ {
			l := lab[s*ctcBlock:][n:n8]
			for j := range l {
				l[j] = neginf
			}
		}
	}
	spare := len(pr) // lab's row past the states'
	for s := hi - 1; s >= lo; s-- {
		c := pr[s]
		h := int(head[c])
		if h < 0 {
			head[c] = int32(s)
			continue
		}
		g := lab[h*ctcBlock:][:n8]
		l := lab[s*ctcBlock:][:n8]
		if vec {
			if !ctcAcc32AVX2(f32s(g), f32s(l), f32s(lab[spare*ctcBlock:][:n8])) {
				head[c] = int32(spare)
				spare = h
				continue
			}
			// A lane with a special case (NaN): the scalar step for
			// the whole block.
		}
		ctcAccStep(g[:n], l[:n], k.tmp[:n], k.tmp[2*ctcBlock:2*ctcBlock+n])
	}
	sums := k.ea[:n*x.C]
	for c, h := range head {
		if h < 0 {
			for j := 0; j < n; j++ {
				sums[j*x.C+c] = neginf
			}
		} else {
			for j, v := range lab[int(h)*ctcBlock:][:n] {
				sums[j*x.C+c] = v
			}
		}
	}
	k.finish(x, top, n, nll, gr, grad)
}
