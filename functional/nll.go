package functional

import (
	"slices"

	"github.com/torchloss/torchloss"
	"github.com/torchloss/torchloss/internal/kernels"
	"github.com/torchloss/torchloss/tensor"
)

// NLLLoss is the negative log-likelihood loss, PyTorch's
//
//	torch.nn.functional.nll_loss(input, target, weight=None, size_average=None,
//	                             ignore_index=-100, reduce=None, reduction='mean')
//
// Purpose: classification when the model already outputs log-probabilities
// (typically LogSoftmax over the class dimension); CrossEntropy is this loss
// applied to log_softmax(input).
//
// Shapes: input (C) with a 0-d target, (N, C) with target (N), or
// (N, C, d1, …, dk) with target (N, d1, …, dk). The target holds int64 class
// indices in [0, C), or ignore_index.
//
// Math: ℓ_i = −w[t_i]·x[i, t_i] (w = 1 without a weight), and ℓ_i = 0 where
// t_i == ignore_index. Reductions: None returns ℓ (shape of the target; a
// 0-d tensor for a 1-D input), Sum returns Σℓ, Mean returns Σℓ / Σ w[t_i]
// over the non-ignored targets (their count without a weight). The sum runs
// in ATen's 8-level cascade order, so float32 results match PyTorch's bit
// for bit. Mean with every target ignored (or an empty target) is NaN; Sum
// of an empty target is 0.
//
// Options: a Reduction (default Mean), Weight (a (C) tensor of the input's
// dtype; float32 and float64 do not mix, as PyTorch's "expected scalar type
// Double but found Float"), IgnoreIndex (default −100; it may be any
// integer, a valid class included, and is tested before the range check).
//
// Gradient: ∂ℓ_i/∂x[i, t_i] = −w[t_i] (times the upstream gradient, divided
// by the total weight for Mean), zero elsewhere and for ignored targets: with
// every target ignored the gradient is zero, not NaN. The target has no
// gradient, and a weight that requires one is an error (ErrGrad), as in
// PyTorch.
//
// Errors: a 0-d input, a batch size mismatch, a target of the wrong rank or
// shape (ErrShape); a non-float input, a non-int64 target, a weight of another
// dtype (ErrDType); a weight without C elements (ErrShape); a target outside
// [0, C) that is not ignore_index (ErrValue; IndexError in PyTorch).
//
// PyTorch 2.11 quirks kept: a 1-D input with a 1-D target of size other than
// 1 is an error, while input (C) with target (1,) computes the forward (a
// 0-d result even for None) but its backward fails with a size mismatch
// (unless C is 1). For 3-D and higher inputs the weight needs only C
// elements, not a (C) shape (nll_loss2d's check). With a reduction and an
// empty target the target's dtype is not checked until the backward.
func NLLLoss(input, target *tensor.Tensor, opts ...Option) (*tensor.Tensor, error) {
	if out, ok, err := onDevice("nll_loss", devArgs(input, target), 0, opts, func(a []*tensor.Tensor, o []Option) (*tensor.Tensor, error) { return NLLLoss(a[0], a[1], o...) }); ok {
		return out, err
	}
	const op = "nll_loss"
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
	g, err := nllCheck(op, input, target, cfg.weight)
	if err != nil {
		return nil, err
	}
	if err := notDifferentiable(op, arg{"weight", cfg.weight}); err != nil {
		return nil, err
	}
	return dispatch(dt,
		func() (*tensor.Tensor, error) { return nllLossT[float32](op, input, target, cfg, g) },
		func() (*tensor.Tensor, error) { return nllLossT[float64](op, input, target, cfg, g) })
}

func nllLossT[T kernels.Float](op string, input, target *tensor.Tensor, cfg config, g nllGeom) (*tensor.Tensor, error) {
	core, err := newNLL[T](op, input, target, cfg, g)
	if err != nil {
		return nil, err
	}
	x := tensor.Data[T](input)
	out := core.forward(x)
	shape := input.Shape()
	return tensor.Record(out, g.nodeName(), []*tensor.Tensor{input}, func(gr *tensor.Tensor) ([]*tensor.Tensor, error) {
		gx, err := core.backward(gr, len(x))
		if err != nil {
			return nil, err
		}
		return []*tensor.Tensor{tensor.MustFromData(gx, shape)}, nil
	}), nil
}

// nllGeom is the (B, C, M) view of an nll_loss input (see kernels/nll.go)
// and how PyTorch routes it.
type nllGeom struct {
	b, c, m   int
	noneShape []int // the shape of the 'none' output
	oneD      bool  // 1-D input: the reduced kernel runs even for 'none', with a 0-d result
	spatial   bool  // routed through nll_loss2d (3-D and higher inputs)
	// bwdSizeMismatch: the 2.11 (C) input with (1,) target, whose backward
	// still has the old size check.
	bwdSizeMismatch bool
}

func (g nllGeom) nodeName() string {
	return nodeName("nll_loss", Mean, when(g.spatial, condSpatial))
}

// nllCheck applies nll_loss_nd's checks and those of the nll_loss and
// nll_loss2d kernels it routes to, to the shapes of input and target and to
// the weight, and returns the (B, C, M) view.
func nllCheck(op string, input, target, weight *tensor.Tensor) (nllGeom, error) {
	in, tg := input.Shape(), target.Shape()
	if len(in) < 1 {
		return nllGeom{}, torchloss.Errorf(torchloss.ErrShape, op, "input", "Expected 1 or more dimensions (got 0)")
	}
	if len(in) != 1 {
		if len(tg) == 0 {
			return nllGeom{}, torchloss.Errorf(torchloss.ErrShape, op, "target", "Expected input batch_size (%d) to match target batch_size, but the target is 0-d", in[0])
		}
		if in[0] != tg[0] {
			return nllGeom{}, torchloss.Errorf(torchloss.ErrShape, op, "target", "Expected input batch_size (%d) to match target batch_size (%d).", in[0], tg[0])
		}
	}
	var g nllGeom
	switch {
	case len(in) == 1:
		if len(tg) > 1 {
			return g, torchloss.Errorf(torchloss.ErrShape, op, "target", "0D or 1D target tensor expected, multi-target not supported (got target of shape %v)", tg)
		}
		if len(tg) == 1 && tg[0] != 1 {
			return g, torchloss.Errorf(torchloss.ErrShape, op, "target", "For 1D input, 1D target must have size 1, but got target size: %d", tg[0])
		}
		g = nllGeom{b: 1, c: in[0], m: 1, noneShape: []int{}, oneD: true, bwdSizeMismatch: len(tg) == 1 && in[0] != 1}
	case len(in) == 2:
		if len(tg) != 1 {
			return g, torchloss.Errorf(torchloss.ErrShape, op, "target", "0D or 1D target tensor expected, multi-target not supported (got target of shape %v)", tg)
		}
		g = nllGeom{b: in[0], c: in[1], m: 1, noneShape: []int{in[0]}}
	case len(in) == 4:
		if len(tg) != 3 {
			return g, torchloss.Errorf(torchloss.ErrShape, op, "target", "only batches of spatial targets supported (3D tensors) but got targets of dimension: %d", len(tg))
		}
		if in[2] != tg[1] || in[3] != tg[2] {
			return g, torchloss.Errorf(torchloss.ErrShape, op, "target", "size mismatch (got input: %v , target: %v", in, tg)
		}
		g = nllGeom{b: in[0], c: in[1], m: in[2] * in[3], noneShape: []int{in[0], in[2], in[3]}, spatial: true}
	default: // 3-D or 5-D and more: viewed as (N, C, 1, M) for nll_loss2d
		want := append([]int{in[0]}, in[2:]...)
		if !slices.Equal(tg[1:], in[2:]) {
			return g, torchloss.Errorf(torchloss.ErrShape, op, "target", "Expected target size %v, got %v", want, tg)
		}
		if input.Numel() == 0 && target.Numel() > 0 {
			// An empty input is viewed as (N, C, 0, 0), a non-empty target
			// as (N, 1, M): nll_loss2d's size check fails.
			return g, torchloss.Errorf(torchloss.ErrShape, op, "target", "size mismatch (got input: %v , target: %v", []int{in[0], in[1], 0, 0}, []int{tg[0], 1, target.Numel() / tg[0]})
		}
		m := 1
		for _, d := range in[2:] {
			m *= d
		}
		g = nllGeom{b: in[0], c: in[1], m: m, noneShape: want, spatial: true}
	}
	if weight != nil {
		if g.spatial {
			if weight.Numel() != g.c {
				return g, torchloss.Errorf(torchloss.ErrShape, op, "weight", "weight tensor should be defined either for all or no classes (got %d weights for %d classes)", weight.Numel(), g.c)
			}
		} else if weight.Dim() != 1 || weight.Numel() != g.c {
			return g, torchloss.Errorf(torchloss.ErrShape, op, "weight", "weight tensor should be defined either for all %d classes or no classes but got weight tensor of shape: %v", g.c, sizes(weight.Shape()))
		}
		if weight.DType() != input.DType() {
			return g, torchloss.Errorf(torchloss.ErrDType, op, "weight", "expected scalar type %s but found %s", scalarTypeName(input.DType()), scalarTypeName(weight.DType()))
		}
	}
	return g, nil
}

// nll is one nll_loss evaluation: validated targets, weight, options and,
// after forward, the total weight that the backward divides by.
type nll[T kernels.Float] struct {
	g      nllGeom
	tgt    []int64
	w      []T
	ignore int64
	red    Reduction
	tw     T
	bwdErr error // raised by the backward (PyTorch 2.11 quirks)
}

// newNLL checks the target's dtype and values: int64 class indices in
// [0, C) unless equal to ignore_index (tested first). A reduced evaluation of
// an empty target never reads it, so its dtype is only checked by the
// backward, as in PyTorch.
func newNLL[T kernels.Float](op string, input, target *tensor.Tensor, cfg config, g nllGeom) (*nll[T], error) {
	n := &nll[T]{g: g, ignore: cfg.ignoreIndex, red: cfg.reduction}
	if cfg.weight != nil {
		n.w = tensor.Data[T](cfg.weight)
	}
	if g.bwdSizeMismatch {
		n.bwdErr = torchloss.Errorf(torchloss.ErrShape, op, "target", "size mismatch (got input: %v, target: %v)", sizes(input.Shape()), sizes(target.Shape()))
	}
	if target.DType() != tensor.Int64 {
		err := torchloss.Errorf(torchloss.ErrDType, op, "target", "expected scalar type Long but found %s", scalarTypeName(target.DType()))
		if (cfg.reduction != None || g.oneD) && target.Numel() == 0 {
			n.bwdErr = err
			return n, nil
		}
		return nil, err
	}
	n.tgt = target.Int64s()
	for _, t := range n.tgt {
		if t != n.ignore && (t < 0 || t >= int64(g.c)) {
			return nil, torchloss.Errorf(torchloss.ErrValue, op, "target", "Target %d is out of bounds.", t)
		}
	}
	return n, nil
}

// reducedKernel reports whether the forward runs the reduced (cascade) kernel.
func (n *nll[T]) reducedKernel() bool { return n.red != None || n.g.oneD }

// forward evaluates the loss of the (B, C, M) input x.
func (n *nll[T]) forward(x []T) *tensor.Tensor {
	if !n.reducedKernel() {
		out := make([]T, len(n.tgt))
		kernels.NLLForwardNone(x, n.tgt, n.w, n.g.c, n.g.m, n.ignore, out)
		return tensor.MustFromData(out, n.g.noneShape)
	}
	if len(n.tgt) == 0 {
		n.tw = 0
		if n.red == Mean {
			return tensor.Scalar(kernels.NaN[T]())
		}
		return tensor.Scalar(T(0))
	}
	loss, tw := kernels.NLLForwardReduced(x, n.tgt, n.w, n.g.c, n.g.m, n.ignore)
	n.tw = tw
	if n.red == Mean {
		loss /= tw
	}
	return tensor.Scalar(loss)
}

// backward returns the gradient with respect to the numel-element input for
// the output gradient gr.
func (n *nll[T]) backward(gr *tensor.Tensor, numel int) ([]T, error) {
	if n.bwdErr != nil {
		return nil, n.bwdErr
	}
	gv, err := gr.To(tensor.DTypeOf[T]())
	if err != nil {
		return nil, err
	}
	g := tensor.Data[T](gv)
	gx := make([]T, numel)
	if !n.reducedKernel() {
		kernels.NLLBackwardNone(g, n.tgt, n.w, n.g.c, n.g.m, n.ignore, gx)
		return gx, nil
	}
	var s T
	if n.red == Mean {
		s = -(g[0] / n.tw)
	} else {
		s = -g[0]
	}
	kernels.NLLBackwardReduced(s, n.tgt, n.w, n.g.c, n.g.m, n.ignore, gx)
	return gx, nil
}
