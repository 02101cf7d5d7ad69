package functional

import (
	"github.com/torchloss/torchloss"
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
// their sizes differ); integer tensors are rejected (PyTorch computes int64
// results for 'sum' and 'none').
func L1Loss(input, target *tensor.Tensor, opts ...Option) (*tensor.Tensor, error) {
	const op = "l1_loss"
	cfg, err := parseOptions(op, optWeight, config{}, opts)
	if err != nil {
		return nil, err
	}
	if err := required(op, arg{"input", input}, arg{"target", target}); err != nil {
		return nil, err
	}
	return pairLoss(op, input, target, cfg, "L1LossBackward0", kernels.L1Forward[float32], kernels.L1Forward[float64], kernels.L1Backward[float32], kernels.L1Backward[float64])
}

// pairLoss evaluates an elementwise loss ℓ(x, y) of a broadcast pair with an
// optional elementwise weight whose Mean divides by Σw (l1_loss, mse_loss),
// given its float32 and float64 forward and backward kernels.
func pairLoss(op string, input, target *tensor.Tensor, cfg config, name string,
	fwd32 func(x, y, out []float32), fwd64 func(x, y, out []float64),
	bwd32 func(x, y []float32, up func(int) float32, gx, gy []float32), bwd64 func(x, y []float64, up func(int) float64, gx, gy []float64),
) (*tensor.Tensor, error) {
	dt, err := floatDType(op, arg{"input", input}, arg{"target", target}, arg{"weight", cfg.weight})
	if err != nil {
		return nil, err
	}
	shape, err := broadcastShape(op, arg{"input", input}, arg{"target", target})
	if err != nil {
		return nil, err
	}
	if cfg.weight != nil && !sameShape(cfg.weight, input) {
		return nil, torchloss.Errorf(torchloss.ErrShape, op, "weight", "Weights and input must have the same size. (weight %v, input %v)", cfg.weight.Shape(), input.Shape())
	}
	return dispatch(dt,
		func() (*tensor.Tensor, error) { return pairLossT(op, input, target, cfg, shape, name, fwd32, bwd32) },
		func() (*tensor.Tensor, error) { return pairLossT(op, input, target, cfg, shape, name, fwd64, bwd64) })
}

func pairLossT[T kernels.Float](op string, input, target *tensor.Tensor, cfg config, shape []int, name string,
	fwd func(x, y, out []T), bwd func(x, y []T, up func(int) T, gx, gy []T),
) (*tensor.Tensor, error) {
	x, err := values[T](input, shape)
	if err != nil {
		return nil, err
	}
	y, err := values[T](target, shape)
	if err != nil {
		return nil, err
	}
	n := len(x)
	loss := make([]T, n)
	fwd(x, y, loss)
	if cfg.weight == nil {
		out := reduce(loss, shape, cfg.reduction)
		return tensor.Record(out, name, []*tensor.Tensor{input, target}, func(g *tensor.Tensor) ([]*tensor.Tensor, error) {
			up, err := upstreamOf[T](g, n, cfg.reduction, true)
			if err != nil {
				return nil, err
			}
			var gx, gy []T
			if needs(input) {
				gx = make([]T, n)
			}
			if needs(target) {
				gy = make([]T, n)
			}
			bwd(x, y, up.at, gx, gy)
			return gradsTo(shape, []gradOf[T]{{gx, input}, {gy, target}})
		}), nil
	}
	// Weighted: e = ℓ·w; none → e, sum → Σe, mean → Σe / Σw.
	w, err := values[T](cfg.weight, shape)
	if err != nil {
		return nil, err
	}
	e := make([]T, n)
	for i := range e {
		e[i] = loss[i] * w[i]
	}
	var sumE, sumW T
	var out *tensor.Tensor
	switch cfg.reduction {
	case None:
		out = tensor.FromData(e, shape)
	case Sum:
		sumE = kernels.Sum(e)
		out = tensor.Scalar(sumE)
	default:
		sumE = kernels.Sum(e)
		wv, err := values[T](cfg.weight, cfg.weight.Shape())
		if err != nil {
			return nil, err
		}
		sumW = kernels.Sum(wv)
		out = tensor.Scalar(sumE / sumW)
	}
	return tensor.Record(out, name, []*tensor.Tensor{input, target, cfg.weight}, func(g *tensor.Tensor) ([]*tensor.Tensor, error) {
		// The gradient reaching e: g (none, sum) or g/Σw (mean).
		div := cfg.reduction == Mean
		up, err := upstreamOf[T](g, n, cfg.reduction, false)
		if err != nil {
			return nil, err
		}
		if div {
			up.s /= sumW
		}
		var gx, gy, gw []T
		if needs(input) {
			gx = make([]T, n)
		}
		if needs(target) {
			gy = make([]T, n)
		}
		if gx != nil || gy != nil {
			bwd(x, y, func(i int) T { return up.at(i) * w[i] }, gx, gy)
		}
		if needs(cfg.weight) {
			gw = make([]T, n)
			var corr T
			if div {
				// ∂(Σe/Σw)/∂w_i = ℓ_i/Σw − (Σe/Σw)/Σw, the second term from
				// the division's denominator.
				corr = -(g0[T](g) * ((sumE / sumW) / sumW))
			}
			for i := range gw {
				gw[i] = up.at(i)*loss[i] + corr
			}
		}
		return gradsTo(shape, []gradOf[T]{{gx, input}, {gy, target}, {gw, cfg.weight}})
	}), nil
}

// sameShape reports whether a and b have the same shape.
func sameShape(a, b *tensor.Tensor) bool {
	sa, sb := a.Shape(), b.Shape()
	if len(sa) != len(sb) {
		return false
	}
	for i := range sa {
		if sa[i] != sb[i] {
			return false
		}
	}
	return true
}

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
