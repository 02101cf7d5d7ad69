package functional

import (
	"github.com/torchloss/torchloss"
	"github.com/torchloss/torchloss/internal/kernels"
	"github.com/torchloss/torchloss/internal/parallel"
	"github.com/torchloss/torchloss/tensor"
)

// CrossEntropy is the cross-entropy between logits and a target, PyTorch's
//
//	torch.nn.functional.cross_entropy(input, target, weight=None, size_average=None,
//	                                  ignore_index=-100, reduce=None,
//	                                  reduction='mean', label_smoothing=0.0)
//
// Purpose: the standard classification loss. input holds unnormalized
// logits with the classes on dimension 1 (dimension 0 for a 1-D input);
// log_softmax is applied internally, stably.
//
// Shapes: input (C), (N, C) or (N, C, d1, …, dk). The target is either
//   - class indices (int64): a 0-d target for input (C), (N) for (N, C),
//     (N, d1, …, dk) for (N, C, d1, …, dk); or
//   - class probabilities (float), chosen exactly when the target has the
//     input's shape.
//
// Options: a Reduction (default Mean), Weight (a (C) tensor of per-class
// weights), IgnoreIndex (default −100; class indices only), LabelSmoothing
// (in [0, 1], default 0; a negative value counts as 0).
//
// Math, with lp = log_softmax(input) over the class dimension:
//   - class indices, no smoothing: nll_loss(lp, target, weight, ignore_index)
//     (see NLLLoss: Mean divides by the summed weight of the non-ignored
//     targets; all ignored gives NaN);
//   - class indices, smoothing ε: (1 − ε)·nll + (ε/C)·s, where
//     s_i = −Σ_c w_c·lp[i, c] is 0 at ignored targets; Mean divides Σ s_i by
//     the same denominator as nll (Σ of the target classes' weights, or the
//     count of non-ignored targets), not by N;
//   - probabilities p: ℓ_i = −Σ_c w_c·lp[i, c]·p'[i, c] with
//     p' = p·(1 − ε) + ε/C; Mean divides Σℓ by the number of samples
//     N·d1·…·dk (not by the weights); ignore_index must be negative.
//
// Gradient: ∂/∂input is the nll backward followed by log_softmax's backward
// (g − exp(lp)·Σ_c g), i.e. (w_t/W)·(softmax − onehot) for a weighted mean.
// With probability targets the target and the weight are differentiable too
// (that path is a composite of differentiable ops); with class indices a
// weight that requires a gradient is an error (ErrGrad), as in PyTorch.
//
// Dtypes: with class indices the weight must have the input's dtype (as in
// PyTorch, float32 and float64 do not mix: ErrDType). With probability
// targets input, target and weight promote like PyTorch's tensor ops: the
// output has the promoted dtype, each gradient its argument's dtype.
//
// Errors: as NLLLoss for class indices, plus: label_smoothing > 1
// (ErrOption), a non-float probability target (ErrDType), ignore_index >= 0
// with probability targets (ErrOption), a 0-d input (ErrShape).
//
// PyTorch 2.11 quirks kept: input (C) with an int64 (1,) target computes the
// forward but its backward fails (with label smoothing the forward fails,
// as masked_fill_ cannot broadcast the mask); a (C) int64 target of a (C)
// input is taken as probabilities and rejected.
func CrossEntropy(input, target *tensor.Tensor, opts ...Option) (*tensor.Tensor, error) {
	const op = "cross_entropy"
	cfg, err := lossOptions(op, opts)
	if err != nil {
		return nil, err
	}
	if err := required(op, arg{"input", input}, arg{"target", target}); err != nil {
		return nil, err
	}
	dt, err := floatDType(op, arg{"input", input})
	if err != nil {
		return nil, err
	}
	if sameShape(input, target) {
		if out, ok, err := onDevice(op, devArgs(input, target), 0, opts, func(a []*tensor.Tensor, o []Option) (*tensor.Tensor, error) { return CrossEntropy(a[0], a[1], o...) }); ok {
			return out, err
		}
		return ceProb(op, input, target, cfg)
	}
	if input.Dim() == 0 {
		return nil, torchloss.Errorf(torchloss.ErrShape, op, "input", "Dimension out of range (expected to be in range of [-1, 0], but got 1)")
	}
	ls := cfg.labelSmoothing
	g, err := nllCheck(op, input, target, cfg.weight)
	if err != nil {
		return nil, err
	}
	if err := notDifferentiable(op, arg{"weight", cfg.weight}); err != nil {
		return nil, err
	}
	if ls > 0 && g.oneD && target.Dim() == 1 {
		return nil, torchloss.Errorf(torchloss.ErrShape, op, "target", "output with shape [] doesn't match the broadcast shape %v (the ignore mask of a (1,) target)", sizes(target.Shape()))
	}
	if w := cfg.weight; ls > 0 && w != nil && w.Dim() != 1 {
		// nll_loss2d accepts any weight of C elements, but the smoothing
		// term views it as (1, weight.size(0), 1, …) and, for Mean,
		// gathers from it along dimension 0.
		if w.Dim() == 0 || w.Size(0) != g.c || cfg.reduction == Mean {
			return nil, torchloss.Errorf(torchloss.ErrShape, op, "weight", "with label smoothing the weight must be a (%d) tensor, got shape %v", g.c, sizes(w.Shape()))
		}
	}
	if out, ok, err := onKernel(kernelCall{op: op, args: devArgs(input, target), diff: 1, cfg: cfg, name: nodeName(op, cfg.reduction, when(g.spatial, condSpatial), when(ls > 0, "label_smoothing")), opts: opts,
		host: func(_ *kernelCall, a []*tensor.Tensor, o []Option) (*tensor.Tensor, error) {
			return CrossEntropy(a[0], a[1], o...)
		}}); ok {
		return out, err
	}
	return dispatch(dt,
		func() (*tensor.Tensor, error) { return ceIndexT[float32](op, input, target, cfg, g) },
		func() (*tensor.Tensor, error) { return ceIndexT[float64](op, input, target, cfg, g) })
}

// ceIndexT is cross_entropy with class indices: nll_loss of log_softmax,
// plus the label-smoothing term when label_smoothing > 0.
func ceIndexT[T kernels.Float](op string, input, target *tensor.Tensor, cfg config, g nllGeom) (*tensor.Tensor, error) {
	core, err := newNLL[T](op, input, target, cfg, g)
	if err != nil {
		return nil, err
	}
	ls := cfg.labelSmoothing
	smoothing := ls > 0
	if smoothing && cfg.weight != nil && cfg.reduction == Mean && core.bwdErr != nil && core.tgt == nil {
		// weight.gather(0, target[...]) needs an int64 target, even empty.
		return nil, core.bwdErr
	}
	c, m := g.c, g.m
	x := tensor.Data[T](input)
	if m == 1 && !g.oneD && cfg.reduction != None && core.tgt != nil && core.bwdErr == nil && len(core.tgt) > 0 && c > 0 && c <= sumGrain {
		return ceFusedT(op, input, target, cfg, g, core, x)
	}
	return ceSlowT(input, cfg, g, core, x)
}

// ceSlowT is ceIndexT's general path: log_softmax materialized, then nll
// and the smoothing term.
func ceSlowT[T kernels.Float](input *tensor.Tensor, cfg config, g nllGeom, core *nll[T], x []T) (*tensor.Tensor, error) {
	ls := cfg.labelSmoothing
	smoothing := ls > 0
	b, c, m := g.b, g.c, g.m
	lp := make([]T, len(x))
	kernels.LogSoftmaxForward(x, lp, b, c, m)
	nllOut := core.forward(lp)
	shape := input.Shape()
	lsBackward := func(glp []T) []*tensor.Tensor {
		gx := make([]T, len(lp))
		kernels.LogSoftmaxBackward(glp, lp, gx, b, c, m)
		return []*tensor.Tensor{tensor.MustFromData(gx, shape)}
	}
	if !smoothing {
		return tensor.Record(nllOut, g.nodeName(), []*tensor.Tensor{input}, func(gr *tensor.Tensor) ([]*tensor.Tensor, error) {
			glp, err := core.backward(gr, len(lp))
			if err != nil {
				return nil, err
			}
			return lsBackward(glp), nil
		}), nil
	}

	// The smoothing term s = −Σ_c lp·w (or −Σ_c lp), 0 at ignored targets.
	w := core.w
	prod := lp
	if w != nil {
		prod = make([]T, len(lp))
		for k := range lp {
			prod[k] = lp[k] * w[(k/m)%c]
		}
	}
	npos := b * m
	smooth := make([]T, npos)
	kernels.ClassSum(prod, smooth, b, c, m)
	masked := make([]bool, npos)
	for k := range smooth {
		smooth[k] = -smooth[k]
		if core.tgt != nil && core.tgt[k] == core.ignore {
			masked[k] = true
			smooth[k] = 0
		}
	}
	keep, share := T(1-ls), T(ls/float64(c))
	var denom T // the Mean denominator of the smoothing term
	var out *tensor.Tensor
	nv := tensor.Data[T](nllOut)
	switch cfg.reduction {
	case None:
		o := make([]T, npos)
		for k := range o {
			o[k] = T(nv[k]*keep) + T(smooth[k]*share)
		}
		out = tensor.MustFromData(o, nllOut.Shape())
	case Sum:
		out = tensor.Scalar(T(nv[0]*keep) + T(kernels.Sum(smooth)*share))
	default:
		if w != nil {
			var gathered []T
			for _, t := range core.tgt {
				if t != core.ignore {
					gathered = append(gathered, w[t])
				}
			}
			denom = kernels.Sum(gathered)
		} else {
			count := 0
			for _, t := range core.tgt {
				if t != core.ignore {
					count++
				}
			}
			denom = T(count)
		}
		out = tensor.Scalar(T(nv[0]*keep) + T((kernels.Sum(smooth)/denom)*share))
	}
	return tensor.Record(out, nodeName("cross_entropy", cfg.reduction, "label_smoothing"), []*tensor.Tensor{input}, func(gr *tensor.Tensor) ([]*tensor.Tensor, error) {
		gv, err := gr.To(tensor.DTypeOf[T]())
		if err != nil {
			return nil, err
		}
		gd := tensor.Data[T](gv)
		gn := make([]T, len(gd))
		for k, v := range gd {
			gn[k] = v * keep
		}
		glp, err := core.backward(tensor.MustFromData(gn, gv.Shape()), len(lp))
		if err != nil {
			return nil, err
		}
		// Back through ret·(ε/C), the reduction, masked_fill, the negation,
		// the class sum and the weight.
		gs := make([]T, npos)
		for k := range gs {
			var v T
			if cfg.reduction == None {
				v = gd[k] * share
			} else {
				v = gd[0] * share
				if cfg.reduction == Mean {
					v /= denom
				}
			}
			if !masked[k] {
				gs[k] = -v
			}
		}
		for k := range glp {
			v := gs[(k/(c*m))*m+k%m]
			if w != nil {
				v *= w[(k/m)%c]
			}
			glp[k] += v
		}
		return lsBackward(glp), nil
	}), nil
}

// ceFusedT is cross_entropy with class indices for a (N, C) input and a
// reduced loss: in parallel over rows, each row computes its maximum m,
// e = exp(x − m) (one exponential per logit, written into the gradient row)
// and its sum s, the target's log-probability (x_t − m) − log s, the
// smoothing term, and, when the input requires a gradient, the row's
// gradient for an output gradient of 1 as e·(−S/s) + g (see below). The
// per-row values are reduced in PyTorch's order afterwards, so the result
// does not depend on the thread count. A backward with an output gradient
// other than 1, or a second backward, reruns the row pass with that
// gradient's scalars.
//
// This is not bit for bit what ceSlowT (log_softmax materialized, then
// g − exp(lp)·S) computes: softmax is e/s here rather than exp(lp), and
// the float32 exponential is Expf (eight lanes, < 1 ULP) rather than
// Exp32. Both are within a few float32 ULP of the exact values and pass
// every conformance case against PyTorch; TestFusedMatchesGeneral bounds
// the difference.
func ceFusedT[T kernels.Float](op string, input, target *tensor.Tensor, cfg config, g nllGeom, core *nll[T], x []T) (*tensor.Tensor, error) {
	b, c := g.b, g.c
	tgt, w, ignore := core.tgt, core.w, core.ignore
	ls := cfg.labelSmoothing
	smoothing := ls > 0
	red := cfg.reduction
	_, tw := kernels.NLLReduceGathered(func(int, int64) T { return 0 }, tgt, w, ignore)
	keep, share := T(1-ls), T(ls/float64(c))
	var denom T
	if smoothing && red == Mean {
		if w != nil {
			gb := getRows[T](len(tgt))
			defer putRows(gb)
			gathered := (*gb)[:0]
			for _, t := range tgt {
				if t != ignore {
					gathered = append(gathered, w[t])
				}
			}
			denom = kernels.Sum(gathered)
		} else {
			count := 0
			for _, t := range tgt {
				if t != ignore {
					count++
				}
			}
			denom = T(count)
		}
	}
	// The gradient scalars for an output gradient G (see ceSlowT): sN
	// scales the target's weight, gsv the smoothing term's.
	scalars := func(G T) (sN, gsv T) {
		gn := G
		if smoothing {
			gn = G * keep
		}
		sN = -gn
		if red == Mean {
			sN = -(gn / tw)
		}
		if smoothing {
			v := G * share
			if red == Mean {
				v /= denom
			}
			gsv = -v
		}
		return sN, gsv
	}
	var wsum T // Σ_c w_c (C without a weight): the smoothing term's and S's weight sum
	if smoothing {
		if w != nil {
			wsum = kernels.Sum(w)
		} else {
			wsum = T(c)
		}
	}
	// pass runs the rows: the target's log-probability into lpt and the
	// smoothing term into smooth (when not nil), the gradient for sN, gsv
	// into gx (when not nil).
	pass := func(gx, lpt, smooth []T, sN, gsv T) {
		parallel.For(b, max(1, sumGrain/c), func(_, lo, hi int) {
			var eb *[]T
			if gx == nil {
				eb = getScratch[T]()
				defer putScratch(eb)
			}
			for i := lo; i < hi; i++ {
				row := x[i*c : i*c+c]
				// e = exp(x − m) goes straight into the gradient row,
				// which the gradient step then overwrites in place.
				var e []T
				if gx != nil {
					e = gx[i*c : i*c+c]
				} else {
					e = (*eb)[:c]
				}
				m, s, a := kernels.CERowExp(row, e, w, smoothing && smooth != nil)
				ls := kernels.Log(s)
				t := tgt[i]
				if lpt != nil && t != ignore {
					lpt[i] = (row[t] - m) - ls
				}
				if smooth != nil {
					// −Σ_c w_c·lp_c with lp_c = (x_c − m) − ls; both
					// parts have the same sign, so no cancellation.
					smooth[i] = -(a - T(ls*wsum))
					if t == ignore {
						smooth[i] = 0
					}
				}
				if gx == nil {
					continue
				}
				// gx = g − softmax·S with g the upstream gradient of lp
				// (nv at the target, gs·w_c everywhere when smoothing)
				// and S = Σ_c g_c; softmax = e/s, so
				// gx_c = e_c·(−S/s) + gs·w_c, plus nv at the target.
				var nv T
				if t != ignore {
					nv = sN
					if w != nil {
						nv = w[t] * sN
					}
				}
				gs := gsv
				if t == ignore {
					gs = 0
				}
				S := nv
				if smoothing {
					S = nv + T(gs*wsum)
				}
				kernels.CERowGrad(e, w, -(S / s), gs)
				if t != ignore {
					e[t] += nv
				}
			}
		})
	}
	var gx []T
	var eager *eagerGrads[T]
	if needs(input) {
		eager = &eagerGrads[T]{ready: true}
		gx = gradBuf(&eager.claims, input, input.Shape(), len(x), x)
		eager.gs = [][]T{gx}
	}
	lptBuf := getRows[T](b)
	defer putRows(lptBuf)
	lpt := *lptBuf
	var smooth []T
	if smoothing {
		sb := getRows[T](b)
		defer putRows(sb)
		smooth = *sb
	}
	sN1, gsv1 := scalars(1)
	pass(gx, lpt, smooth, sN1, gsv1)
	loss, _ := kernels.NLLReduceGathered(func(i int, _ int64) T { return lpt[i] }, tgt, w, ignore)
	nv := loss
	if red == Mean {
		nv = loss / tw
	}
	var out *tensor.Tensor
	switch {
	case !smoothing:
		out = tensor.Scalar(nv)
	case red == Sum:
		out = tensor.Scalar(T(nv*keep) + T(kernels.Sum(smooth)*share))
	default:
		out = tensor.Scalar(T(nv*keep) + T((kernels.Sum(smooth)/denom)*share))
	}
	eager.written()
	res := tensor.Record(out, nodeName(op, cfg.reduction, when(g.spatial, condSpatial), when(smoothing, "label_smoothing")), []*tensor.Tensor{input}, func(gr *tensor.Tensor) ([]*tensor.Tensor, error) {
		if gs, ok := eager.take(gr); ok {
			return []*tensor.Tensor{tensor.MustFromData(gs[0], input.Shape())}, nil
		}
		// Any other output gradient G: the same row pass with G's
		// scalars (for G = 1 bitwise the eager gradient).
		gv, err := gr.To(tensor.DTypeOf[T]())
		if err != nil {
			return nil, err
		}
		sN, gsv := scalars(tensor.Data[T](gv)[0])
		gx := make([]T, len(x))
		pass(gx, nil, nil, sN, gsv)
		return []*tensor.Tensor{tensor.MustFromData(gx, input.Shape())}, nil
	})
	ownGrads(res)
	return res, nil
}

// ceProb is cross_entropy with class-probability targets (target shaped as
// input). Input, target and weight promote like PyTorch's tensor ops:
// log_softmax runs in the input's dtype T, the smoothed target in the
// target's dtype, lp·target in their promoted dtype and the weighted terms
// and the output in the dtype U of all three.
func ceProb(op string, input, target *tensor.Tensor, cfg config) (*tensor.Tensor, error) {
	if !target.DType().IsFloat() {
		return nil, torchloss.Errorf(torchloss.ErrDType, op, "target", "Expected floating point type for target with class probabilities, got %s", scalarTypeName(target.DType()))
	}
	if cfg.ignoreIndex >= 0 {
		return nil, torchloss.Errorf(torchloss.ErrOption, op, "ignore_index", "ignore_index is not supported for floating point target")
	}
	if input.Dim() == 0 {
		return nil, torchloss.Errorf(torchloss.ErrShape, op, "input", "Dimension out of range (expected to be in range of [-1, 0], but got 1)")
	}
	classDim := 1
	if input.Dim() == 1 {
		classDim = 0
	}
	c := input.Size(classDim)
	w := cfg.weight
	if w != nil && (w.Dim() != 1 || w.Numel() != c) {
		return nil, torchloss.Errorf(torchloss.ErrShape, op, "weight", "cross_entropy: weight tensor should be defined either for all %d classes or no classes but got weight tensor of shape: %v", c, sizes(w.Shape()))
	}
	in, tg := input.DType(), target.DType()
	v := tensor.PromoteFloat(in, tg)
	u := v
	if w != nil && w.DType().IsFloat() {
		u = tensor.PromoteFloat(v, w.DType())
	}
	if u == tensor.Float32 {
		return ceProbT[float32, float32](op, input, target, cfg, classDim, false, false)
	}
	s32, v32 := tg == tensor.Float32, v == tensor.Float32
	if in == tensor.Float32 {
		return ceProbT[float32, float64](op, input, target, cfg, classDim, s32, v32)
	}
	return ceProbT[float64, float64](op, input, target, cfg, classDim, s32, v32)
}

// ceProbT computes the probability-target loss with log_softmax in T and
// the rest in U, rounding to float32 where PyTorch computes in float32: the
// smoothed target when s32, lp·target when v32.
func ceProbT[T, U kernels.Float](op string, input, target *tensor.Tensor, cfg config, classDim int, s32, v32 bool) (*tensor.Tensor, error) {
	shape := input.Shape()
	outer, n, inner, _, err := splitDim(op, shape, classDim)
	if err != nil {
		return nil, err
	}
	to32 := func(v U) U { return U(float32(v)) }
	var rs, rv func(U) U
	if s32 {
		rs = to32
	}
	if v32 {
		rv = to32
	}
	x := tensor.Data[T](input)
	lpT := make([]T, len(x))
	kernels.LogSoftmaxForward(x, lpT, outer, n, inner)
	lp := make([]U, len(x))
	for k, v := range lpT {
		lp[k] = U(v)
	}
	tv, err := values[U](target, shape)
	if err != nil {
		return nil, err
	}
	ls := cfg.labelSmoothing
	smoothing := ls > 0
	tp := tv
	var keep U
	if smoothing {
		keep = kernels.Round(rs, U(1-ls))
		add := kernels.Round(rs, U(ls/float64(n)))
		tp = make([]U, len(tv))
		kernels.CESmoothTargets(tv, keep, add, rs, tp)
	}
	var w []U
	if cfg.weight != nil {
		if w, err = values[U](cfg.weight, cfg.weight.Shape()); err != nil {
			return nil, err
		}
	}
	p := make([]U, len(x))
	q := p
	if w != nil {
		q = make([]U, len(x))
	}
	kernels.CEProbProducts(lp, tp, w, n, inner, rv, p, q)
	var out *tensor.Tensor
	outShape := append(append([]int{}, shape[:classDim]...), shape[classDim+1:]...)
	samples := outer * inner
	switch cfg.reduction {
	case None:
		s := make([]U, samples)
		kernels.ClassSum(q, s, outer, n, inner)
		for k := range s {
			s[k] = -s[k]
		}
		out = tensor.MustFromData(s, outShape)
	case Sum:
		out = tensor.Scalar(-kernels.Sum(q))
	default:
		if len(x) == 0 {
			out = tensor.Scalar(kernels.NaN[U]())
		} else {
			out = tensor.Scalar(-kernels.Sum(q) / U(samples))
		}
	}
	wt := cfg.weight
	if wt != nil && !wt.DType().IsFloat() {
		wt = nil // an integer weight takes no gradient
	}
	return tensor.Record(out, nodeName(op, cfg.reduction, condProbabilities), []*tensor.Tensor{input, target, wt}, func(gr *tensor.Tensor) ([]*tensor.Tensor, error) {
		gv, err := gr.To(tensor.DTypeOf[U]())
		if err != nil {
			return nil, err
		}
		gd := tensor.Data[U](gv)
		gq := make([]U, len(x))
		for k := range gq {
			switch cfg.reduction {
			case None:
				gq[k] = -gd[(k/(n*inner))*inner+k%inner]
			case Sum:
				gq[k] = -gd[0]
			default:
				gq[k] = -(gd[0] / U(samples))
			}
		}
		var glp, gtp, gw []U
		if needs(input) {
			glp = make([]U, len(x))
		}
		if needs(target) {
			gtp = make([]U, len(x))
		}
		if needs(wt) && w != nil {
			gw = make([]U, n)
		}
		kernels.CEProbBackward(gq, lp, tp, w, p, n, inner, rv, glp, gtp, gw)
		grads := make([]*tensor.Tensor, 3)
		if glp != nil {
			glpT := make([]T, len(x))
			for k, v := range glp {
				glpT[k] = T(v)
			}
			gx := make([]T, len(x))
			kernels.LogSoftmaxBackward(glpT, lpT, gx, outer, n, inner)
			grads[0] = tensor.MustFromData(gx, shape)
		}
		if gtp != nil {
			for k, v := range gtp {
				v = kernels.Round(rs, v)
				if smoothing {
					v = kernels.Round(rs, v*keep)
				}
				gtp[k] = v
			}
			if grads[1], err = gradTo(gtp, shape, target); err != nil {
				return nil, err
			}
		}
		if gw != nil {
			if grads[2], err = gradTo(gw, wt.Shape(), wt); err != nil {
				return nil, err
			}
		}
		return grads, nil
	}), nil
}
