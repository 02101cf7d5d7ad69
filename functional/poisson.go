package functional

import (
	"github.com/torchloss/torchloss/internal/kernels"
	"github.com/torchloss/torchloss/tensor"
)

// PoissonNLLLoss is the negative log-likelihood of target under a Poisson
// distribution whose rate is given by input, PyTorch's
//
//	torch.nn.functional.poisson_nll_loss(input, target, log_input=True,
//	    full=False, size_average=None, eps=1e-08, reduce=None,
//	    reduction='mean')
//
// Purpose: regression of counts (events per interval, photon counts, ...)
// where the model predicts a rate λ and the observations are Poisson.
//
// Math, per element of the broadcast input x and target t:
//
//	LogInput(true)  (x = log λ): ℓ = exp(x) − t·x
//	LogInput(false) (x = λ):     ℓ = x − t·log(x + eps)
//	Full(true) adds Stirling's approximation of log(t!),
//	    t·log t − t + 0.5·log(2π·t), where t > 1 (0 where t ≤ 1).
//
// Options: LogInput (default true), Full (default false), Eps (default 1e-8;
// converted to input's dtype, so 1 + 1e-8 == 1 in float32), and a Reduction
// (default Mean; Sum, None). For PyTorch's size_average/reduce pass
// LegacyReduction(sizeAverage, reduce).
//
// Gradient (autograd of PyTorch's graph, in its operation order), for the
// upstream gradient u of an element:
//
//	LogInput: ∂x = u·exp(x) − u·t          ∂t = −u·x
//	else:     ∂x = u − u·t/(x + eps)       ∂t = −u·log(x + eps)
//	Full:     ∂t += log t + 0.5/t where t > 1
//
// PyTorch quirks kept: input and target broadcast silently; there is no
// check that target ≥ 0 or that the rate is positive (log of a negative
// number is NaN); with Full the target gradient is NaN where t == 0 (the
// masked Stirling term still meets 0·log 0 and 0/0) and where t < 0. The
// Stirling term is computed in target's own dtype (float32 for an integer
// target) and exp(x), x + eps and log in input's own dtype, as PyTorch's
// separate operations are; integer tensors take part in promotion (the
// result is float32 when both are integers). Bool tensors fail where
// PyTorch subtracts them.
func PoissonNLLLoss(input, target *tensor.Tensor, opts ...Option) (*tensor.Tensor, error) {
	const op = "poisson_nll_loss"
	cfg, err := lossOptions(op, opts)
	if err != nil {
		return nil, err
	}
	if err := required(op, arg{"input", input}, arg{"target", target}); err != nil {
		return nil, err
	}
	xb, tb := input.DType() == tensor.Bool, target.DType() == tensor.Bool
	switch {
	case cfg.logInput && xb && tb: // exp(x) − (bool t·x)
		return nil, boolSubError(op, "target")
	case !cfg.logInput && xb: // x − t·log(x + eps)
		return nil, boolSubError(op, "input")
	case cfg.full && tb: // t·log t − t
		return nil, boolSubError(op, "target")
	}
	shape, err := broadcastShape(op, arg{"input", input}, arg{"target", target})
	if err != nil {
		return nil, err
	}
	if out, ok, err := onKernel(kernelCall{op: op, args: devArgs(input, target), diff: 2, cfg: cfg, name: nodeName(op, cfg.reduction, when(cfg.full, "full")), opts: opts,
		host: func(_ *kernelCall, a []*tensor.Tensor, o []Option) (*tensor.Tensor, error) {
			return PoissonNLLLoss(a[0], a[1], o...)
		}}); ok {
		return out, err
	}
	p := kernels.PoissonNLL{
		LogInput: cfg.logInput, Full: cfg.full, Eps: cfg.eps,
		XF32: input.DType() != tensor.Float64, TF32: target.DType() != tensor.Float64,
	}
	return dispatch(promote(tensor.Float32, input, target),
		func() (*tensor.Tensor, error) { return poissonNLL[float32](input, target, cfg, p, shape) },
		func() (*tensor.Tensor, error) { return poissonNLL[float64](input, target, cfg, p, shape) })
}

func poissonNLL[T kernels.Float](input, target *tensor.Tensor, cfg config, p kernels.PoissonNLL, shape []int) (*tensor.Tensor, error) {
	x, err := values[T](input, shape)
	if err != nil {
		return nil, err
	}
	t, err := values[T](target, shape)
	if err != nil {
		return nil, err
	}
	n := len(x)
	var eager *eagerGrads[T]
	fe := fusedElementwise[T]{n: n, shape: shape, r: cfg.reduction,
		fwd: func(lo, hi int, loss []T) { kernels.PoissonNLLForward(p, x[lo:hi], t[lo:hi], loss) }}
	is32 := kernels.Is32[T]()
	if p.LogInput && p.XF32 == is32 && p.TF32 == is32 {
		var gx []T
		u := T(1)
		if wantEager(cfg.reduction, input, target) && !needs(target) {
			eager = &eagerGrads[T]{}
			gx = gradBuf(&eager.claims, input, shape, n, x, t)
			if cfg.reduction == Mean {
				u /= T(n)
			}
			eager.gs = [][]T{gx, nil}
			fe.grad = func(int, int) {}
		}
		fe.fwd = func(lo, hi int, loss []T) {
			e, a, b := getScratch[T](), getScratch[T](), getScratch[T]()
			kernels.PoissonNLLLogInputVec(p.Full, x[lo:hi], t[lo:hi], loss, *e, *a, *b, u, sub(gx, lo, hi))
			putScratch(e)
			putScratch(a)
			putScratch(b)
		}
	}
	out, ran := runFused(fe)
	if eager != nil {
		eager.ready = ran
	}
	eager.written()
	res := tensor.Record(out, nodeName("poisson_nll_loss", cfg.reduction, when(cfg.full, "full")), []*tensor.Tensor{input, target}, func(g *tensor.Tensor) ([]*tensor.Tensor, error) {
		if gs, ok := eager.take(g); ok {
			return gradsTo(shape, []gradOf[T]{{gs[0], input}})
		}
		up, err := upstreamOf[T](g, n, cfg.reduction, true)
		if err != nil {
			return nil, err
		}
		var gx, gt []T
		if needs(input) {
			gx = make([]T, n)
		}
		if needs(target) {
			gt = make([]T, n)
		}
		parallelFor(n, sumGrain, func(lo, hi int) {
			kernels.PoissonNLLBackward(p, x[lo:hi], t[lo:hi], up.offset(lo), sub(gx, lo, hi), sub(gt, lo, hi))
		})
		return gradsTo(shape, []gradOf[T]{{gx, input}, {gt, target}})
	})
	ownGrads(res)
	return res, nil
}
