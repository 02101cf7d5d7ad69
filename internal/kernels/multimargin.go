package kernels

// The multi-class margin losses: multi_margin_loss and
// multilabel_margin_loss. Both work on an input of nframe rows of dim
// classes (row-major) and integer targets that the caller has validated
// (every index in range), following ATen's CPU kernels
// (aten/src/ATen/native/LossMultiMargin.cpp, LossMultiLabelMargin.cpp):
// per-element arithmetic in T, the per-sample sums and the reductions in
// the accumulation types those kernels use.

// MultiMarginSample is one sample's multi_margin_loss,
//
//	s = (Σ_{d≠y, z_d>0} h(z_d)·w_y) / dim,  z_d = (margin − x_y) + x_d,
//
// with h(z) = z (p = 1) or z·z (p = 2), summed in T in class order; w is
// nil without a weight. z must be strictly positive to count.
func MultiMarginSample[T Float](x []T, y int, w []T, p int, margin T) T {
	xy := x[y]
	var sum T
	for d, xd := range x {
		if d == y {
			continue
		}
		z := margin - xy + xd
		if z > 0 {
			h := z
			if p != 1 {
				h = T(z * z)
			}
			if w != nil {
				h = T(h * w[y])
			}
			sum += h
		}
	}
	return sum / T(len(x))
}

// MultiMarginForward writes each sample's loss (MultiMarginSample) to s
// (len nframe) for the rows of x (nframe × dim) and targets y.
func MultiMarginForward[T Float](x []T, y []int64, w []T, p int, margin T, nframe, dim int, s []T) {
	for t := 0; t < nframe; t++ {
		s[t] = MultiMarginSample(x[t*dim:(t+1)*dim], int(y[t]), w, p, margin)
	}
}

// MultiMarginReduce is the reduced multi_margin_loss: the per-sample losses
// summed in a float64 accumulator (ATen's acc_type on CPU, for float32
// too), divided by nframe for mean, then rounded to T.
func MultiMarginReduce[T Float](s []T, mean bool) T {
	var acc float64
	for _, v := range s {
		acc += float64(v)
	}
	if mean {
		acc /= float64(len(s))
	}
	return T(acc)
}

// MultiMarginBackward writes the gradient of multi_margin_loss with respect
// to x into gx (nframe × dim, fully overwritten), before the upstream
// gradient: for every d ≠ y with z_d > 0, h = g (p = 1) or (2·g)·z_d
// (p = 2), times w_y; gx[d] = h and gx[y] −= h (in class order); other
// entries are 0. g is float(1/(nframe·dim)) for mean, float(1/dim)
// otherwise, computed by the caller. Then every entry of row t is
// multiplied by up(t), the upstream gradient of that row.
func MultiMarginBackward[T Float](x []T, y []int64, w []T, p int, margin, g T, nframe, dim int, up func(t int) T, gx []T) {
	for t := 0; t < nframe; t++ {
		row := x[t*dim : (t+1)*dim]
		grow := gx[t*dim : (t+1)*dim]
		yi := int(y[t])
		xy := row[yi]
		var gy T
		for d, xd := range row {
			z := margin - xy + xd
			if d == yi {
				continue
			}
			if z > 0 {
				h := g
				if p != 1 {
					h = T(2 * g * z)
				}
				if w != nil {
					h *= w[yi]
				}
				gy -= h
				grow[d] = h
			} else {
				grow[d] = 0
			}
		}
		grow[yi] = gy
	}
	for t := 0; t < nframe; t++ {
		u := up(t)
		grow := gx[t*dim : (t+1)*dim]
		for d := range grow {
			grow[d] *= u
		}
	}
}

// multilabelMarks sets isTarget[j] for the labels of one sample: the
// entries of y up to (not including) the first negative one.
func multilabelMarks(y []int64, isTarget []bool) {
	for i := range isTarget {
		isTarget[i] = false
	}
	for _, j := range y {
		if j < 0 {
			break
		}
		isTarget[j] = true
	}
}

// MultilabelMarginSample is one sample's unnormalized
// multilabel_margin_loss: Σ over labels j (y up to the first −1, a
// duplicate counting twice) and non-labels d of z = (1 − x_j) + x_d where
// z > 0, each z computed in T and summed in a float64 accumulator, then
// rounded to T (ATen returns the accumulator as scalar_t).
func MultilabelMarginSample[T Float](x []T, y []int64, isTarget []bool) T {
	multilabelMarks(y, isTarget)
	var sum float64
	for _, j := range y {
		if j < 0 {
			break
		}
		xj := x[j]
		for d, xd := range x {
			if !isTarget[d] {
				z := 1 - xj + xd
				if z > 0 {
					sum += float64(z)
				}
			}
		}
	}
	return T(sum)
}

// MultilabelMarginForward writes each sample's unnormalized loss
// (MultilabelMarginSample) to s (len nframe).
func MultilabelMarginForward[T Float](x []T, y []int64, nframe, dim int, s []T) {
	if nframe == 0 {
		return // no row: nothing per class (dim may be huge)
	}
	isTarget := make([]bool, dim)
	for t := 0; t < nframe; t++ {
		s[t] = MultilabelMarginSample(x[t*dim:(t+1)*dim], y[t*dim:(t+1)*dim], isTarget)
	}
}

// MultilabelMarginReduce is the reduced multilabel_margin_loss: the
// per-sample sums s (already rounded to T) added in float64, divided by
// dim, and by nframe for mean, then rounded to T.
func MultilabelMarginReduce[T Float](s []T, dim int, mean bool) T {
	var acc float64
	for _, v := range s {
		acc += float64(v)
	}
	acc /= float64(dim)
	if mean {
		acc /= float64(len(s))
	}
	return T(acc)
}

// MultilabelMarginBackward writes the gradient of multilabel_margin_loss
// with respect to x into gx (nframe × dim): for each active pair (label j,
// non-label d) gx[j] −= g and gx[d] += g, in ATen's loop order; then row t
// is multiplied by up(t). g is float(1/(nframe·dim)) for mean, float(1/dim)
// otherwise.
func MultilabelMarginBackward[T Float](x []T, y []int64, g T, nframe, dim int, up func(t int) T, gx []T) {
	if nframe == 0 {
		return // no row: nothing per class (dim may be huge)
	}
	isTarget := make([]bool, dim)
	for t := 0; t < nframe; t++ {
		row := x[t*dim : (t+1)*dim]
		yr := y[t*dim : (t+1)*dim]
		grow := gx[t*dim : (t+1)*dim]
		for i := range grow {
			grow[i] = 0
		}
		multilabelMarks(yr, isTarget)
		for _, j := range yr {
			if j < 0 {
				break
			}
			xj := row[j]
			for d, xd := range row {
				if !isTarget[d] {
					z := 1 - xj + xd
					if z > 0 {
						grow[j] -= g
						grow[d] += g
					}
				}
			}
		}
		u := up(t)
		for i := range grow {
			grow[i] *= u
		}
	}
}
