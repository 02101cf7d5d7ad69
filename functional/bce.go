package functional

import (
	"slices"
	"sync/atomic"

	"github.com/torchloss/torchloss"
	"github.com/torchloss/torchloss/internal/kernels"
	"github.com/torchloss/torchloss/tensor"
)

// BinaryCrossEntropy is the binary cross-entropy between predicted
// probabilities and targets, PyTorch's
//
//	torch.nn.functional.binary_cross_entropy(input, target, weight=None,
//	                                         size_average=None, reduce=None,
//	                                         reduction='mean')
//
// Purpose: binary (or multi-label) classification when the model already
// outputs probabilities, typically BinaryCrossEntropy(Sigmoid(logits), y).
// Prefer BinaryCrossEntropyWithLogits on the logits: it is numerically
// stable where the sigmoid saturates.
//
// Parameters: input, probabilities in [0, 1]; target, the same shape and
// dtype as input, values in [0, 1] (soft labels allowed). Options: Weight(w),
// a per-element rescaling weight that broadcasts to the target's shape
// (default none), and a Reduction (default Mean; LegacyReduction maps
// size_average/reduce).
//
// Math, per element, with each log clamped at −100 so that a certain wrong
// prediction costs 100 rather than +inf:
//
//	ℓ = (y − 1)·max(log1p(−x), −100) − y·max(log(x), −100),   ℓ ← ℓ·w
//
// None returns ℓ, Sum Σℓ, Mean Σℓ/n (n the element count, not Σw; NaN for
// an empty input, and Sum gives 0).
//
// Gradient (PyTorch's explicit backward, not autograd of the formula):
//
//	∂/∂x = g·(x − y) / max((1 − x)·x, ε)·w / n     ε = float32(1e-12)
//	∂/∂y = −logit(x)·g·w / n                       logit(x) = log(x/(1 − x))
//
// (/n for Mean only). The clamp makes the input gradient finite at x ∈ {0, 1}
// (±(x−y)·1e12); the target gradient is +inf at x = 0 and −inf at x = 1.
// The weight is not differentiable: a weight that requires a gradient is an
// error (ErrGrad).
//
// Errors, as in PyTorch: a target shape different from the input's, even
// one that would broadcast (ErrShape); a weight that does not broadcast to
// the target's shape or broadcasts to a larger one (ErrShape); a
// non-floating-point input, or a target whose dtype differs from the
// input's (ErrDType); any input or target element outside [0, 1], NaN
// included (ErrValue).
//
// PyTorch quirks kept: the ε of the input gradient is a float constant even
// for float64; a float64 (or integer) weight on a float32 input is accepted,
// the product computed in the promoted type and stored as float32; at x = 1,
// y = 1 the loss is −0.
func BinaryCrossEntropy(input, target *tensor.Tensor, opts ...Option) (*tensor.Tensor, error) {
	const op = "binary_cross_entropy"
	cfg, err := lossOptions(op, opts)
	if err != nil {
		return nil, err
	}
	if err := required(op, arg{"input", input}, arg{"target", target}); err != nil {
		return nil, err
	}
	if !sameShape(input, target) {
		return nil, torchloss.Errorf(torchloss.ErrShape, op, "target", "Using a target size (torch.Size(%s)) that is different to the input size (torch.Size(%s)) is deprecated. Please ensure they have the same size.", sizes(target.Shape()), sizes(input.Shape()))
	}
	shape := input.Shape()
	// weight.expand(_infer_size(target.size(), weight.size())), then the
	// in-place loss.mul_(weight).
	if err := bceFits(op, "weight", cfg.weight, shape, true); err != nil {
		return nil, err
	}
	if err := notDifferentiable(op, arg{"weight", cfg.weight}); err != nil {
		return nil, err
	}
	if !input.DType().IsFloat() {
		return nil, torchloss.Errorf(torchloss.ErrDType, op, "input", "\"binary_cross_entropy\" not implemented for '%s'", scalarTypeName(input.DType()))
	}
	if target.DType() != input.DType() {
		return nil, torchloss.Errorf(torchloss.ErrDType, op, "target", "Found dtype %s but expected %s", scalarTypeName(target.DType()), scalarTypeName(input.DType()))
	}
	// fold: a device kernel may fold a sigmoid's backward into its own, as
	// bceFusedT does on the CPU.
	if out, ok, err := onKernel(kernelCall{op: op, args: devArgs(input, target), diff: 2, cfg: cfg, name: nodeName(op, cfg.reduction), opts: opts, fold: cfg.weight == nil,
		host: func(_ *kernelCall, a []*tensor.Tensor, o []Option) (*tensor.Tensor, error) {
			return BinaryCrossEntropy(a[0], a[1], o...)
		}}); ok {
		return out, err
	}
	return dispatch(input.DType(),
		func() (*tensor.Tensor, error) { return bceT[float32](op, input, target, cfg, shape) },
		func() (*tensor.Tensor, error) { return bceT[float64](op, input, target, cfg, shape) })
}

func bceT[T kernels.Float](op string, input, target *tensor.Tensor, cfg config, shape []int) (*tensor.Tensor, error) {
	x, y := tensor.Data[T](input), tensor.Data[T](target)
	if cfg.weight == nil {
		// The fused pass checks the range chunk by chunk.
		out, inRange := bceFusedT[T](input, target, x, y, cfg.reduction, shape)
		if !inRange {
			if err := bceRangeErr(op, x, y); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	if err := bceRangeErr(op, x, y); err != nil {
		return nil, err
	}
	n := len(x)
	loss := make([]T, n)
	kernels.BCEForward(x, y, loss)
	var w []float64
	var pw kernels.BCEPrec
	if cfg.weight != nil {
		var err error
		if w, err = values[float64](cfg.weight, shape); err != nil {
			return nil, err
		}
		pw = bcePrec(cfg.weight.DType())
		kernels.BCEScale(loss, w, pw)
	}
	out := reduce(loss, shape, cfg.reduction)
	return tensor.Record(out, nodeName(op, cfg.reduction), []*tensor.Tensor{input, target}, func(g *tensor.Tensor) ([]*tensor.Tensor, error) {
		up, err := upstreamOf[T](g, n, cfg.reduction, false)
		if err != nil {
			return nil, err
		}
		// Each gradient: the kernel, then ·weight, then /n for mean.
		finish := func(gr []T) {
			if w != nil {
				kernels.BCEScale(gr, w, pw)
			}
			if cfg.reduction == Mean {
				kernels.BCEDivN(gr, n)
			}
		}
		var gx, gy []T
		if needs(input) {
			gx = make([]T, n)
			kernels.BCEBackwardInput(x, y, up.at, gx)
			finish(gx)
		}
		if needs(target) {
			gy = make([]T, n)
			kernels.BCEBackwardTarget(x, up.at, gy)
			finish(gy)
		}
		return gradsTo(shape, []gradOf[T]{{gx, input}, {gy, target}})
	}), nil
}

// bceRangeErr is ATen's range check of binary_cross_entropy: the error for
// the first element of x or y outside [0, 1] (x checked before y at each
// index), or nil.
func bceRangeErr[T kernels.Float](op string, x, y []T) error {
	i, isInput := kernels.BCECheck(x, y)
	if i < 0 {
		return nil
	}
	name, v := "target", y[i]
	if isInput {
		name, v = "input", x[i]
	}
	return torchloss.Errorf(torchloss.ErrValue, op, name, "all elements of %s should be between 0 and 1 (got %v at index %d)", name, v, i)
}

// bceFusedT is bceT without a weight, fused and parallel. Each chunk
// checks the range of its own elements while they are in cache
// (kernels.BCEForwardCheck); inRange is false when some chunk found an
// element outside [0, 1], and the caller then reports the error instead
// of the (meaningless) result.
//
// When the input is the output of Sigmoid (its node's Unary is
// UnarySigmoid) and requires a gradient, the gradient computed in the
// forward pass for the output gradient 1 is the one of the sigmoid's input
// x, ∂x = ∂input·(1 − input)·input, written without the intermediate
// ∂input (kernels.BCESigmoidGradMean, bit for bit the two steps), and the
// node hands it out through Node.Through: the engine asks for it when this
// loss is the input's only consumer. Otherwise (the input has another
// consumer, an output gradient other than 1, a second backward) Backward
// recomputes ∂input and the sigmoid's node runs as usual.
func bceFusedT[T kernels.Float](input, target *tensor.Tensor, x, y []T, r Reduction, shape []int) (res *tensor.Tensor, inRange bool) {
	n := len(x)
	var eager *eagerGrads[T]
	var bad atomic.Bool
	fe := fusedElementwise[T]{n: n, shape: shape, r: r,
		fwd: func(lo, hi int, loss []T) {
			tmp := getScratch[T]()
			if !kernels.BCEForwardCheck(x[lo:hi], y[lo:hi], loss, *tmp) {
				bad.Store(true)
			}
			putScratch(tmp)
		}}
	one := func(int) T { return 1 }
	// sig: the input's sigmoid node, whose input's gradient the eager pass
	// computes instead of the input's.
	var sig *tensor.Node
	var gx, gy []T
	if wantEager(r, input, target) {
		if nd := input.GradFn(); needs(input) && nd != nil && nd.Unary == tensor.UnarySigmoid && len(nd.Inputs) == 1 && nd.Inputs[0] != nil {
			sig = nd
		}
		div := 0
		if r == Mean {
			div = n
		}
		eager = &eagerGrads[T]{}
		// The buffers are allocated while the pass runs (lateAlloc).
		fe.alloc = func() {
			if needs(input) {
				of := input // whose gradient gx is
				if sig != nil {
					of = sig.Inputs[0]
				}
				gx = gradBuf(&eager.claims, of, shape, n, x, y)
			}
			if needs(target) {
				gy = gradBuf(&eager.claims, target, shape, n, x, y)
			}
		}
		fe.grad = func(lo, hi int) {
			if gx != nil {
				if sig != nil {
					kernels.BCESigmoidGradMean(x[lo:hi], y[lo:hi], div, gx[lo:hi])
				} else {
					kernels.BCEBackwardInputMean(x[lo:hi], y[lo:hi], div, gx[lo:hi])
				}
			}
			if gy != nil {
				kernels.BCEBackwardTarget(x[lo:hi], one, gy[lo:hi])
				if r == Mean {
					kernels.BCEDivN(gy[lo:hi], n)
				}
			}
		}
	}
	out, ran := runFused(fe)
	if eager != nil {
		eager.gs = [][]T{gx, gy}
		eager.ready = ran
	}
	eager.written()
	res = tensor.Record(out, nodeName("binary_cross_entropy", r), []*tensor.Tensor{input, target}, func(g *tensor.Tensor) ([]*tensor.Tensor, error) {
		if sig == nil {
			if gs, ok := eager.take(g); ok {
				return gradsTo(shape, []gradOf[T]{{gs[0], input}, {gs[1], target}})
			}
		}
		up, err := upstreamOf[T](g, n, r, false)
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
		parallelFor(n, sumGrain, func(lo, hi int) {
			if gx != nil {
				kernels.BCEBackwardInput(x[lo:hi], y[lo:hi], up.offset(lo), gx[lo:hi])
				if r == Mean {
					kernels.BCEDivN(gx[lo:hi], n)
				}
			}
			if gy != nil {
				kernels.BCEBackwardTarget(x[lo:hi], up.offset(lo), gy[lo:hi])
				if r == Mean {
					kernels.BCEDivN(gy[lo:hi], n)
				}
			}
		})
		return gradsTo(shape, []gradOf[T]{{gx, input}, {gy, target}})
	})
	ownGrads(res)
	if nd := res.GradFn(); nd != nil && sig != nil {
		xs := sig.Inputs[0]
		nd.Through = func(g *tensor.Tensor, j int) ([]*tensor.Tensor, []*tensor.Tensor, bool, error) {
			if j != 0 {
				return nil, nil, false, nil
			}
			gs, ok := eager.take(g)
			if !ok {
				return nil, nil, false, nil
			}
			ins, err := gradsTo(shape, []gradOf[T]{{nil, input}, {gs[1], target}})
			if err != nil {
				return nil, nil, false, err
			}
			th, err := gradsTo(shape, []gradOf[T]{{gs[0], xs}})
			if err != nil {
				return nil, nil, false, err
			}
			return ins, th, true, nil
		}
	}
	return res, !bad.Load()
}

// BinaryCrossEntropyWithLogits is the binary cross-entropy of the sigmoid
// of the input (logits) against the target, computed stably in one step,
// PyTorch's
//
//	torch.nn.functional.binary_cross_entropy_with_logits(input, target,
//	    weight=None, size_average=None, reduce=None, reduction='mean',
//	    pos_weight=None)
//
// Purpose: binary and multi-label classification on raw scores; with
// PosWeight it trades recall against precision per class (pos_weight > 1
// weighs positive examples more).
//
// Parameters: input, logits of any shape; target, the same shape, floating
// point (values are not range checked: soft or even out-of-range targets are
// accepted). Options: Weight(w), a per-element weight; PosWeight(p), the
// weight of the positive term, e.g. a (C) tensor applied along the last
// dimension; both must broadcast into the input's shape (a larger broadcast
// shape is an error). A Reduction (default Mean).
//
// Math, in PyTorch's order, with log σ(x) = min(x, 0) − log1p(exp(−|x|)):
//
//	ℓ = (1 − y)·x − log σ(x)·((p − 1)·y + 1),   ℓ ← ℓ·w
//
// (without PosWeight the factor is 1). This never overflows: x = 1e4, y = 0
// gives exactly 1e4. None returns ℓ, Sum Σℓ, Mean Σℓ/n (NaN when empty).
//
// Gradient (PyTorch's explicit formulas):
//
//	∂/∂x = (σ(x) − y)·g·w/n,   or with PosWeight (((p·y + 1) − y)·σ(x) − p·y)·g·w/n
//	∂/∂y = −x·g·w/n,           or with PosWeight (log σ(−x) − log σ(x)·p)·g·w/n
//
// (/n for Mean only). Weight and PosWeight are not differentiable (ErrGrad
// when they require a gradient).
//
// Errors: a target shape different from the input's (ErrShape); a weight or
// pos_weight that does not broadcast into the input's shape (ErrShape); a
// non-floating-point input, an integer or bool target, a bool pos_weight
// (ErrDType).
//
// PyTorch quirks kept: mixed dtypes follow PyTorch's in-place chain, which
// starts from (1 − target), so the loss has the target's dtype: a float64
// input with a float32 target gives a float32 loss (and float32 intermediate
// rounding), a float32 input with a float64 target a float64 one. Each
// gradient is computed with PyTorch's intermediate dtypes and returned in
// its argument's dtype. A 0-d weight or pos_weight does not promote: a 0-d
// float64 weight on float32 tensors is applied in float32, as PyTorch's type
// promotion ranks 0-d tensors below dimensioned ones. Integer weights and
// pos_weights are accepted (a bool pos_weight is not: PyTorch cannot
// subtract 1 from it).
func BinaryCrossEntropyWithLogits(input, target *tensor.Tensor, opts ...Option) (*tensor.Tensor, error) {
	const op = "binary_cross_entropy_with_logits"
	cfg, err := lossOptions(op, opts)
	if err != nil {
		return nil, err
	}
	if err := required(op, arg{"input", input}, arg{"target", target}); err != nil {
		return nil, err
	}
	if !sameShape(input, target) {
		return nil, torchloss.Errorf(torchloss.ErrShape, op, "target", "Target size (torch.Size(%s)) must be the same as input size (torch.Size(%s))", sizes(target.Shape()), sizes(input.Shape()))
	}
	if err := notDifferentiable(op, arg{"weight", cfg.weight}, arg{"pos_weight", cfg.posWeight}); err != nil {
		return nil, err
	}
	if !input.DType().IsFloat() {
		return nil, torchloss.Errorf(torchloss.ErrDType, op, "input", "\"log_sigmoid_forward\" not implemented for '%s'", scalarTypeName(input.DType()))
	}
	shape := input.Shape()
	if pw := cfg.posWeight; pw != nil {
		if pw.DType() == tensor.Bool {
			return nil, torchloss.Errorf(torchloss.ErrDType, op, "pos_weight", "Subtraction, the `-` operator, with a bool tensor is not supported. If you are trying to invert a mask, use the `~` or `logical_not()` operator instead.")
		}
		// (pos_weight − 1).mul(target), then log_sigmoid(input).mul_(that).
		if err := bceFits(op, "pos_weight", pw, shape, false); err != nil {
			return nil, err
		}
	}
	switch target.DType() {
	case tensor.Int64:
		return nil, torchloss.Errorf(torchloss.ErrDType, op, "target", "result type %s can't be cast to the desired output type Long", scalarTypeName(input.DType()))
	case tensor.Bool:
		return nil, torchloss.Errorf(torchloss.ErrDType, op, "target", "Subtraction, the `-` operator, with a bool tensor is not supported. If you are trying to invert a mask, use the `~` or `logical_not()` operator instead.")
	}
	// loss.mul_(weight): the weight broadcasts into the loss.
	if err := bceFits(op, "weight", cfg.weight, shape, true); err != nil {
		return nil, err
	}
	if out, ok, err := onKernel(kernelCall{op: op, args: devArgs(input, target), diff: 2, cfg: cfg, name: nodeName(op, cfg.reduction), opts: opts,
		host: func(_ *kernelCall, a []*tensor.Tensor, o []Option) (*tensor.Tensor, error) {
			return BinaryCrossEntropyWithLogits(a[0], a[1], o...)
		}}); ok {
		return out, err
	}
	if bceWLFast(input, target, cfg) {
		return dispatch(input.DType(),
			func() (*tensor.Tensor, error) { return bceWLFusedT[float32](input, target, cfg, shape) },
			func() (*tensor.Tensor, error) { return bceWLFusedT[float64](input, target, cfg, shape) })
	}
	x, err := values[float64](input, shape)
	if err != nil {
		return nil, err
	}
	y, err := values[float64](target, shape)
	if err != nil {
		return nil, err
	}
	// Precisions with 0-d flags: type promotion ranks a 0-d tensor (a
	// pos_weight or weight, or the output gradient of a reduced loss) below
	// dimensioned ones.
	p := kernels.BCEWLPrec{X: bceTPrec(input), Y: bceTPrec(target), G: bcePrec(target.DType())}
	if cfg.reduction != None || input.Dim() == 0 {
		p.G |= kernels.BCEZeroDim
	}
	var pw, w []float64
	if cfg.posWeight != nil {
		if pw, err = values[float64](cfg.posWeight, shape); err != nil {
			return nil, err
		}
		p.PW = bceTPrec(cfg.posWeight)
	}
	if cfg.weight != nil {
		if w, err = values[float64](cfg.weight, shape); err != nil {
			return nil, err
		}
		p.W = bceTPrec(cfg.weight)
	}
	loss := make([]float64, len(x))
	kernels.BCEWLForward(x, y, pw, w, p, loss)
	// The loss has the target's dtype (see the quirk above).
	return dispatch(target.DType(),
		func() (*tensor.Tensor, error) {
			return bceWLOut[float32](loss, x, y, pw, w, p, input, target, cfg, shape)
		},
		func() (*tensor.Tensor, error) {
			return bceWLOut[float64](loss, x, y, pw, w, p, input, target, cfg, shape)
		})
}

// bceWLFast reports whether binary_cross_entropy_with_logits can take the
// fused path: input, target (and pos_weight) of one floating dtype and
// dimensioned, so that every step of the composite runs in that dtype; no
// weight; a pos_weight of one element or one per element of the last
// dimension; no gradient wanted for the target.
func bceWLFast(input, target *tensor.Tensor, cfg config) bool {
	dt := input.DType()
	if target.DType() != dt || input.Dim() == 0 || cfg.weight != nil || needs(target) {
		return false
	}
	if pw := cfg.posWeight; pw != nil {
		if pw.DType() != dt || pw.Dim() == 0 {
			return false
		}
		if pw.Numel() != 1 && !(pw.Dim() == 1 && pw.Size(0) == input.Size(-1)) {
			return false
		}
	}
	return true
}

func bceWLFusedT[T kernels.Float](input, target *tensor.Tensor, cfg config, shape []int) (*tensor.Tensor, error) {
	x, y := tensor.Data[T](input), tensor.Data[T](target)
	var pw []T
	if cfg.posWeight != nil {
		pw = tensor.Data[T](cfg.posWeight)
	}
	n := len(x)
	r := cfg.reduction
	var gx []T
	var eager *eagerGrads[T]
	div := 0
	if wantEager(r, input) {
		eager = &eagerGrads[T]{}
		gx = gradBuf(&eager.claims, input, shape, n, x, y, pw)
		eager.gs = [][]T{gx}
		if r == Mean {
			div = n
		}
	}
	fe := fusedElementwise[T]{n: n, shape: shape, r: r, fwd: func(lo, hi int, loss []T) {
		e1, e2 := getScratch[T](), getScratch[T]()
		kernels.BCEWLVec(x[lo:hi], y[lo:hi], pw, lo, loss, *e1, *e2, sub(gx, lo, hi), 1, div)
		putScratch(e1)
		putScratch(e2)
	}}
	if eager != nil {
		fe.grad = func(int, int) {}
	}
	out, ran := runFused(fe)
	if eager != nil {
		eager.ready = ran
	}
	eager.written()
	res := tensor.Record(out, nodeName("binary_cross_entropy_with_logits", cfg.reduction), []*tensor.Tensor{input, target}, func(g *tensor.Tensor) ([]*tensor.Tensor, error) {
		if gs, ok := eager.take(g); ok {
			return []*tensor.Tensor{tensor.MustFromData(gs[0], shape), nil}, nil
		}
		up, err := upstreamOf[T](g, n, r, false)
		if err != nil {
			return nil, err
		}
		d := 0
		if r == Mean {
			d = n
		}
		gx := make([]T, n)
		parallelFor(n, sumGrain, func(lo, hi int) {
			e1, e2, l := getScratch[T](), getScratch[T](), getScratch[T]()
			if up.vec == nil {
				kernels.BCEWLVec(x[lo:hi], y[lo:hi], pw, lo, *l, *e1, *e2, gx[lo:hi], up.s, d)
			} else {
				// per-element upstream gradients: one element at a time
				for i := lo; i < hi; i++ {
					kernels.BCEWLVec(x[i:i+1], y[i:i+1], pw, i, *l, *e1, *e2, gx[i:i+1], up.vec[i], d)
				}
			}
			putScratch(e1)
			putScratch(e2)
			putScratch(l)
		})
		return []*tensor.Tensor{tensor.MustFromData(gx, shape), nil}, nil
	})
	ownGrads(res)
	return res, nil
}

// bceWLOut reduces the loss in T (the target's dtype) and records the
// autograd node of binary_cross_entropy_with_logits.
func bceWLOut[T kernels.Float](loss, x, y, pw, w []float64, p kernels.BCEWLPrec, input, target *tensor.Tensor, cfg config, shape []int) (*tensor.Tensor, error) {
	n := len(loss)
	lt := make([]T, n)
	for i, v := range loss {
		lt[i] = T(v)
	}
	out := reduce(lt, shape, cfg.reduction)
	return tensor.Record(out, nodeName("binary_cross_entropy_with_logits", cfg.reduction), []*tensor.Tensor{input, target}, func(g *tensor.Tensor) ([]*tensor.Tensor, error) {
		gv := g.Values() // the output gradient, in the output's dtype
		up := func(i int) float64 {
			if cfg.reduction == None {
				return gv[i]
			}
			return gv[0]
		}
		mean := cfg.reduction == Mean
		var gx, gy []float64
		if needs(input) {
			gx = make([]float64, n)
			kernels.BCEWLBackwardInput(x, y, pw, w, p, up, mean, gx)
		}
		if needs(target) {
			gy = make([]float64, n)
			kernels.BCEWLBackwardTarget(x, pw, w, p, up, mean, gy)
		}
		return gradsTo(shape, []gradOf[float64]{{gx, input}, {gy, target}})
	}), nil
}

// bceFits checks that the optional tensor a (argument name) broadcasts into
// shape as an in-place op requires: the broadcast of the two shapes must
// exist and be shape itself. shapeFirst orders the shapes as PyTorch does
// in its message ("tensor a" is shape when true).
func bceFits(op, name string, a *tensor.Tensor, shape []int, shapeFirst bool) error {
	if a == nil {
		return nil
	}
	s1, s2 := shape, a.Shape()
	if !shapeFirst {
		s1, s2 = s2, s1
	}
	b, err := tensor.BroadcastShapes(s1, s2)
	if err != nil {
		return broadcastErr(op, name, err)
	}
	if !slices.Equal(b, shape) {
		return torchloss.Errorf(torchloss.ErrShape, op, name, "output with shape %s doesn't match the broadcast shape %s", sizes(shape), sizes(b))
	}
	return nil
}

// bcePrec is the kernels' precision of a dtype.
func bcePrec(d tensor.DType) kernels.BCEPrec {
	switch d {
	case tensor.Float32:
		return kernels.BCEPrecF32
	case tensor.Float64:
		return kernels.BCEPrecF64
	}
	return kernels.BCEPrecInt
}

// bceTPrec is the kernels' precision of tensor t, flagged when t is 0-d.
func bceTPrec(t *tensor.Tensor) kernels.BCEPrec {
	p := bcePrec(t.DType())
	if t.Dim() == 0 {
		p |= kernels.BCEZeroDim
	}
	return p
}
