package functional

import (
	"slices"

	"github.com/torchloss/torchloss/internal/kernels"
	"github.com/torchloss/torchloss/tensor"
)

// L1Loss is the mean absolute error between input and target, PyTorch's
//
//	torch.nn.functional.l1_loss(input, target, size_average=None, reduce=None,
//	                            reduction='mean', weight=None)
//
// Purpose: regression where outliers should not dominate; the gradient has
// constant magnitude, so training is robust to a few large errors.
//
// Math: ℓ_i = |x_i − y_i|. With Weight(w): ℓ_i = |x_i − y_i|·w_i.
// Reductions: None returns ℓ (shape of the broadcast input and target), Sum
// returns Σℓ, Mean returns Σℓ/n, or Σℓ/Σw with a weight (not Σℓ/n: PyTorch's
// weighted mean divides by the total weight).
//
// Options: a Reduction (default Mean) and Weight (same shape as input).
//
// Gradient: ∂ℓ/∂x = sgn(x − y), ∂ℓ/∂y = −sgn(x − y), with sgn(0) = 0: the
// subgradient at a tie is 0, as in PyTorch. With a weight, the weight is
// differentiable too.
//
// PyTorch quirks kept: input and target broadcast (PyTorch only warns when
// their sizes differ); an integer input or target is promoted to the other's
// floating dtype; two integer tensors are rejected (PyTorch computes int64
// results for 'sum' and 'none' there).
func L1Loss(input, target *tensor.Tensor, opts ...Option) (*tensor.Tensor, error) {
	const op = "l1_loss"
	cfg, x, y, dt, shape, err := regressionArgs(op, input, target, opts)
	if err != nil {
		return nil, err
	}
	if out, ok, err := onKernel(kernelCall{op: op, args: devArgs(input, target), diff: 2, cfg: cfg, name: nodeName(op, cfg.reduction), opts: opts, hostOnly: cfg.weight != nil,
		host: func(_ *kernelCall, a []*tensor.Tensor, o []Option) (*tensor.Tensor, error) {
			return L1Loss(a[0], a[1], o...)
		}}); ok {
		return out, err
	}
	if cfg.weight != nil {
		return weightedRegression(op, input, target, x, y, dt, shape, cfg, weightedSpec{
			byWeight: true,
			fwd32:    kernels.L1Forward[float32], fwd64: kernels.L1Forward[float64],
			bwd32: kernels.L1Backward[float32], bwd64: kernels.L1Backward[float64],
		})
	}
	return dispatch(dt,
		func() (*tensor.Tensor, error) {
			return pairLossT(input, target, x, y, shape, cfg.reduction, nodeName(op, cfg.reduction), kernels.L1Forward[float32], kernels.L1Backward[float32])
		},
		func() (*tensor.Tensor, error) {
			return pairLossT(input, target, x, y, shape, cfg.reduction, nodeName(op, cfg.reduction), kernels.L1Forward[float64], kernels.L1Backward[float64])
		})
}

// pairLossT evaluates an unweighted elementwise loss ℓ(x, y) of the
// broadcast pair (xt, yt), converted from the arguments input and target,
// with its forward and backward kernels; the gradient is (g or g/n)·∂ℓ.
// It serves l1_loss: the gradient computed in the forward pass (output
// gradient 1) uses kernels.L1BackwardConst, bwd's constant-upstream form.
func pairLossT[T kernels.Float](input, target, xt, yt *tensor.Tensor, shape []int, r Reduction, name string,
	fwd func(x, y, out []T), bwd func(x, y []T, up func(int) T, gx, gy []T),
) (*tensor.Tensor, error) {
	x, err := values[T](xt, shape)
	if err != nil {
		return nil, err
	}
	y, err := values[T](yt, shape)
	if err != nil {
		return nil, err
	}
	n := len(x)
	var eager *eagerGrads[T]
	fe := fusedElementwise[T]{n: n, shape: shape, r: r,
		fwd: func(lo, hi int, loss []T) { fwd(x[lo:hi], y[lo:hi], loss) }}
	if wantEager(r, input, target) {
		eager = &eagerGrads[T]{}
		gx, gy := eagerSlices(&eager.claims, n, shape, input, target, x, y)
		eager.gs = [][]T{gx, gy}
		up := upstream[T]{s: 1}
		if r == Mean {
			up.s /= T(n)
		}
		fe.grad = func(lo, hi int) { kernels.L1BackwardConst(x[lo:hi], y[lo:hi], up.s, sub(gx, lo, hi), sub(gy, lo, hi)) }
		if gx != nil && gy == nil {
			// One pass for the loss and the input gradient (pairLossT's
			// only loss is l1_loss).
			fe.sum = func(lo, hi int) T { return kernels.L1ForwardGradSum(x[lo:hi], y[lo:hi], gx[lo:hi], up.s) }
			fe.grad = func(int, int) {}
		}
	}
	out, ran := runFused(fe)
	if eager != nil {
		eager.ready = ran
	}
	eager.written()
	res := tensor.Record(out, name, []*tensor.Tensor{input, target}, func(g *tensor.Tensor) ([]*tensor.Tensor, error) {
		if gs, ok := eager.take(g); ok {
			return gradsTo(shape, []gradOf[T]{{gs[0], input}, {gs[1], target}})
		}
		up, err := upstreamOf[T](g, n, r, true)
		if err != nil {
			return nil, err
		}
		gx, gy := gradSlices[T](n, input, target)
		parallelFor(n, sumGrain, func(lo, hi int) { bwd(x[lo:hi], y[lo:hi], up.offset(lo), sub(gx, lo, hi), sub(gy, lo, hi)) })
		return gradsTo(shape, []gradOf[T]{{gx, input}, {gy, target}})
	})
	ownGrads(res)
	return res, nil
}

// sameShape reports whether a and b have the same shape.
func sameShape(a, b *tensor.Tensor) bool { return slices.Equal(a.Shape(), b.Shape()) }

// g0 returns the first element of the output gradient g as T.
func g0[T kernels.Float](g *tensor.Tensor) T {
	v, _ := g.To(tensor.DTypeOf[T]())
	return tensor.Data[T](v)[0]
}

// gradOf pairs a gradient computed over the broadcast shape with the
// argument it belongs to (g nil: not wanted).
type gradOf[T kernels.Float] struct {
	g []T
	a *tensor.Tensor
}

// gradsTo returns each gradient reduced to its argument's shape and dtype,
// nil where g is nil: the result of a node's backward function.
func gradsTo[T kernels.Float](shape []int, gs []gradOf[T]) ([]*tensor.Tensor, error) {
	out := make([]*tensor.Tensor, len(gs))
	for i, p := range gs {
		if p.g == nil {
			continue
		}
		g, err := gradTo(p.g, shape, p.a)
		if err != nil {
			return nil, err
		}
		out[i] = g
	}
	return out, nil
}
