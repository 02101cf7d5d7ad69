package functional

import (
	"slices"

	"github.com/torchloss/torchloss"
	"github.com/torchloss/torchloss/internal/kernels"
	"github.com/torchloss/torchloss/tensor"
)

// MarginRankingLoss asks that input1 rank above input2 where target is 1,
// and below where it is −1, by at least margin: PyTorch's
//
//	torch.nn.functional.margin_ranking_loss(input1, input2, target, margin=0,
//	    size_average=None, reduce=None, reduction='mean')
//
// Purpose: learning to rank from pairs of scores (search results,
// recommendations, preference pairs).
//
// Math, per element of the broadcast arguments, in PyTorch's order:
//
//	ℓ = max(0, (−t)·(x1 − x2) + margin)
//
// Shapes: the three arguments must have the same number of dimensions (0-d
// for a single pair); their sizes then broadcast, e.g. (2,3), (1,3), (2,3).
//
// Options: Margin (default 0) and a Reduction (default Mean).
//
// Gradient: autograd of the composite, for all three arguments (the
// target too): with u = (−t)·(x1 − x2) + margin and gu = [u ≥ 0]·g (the
// clamp passes the gradient at the kink u = 0),
// ∂/∂x1 = −t·gu, ∂/∂x2 = t·gu, ∂/∂t = −(x1 − x2)·gu.
//
// PyTorch quirks kept: the target need not be ±1 (it scales the
// difference); an int64 target is accepted (a bool one is not: PyTorch
// cannot negate it); x1 − x2 is computed in the dtype of x1 and x2 before a
// float64 target promotes the product.
func MarginRankingLoss(input1, input2, target *tensor.Tensor, opts ...Option) (*tensor.Tensor, error) {
	if out, ok, err := onDevice("margin_ranking_loss", devArgs(input1, input2, target), 0, opts, func(a []*tensor.Tensor, o []Option) (*tensor.Tensor, error) {
		return MarginRankingLoss(a[0], a[1], a[2], o...)
	}); ok {
		return out, err
	}
	const op = "margin_ranking_loss"
	cfg, err := lossOptions(op, opts)
	if err != nil {
		return nil, err
	}
	if err := required(op, arg{"input1", input1}, arg{"input2", input2}, arg{"target", target}); err != nil {
		return nil, err
	}
	if input1.Dim() != input2.Dim() || input1.Dim() != target.Dim() {
		name := "target"
		if input1.Dim() != input2.Dim() {
			name = "input2"
		}
		return nil, torchloss.Errorf(torchloss.ErrShape, op, name, "margin_ranking_loss : All input tensors should have same dimension but got sizes: input1: torch.Size(%s), input2: torch.Size(%s), target: torch.Size(%s) ",
			sizes(input1.Shape()), sizes(input2.Shape()), sizes(target.Shape()))
	}
	dd, err := floatDType(op, arg{"input1", input1}, arg{"input2", input2})
	if err != nil {
		return nil, err
	}
	if err := mgAnyDType(op, "target", target, true, false, "Negation, the `-` operator, on a bool tensor is not supported. If you are trying to invert a mask, use the `~` or `logical_not()` operator instead."); err != nil {
		return nil, err
	}
	dt := promote(dd, target)
	dShape, err := broadcastShape(op, arg{"input1", input1}, arg{"input2", input2})
	if err != nil {
		return nil, err
	}
	outShape, err := mgBroadcast(op, "target", target.Shape(), dShape)
	if err != nil {
		return nil, err
	}
	return dispatch(dt,
		func() (*tensor.Tensor, error) {
			return marginRankingT[float32](input1, input2, target, cfg, dd, dShape, outShape)
		},
		func() (*tensor.Tensor, error) {
			return marginRankingT[float64](input1, input2, target, cfg, dd, dShape, outShape)
		})
}

func marginRankingT[T kernels.Float](input1, input2, target *tensor.Tensor, cfg config, dd tensor.DType, dShape, outShape []int) (*tensor.Tensor, error) {
	nd := mgIs32[T](dd)
	x1, err := values[T](input1, dShape)
	if err != nil {
		return nil, err
	}
	x2, err := values[T](input2, dShape)
	if err != nil {
		return nil, err
	}
	// d = x1 − x2 in the dtype of x1 and x2.
	d := make([]T, len(x1))
	for i := range d {
		d[i] = kernels.Narrow(x1[i]-x2[i], nd)
	}
	db, err := mgExpand(d, dShape, outShape)
	if err != nil {
		return nil, err
	}
	// An int64 target converts to the result dtype in the product.
	tt := target.DType()
	if !tt.IsFloat() {
		tt = tensor.DTypeOf[T]()
	}
	t, err := mgFloatValues[T](target, tt, outShape)
	if err != nil {
		return nil, err
	}
	n := len(t)
	u := make([]T, n)
	loss := make([]T, n)
	kernels.MarginRankingForward(db, t, T(cfg.margin), u, loss)
	out := reduce(loss, outShape, cfg.reduction)
	return tensor.Record(out, nodeName("margin_ranking_loss", cfg.reduction), []*tensor.Tensor{input1, input2, target}, func(g *tensor.Tensor) ([]*tensor.Tensor, error) {
		up, err := upstreamOf[T](g, n, cfg.reduction, true)
		if err != nil {
			return nil, err
		}
		var gdF, gntF []T
		if needs(input1) || needs(input2) {
			gdF = make([]T, n)
		}
		if needs(target) {
			gntF = make([]T, n)
		}
		kernels.MarginRankingBackward(db, t, u, up.at, gdF, gntF)
		grads := make([]*tensor.Tensor, 3)
		if gdF != nil {
			// (−t)·d's backward reduces to d's shape in T, then casts to
			// d's dtype; the subtraction passes it on (negated for input2).
			gd, err := mgSumTo(gdF, outShape, dShape, tensor.DTypeOf[T]())
			if err != nil {
				return nil, err
			}
			mgNarrowAll(gd, nd)
			for k, in := range []*tensor.Tensor{input1, input2} {
				if !needs(in) {
					continue
				}
				gk := gd
				if k == 1 {
					gk = make([]T, len(gd))
					for i, v := range gd {
						gk[i] = -v
					}
				}
				gs, err := mgSumTo(gk, dShape, in.Shape(), dd)
				if err != nil {
					return nil, err
				}
				if grads[k], err = tensor.MustFromData(gs, in.Shape()).To(in.DType()); err != nil {
					return nil, err
				}
			}
		}
		if gntF != nil {
			for i, v := range gntF {
				gntF[i] = -v
			}
			if grads[2], err = gradTo(gntF, outShape, target); err != nil {
				return nil, err
			}
		}
		return grads, nil
	}), nil
}

// SoftMarginLoss is the two-class logistic loss of a score x against a
// label t ∈ {1, −1}, PyTorch's
//
//	torch.nn.functional.soft_margin_loss(input, target, size_average=None,
//	    reduce=None, reduction='mean')
//
// Purpose: binary classification with ±1 labels (a smooth hinge).
//
// Math, per element, in PyTorch's order: ℓ = log1p(exp((−x)·t)). It is not
// the stable form: exp overflows for (−x)·t beyond about 88 (float32) or
// 709 (float64) and the loss is inf there.
//
// Options: a Reduction (default Mean).
//
// Gradient (PyTorch's explicit backward, input only): with
// z = exp((−t)·x) and norm = 1/N for Mean (N the input's element count) or
// 1, ∂ℓ/∂x = ((t·z)·(−norm))/(z + 1)·g, which is NaN where z overflows to
// inf (the forward is inf there).
//
// PyTorch quirks kept: the target is not differentiable (an error if it
// requires a gradient); the target broadcasts to the input's shape but not
// beyond it (PyTorch writes the result into an input-shaped tensor); the
// result has the input's dtype even with a float64 target; an int64 or bool
// target works in the forward pass, but a bool target fails in the backward
// pass (PyTorch negates it there).
func SoftMarginLoss(input, target *tensor.Tensor, opts ...Option) (*tensor.Tensor, error) {
	if out, ok, err := onDevice("soft_margin_loss", devArgs(input, target), 0, opts, func(a []*tensor.Tensor, o []Option) (*tensor.Tensor, error) { return SoftMarginLoss(a[0], a[1], o...) }); ok {
		return out, err
	}
	const op = "soft_margin_loss"
	cfg, err := lossOptions(op, opts)
	if err != nil {
		return nil, err
	}
	if err := required(op, arg{"input", input}, arg{"target", target}); err != nil {
		return nil, err
	}
	if err := notDifferentiable(op, arg{"target", target}); err != nil {
		return nil, err
	}
	xt, err := floatDType(op, arg{"input", input})
	if err != nil {
		return nil, err
	}
	if err := mgAnyDType(op, "target", target, true, true, ""); err != nil {
		return nil, err
	}
	shape, err := broadcastShape(op, arg{"input", input}, arg{"target", target})
	if err != nil {
		return nil, err
	}
	if !slices.Equal(shape, input.Shape()) {
		return nil, torchloss.Errorf(torchloss.ErrShape, op, "target", "output with shape %s doesn't match the broadcast shape %s", sizes(input.Shape()), sizes(shape))
	}
	return dispatch(xt,
		func() (*tensor.Tensor, error) { return softMarginT[float32](input, target, cfg) },
		func() (*tensor.Tensor, error) { return softMarginT[float64](input, target, cfg) })
}

// softMarginT computes soft_margin_loss in the input's dtype X. The product
// (−x)·t runs in the promoted dtype P and is rounded to X; it is computed in
// float64 here, which gives exactly the float32 product when P is float32
// (the product of two float32 values is exact in float64).
func softMarginT[X kernels.Float](input, target *tensor.Tensor, cfg config) (*tensor.Tensor, error) {
	shape := input.Shape()
	pt := promote(input.DType(), target)
	x := tensor.Data[X](input)
	t, err := mgFloatValues[float64](target, pt, shape)
	if err != nil {
		return nil, err
	}
	n := len(x)
	p := make([]X, n)
	for i := range p {
		p[i] = X(-float64(x[i]) * t[i])
	}
	loss := make([]X, n)
	kernels.SoftMarginForward(p, loss)
	out := reduce(loss, shape, cfg.reduction)
	return tensor.Record(out, nodeName("soft_margin_loss", cfg.reduction), []*tensor.Tensor{input}, func(g *tensor.Tensor) ([]*tensor.Tensor, error) {
		if target.DType() == tensor.Bool {
			return nil, torchloss.Errorf(torchloss.ErrDType, "soft_margin_loss_backward", "target", "Negation, the `-` operator, on a bool tensor is not supported. If you are trying to invert a mask, use the `~` or `logical_not()` operator instead.")
		}
		norm := 1.0
		if cfg.reduction == Mean {
			norm = 1.0 / float64(n)
		}
		if pt == tensor.Float64 {
			return softMarginGrad[float64](input, target, g, shape, pt, -norm, cfg.reduction)
		}
		return softMarginGrad[float32](input, target, g, shape, pt, -norm, cfg.reduction)
	}), nil
}

// softMarginGrad runs soft_margin_loss_backward in the promoted dtype P.
func softMarginGrad[P kernels.Float](input, target, g *tensor.Tensor, shape []int, pt tensor.DType, negNorm float64, r Reduction) ([]*tensor.Tensor, error) {
	x, err := values[P](input, shape)
	if err != nil {
		return nil, err
	}
	t, err := mgFloatValues[P](target, pt, shape)
	if err != nil {
		return nil, err
	}
	up, err := upstreamOf[P](g, len(x), r, false)
	if err != nil {
		return nil, err
	}
	gx := make([]P, len(x))
	kernels.SoftMarginBackward(x, t, P(negNorm), mgIs32[P](input.DType()), up.at, gx)
	gt, err := tensor.MustFromData(gx, shape).To(input.DType())
	if err != nil {
		return nil, err
	}
	return []*tensor.Tensor{gt}, nil
}

// MultilabelSoftMarginLoss is the multi-label one-versus-all logistic loss,
// PyTorch's
//
//	torch.nn.functional.multilabel_soft_margin_loss(input, target,
//	    weight=None, size_average=None, reduce=None, reduction='mean')
//
// Purpose: multi-label classification, where each of C classes is
// independently present (t = 1) or absent (t = 0) in a sample.
//
// Shapes: input (N, C) or (C); target of the same shape (it broadcasts);
// Weight, a per-class rescaling, broadcasts against the loss (a (C) weight
// applies per class).
//
// Math (a pure-Python composite in PyTorch), with
// log σ(x) = min(x, 0) − log1p(exp(−|x|)):
//
//	ℓ_c = −(t_c·log σ(x_c) + (1 − t_c)·log σ(−x_c)) [· w_c]
//	ℓ   = Σ_c ℓ_c / C          over the last dimension of the input
//
// Reductions: None returns ℓ (shape (N), or 0-d for a (C) input), Sum Σℓ,
// Mean Σℓ/N.
//
// Gradient: autograd of the composite for the input, the target and the
// weight (all three are differentiable); log_sigmoid's backward is ATen's CPU
// kernel, (max_deriv − sign·(b/(1 + b)))·g with b = exp(−|x|).
//
// PyTorch quirks kept: the target need not be 0/1 (soft labels work); an
// int64 target or an int64/bool weight is accepted (a bool target is not:
// PyTorch cannot compute 1 − t); the sum runs over dimension input.dim()−1 of
// the broadcast loss and divides by the input's last size C, even when a
// target of higher rank broadcasts the loss to more dimensions; a 0-d input
// is an error; with mixed float32/float64 arguments each operation runs in
// its own operands' dtype (log σ in the input's).
func MultilabelSoftMarginLoss(input, target *tensor.Tensor, opts ...Option) (*tensor.Tensor, error) {
	if out, ok, err := onDevice("multilabel_soft_margin_loss", devArgs(input, target), 0, opts, func(a []*tensor.Tensor, o []Option) (*tensor.Tensor, error) {
		return MultilabelSoftMarginLoss(a[0], a[1], o...)
	}); ok {
		return out, err
	}
	const op = "multilabel_soft_margin_loss"
	cfg, err := lossOptions(op, opts)
	if err != nil {
		return nil, err
	}
	if err := required(op, arg{"input", input}, arg{"target", target}); err != nil {
		return nil, err
	}
	xt, err := floatDType(op, arg{"input", input})
	if err != nil {
		return nil, err
	}
	if input.Dim() == 0 {
		return nil, torchloss.Errorf(torchloss.ErrShape, op, "input", "Dimension specified as -1 but tensor has no dimensions")
	}
	if err := mgAnyDType(op, "target", target, true, false, "Subtraction, the `-` operator, with a bool tensor is not supported. If you are trying to invert a mask, use the `~` or `logical_not()` operator instead."); err != nil {
		return nil, err
	}
	w := cfg.weight
	if w != nil {
		if err := mgAnyDType(op, "weight", w, true, true, ""); err != nil {
			return nil, err
		}
	}
	s1, err := mgBroadcast(op, "target", target.Shape(), input.Shape())
	if err != nil {
		return nil, err
	}
	s2 := s1
	if w != nil {
		if s2, err = mgBroadcast(op, "weight", s1, w.Shape()); err != nil {
			return nil, err
		}
	}
	ta := promote(xt, target)
	dt := promote(ta, w)
	return dispatch(dt,
		func() (*tensor.Tensor, error) { return mlsmT[float32](input, target, cfg, ta, s1, s2) },
		func() (*tensor.Tensor, error) { return mlsmT[float64](input, target, cfg, ta, s1, s2) })
}

// mlsmLogSigmoid returns log σ(±x) and the buffer exp(−|x|), computed in the
// input's dtype, as T.
func mlsmLogSigmoid[T kernels.Float](input *tensor.Tensor, neg bool) (ls, buf []T) {
	if input.DType() == tensor.Float32 {
		x := slices.Clone(input.Float32s())
		if neg {
			for i := range x {
				x[i] = -x[i]
			}
		}
		l, b := make([]float32, len(x)), make([]float32, len(x))
		kernels.LogSigmoidForward(x, l, b)
		return mgFromF32[T](l), mgFromF32[T](b)
	}
	x := slices.Clone(input.Float64s())
	if neg {
		for i := range x {
			x[i] = -x[i]
		}
	}
	l, b := make([]float64, len(x)), make([]float64, len(x))
	kernels.LogSigmoidForward(x, l, b)
	ls, buf = make([]T, len(x)), make([]T, len(x))
	for i := range x {
		ls[i], buf[i] = T(l[i]), T(b[i])
	}
	return ls, buf
}

// mlsmLogSigmoidGrad runs log_sigmoid's backward in the input's dtype for
// x = ±input, the buffer and the upstream gradient g (values of that dtype).
func mlsmLogSigmoidGrad[T kernels.Float](input *tensor.Tensor, neg bool, buf, g []T) []T {
	if mgIs32[T](input.DType()) {
		x := slices.Clone(input.Float32s())
		if neg {
			for i := range x {
				x[i] = -x[i]
			}
		}
		gx := make([]float32, len(x))
		kernels.LogSigmoidBackward(x, mgAsF32(buf), mgAsF32(g), gx)
		return mgFromF32[T](gx)
	}
	x, _ := values[T](input, input.Shape())
	x = slices.Clone(x)
	if neg {
		for i := range x {
			x[i] = -x[i]
		}
	}
	gx := make([]T, len(x))
	kernels.LogSigmoidBackward(x, buf, g, gx)
	return gx
}

func mlsmT[T kernels.Float](input, target *tensor.Tensor, cfg config, ta tensor.DType, s1, s2 []int) (*tensor.Tensor, error) {
	w := cfg.weight
	xs := input.Shape()
	ts := target.Shape()
	na := mgIs32[T](ta)
	// 1 − t is computed in the target's dtype (exactly, for int64).
	nt := mgIs32[T](target.DType())
	tdt := target.DType()
	if !tdt.IsFloat() {
		tdt = ta
	}
	ls1, buf := mlsmLogSigmoid[T](input, false)
	ls2, _ := mlsmLogSigmoid[T](input, true)
	ls1b, err := mgExpand(ls1, xs, s1)
	if err != nil {
		return nil, err
	}
	ls2b, err := mgExpand(ls2, xs, s1)
	if err != nil {
		return nil, err
	}
	t, err := mgFloatValues[T](target, tdt, s1)
	if err != nil {
		return nil, err
	}
	n1 := len(t)
	omt := make([]T, n1)
	loss := make([]T, n1) // −(t·log σ(x) + (1 − t)·log σ(−x)), in ta
	for i := range t {
		omt[i] = kernels.Narrow(1-t[i], nt)
		a := kernels.Narrow(t[i]*ls1b[i], na)
		b := kernels.Narrow(omt[i]*ls2b[i], na)
		loss[i] = -kernels.Narrow(a+b, na)
	}
	e := loss
	var wb, lossB []T
	if w != nil {
		if wb, err = mgFloatValues[T](w, promote(ta, w), s2); err != nil {
			return nil, err
		}
		if lossB, err = mgExpand(loss, s1, s2); err != nil {
			return nil, err
		}
		e = make([]T, len(wb))
		for i := range e {
			e[i] = lossB[i] * wb[i]
		}
	}
	// Sum over dimension input.dim()−1 of the loss, divided by C.
	cd := len(xs) - 1
	c := xs[cd]
	outer, inner := mgNumel(s2[:cd]), mgNumel(s2[cd+1:])
	nsum := s2[cd]
	s3 := slices.Concat(s2[:cd], s2[cd+1:])
	n3, err := tensor.Numel(s3) // large when the summed dimension is empty
	if err != nil {
		return nil, err
	}
	per := make([]T, n3)
	kernels.SumDim(e, outer, nsum, inner, per)
	for i := range per {
		per[i] /= T(c)
	}
	out := reduce(per, s3, cfg.reduction)
	return tensor.Record(out, nodeName("multilabel_soft_margin_loss", cfg.reduction), []*tensor.Tensor{input, target, w}, func(g *tensor.Tensor) ([]*tensor.Tensor, error) {
		up, err := upstreamOf[T](g, n3, cfg.reduction, true)
		if err != nil {
			return nil, err
		}
		// ÷ C, then the sum's expand back over the summed dimension.
		ge := make([]T, len(e))
		for o := 0; o < outer; o++ {
			for j := 0; j < nsum; j++ {
				for k := 0; k < inner; k++ {
					ge[(o*nsum+j)*inner+k] = up.at(o*inner+k) / T(c)
				}
			}
		}
		grads := make([]*tensor.Tensor, 3)
		gl := ge // the gradient of the unweighted loss, over s1, in ta
		if w != nil {
			if needs(w) {
				gw := make([]T, len(ge))
				for i := range gw {
					gw[i] = ge[i] * lossB[i]
				}
				if grads[2], err = gradTo(gw, s2, w); err != nil {
					return nil, err
				}
			}
			gl2 := make([]T, len(ge))
			for i := range gl2 {
				gl2[i] = ge[i] * wb[i]
			}
			if gl, err = mgSumTo(gl2, s2, s1, tensor.DTypeOf[T]()); err != nil {
				return nil, err
			}
			mgNarrowAll(gl, na)
		}
		// −(a + b): a and b both receive −gl.
		gs := make([]T, n1)
		for i := range gs {
			gs[i] = -gl[i]
		}
		if needs(target) {
			// a = t·log σ(x): gs·log σ(x); b = (1 − t)·log σ(−x): −(gs·log σ(−x)).
			ga, gb := make([]T, n1), make([]T, n1)
			for i := range gs {
				ga[i] = kernels.Narrow(gs[i]*ls1b[i], na)
				gb[i] = kernels.Narrow(gs[i]*ls2b[i], na)
			}
			ga, err := mgSumTo(ga, s1, ts, ta)
			if err != nil {
				return nil, err
			}
			gb, err = mgSumTo(gb, s1, ts, ta)
			if err != nil {
				return nil, err
			}
			mgNarrowAll(ga, nt)
			mgNarrowAll(gb, nt)
			gt := make([]T, len(ga))
			for i := range gt {
				gt[i] = kernels.Narrow(ga[i]+-gb[i], nt)
			}
			if grads[1], err = gradTo(gt, ts, target); err != nil {
				return nil, err
			}
		}
		if needs(input) {
			g1, g2 := make([]T, n1), make([]T, n1)
			for i := range gs {
				g1[i] = kernels.Narrow(gs[i]*t[i], na)
				g2[i] = kernels.Narrow(gs[i]*omt[i], na)
			}
			g1, err := mgSumTo(g1, s1, xs, ta)
			if err != nil {
				return nil, err
			}
			g2, err = mgSumTo(g2, s1, xs, ta)
			if err != nil {
				return nil, err
			}
			nx := mgIs32[T](input.DType())
			mgNarrowAll(g1, nx)
			mgNarrowAll(g2, nx)
			gx1 := mlsmLogSigmoidGrad(input, false, buf, g1)
			gx2 := mlsmLogSigmoidGrad(input, true, buf, g2)
			gx := make([]T, len(gx1))
			for i := range gx {
				gx[i] = kernels.Narrow(gx1[i]+-gx2[i], nx)
			}
			if grads[0], err = gradTo(gx, xs, input); err != nil {
				return nil, err
			}
		}
		return grads, nil
	}), nil
}
