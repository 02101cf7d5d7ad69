package functional

import (
	"github.com/torchloss/torchloss"
	"github.com/torchloss/torchloss/internal/kernels"
	"github.com/torchloss/torchloss/tensor"
)

// MultiMarginLoss is the multi-class hinge loss between scores and class
// indices, PyTorch's
//
//	torch.nn.functional.multi_margin_loss(input, target, p=1, margin=1.0,
//	    weight=None, size_average=None, reduce=None, reduction='mean')
//
// Purpose: a multi-class SVM objective. Each sample's score for its target
// class should exceed every other class's score by at least the margin;
// only the classes that violate the margin contribute.
//
// Shapes: input (N, C) with target (N) of int64 class indices in [0, C);
// or a single sample, input (C) (or 0-d, one class) with a target of one
// element. N may be 0 ("optional 0-dim batch"), C may not.
//
// Math, per sample with target class y:
//
//	ℓ = Σ_{d≠y} h(margin − x_y + x_d) · w_y / C,  h(z) = z^p for z > 0, else 0
//
// Note the strict z > 0, that the class weight is the target's (w_y), and
// that the sum is divided by C, including the target class.
//
// Options: P (1 or 2, default 1; anything else is ErrOption "only p == 1 and
// p == 2 supported"), Margin (default 1, rounded to the input's dtype),
// Weight (a 1-D tensor of C class weights, the input's dtype) and a
// Reduction (default Mean). None returns (N), or a 0-d tensor when the
// target is 0-d; Sum and Mean add the per-sample losses in float64 and
// round the result to the input's dtype, as ATen's CPU kernel does.
//
// Gradient (ATen's explicit backward): with g = 1/(N·C) for Mean and 1/C
// otherwise (rounded to the dtype), each violating class d gets h = g
// (p = 1) or 2·g·z (p = 2), times w_y, and the target class gets −Σh; all
// times the upstream gradient. At z == 0 the gradient is 0. The weight is
// not differentiable (ErrGrad when it requires a gradient), nor is the
// target.
//
// PyTorch quirks kept, and one deviation: a target index out of range is
// ErrValue ("target out of range"); input, weight and target dtypes must
// match what the kernel reads (float input, weight of the same dtype,
// int64 target). With an empty batch (0, C), PyTorch returns an
// uninitialized value for Sum and Mean (its kernel returns before writing
// the output); torchloss returns an ErrValue error instead. None returns the
// empty (0) tensor, as PyTorch does.
func MultiMarginLoss(input, target *tensor.Tensor, opts ...Option) (*tensor.Tensor, error) {
	if out, ok, err := onDevice("multi_margin_loss", devArgs(input, target), 0, opts, func(a []*tensor.Tensor, o []Option) (*tensor.Tensor, error) { return MultiMarginLoss(a[0], a[1], o...) }); ok {
		return out, err
	}
	const op = "multi_margin_loss"
	cfg, err := lossOptions(op, opts)
	if err != nil {
		return nil, err
	}
	if cfg.p != 1 && cfg.p != 2 {
		return nil, torchloss.Errorf(torchloss.ErrOption, op, "p", "only p == 1 and p == 2 supported (got p = %v)", cfg.p)
	}
	if err := required(op, arg{"input", input}, arg{"target", target}); err != nil {
		return nil, err
	}
	w := cfg.weight
	if w != nil && w.Dim() != 1 {
		return nil, torchloss.Errorf(torchloss.ErrShape, op, "weight", "weight must be one-dimensional (got shape %v)", sizes(w.Shape()))
	}
	nframe, dim, err := mmBatch(op, input)
	if err != nil {
		return nil, err
	}
	if target.Dim() > 1 || target.Numel() != nframe {
		return nil, torchloss.Errorf(torchloss.ErrShape, op, "target", "inconsistent target size, expected %d but got %s", nframe, sizes(target.Shape()))
	}
	if w != nil && w.Numel() != dim {
		return nil, torchloss.Errorf(torchloss.ErrShape, op, "weight", "inconsistent weight size, expected %d but got %s", dim, sizes(w.Shape()))
	}
	if !input.DType().IsFloat() {
		return nil, torchloss.Errorf(torchloss.ErrDType, op, "input", "\"multi_margin_loss_cpu_kernel\" not implemented for '%s'", scalarTypeName(input.DType()))
	}
	if target.DType() != tensor.Int64 {
		return nil, torchloss.Errorf(torchloss.ErrDType, op, "target", "expected scalar type Long but found %s", scalarTypeName(target.DType()))
	}
	if w != nil && w.DType() != input.DType() {
		return nil, torchloss.Errorf(torchloss.ErrDType, op, "weight", "expected scalar type %s but found %s", scalarTypeName(input.DType()), scalarTypeName(w.DType()))
	}
	if err := notDifferentiable(op, arg{"weight", w}); err != nil {
		return nil, err
	}
	var outShape []int
	if cfg.reduction == None && target.Dim() > 0 {
		outShape = []int{nframe}
	} else {
		outShape = []int{}
	}
	if nframe == 0 && cfg.reduction != None {
		return nil, torchloss.Errorf(torchloss.ErrValue, op, "input", "empty batch %s: PyTorch returns an uninitialized value for reduction '%s'", sizes(input.Shape()), cfg.reduction)
	}
	ys := target.Int64s()
	for _, y := range ys {
		if y < 0 || y >= int64(dim) {
			return nil, torchloss.Errorf(torchloss.ErrValue, op, "target", "target out of range (got %d for %d classes)", y, dim)
		}
	}
	return dispatch(input.DType(),
		func() (*tensor.Tensor, error) {
			return multiMarginT[float32](input, ys, w, int(cfg.p), cfg.margin, cfg.reduction, nframe, dim, outShape)
		},
		func() (*tensor.Tensor, error) {
			return multiMarginT[float64](input, ys, w, int(cfg.p), cfg.margin, cfg.reduction, nframe, dim, outShape)
		})
}

func multiMarginT[T kernels.Float](input *tensor.Tensor, ys []int64, weight *tensor.Tensor, p int, margin float64, r Reduction, nframe, dim int, outShape []int) (*tensor.Tensor, error) {
	x := tensor.Data[T](input)
	var w []T
	if weight != nil {
		w = tensor.Data[T](weight)
	}
	m := T(margin)
	s := make([]T, nframe)
	kernels.MultiMarginForward(x, ys, w, p, m, nframe, dim, s)
	var out *tensor.Tensor
	if r == None {
		out = tensor.MustFromData(s, outShape)
	} else {
		out = tensor.Scalar(kernels.MultiMarginReduce(s, r == Mean))
	}
	return tensor.Record(out, nodeName("multi_margin_loss", r), []*tensor.Tensor{input}, func(g *tensor.Tensor) ([]*tensor.Tensor, error) {
		gv, err := values[T](g, outShape)
		if err != nil {
			return nil, err
		}
		up := func(t int) T { return gv[0] }
		if len(outShape) == 1 {
			up = func(t int) T { return gv[t] }
		}
		gs := 1 / float64(dim)
		if r == Mean {
			gs = 1 / float64(nframe*dim)
		}
		gx := make([]T, len(x))
		kernels.MultiMarginBackward(x, ys, w, p, m, T(gs), nframe, dim, up, gx)
		return []*tensor.Tensor{tensor.MustFromData(gx, input.Shape())}, nil
	}), nil
}

// MultilabelMarginLoss is the multi-class multi-label hinge loss, PyTorch's
//
//	torch.nn.functional.multilabel_margin_loss(input, target,
//	    size_average=None, reduce=None, reduction='mean')
//
// Purpose: each sample belongs to several classes at once; every label's
// score should exceed every non-label's score by a margin of 1.
//
// Shapes: input (N, C) with an int64 target (N, C), or input (C) (or 0-d)
// with a target of C elements. Each target row lists the sample's labels
// and ends at the first −1 (the rest of the row is ignored, but must still
// hold valid values: any entry < −1 or ≥ C anywhere is an error).
//
// Math, per sample with label set J (the entries before the first −1) and
// non-labels D (the classes not in J):
//
//	ℓ = Σ_{j∈J} Σ_{d∈D} max(0, 1 − x_j + x_d) / C
//
// summed over J as listed, so a duplicated label counts twice; only z > 0
// contributes. Each sample's double sum is accumulated in float64 and
// rounded to the dtype; Sum and Mean add those in float64, divide by C
// (and N), and round (ATen's CPU kernel).
//
// Options: a Reduction (default Mean). None returns (N) for a 2-D input and
// a 0-d tensor for a single sample.
//
// Gradient (ATen's explicit backward): with g = 1/(N·C) for Mean and 1/C
// otherwise, each active pair (j, d) adds −g to x_j and +g to x_d; then
// times the upstream gradient. The target is not differentiable.
//
// PyTorch quirks kept, and one deviation: as for MultiMarginLoss, an empty
// batch (0, C) with Sum or Mean is an ErrValue error, where PyTorch returns
// an uninitialized value; None returns the empty (0) tensor.
func MultilabelMarginLoss(input, target *tensor.Tensor, opts ...Option) (*tensor.Tensor, error) {
	if out, ok, err := onDevice("multilabel_margin_loss", devArgs(input, target), 0, opts, func(a []*tensor.Tensor, o []Option) (*tensor.Tensor, error) {
		return MultilabelMarginLoss(a[0], a[1], o...)
	}); ok {
		return out, err
	}
	const op = "multilabel_margin_loss"
	cfg, err := lossOptions(op, opts)
	if err != nil {
		return nil, err
	}
	if err := required(op, arg{"input", input}, arg{"target", target}); err != nil {
		return nil, err
	}
	nframe, dim, err := mmBatch(op, input)
	if err != nil {
		return nil, err
	}
	ts := target.Shape()
	if input.Dim() <= 1 {
		if target.Dim() > 1 || target.Numel() != dim {
			return nil, torchloss.Errorf(torchloss.ErrShape, op, "target", "inconsistent target size: %s for input of size: %s", sizes(ts), sizes(input.Shape()))
		}
	} else if len(ts) != 2 || ts[0] != nframe || ts[1] != dim {
		return nil, torchloss.Errorf(torchloss.ErrShape, op, "target", "inconsistent target size: %s for input of size: %s", sizes(ts), sizes(input.Shape()))
	}
	if !input.DType().IsFloat() {
		return nil, torchloss.Errorf(torchloss.ErrDType, op, "input", "\"multilabel_margin_loss_forward_out_frame\" not implemented for '%s'", scalarTypeName(input.DType()))
	}
	if target.DType() != tensor.Int64 {
		return nil, torchloss.Errorf(torchloss.ErrDType, op, "target", "expected scalar type Long but found %s", scalarTypeName(target.DType()))
	}
	var outShape []int
	if cfg.reduction == None && target.Dim() > 1 {
		outShape = []int{nframe}
	} else {
		outShape = []int{}
	}
	if nframe == 0 && cfg.reduction != None {
		return nil, torchloss.Errorf(torchloss.ErrValue, op, "input", "empty batch %s: PyTorch returns an uninitialized value for reduction '%s'", sizes(input.Shape()), cfg.reduction)
	}
	ys := target.Int64s()
	for _, y := range ys {
		if y < -1 || y >= int64(dim) {
			return nil, torchloss.Errorf(torchloss.ErrValue, op, "target", "argument #2 'target' is out of range (got %d for %d classes)", y, dim)
		}
	}
	return dispatch(input.DType(),
		func() (*tensor.Tensor, error) {
			return multilabelMarginT[float32](input, ys, cfg.reduction, nframe, dim, outShape)
		},
		func() (*tensor.Tensor, error) {
			return multilabelMarginT[float64](input, ys, cfg.reduction, nframe, dim, outShape)
		})
}

func multilabelMarginT[T kernels.Float](input *tensor.Tensor, ys []int64, r Reduction, nframe, dim int, outShape []int) (*tensor.Tensor, error) {
	x := tensor.Data[T](input)
	s := make([]T, nframe)
	kernels.MultilabelMarginForward(x, ys, nframe, dim, s)
	var out *tensor.Tensor
	switch {
	case r == None && len(outShape) == 1:
		l := make([]T, nframe)
		for i, v := range s {
			l[i] = v / T(dim)
		}
		out = tensor.MustFromData(l, outShape)
	default:
		out = tensor.Scalar(kernels.MultilabelMarginReduce(s, dim, r == Mean))
	}
	return tensor.Record(out, nodeName("multilabel_margin_loss", r), []*tensor.Tensor{input}, func(g *tensor.Tensor) ([]*tensor.Tensor, error) {
		gv, err := values[T](g, outShape)
		if err != nil {
			return nil, err
		}
		up := func(t int) T { return gv[0] }
		if len(outShape) == 1 {
			up = func(t int) T { return gv[t] }
		}
		gs := 1 / float64(dim)
		if r == Mean {
			gs = 1 / float64(nframe*dim)
		}
		gx := make([]T, len(x))
		kernels.MultilabelMarginBackward(x, ys, T(gs), nframe, dim, up, gx)
		return []*tensor.Tensor{tensor.MustFromData(gx, input.Shape())}, nil
	}), nil
}

// mmBatch applies the input shape rule of both multi-class margin losses
// (ATen's LossMulti.h): a non-empty vector, a matrix with a non-empty class
// dimension and a possibly empty batch, or a 0-d tensor (one class). It
// returns the batch size and the class count.
func mmBatch(op string, input *tensor.Tensor) (nframe, dim int, err error) {
	s := input.Shape()
	switch {
	case len(s) == 0:
		return 1, 1, nil
	case len(s) == 1 && s[0] != 0:
		return 1, s[0], nil
	case len(s) == 2 && s[1] != 0:
		return s[0], s[1], nil
	}
	return 0, 0, torchloss.Errorf(torchloss.ErrShape, op, "input", "Expected non-empty vector or matrix with optional 0-dim batch size, but got: %s", sizes(s))
}
