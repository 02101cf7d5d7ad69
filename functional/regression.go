package functional

import (
	"github.com/torchloss/torchloss"
	"github.com/torchloss/torchloss/internal/kernels"
	"github.com/torchloss/torchloss/tensor"
)

// This file holds the regression losses mse_loss, smooth_l1_loss and
// huber_loss (l1_loss is in l1.go), and the weighted path that mse_loss and
// huber_loss share.

// MSELoss is the mean squared error between input and target, PyTorch's
//
//	torch.nn.functional.mse_loss(input, target, size_average=None, reduce=None,
//	                             reduction='mean', weight=None)
//
// Purpose: the standard regression loss; large errors dominate, as the
// penalty grows quadratically.
//
// Math: ℓ_i = (x_i − y_i)². With Weight(w): ℓ_i = (x_i − y_i)²·w_i.
// Reductions: None returns ℓ (shape of the broadcast input and target), Sum
// returns Σℓ, Mean returns Σℓ/n, or Σℓ/Σw with a weight (PyTorch's weighted
// mean divides by the total weight, as l1_loss's does).
//
// Options: a Reduction (default Mean) and Weight (same shape as input; it
// broadcasts with the loss like input does). For size_average / reduce, pass
// LegacyReduction's result.
//
// Gradient: ∂ℓ/∂x = (norm·(x − y))·g with norm = 2/n for Mean (computed in
// float64, then rounded to the element type) or 2; ∂ℓ/∂y = (norm·(y − x))·g.
// With a weight the loss is PyTorch's composite pow(x − y, 2)·w, and its
// autograd gradient reaches input, target and the weight.
//
// PyTorch quirks kept: input and target broadcast (PyTorch only warns when
// their sizes differ). An integer or bool target (or input) is promoted to
// the other argument's floating dtype in the forward pass, but, as in
// PyTorch 2.11, the backward of the unweighted loss fails (ErrDType) when
// input and target have different dtypes (float32 with float64 included):
// ATen's mse_loss_backward does not promote. Two integer arguments are
// rejected (ErrDType).
func MSELoss(input, target *tensor.Tensor, opts ...Option) (*tensor.Tensor, error) {
	const op = "mse_loss"
	cfg, x, y, dt, shape, err := regressionArgs(op, input, target, opts)
	if err != nil {
		return nil, err
	}
	if out, ok, err := onKernel(kernelCall{op: op, args: devArgs(input, target), diff: 2, cfg: cfg, name: nodeName(op, cfg.reduction), opts: opts, hostOnly: cfg.weight != nil,
		host: func(_ *kernelCall, a []*tensor.Tensor, o []Option) (*tensor.Tensor, error) {
			return MSELoss(a[0], a[1], o...)
		}}); ok {
		return out, err
	}
	if cfg.weight != nil {
		return weightedRegression(op, input, target, x, y, dt, shape, cfg, weightedSpec{
			byWeight: true,
			fwd32:    kernels.MSEForward[float32], fwd64: kernels.MSEForward[float64],
			bwd32: kernels.SquareBackward[float32], bwd64: kernels.SquareBackward[float64],
		})
	}
	return dispatch(dt,
		func() (*tensor.Tensor, error) { return mseT[float32](op, input, target, x, y, shape, cfg.reduction) },
		func() (*tensor.Tensor, error) { return mseT[float64](op, input, target, x, y, shape, cfg.reduction) })
}

func mseT[T kernels.Float](op string, input, target, xt, yt *tensor.Tensor, shape []int, r Reduction) (*tensor.Tensor, error) {
	x, err := values[T](xt, shape)
	if err != nil {
		return nil, err
	}
	y, err := values[T](yt, shape)
	if err != nil {
		return nil, err
	}
	n := len(x)
	norm := atenNorm[T](r, n, 2)
	var eager *eagerGrads[T]
	fe := fusedElementwise[T]{n: n, shape: shape, r: r,
		fwd: func(lo, hi int, loss []T) { kernels.MSEForward(x[lo:hi], y[lo:hi], loss) }}
	if wantEager(r, input, target) && mixedBackward(op, input, target) == nil {
		eager = &eagerGrads[T]{}
		gx, gy := eagerSlices(&eager.claims, n, shape, input, target, x, y)
		eager.gs = [][]T{gx, gy}
		fe.grad = func(lo, hi int) {
			kernels.MSEBackwardOne(x[lo:hi], y[lo:hi], norm, sub(gx, lo, hi), sub(gy, lo, hi))
		}
		if gx != nil && gy == nil {
			// One pass for the loss, its sum and the input gradient.
			fe.sum = func(lo, hi int) T { return kernels.MSEForwardGradSum(x[lo:hi], y[lo:hi], gx[lo:hi], norm) }
			fe.grad = func(int, int) {}
		}
	}
	out, ran := runFused(fe)
	if eager != nil {
		eager.ready = ran
	}
	eager.written()
	res := tensor.Record(out, nodeName(op, r), []*tensor.Tensor{input, target}, func(g *tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := mixedBackward(op, input, target); err != nil {
			return nil, err
		}
		if gs, ok := eager.take(g); ok {
			return gradsTo(shape, []gradOf[T]{{gs[0], input}, {gs[1], target}})
		}
		up, err := upstreamOf[T](g, n, r, false)
		if err != nil {
			return nil, err
		}
		gx, gy := gradSlices[T](n, input, target)
		parallelFor(n, sumGrain, func(lo, hi int) {
			kernels.MSEBackward(x[lo:hi], y[lo:hi], norm, up.offset(lo), sub(gx, lo, hi), sub(gy, lo, hi))
		})
		return gradsTo(shape, []gradOf[T]{{gx, input}, {gy, target}})
	})
	ownGrads(res)
	return res, nil
}

// SmoothL1Loss is the smooth L1 loss, PyTorch's
//
//	torch.nn.functional.smooth_l1_loss(input, target, size_average=None,
//	                                   reduce=None, reduction='mean', beta=1.0)
//
// Purpose: a regression loss that is quadratic for small errors (smooth at
// zero) and linear for large ones (robust to outliers), as in Fast R-CNN's
// box regression.
//
// Math: with z_i = |x_i − y_i| and β = Beta,
//
//	ℓ_i = 0.5·z_i²/β   if z_i < β
//	ℓ_i = z_i − 0.5·β  otherwise
//
// and β = 0 is exactly l1_loss (PyTorch calls l1_loss then). Reductions:
// None, Sum, Mean (Σℓ/n).
//
// Options: a Reduction (default Mean) and Beta (default 1, must be ≥ 0).
// For size_average / reduce, pass LegacyReduction's result.
//
// Gradient: with d = x − y and norm = 1/n for Mean (rounded to the element
// type) or 1: ∂/∂x = −norm·g if d ≤ −β, norm·g if d ≥ β, ((norm·d)·g)/β
// otherwise; ∂/∂y is the negative. At |d| == β it is ±norm·g, at d == 0 it
// is 0.
//
// PyTorch quirks kept: input and target broadcast (PyTorch only warns); an
// integer or bool argument is promoted to the other's floating dtype (the
// backward promotes too); a negative (or NaN) β is an error (ErrOption).
// PyTorch's vectorized backward differs from its scalar formula, used here,
// by about an ULP at most, depending on an element's position.
func SmoothL1Loss(input, target *tensor.Tensor, opts ...Option) (*tensor.Tensor, error) {
	if out, ok, err := onDevice("smooth_l1_loss", devArgs(input, target), 0, opts, func(a []*tensor.Tensor, o []Option) (*tensor.Tensor, error) { return SmoothL1Loss(a[0], a[1], o...) }); ok {
		return out, err
	}
	const op = "smooth_l1_loss"
	cfg, x, y, dt, shape, err := regressionArgs(op, input, target, opts)
	if err != nil {
		return nil, err
	}
	if cfg.beta == 0 {
		// torch.nn.functional.smooth_l1_loss calls l1_loss for beta == 0.
		return L1Loss(input, target, cfg.reduction)
	}
	return dispatch(dt,
		func() (*tensor.Tensor, error) {
			return smoothL1T[float32](input, target, x, y, shape, cfg.reduction, cfg.beta)
		},
		func() (*tensor.Tensor, error) {
			return smoothL1T[float64](input, target, x, y, shape, cfg.reduction, cfg.beta)
		})
}

func smoothL1T[T kernels.Float](input, target, xt, yt *tensor.Tensor, shape []int, r Reduction, beta float64) (*tensor.Tensor, error) {
	x, err := values[T](xt, shape)
	if err != nil {
		return nil, err
	}
	y, err := values[T](yt, shape)
	if err != nil {
		return nil, err
	}
	n := len(x)
	loss := make([]T, n)
	kernels.SmoothL1Forward(x, y, loss, beta)
	out := reduce(loss, shape, r)
	return tensor.Record(out, nodeName("smooth_l1_loss", r), []*tensor.Tensor{input, target}, func(g *tensor.Tensor) ([]*tensor.Tensor, error) {
		up, err := upstreamOf[T](g, n, r, false)
		if err != nil {
			return nil, err
		}
		norm := atenNorm[T](r, n, 1)
		gx, gy := gradSlices[T](n, input, target)
		kernels.SmoothL1Backward(x, y, norm, beta, up.at, gx, gy)
		return gradsTo(shape, []gradOf[T]{{gx, input}, {gy, target}})
	}), nil
}

// HuberLoss is the Huber loss, PyTorch's
//
//	torch.nn.functional.huber_loss(input, target, reduction='mean', delta=1.0,
//	                               weight=None)
//
// Purpose: like SmoothL1Loss, quadratic for small errors and linear for
// large ones, but scaled so that the linear part has slope δ: it is
// δ·smooth_l1_loss with β = δ.
//
// Math: with z_i = |x_i − y_i| and δ = Delta,
//
//	ℓ_i = 0.5·z_i²         if z_i < δ
//	ℓ_i = δ·(z_i − 0.5·δ)  otherwise
//
// With Weight(w): ℓ_i·w_i. Reductions: None, Sum, Mean (Σℓ/n, and with a
// weight Σ(ℓ·w)/n: unlike l1_loss and mse_loss, PyTorch's weighted Huber
// mean divides by the element count, not by Σw).
//
// Options: a Reduction (default Mean), Delta (default 1, must be > 0) and
// Weight (same shape as input). PyTorch's huber_loss has no size_average /
// reduce arguments; LegacyReduction's result is accepted like any
// Reduction.
//
// Gradient: with d = x − y and norm = 1/n for an unweighted Mean (rounded
// to the element type) or 1: ∂/∂x = (−norm·g)·δ if d ≤ −δ, (norm·g)·δ if
// d ≥ δ, (norm·d)·g otherwise; ∂/∂y is the negative. At |d| == δ it is
// ±δ·norm·g. With a weight the gradient is autograd's through ℓ·w (and its
// reduction), reaching the weight too.
//
// PyTorch quirks kept: input and target broadcast (PyTorch only warns). The
// loss has input's dtype (ATen writes it into empty_like(input)): a float32
// input with a float64 target gives a float32 loss computed in float64, an
// integer input with a floating target is an error, and a floating input
// with an integer or bool target works. The backward fails (ErrDType) when
// input and target dtypes differ, as ATen's huber_loss_backward does not
// promote. Two integer arguments are rejected (ErrDType).
func HuberLoss(input, target *tensor.Tensor, opts ...Option) (*tensor.Tensor, error) {
	if out, ok, err := onDevice("huber_loss", devArgs(input, target), 0, opts, func(a []*tensor.Tensor, o []Option) (*tensor.Tensor, error) { return HuberLoss(a[0], a[1], o...) }); ok {
		return out, err
	}
	const op = "huber_loss"
	cfg, x, y, dt, shape, err := regressionArgs(op, input, target, opts)
	if err != nil {
		return nil, err
	}
	if !input.DType().IsFloat() {
		return nil, torchloss.Errorf(torchloss.ErrDType, op, "input", "result type %v can't be cast to the desired output type %v (huber_loss writes the loss in input's dtype)", dt, input.DType())
	}
	// The loss is computed in the promoted dtype and stored in input's.
	lossTo32 := input.DType() == tensor.Float32 && dt == tensor.Float64
	if cfg.weight != nil {
		return weightedRegression(op, input, target, x, y, dt, shape, cfg, weightedSpec{
			lossTo32: lossTo32,
			mixedErr: true,
			fwd32:    func(x, y, out []float32) { kernels.HuberForward(x, y, out, cfg.delta) },
			fwd64:    func(x, y, out []float64) { kernels.HuberForward(x, y, out, cfg.delta) },
			bwd32: func(x, y []float32, up func(int) float32, gx, gy []float32) {
				kernels.HuberBackward(x, y, 1, cfg.delta, up, gx, gy)
			},
			bwd64: func(x, y []float64, up func(int) float64, gx, gy []float64) {
				kernels.HuberBackward(x, y, 1, cfg.delta, up, gx, gy)
			},
		})
	}
	return dispatch(dt,
		func() (*tensor.Tensor, error) {
			return huberT[float32](op, input, target, x, y, shape, cfg.reduction, cfg.delta, false)
		},
		func() (*tensor.Tensor, error) {
			return huberT[float64](op, input, target, x, y, shape, cfg.reduction, cfg.delta, lossTo32)
		})
}

func huberT[T kernels.Float](op string, input, target, xt, yt *tensor.Tensor, shape []int, r Reduction, delta float64, lossTo32 bool) (*tensor.Tensor, error) {
	x, err := values[T](xt, shape)
	if err != nil {
		return nil, err
	}
	y, err := values[T](yt, shape)
	if err != nil {
		return nil, err
	}
	n := len(x)
	loss := make([]T, n)
	kernels.HuberForward(x, y, loss, delta)
	var out *tensor.Tensor
	if lossTo32 {
		l32 := make([]float32, n)
		for i, v := range loss {
			l32[i] = float32(v)
		}
		out = reduce(l32, shape, r)
	} else {
		out = reduce(loss, shape, r)
	}
	return tensor.Record(out, nodeName(op, r), []*tensor.Tensor{input, target}, func(g *tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := mixedBackward(op, input, target); err != nil {
			return nil, err
		}
		up, err := upstreamOf[T](g, n, r, false)
		if err != nil {
			return nil, err
		}
		norm := atenNorm[T](r, n, 1)
		gx, gy := gradSlices[T](n, input, target)
		kernels.HuberBackward(x, y, norm, delta, up.at, gx, gy)
		return gradsTo(shape, []gradOf[T]{{gx, input}, {gy, target}})
	}), nil
}

// atenNorm is the norm of ATen's mse/smooth_l1/huber backward kernels:
// c/n for Mean, computed in double and rounded to T, else c.
func atenNorm[T kernels.Float](r Reduction, n int, c float64) T {
	if r == Mean {
		return T(c / float64(n))
	}
	return T(c)
}

// regressionArgs is the common start of the elementwise regression losses
// (l1, mse, smooth_l1, huber): their options over defaults, the required
// arguments, input and target in their computing dtype dt (regressionPair)
// and the broadcast shape of the pair.
func regressionArgs(op string, input, target *tensor.Tensor, opts []Option) (cfg config, x, y *tensor.Tensor, dt tensor.DType, shape []int, err error) {
	if cfg, err = lossOptions(op, opts); err != nil {
		return
	}
	if err = required(op, arg{"input", input}, arg{"target", target}); err != nil {
		return
	}
	if x, y, dt, err = regressionPair(op, input, target); err != nil {
		return
	}
	shape, err = broadcastShape(op, arg{"input", input}, arg{"target", target})
	return
}

// regressionPair checks the dtypes of input and target and returns them as
// floating-point tensors x and y with the dtype they promote to: an integer
// or bool argument is converted to the other's dtype, as PyTorch's type
// promotion casts it (it cannot require a gradient, so the conversion loses
// none); a floating argument is returned as is. Two non-floating arguments
// are an error, as PyTorch's kernels are not implemented for them.
func regressionPair(op string, input, target *tensor.Tensor) (x, y *tensor.Tensor, dt tensor.DType, err error) {
	x, y = input, target
	fi, ft := input.DType().IsFloat(), target.DType().IsFloat()
	switch {
	case !fi && !ft:
		return nil, nil, 0, torchloss.Errorf(torchloss.ErrDType, op, "input", "expected a floating-point input or target, got %v and %v", input.DType(), target.DType())
	case !fi:
		dt = target.DType()
		x, err = input.To(dt)
	case !ft:
		dt = input.DType()
		y, err = target.To(dt)
	default:
		dt = tensor.PromoteFloat(input.DType(), target.DType())
	}
	if err != nil {
		return nil, nil, 0, err
	}
	return x, y, dt, nil
}

// mixedBackward is the error of ATen's mse_loss_backward and
// huber_loss_backward (PyTorch 2.11) when input and target dtypes differ:
// their TensorIterator requires one dtype.
func mixedBackward(op string, input, target *tensor.Tensor) error {
	if input.DType() == target.DType() {
		return nil
	}
	return torchloss.Errorf(torchloss.ErrDType, op, "target", "Found dtype %v but expected %v (PyTorch's %s backward does not promote input and target)", target.DType(), input.DType(), op)
}

// gradSlices allocates the gradient slices of input and target over n
// elements, nil for an argument that needs none.
func gradSlices[T kernels.Float](n int, input, target *tensor.Tensor) (gx, gy []T) {
	if needs(input) {
		gx = make([]T, n)
	}
	if needs(target) {
		gy = make([]T, n)
	}
	return gx, gy
}

// eagerSlices is gradSlices for the gradients a forward pass computes:
// each from gradBuf (the argument's own buffer when it can be claimed;
// reads: the slices the pass reads), claims recorded in *claims.
func eagerSlices[T kernels.Float](claims *[]*tensor.GradClaim, n int, shape []int, input, target *tensor.Tensor, reads ...[]T) (gx, gy []T) {
	if needs(input) {
		gx = gradBuf(claims, input, shape, n, reads...)
	}
	if needs(target) {
		gy = gradBuf(claims, target, shape, n, reads...)
	}
	return gx, gy
}

// weightedSpec describes an elementwise loss ℓ(x, y) for weightedRegression.
type weightedSpec struct {
	// byWeight: Mean is Σ(ℓ·w)/Σw (mse_loss), else Σ(ℓ·w)/n (huber_loss).
	byWeight bool
	// lossTo32: ℓ, computed in float64, is stored as float32 (huber_loss
	// with a float32 input and a float64 target).
	lossTo32 bool
	// mixedErr: the backward of ℓ fails when input and target dtypes differ.
	mixedErr bool
	fwd32    func(x, y, out []float32)
	fwd64    func(x, y, out []float64)
	// bwd: the gradient of ℓ given the gradient reaching each ℓ_i.
	bwd32 func(x, y []float32, up func(int) float32, gx, gy []float32)
	bwd64 func(x, y []float64, up func(int) float64, gx, gy []float64)
}

// weightedRegression is torch.nn.functional's weighted path of mse_loss and
// huber_loss: e = ℓ(x, y)·w with none → e, sum → Σe, mean → Σe/Σw
// (byWeight) or Σe/n, differentiated as PyTorch's autograd differentiates
// that composite. Dtypes follow PyTorch's promotion step by step: ℓ in the
// pair's dtype (or float32, lossTo32), e in the promotion of ℓ's and w's,
// Σw in w's own dtype. x, y are the converted input and target from
// regressionPair, pd their dtype.
func weightedRegression(op string, input, target, x, y *tensor.Tensor, pd tensor.DType, shape []int, cfg config, spec weightedSpec) (*tensor.Tensor, error) {
	w := cfg.weight
	if !sameShape(w, input) {
		return nil, torchloss.Errorf(torchloss.ErrShape, op, "weight", "Weights and input must have the same size. (weight %v, input %v)", sizes(w.Shape()), sizes(input.Shape()))
	}
	ld := pd
	if spec.lossTo32 {
		ld = tensor.Float32
	}
	wv := w
	if !w.DType().IsFloat() {
		// An integer or bool weight (which cannot require a gradient)
		// promotes to the loss dtype.
		var err error
		if wv, err = w.To(ld); err != nil {
			return nil, err
		}
	}
	xt, yt := x, y
	od := tensor.PromoteFloat(ld, wv.DType())
	f32, f64 := tensor.Float32, tensor.Float64
	switch {
	case pd == f32 && wv.DType() == f32:
		return weightedT[float32, float32, float32](op, input, target, xt, yt, w, wv, shape, cfg.reduction, spec.fwd32, spec.bwd32, spec)
	case pd == f32:
		return weightedT[float32, float64, float64](op, input, target, xt, yt, w, wv, shape, cfg.reduction, spec.fwd32, spec.bwd32, spec)
	case wv.DType() == f64:
		return weightedT[float64, float64, float64](op, input, target, xt, yt, w, wv, shape, cfg.reduction, spec.fwd64, spec.bwd64, spec)
	case od == f64:
		return weightedT[float64, float32, float64](op, input, target, xt, yt, w, wv, shape, cfg.reduction, spec.fwd64, spec.bwd64, spec)
	default:
		return weightedT[float64, float32, float32](op, input, target, xt, yt, w, wv, shape, cfg.reduction, spec.fwd64, spec.bwd64, spec)
	}
}

// weightedT computes the weighted loss with the pair in P, the weight in W
// and the result in T. w is the weight argument (for its gradient), wv its
// floating values.
func weightedT[P, W, T kernels.Float](op string, input, target, xt, yt, w, wv *tensor.Tensor, shape []int, r Reduction,
	fwd func(x, y, out []P), bwd func(x, y []P, up func(int) P, gx, gy []P), spec weightedSpec,
) (*tensor.Tensor, error) {
	x, err := values[P](xt, shape)
	if err != nil {
		return nil, err
	}
	y, err := values[P](yt, shape)
	if err != nil {
		return nil, err
	}
	wb, err := values[W](wv, shape)
	if err != nil {
		return nil, err
	}
	n := len(x)
	lp := make([]P, n)
	fwd(x, y, lp)
	// ℓ in its own dtype, then promoted to T; e = ℓ·w in T.
	loss := make([]T, n)
	e := make([]T, n)
	for i, v := range lp {
		if spec.lossTo32 {
			loss[i] = T(float32(v))
		} else {
			loss[i] = T(v)
		}
		e[i] = loss[i] * T(wb[i])
	}
	var sumE, sumW T
	var out *tensor.Tensor
	switch {
	case r == None:
		out = tensor.MustFromData(e, shape)
	case r == Sum:
		out = tensor.Scalar(kernels.Sum(e))
	case spec.byWeight:
		sumE = kernels.Sum(e)
		sumW = T(kernels.Sum(tensor.Data[W](wv)))
		out = tensor.Scalar(sumE / sumW)
	default:
		out = tensor.Scalar(kernels.Mean(e))
	}
	return tensor.Record(out, nodeName(op, r, "weight"), []*tensor.Tensor{input, target, w}, func(g *tensor.Tensor) ([]*tensor.Tensor, error) {
		wantPair := needs(input) || needs(target)
		if wantPair && spec.mixedErr {
			if err := mixedBackward(op, input, target); err != nil {
				return nil, err
			}
		}
		// The gradient reaching e: g (none, sum), g/Σw (mean by weight;
		// div's backward) or g/n (mean; mean's backward).
		up, err := upstreamOf[T](g, n, r, !spec.byWeight)
		if err != nil {
			return nil, err
		}
		if r == Mean && spec.byWeight {
			up.s /= sumW
		}
		res := make([]*tensor.Tensor, 3)
		if wantPair {
			// mul's backward: the gradient reaching ℓ is up·w, cast to ℓ's
			// dtype (P: a float32 ℓ from a float64 pair failed above).
			gl := make([]P, n)
			for i := range gl {
				gl[i] = P(up.at(i) * T(wb[i]))
			}
			gx, gy := gradSlices[P](n, input, target)
			bwd(x, y, func(i int) P { return gl[i] }, gx, gy)
			gs, err := gradsTo(shape, []gradOf[P]{{gx, input}, {gy, target}})
			if err != nil {
				return nil, err
			}
			res[0], res[1] = gs[0], gs[1]
		}
		if needs(w) {
			// mul's backward: up·ℓ, summed to the weight's shape and cast
			// to its dtype.
			gw := make([]T, n)
			for i := range gw {
				gw[i] = up.at(i) * loss[i]
			}
			gt, err := gradTo(gw, shape, w)
			if err != nil {
				return nil, err
			}
			if r == Mean && spec.byWeight {
				// The denominator Σw: div's backward −g·((Σe/Σw)/Σw), cast
				// to the weight's dtype, reaches every weight through sum's
				// backward and accumulates with the mul path.
				corr := -(g0[T](g) * ((sumE / sumW) / sumW))
				gt = addScalar(gt, float64(corr))
			}
			res[2] = gt
		}
		return res, nil
	}), nil
}

// addScalar returns t + c elementwise in t's floating dtype, with c first
// rounded to that dtype (a gradient accumulated from two paths, each already
// cast to the argument's dtype).
func addScalar(t *tensor.Tensor, c float64) *tensor.Tensor {
	switch t.DType() {
	case tensor.Float32:
		s := tensor.Data[float32](t)
		out := make([]float32, len(s))
		for i, v := range s {
			out[i] = v + float32(c)
		}
		return tensor.MustFromData(out, t.Shape())
	default:
		s := tensor.Data[float64](t)
		out := make([]float64, len(s))
		for i, v := range s {
			out[i] = v + c
		}
		return tensor.MustFromData(out, t.Shape())
	}
}
