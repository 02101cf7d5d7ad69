package kernels

// The cross_entropy kernels beyond nll_loss and log_softmax: the sum over
// the class dimension, and the elementwise parts of the probability-target
// path. Tensors are viewed as (outer, n, inner) around the class dimension
// (n classes), element (o, c, i) at (o*n + c)*inner + i.

// ClassSum writes out[o*inner + i] = Σ_c x[(o*n + c)*inner + i]. A
// contiguous row (inner = 1) is summed in PyTorch's cascade order (Sum);
// a strided class dimension is summed in class order, as ATen's vertical
// reduction does for a small class count.
func ClassSum[T Float](x, out []T, outer, n, inner int) {
	for o := 0; o < outer; o++ {
		if inner == 1 {
			out[o] = Sum(x[o*n : o*n+n])
			continue
		}
		for i := 0; i < inner; i++ {
			var s T
			for c := 0; c < n; c++ {
				s += x[(o*n+c)*inner+i]
			}
			out[o*inner+i] = s
		}
	}
}

// Round applies r, or nothing when r is nil. The probability-target path
// computes in the output type T but rounds some results to float32 where
// PyTorch computes them in a float32 tensor (mixed float32/float64 args).
func Round[T Float](r func(T) T, v T) T {
	if r == nil {
		return v
	}
	return r(v)
}

// CESmoothTargets writes out = t·keep + add (label smoothing of probability
// targets: keep = 1 − ls and add = ls/C, both already in the target's type),
// each operation rounded by rs to the target's type.
func CESmoothTargets[T Float](t []T, keep, add T, rs func(T) T, out []T) {
	for k, v := range t {
		out[k] = Round(rs, Round(rs, v*keep)+add)
	}
}

// CEProbProducts writes p = lp·tp (rounded by rv to the type of that
// product) and q = p·w[c] (w nil: q = p, and q may alias p): the terms whose
// negated sum is the probability-target loss.
func CEProbProducts[T Float](lp, tp, w []T, n, inner int, rv func(T) T, p, q []T) {
	for k := range lp {
		p[k] = Round(rv, lp[k]*tp[k])
		if w != nil {
			q[k] = p[k] * w[(k/inner)%n]
		} else {
			q[k] = p[k]
		}
	}
}

// CEProbBackward back-propagates gq, the gradient reaching each term q of
// CEProbProducts: gp = gq·w[c] (rounded by rv), glp = gp·tp and gtp = gp·lp
// (both rounded by rv), and gw[c] += gq·p summed over the positions. Any of
// glp, gtp, gw may be nil; gw must be zeroed.
func CEProbBackward[T Float](gq, lp, tp, w, p []T, n, inner int, rv func(T) T, glp, gtp, gw []T) {
	for k, g := range gq {
		c := (k / inner) % n
		gp := g
		if w != nil {
			gp = Round(rv, g*w[c])
			if gw != nil {
				gw[c] += T(g * p[k])
			}
		}
		if glp != nil {
			glp[k] = Round(rv, gp*tp[k])
		}
		if gtp != nil {
			gtp[k] = Round(rv, gp*lp[k])
		}
	}
}
