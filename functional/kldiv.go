package functional

import (
	"github.com/torchloss/torchloss"
	"github.com/torchloss/torchloss/internal/kernels"
	"github.com/torchloss/torchloss/tensor"
)

// KLDiv is the Kullback-Leibler divergence of the distribution target from
// the distribution whose log-probabilities are input, PyTorch's
//
//	torch.nn.functional.kl_div(input, target, size_average=None, reduce=None,
//	                           reduction='mean', log_target=False)
//
// Purpose: distillation and variational models: it measures how far the
// model's distribution (given as log-probabilities, e.g. from LogSoftmax) is
// from a target distribution.
//
// Math, per element of the broadcast input x and target t:
//
//	LogTarget(false): ℓ = xlogy(t, t) − t·x = t·(log t − x), 0 where t == 0
//	LogTarget(true):  ℓ = exp(t)·(t − x)   (t holds log-probabilities)
//
// xlogy is PyTorch's: NaN where t is NaN, 0 where t == 0 (even for x = ±inf
// it is 0 − 0·x, which is NaN), else t·log t (NaN for t < 0).
//
// Reductions: None, Sum, Mean (Σℓ divided by the number of elements: the
// default, which PyTorch warns does not match the KL divergence's
// definition), and BatchMean (Σℓ divided by input's size(0), the
// mathematical KL divergence of a batch; a 0-d input is not divided). For
// PyTorch's size_average/reduce pass LegacyReduction(sizeAverage, reduce)
// (BatchMean is then out of reach, as in PyTorch).
//
// Gradient, for the upstream gradient u of an element:
//
//	LogTarget(false): ∂x = −u·t     ∂t = u·(log t + 1 − x), NaN at t == 0
//	LogTarget(true):  ∂x = −u·e^t   ∂t = u·e^t·(t − x + 1)
//
// PyTorch quirks kept: input and target broadcast silently (BatchMean still
// divides by input's size(0)); the target gradient is NaN where t == 0 (the
// t·(1/t) term of xlogy's backward is 0/0); integer and bool tensors are
// rejected (ErrDType); xlogy(t, t) and exp(t) run in target's own dtype.
func KLDiv(input, target *tensor.Tensor, opts ...Option) (*tensor.Tensor, error) {
	const op = "kl_div"
	cfg, err := lossOptions(op, opts)
	if err != nil {
		return nil, err
	}
	if err := required(op, arg{"input", input}, arg{"target", target}); err != nil {
		return nil, err
	}
	for _, a := range []arg{{"input", input}, {"target", target}} {
		if !a.t.DType().IsFloat() {
			return nil, torchloss.Errorf(torchloss.ErrDType, op, a.name, "kl_div: Integral inputs not supported. (got %v)", a.t.DType())
		}
	}
	shape, err := broadcastShape(op, arg{"input", input}, arg{"target", target})
	if err != nil {
		return nil, err
	}
	// batchmean divides by input.size(0) (0 for an empty batch: 0/0 = NaN);
	// a 0-d input is not divided.
	div := -1
	if cfg.reduction == BatchMean && input.Dim() != 0 {
		div = input.Size(0)
	}
	name := nodeName(op, cfg.reduction, when(cfg.logTarget, "log_target"), when(div < 0, condScalar))
	if out, ok, err := onKernel(kernelCall{op: op, args: devArgs(input, target), diff: 2, cfg: cfg, name: name, opts: opts,
		host: func(_ *kernelCall, a []*tensor.Tensor, o []Option) (*tensor.Tensor, error) {
			return KLDiv(a[0], a[1], o...)
		}}); ok {
		return out, err
	}
	p := kernels.KLDiv{
		LogTarget: cfg.logTarget,
		XF32:      input.DType() != tensor.Float64, TF32: target.DType() != tensor.Float64,
	}
	return dispatch(promote(tensor.Float32, input, target),
		func() (*tensor.Tensor, error) { return klDiv[float32](input, target, cfg, p, shape, div) },
		func() (*tensor.Tensor, error) { return klDiv[float64](input, target, cfg, p, shape, div) })
}

// klDiv evaluates kl_div in T; div >= 0 is batchmean's divisor.
func klDiv[T kernels.Float](input, target *tensor.Tensor, cfg config, p kernels.KLDiv, shape []int, div int) (*tensor.Tensor, error) {
	x, err := values[T](input, shape)
	if err != nil {
		return nil, err
	}
	t, err := values[T](target, shape)
	if err != nil {
		return nil, err
	}
	n := len(x)
	r := cfg.reduction
	if r == BatchMean {
		r = Sum // torch.kl_div(..., Sum), then / input.size(0)
	}
	fe := fusedElementwise[T]{n: n, shape: shape, r: r,
		fwd: func(lo, hi int, loss []T) { kernels.KLDivForward(p, x[lo:hi], t[lo:hi], loss) }}
	var eager *eagerGrads[T]
	is32 := kernels.Is32[T]()
	if !p.LogTarget && p.XF32 == is32 && p.TF32 == is32 {
		var gx []T
		u := T(1)
		if wantEager(r, input, target) && !needs(target) {
			if r == Mean {
				u /= T(n)
			}
			if div >= 0 {
				u /= T(div)
			}
			// The buffer is allocated while the pass runs (lateAlloc).
			eager = &eagerGrads[T]{}
			fe.alloc = func() {
				gx = gradBuf(&eager.claims, input, shape, n, x, t)
				eager.gs = [][]T{gx, nil}
			}
			fe.grad = func(int, int) {}
			// One pass for the loss, its sum and the input gradient;
			// KLDivVec's gradient alone for a chunk run during alloc.
			fe.sum = func(lo, hi int) T { return kernels.KLDivVecSum(x[lo:hi], t[lo:hi], gx[lo:hi], u) }
			fe.gradLate = func(lo, hi int) { kernels.KLDivGradConst(t[lo:hi], u, gx[lo:hi]) }
		}
		// The loss alone (the eager gradient comes from sum or gradLate).
		fe.fwd = func(lo, hi int, loss []T) {
			lt := getScratch[T]()
			kernels.KLDivVec(x[lo:hi], t[lo:hi], loss, *lt, nil, u)
			putScratch(lt)
		}
	}
	out, ran := runFused(fe)
	if eager != nil {
		eager.ready = ran
	}
	if div >= 0 {
		out = tensor.Scalar(tensor.Data[T](out)[0] / T(div))
	}
	name := nodeName("kl_div", cfg.reduction, when(cfg.logTarget, "log_target"), when(div < 0, condScalar))
	eager.written()
	res := tensor.Record(out, name, []*tensor.Tensor{input, target}, func(g *tensor.Tensor) ([]*tensor.Tensor, error) {
		if gs, ok := eager.take(g); ok {
			return gradsTo(shape, []gradOf[T]{{gs[0], input}})
		}
		up, err := upstreamOf[T](g, n, r, true)
		if err != nil {
			return nil, err
		}
		if div >= 0 {
			up.s /= T(div)
		}
		var gx, gt []T
		if needs(input) {
			gx = make([]T, n)
		}
		if needs(target) {
			gt = make([]T, n)
		}
		parallelFor(n, sumGrain, func(lo, hi int) {
			kernels.KLDivBackward(p, x[lo:hi], t[lo:hi], up.offset(lo), sub(gx, lo, hi), sub(gt, lo, hi))
		})
		return gradsTo(shape, []gradOf[T]{{gx, input}, {gt, target}})
	})
	ownGrads(res)
	return res, nil
}
