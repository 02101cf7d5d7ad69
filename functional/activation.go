package functional

import (
	"github.com/torchloss/torchloss"
	"github.com/torchloss/torchloss/internal/kernels"
	"github.com/torchloss/torchloss/tensor"
)

// Sigmoid returns 1/(1 + exp(−x)) elementwise, differentiably: PyTorch's
// torch.sigmoid, which the tutorial chains into binary_cross_entropy.
// The gradient is g·(1 − σ)·σ. Its node is marked UnarySigmoid: when
// BinaryCrossEntropy is the output's only consumer and the loss's output
// gradient is 1 (loss.Backward()), the loss computes ∂x in one pass
// (tensor.Node.Through), bit for bit what the two backward steps give,
// without materializing ∂σ. On the CPU the output's storage comes from the
// host buffer cache: a training loop that frees the previous step's output
// after its Backward (tensor.Tensor.Free) makes Sigmoid allocate nothing.
func Sigmoid(x *tensor.Tensor) (*tensor.Tensor, error) {
	const op = "sigmoid"
	if err := required(op, arg{"input", x}); err != nil {
		return nil, err
	}
	dt, err := floatDType(op, arg{"input", x})
	if err != nil {
		return nil, err
	}
	if out, ok, err := onKernel(kernelCall{op: op, args: devArgs(x), diff: 1, name: "SigmoidBackward0", unary: tensor.UnarySigmoid,
		host: func(_ *kernelCall, a []*tensor.Tensor, _ []Option) (*tensor.Tensor, error) { return Sigmoid(a[0]) }}); ok {
		return out, err
	}
	return dispatch(dt, func() (*tensor.Tensor, error) { return sigmoid[float32](x) }, func() (*tensor.Tensor, error) { return sigmoid[float64](x) })
}

func sigmoid[T kernels.Float](x *tensor.Tensor) (*tensor.Tensor, error) {
	xv := tensor.Data[T](x)
	shape := x.Shape()
	// Every element is written: the storage comes from the host buffer
	// cache, reused without zeroing once a previous output was freed.
	out, err := tensor.Uninit[T](shape...)
	if err != nil {
		return nil, err
	}
	y := tensor.Data[T](out)
	parallelFor(len(xv), sumGrain, func(lo, hi int) { kernels.SigmoidForward(xv[lo:hi], y[lo:hi]) })
	res := tensor.Record(out, "SigmoidBackward0", []*tensor.Tensor{x}, func(g *tensor.Tensor) ([]*tensor.Tensor, error) {
		gv, err := values[T](g, shape)
		if err != nil {
			return nil, err
		}
		gx := make([]T, len(y))
		parallelFor(len(y), sumGrain, func(lo, hi int) { kernels.SigmoidBackward(gv[lo:hi], y[lo:hi], gx[lo:hi]) })
		return []*tensor.Tensor{tensor.MustFromData(gx, shape)}, nil
	})
	ownGrads(res)
	if n := res.GradFn(); n != nil {
		// A consumer may fold the backward into its own (Node.Through).
		n.Unary = tensor.UnarySigmoid
	}
	return res, nil
}

// Softmax returns exp(x)/Σ exp(x) along dim (negative counts from the end),
// differentiably: PyTorch's torch.softmax(x, dim). The gradient is
// (g − Σ g·y)·y along dim.
func Softmax(x *tensor.Tensor, dim int) (*tensor.Tensor, error) {
	return softmaxOp("softmax", "SoftmaxBackward0", x, dim, false)
}

// LogSoftmax returns log(softmax(x)) along dim, computed stably as
// (x − max) − log Σ exp(x − max): PyTorch's torch.log_softmax(x, dim). The
// gradient is g − exp(y)·Σ g along dim.
func LogSoftmax(x *tensor.Tensor, dim int) (*tensor.Tensor, error) {
	return softmaxOp("log_softmax", "LogSoftmaxBackward0", x, dim, true)
}

// splitDim returns the (outer, n, inner) view of shape around dim, with dim
// normalized; a 0-d tensor counts as having one dimension of size 1.
func splitDim(op string, shape []int, dim int) (outer, n, inner, d int, err error) {
	rank := max(len(shape), 1)
	d = dim
	if d < 0 {
		d += rank
	}
	if d < 0 || d >= rank {
		return 0, 0, 0, 0, torchloss.Errorf(torchloss.ErrValue, op, "dim", "Dimension out of range (expected to be in range of [%d, %d], but got %d)", -rank, rank-1, dim)
	}
	if len(shape) == 0 {
		return 1, 1, 1, 0, nil
	}
	outer, inner = 1, 1
	for _, s := range shape[:d] {
		outer *= s
	}
	for _, s := range shape[d+1:] {
		inner *= s
	}
	if shape[d] == 0 {
		// An empty dimension of a shape whose others are huge ((2^40, 0)):
		// the outer·inner result rows are bounded like any tensor.
		rest := append(append([]int{}, shape[:d]...), shape[d+1:]...)
		if _, err := tensor.Numel(rest); err != nil {
			return 0, 0, 0, 0, torchloss.Errorf(torchloss.ErrLimit, op, "input", "dimension %d of shape %v is empty and the others hold more than tensor.MaxElements (%d) elements", d, shape, tensor.MaxElements())
		}
	}
	return outer, shape[d], inner, d, nil
}

func softmaxOp(op, name string, x *tensor.Tensor, dim int, log bool) (*tensor.Tensor, error) {
	if err := required(op, arg{"input", x}); err != nil {
		return nil, err
	}
	dt, err := floatDType(op, arg{"input", x})
	if err != nil {
		return nil, err
	}
	outer, n, inner, d, err := splitDim(op, x.Shape(), dim)
	if err != nil {
		return nil, err
	}
	if out, ok, err := onKernel(kernelCall{op: op, args: devArgs(x), diff: 1, dim: d, name: name, kind: b2i(log),
		host: func(k *kernelCall, a []*tensor.Tensor, _ []Option) (*tensor.Tensor, error) {
			return softmaxOp(k.op, k.name, a[0], k.dim, k.kind == 1)
		}}); ok {
		return out, err
	}
	return dispatch(dt,
		func() (*tensor.Tensor, error) { return softmaxT[float32](name, x, outer, n, inner, log) },
		func() (*tensor.Tensor, error) { return softmaxT[float64](name, x, outer, n, inner, log) })
}

func softmaxT[T kernels.Float](name string, x *tensor.Tensor, outer, n, inner int, log bool) (*tensor.Tensor, error) {
	xv := tensor.Data[T](x)
	y := make([]T, len(xv))
	if log {
		kernels.LogSoftmaxForward(xv, y, outer, n, inner)
	} else {
		kernels.SoftmaxForward(xv, y, outer, n, inner)
	}
	shape := x.Shape()
	out := tensor.MustFromData(y, shape)
	return tensor.Record(out, name, []*tensor.Tensor{x}, func(g *tensor.Tensor) ([]*tensor.Tensor, error) {
		gv, err := values[T](g, shape)
		if err != nil {
			return nil, err
		}
		gx := make([]T, len(y))
		if log {
			kernels.LogSoftmaxBackward(gv, y, gx, outer, n, inner)
		} else {
			kernels.SoftmaxBackward(gv, y, gx, outer, n, inner)
		}
		return []*tensor.Tensor{tensor.MustFromData(gx, shape)}, nil
	}), nil
}
