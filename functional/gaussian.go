package functional

import (
	"slices"
	"sync/atomic"

	"github.com/torchloss/torchloss"
	"github.com/torchloss/torchloss/internal/kernels"
	"github.com/torchloss/torchloss/tensor"
)

// GaussianNLLLoss is the negative log-likelihood of target under Gaussians
// with mean input and variance variance, PyTorch's
//
//	torch.nn.functional.gaussian_nll_loss(input, target, var, full=False,
//	                                      eps=1e-06, reduction='mean')
//
// with var a tensor (GaussianNLLLossScalarVar takes it as a number).
//
// Purpose: regression where the model predicts its own uncertainty as well
// as the mean: a large variance lowers the penalty of an error but pays
// log(var).
//
// Math, per element (var clamped to at least eps: vc = max(var, eps)):
//
//	ℓ = 0.5·(log(vc) + (x − t)²/vc)   [+ 0.5·log(2π) = 0.9189385332046727 with Full]
//
// Shapes: input and target broadcast. var has input's shape, or input's
// shape without its last dimension (homoscedastic over the last dimension:
// var is unsqueezed), or input's rank with exactly one dimension of size 1
// where input's differs (PyTorch 2.11's rule; any dimension); anything else
// is "var is of incorrect size" (ErrShape). A negative var is ErrValue.
//
// Options: Full (default false), Eps (default 1e-6) and a Reduction (default
// Mean; Sum, None). PyTorch has no size_average/reduce here.
//
// Gradient, for the upstream gradient u of an element and gs = 0.5·u:
//
//	∂x = (gs/vc)·(2·(x − t))       ∂t = −∂x
//	∂var = gs/vc − gs·((x − t)²/vc)/vc
//
// summed back to each argument's shape (var's log term is summed first, then
// divided, as autograd does).
//
// PyTorch quirks kept: the clamp is hidden from autograd, so ∂var is
// evaluated at the clamped value and passed through even where var < eps
// (var = 0, eps = 1e-6, x − t = 1 gives ∂var ≈ −5e11); log(var) runs in
// var's own dtype; integer input/target take part in promotion; an integer
// var is rejected (PyTorch cannot clamp it in place).
func GaussianNLLLoss(input, target, variance *tensor.Tensor, opts ...Option) (*tensor.Tensor, error) {
	const op = "gaussian_nll_loss"
	cfg, err := lossOptions(op, opts)
	if err != nil {
		return nil, err
	}
	if err := required(op, arg{"input", input}, arg{"target", target}, arg{"var", variance}); err != nil {
		return nil, err
	}
	if !variance.DType().IsFloat() {
		return nil, torchloss.Errorf(torchloss.ErrDType, op, "var", "result type Float can't be cast to the desired output type %v (var must be a floating-point tensor)", variance.DType())
	}
	if out, ok, err := onKernel(kernelCall{op: op, args: devArgs(input, target, variance), diff: 3, cfg: cfg, name: nodeName(op, cfg.reduction, when(cfg.full, "full")), opts: opts,
		host: func(_ *kernelCall, a []*tensor.Tensor, o []Option) (*tensor.Tensor, error) {
			return GaussianNLLLoss(a[0], a[1], a[2], o...)
		}}); ok {
		return out, err
	}
	if anyNegative(variance) {
		v := slices.IndexFunc(variance.Values(), func(v float64) bool { return v < 0 })
		return nil, torchloss.Errorf(torchloss.ErrValue, op, "var", "var has negative entry/entries (got %v)", variance.Values()[v])
	}
	return gaussianNLL(op, input, target, variance, cfg)
}

// GaussianNLLLossScalarVar is GaussianNLLLoss with one variance for every
// element, PyTorch's gaussian_nll_loss(input, target, var) with var a Python
// float: var·ones_like(input), in input's dtype (float32 for an integer
// input). A negative variance is ErrValue.
func GaussianNLLLossScalarVar(input, target *tensor.Tensor, variance float64, opts ...Option) (*tensor.Tensor, error) {
	if out, ok, err := onDevice("gaussian_nll_loss", devArgs(input, target), 0, opts, func(a []*tensor.Tensor, o []Option) (*tensor.Tensor, error) {
		return GaussianNLLLossScalarVar(a[0], a[1], variance, o...)
	}); ok {
		return out, err
	}
	const op = "gaussian_nll_loss"
	cfg, err := lossOptions(op, opts)
	if err != nil {
		return nil, err
	}
	if err := required(op, arg{"input", input}, arg{"target", target}); err != nil {
		return nil, err
	}
	if variance < 0 {
		return nil, torchloss.Errorf(torchloss.ErrValue, op, "var", "var has negative entry/entries (got %v)", variance)
	}
	dt := input.DType()
	if !dt.IsFloat() {
		dt = tensor.Float32
	}
	v, err := tensor.Full(variance, dt, input.Shape()...)
	if err != nil {
		return nil, err
	}
	return gaussianNLL(op, input, target, v, cfg)
}

// gaussianVarShape applies PyTorch 2.11's var shape rule and returns the
// shape var takes part in the loss with.
func gaussianVarShape(op string, in, v []int) ([]int, error) {
	if slices.Equal(in, v) {
		return v, nil
	}
	if len(in) > 0 && slices.Equal(in[:len(in)-1], v) {
		return append(slices.Clone(v), 1), nil // unsqueeze(-1)
	}
	if len(in) == len(v) {
		s := 0
		for i := range in {
			if in[i] != v[i] {
				s += v[i]
			}
		}
		if s == 1 {
			return v, nil
		}
	}
	return nil, torchloss.Errorf(torchloss.ErrShape, op, "var", "var is of incorrect size (var %v, input %v)", v, in)
}

func gaussianNLL(op string, input, target, variance *tensor.Tensor, cfg config) (*tensor.Tensor, error) {
	if input.DType() == tensor.Bool {
		return nil, boolSubError(op, "input")
	}
	if target.DType() == tensor.Bool {
		return nil, boolSubError(op, "target")
	}
	vshape, err := gaussianVarShape(op, input.Shape(), variance.Shape())
	if err != nil {
		return nil, err
	}
	// v: var's values in vshape (the node below records variance itself).
	v := variance
	if !slices.Equal(vshape, variance.Shape()) {
		if v, err = variance.Detach().Reshape(vshape...); err != nil {
			return nil, err
		}
	}
	shape, err := broadcastShape(op, arg{"input", input}, arg{"target", target})
	if err != nil {
		return nil, err
	}
	if shape, err = tensor.BroadcastShapes(shape, vshape); err != nil {
		return nil, broadcastErr(op, "var", err)
	}
	dit := promote(tensor.Float32, input, target)
	p := kernels.GaussianNLL{
		Full: cfg.full, Eps: cfg.eps,
		// input − target runs in float32 when they promote to it; two
		// integer tensors subtract exactly.
		DF32: dit == tensor.Float32 && (input.DType().IsFloat() || target.DType().IsFloat()),
		VF32: variance.DType() == tensor.Float32,
	}
	return dispatch(promote(tensor.Float32, input, target, variance),
		func() (*tensor.Tensor, error) {
			return gaussianNLLT[float32](input, target, variance, v, cfg, p, shape)
		},
		func() (*tensor.Tensor, error) {
			return gaussianNLLT[float64](input, target, variance, v, cfg, p, shape)
		})
}

// gaussianNLLT evaluates the loss in T; v is variance viewed in the shape it
// takes part with (unsqueezed or not).
func gaussianNLLT[T kernels.Float](input, target, variance, v *tensor.Tensor, cfg config, p kernels.GaussianNLL, shape []int) (*tensor.Tensor, error) {
	x, err := values[T](input, shape)
	if err != nil {
		return nil, err
	}
	t, err := values[T](target, shape)
	if err != nil {
		return nil, err
	}
	vshape := v.Shape()
	vv, err := values[T](v, vshape)
	if err != nil {
		return nil, err
	}
	if is32 := kernels.Is32[T](); p.DF32 == is32 && p.VF32 == is32 && input.DType() == target.DType() &&
		input.DType() == variance.DType() && !needs(target) && slices.Equal(input.Shape(), shape) &&
		slices.Equal(target.Shape(), shape) && slices.Equal(variance.Shape(), shape) {
		return gaussianFusedT(input, target, variance, x, t, vv, cfg, p, shape)
	}
	vcOwn := make([]T, len(vv)) // the clamped var, in var's shape
	for i, e := range vv {
		vcOwn[i] = kernels.GaussianClamp(p, e)
	}
	vc, err := values[T](tensor.MustFromData(vcOwn, vshape), shape)
	if err != nil {
		return nil, err
	}
	n := len(x)
	loss := make([]T, n)
	kernels.GaussianNLLForward(p, x, t, vc, loss)
	out := reduce(loss, shape, cfg.reduction)
	return tensor.Record(out, nodeName("gaussian_nll_loss", cfg.reduction, when(cfg.full, "full")), []*tensor.Tensor{input, target, variance}, func(g *tensor.Tensor) ([]*tensor.Tensor, error) {
		up, err := upstreamOf[T](g, n, cfg.reduction, true)
		if err != nil {
			return nil, err
		}
		var gd, gq, gl []T
		if needs(input) || needs(target) {
			gd = make([]T, n)
		}
		if needs(variance) {
			gq, gl = make([]T, n), make([]T, n)
		}
		kernels.GaussianNLLBackward(p, x, t, vc, up.at, gd, gq, gl)
		grads := make([]*tensor.Tensor, 3)
		if needs(input) {
			if grads[0], err = gradTo(gd, shape, input); err != nil {
				return nil, err
			}
		}
		if needs(target) {
			neg := make([]T, n)
			for i, e := range gd {
				neg[i] = -e
			}
			if grads[1], err = gradTo(neg, shape, target); err != nil {
				return nil, err
			}
		}
		if needs(variance) {
			sq, err := tensor.SumTo(tensor.MustFromData(gq, shape), vshape)
			if err != nil {
				return nil, err
			}
			sl, err := tensor.SumTo(tensor.MustFromData(gl, shape), vshape)
			if err != nil {
				return nil, err
			}
			gv := make([]T, len(vcOwn))
			kernels.GaussianVarGrad(p, vcOwn, tensor.Data[T](sq), tensor.Data[T](sl), gv)
			gt := tensor.MustFromData(gv, variance.Shape()) // squeeze back
			if grads[2], err = gt.To(variance.DType()); err != nil {
				return nil, err
			}
		}
		return grads, nil
	}), nil
}

// gaussianFusedT is gaussianNLLT for input, target and var of one shape and
// dtype (no broadcasting), fused and parallel, with the gradients of input
// and var for an output gradient of 1 computed in the same pass.
func gaussianFusedT[T kernels.Float](input, target, variance *tensor.Tensor, x, t, v []T, cfg config, p kernels.GaussianNLL, shape []int) (*tensor.Tensor, error) {
	n := len(x)
	r := cfg.reduction
	eps := T(p.Eps)
	var gx, gv []T
	var eager *eagerGrads[T]
	u := T(1)
	if wantEager(r, input, variance) {
		eager = &eagerGrads[T]{}
		if needs(input) {
			gx = gradBuf(&eager.claims, input, shape, n, x, t, v)
		}
		if needs(variance) {
			gv = gradBuf(&eager.claims, variance, shape, n, x, t, v)
		}
		if r == Mean {
			u /= T(n)
		}
		eager.gs = [][]T{gx, gv}
	}
	fe := fusedElementwise[T]{n: n, shape: shape, r: r, fwd: func(lo, hi int, loss []T) {
		a, b := getScratch[T](), getScratch[T]()
		kernels.GaussianNLLVec(p.Full, eps, x[lo:hi], t[lo:hi], v[lo:hi], loss, *a, *b, sub(gx, lo, hi), sub(gv, lo, hi), u)
		putScratch(a)
		putScratch(b)
	}}
	if eager != nil {
		fe.grad = func(int, int) {}
	}
	out, ran := runFused(fe)
	if eager != nil {
		eager.ready = ran
	}
	eager.written()
	res := tensor.Record(out, nodeName("gaussian_nll_loss", r, when(cfg.full, "full")), []*tensor.Tensor{input, target, variance}, func(g *tensor.Tensor) ([]*tensor.Tensor, error) {
		grads := make([]*tensor.Tensor, 3)
		if gs, ok := eager.take(g); ok {
			if gs[0] != nil {
				grads[0] = tensor.MustFromData(gs[0], shape)
			}
			if gs[1] != nil {
				grads[2] = tensor.MustFromData(gs[1], shape)
			}
			return grads, nil
		}
		up, err := upstreamOf[T](g, n, r, true)
		if err != nil {
			return nil, err
		}
		var gx, gv []T
		if needs(input) {
			gx = make([]T, n)
		}
		if needs(variance) {
			gv = make([]T, n)
		}
		parallelFor(n, sumGrain, func(lo, hi int) {
			a, b, l := getScratch[T](), getScratch[T](), getScratch[T]()
			if up.vec == nil {
				kernels.GaussianNLLVec(p.Full, eps, x[lo:hi], t[lo:hi], v[lo:hi], *l, *a, *b, sub(gx, lo, hi), sub(gv, lo, hi), up.s)
			} else {
				for i := lo; i < hi; i++ {
					kernels.GaussianNLLVec(p.Full, eps, x[i:i+1], t[i:i+1], v[i:i+1], *l, *a, *b, sub(gx, i, i+1), sub(gv, i, i+1), up.vec[i])
				}
			}
			putScratch(a)
			putScratch(b)
			putScratch(l)
		})
		if gx != nil {
			grads[0] = tensor.MustFromData(gx, shape)
		}
		if gv != nil {
			grads[2] = tensor.MustFromData(gv, shape)
		}
		return grads, nil
	})
	ownGrads(res)
	return res, nil
}

// anyNegative reports whether a floating-point tensor has an element < 0
// (without a float64 copy).
func anyNegative(t *tensor.Tensor) bool {
	switch t.DType() {
	case tensor.Float32:
		return anyBelowZero(tensor.Data[float32](t))
	case tensor.Float64:
		return anyBelowZero(tensor.Data[float64](t))
	}
	for _, v := range t.Values() {
		if v < 0 {
			return true
		}
	}
	return false
}

func anyBelowZero[T kernels.Float](s []T) bool {
	var neg atomic.Bool
	// In parallel chunks: a serial pass over var would cap the step's
	// scaling (the fused pass after it runs on every worker).
	parallelFor(len(s), sumGrain, func(lo, hi int) {
		n := false
		for _, v := range s[lo:hi] {
			n = n || v < 0
		}
		if n {
			neg.Store(true)
		}
	})
	return neg.Load()
}
