package kernels

// The nll_loss kernels (ATen's LossNLL.cpp and LossNLL2d.cpp). They view the
// input as (B, C, M): sample b, class c and position e at (b*C + c)*M + e
// (M = 1 for 1-D and 2-D inputs, d1·…·dk for a K-dimensional one). The
// target holds B*M class indices, the one of (b, e) at b*M + e. Targets must
// have been validated (each is ignore or in [0, C)) before these run.

// nllIndex returns the input index read by target entry i of class t.
func nllIndex(i int, t int64, c, m int) int {
	b, e := i/m, i%m
	return (b*c+int(t))*m + e
}

// NLLForwardNone writes the unreduced loss: out[i] = 0 for an ignored
// target, else (−x[b, t, e])·w[t] (w nil: no weight).
func NLLForwardNone[T Float](x []T, tgt []int64, w []T, c, m int, ignore int64, out []T) {
	for i, t := range tgt {
		if t == ignore {
			out[i] = 0
			continue
		}
		v := -x[nllIndex(i, t, c, m)]
		if w != nil {
			v = T(v * w[t])
		}
		out[i] = v
	}
}

// NLLForwardReduced returns the summed loss Σ −x[b, t, e]·w[t] over the
// non-ignored targets and the total weight (Σ w[t], or the count of
// non-ignored targets without a weight), accumulated with ATen's 8-level
// cascade so that float32 results agree bit for bit. The caller divides for
// 'mean' (and handles an empty target: NaN or 0).
func NLLForwardReduced[T Float](x []T, tgt []int64, w []T, c, m int, ignore int64) (loss, total T) {
	return NLLReduceGathered(func(i int, t int64) T { return x[nllIndex(i, t, c, m)] }, tgt, w, ignore)
}

// NLLReduceGathered is NLLForwardReduced with the log-probability of entry i
// at its target t given by at(i, t) (called for non-ignored entries only).
func NLLReduceGathered[T Float](at func(i int, t int64) T, tgt []int64, w []T, ignore int64) (loss, total T) {
	const levels = 8
	n := len(tgt)
	lp := max(4, ceilLog2(n)/levels)
	mask := (1 << lp) - 1
	var ls, ws [levels]T
	ignored := 0
	for i, t := range tgt {
		if t == ignore {
			ignored++
			continue // an ignored entry does not trigger the flush
		}
		v := at(i, t)
		if w != nil {
			wt := w[t]
			ls[0] -= T(v * wt)
			ws[0] += wt
		} else {
			ls[0] -= v
		}
		for j := 0; j+1 < levels; j++ {
			if i&(mask<<(j*lp)) != 0 {
				break
			}
			ws[j+1] += ws[j]
			ls[j+1] += ls[j]
			ws[j], ls[j] = 0, 0
		}
	}
	if w == nil {
		total = T(n - ignored)
	} else {
		for _, v := range ws {
			total += v
		}
	}
	for _, v := range ls {
		loss += v
	}
	return loss, total
}

// NLLBackwardNone writes the gradient of the unreduced loss for the
// upstream gradient g (one per target): gx[b, t, e] = (−w[t])·g[i] for each
// non-ignored target; gx must be zeroed.
func NLLBackwardNone[T Float](g []T, tgt []int64, w []T, c, m int, ignore int64, gx []T) {
	for i, t := range tgt {
		if t == ignore {
			continue
		}
		var wt T = 1
		if w != nil {
			wt = w[t]
		}
		gx[nllIndex(i, t, c, m)] = -wt * g[i]
	}
}

// NLLBackwardReduced writes the gradient of a reduced loss: gx[b, t, e] =
// w[t]·g (or g) for each non-ignored target, where g is already
// −(grad_output / total_weight) for 'mean' and −grad_output for 'sum'; gx
// must be zeroed. With every target ignored nothing is written: the
// gradient is zero, not NaN.
func NLLBackwardReduced[T Float](g T, tgt []int64, w []T, c, m int, ignore int64, gx []T) {
	for i, t := range tgt {
		if t == ignore {
			continue
		}
		v := g
		if w != nil {
			v = w[t] * g
		}
		gx[nllIndex(i, t, c, m)] = v
	}
}
