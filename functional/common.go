package functional

import (
	"slices"
	"strconv"
	"strings"

	"github.com/torchloss/torchloss"
	"github.com/torchloss/torchloss/internal/kernels"
	"github.com/torchloss/torchloss/tensor"
)

// This file is the machinery every loss shares: argument checks, dtype
// promotion, broadcasting, the reduction and its gradient, and returning a
// gradient to an argument's shape and dtype.

// arg is a named tensor argument of a loss, for error messages.
type arg struct {
	name string
	t    *tensor.Tensor
}

// required checks that every argument is non-nil and not freed.
func required(op string, args ...arg) error {
	for _, a := range args {
		if a.t == nil {
			return torchloss.Errorf(torchloss.ErrValue, op, a.name, "expected a tensor, got nil")
		}
		if err := notZeroValue(op, a.name, a.t); err != nil {
			return err
		}
	}
	return notFreed(op, args...)
}

// notZeroValue rejects a tensor.Tensor{} (new(tensor.Tensor)): no dtype, no
// data, so nothing a loss could read.
func notZeroValue(op, name string, t *tensor.Tensor) error {
	if t != nil && t.DType() == 0 {
		return torchloss.Errorf(torchloss.ErrValue, op, name, "expected a tensor, got a zero tensor.Tensor (make tensors with tensor.New, FromData, Zeros...)")
	}
	return nil
}

// notFreed checks that no non-nil argument is a freed CPU tensor
// (Tensor.Free): its storage may hold another tensor's values.
func notFreed(op string, args ...arg) error {
	for _, a := range args {
		if a.t != nil && a.t.Device() == tensor.CPU && a.t.Freed() {
			return torchloss.Errorf(torchloss.ErrValue, op, a.name, "the tensor was freed (Tensor.Free) and cannot be used")
		}
	}
	return nil
}

// floatDType checks that the non-nil arguments are floating point and
// returns the dtype they promote to (float64 if any is float64).
func floatDType(op string, args ...arg) (tensor.DType, error) {
	var dt tensor.DType
	for _, a := range args {
		if a.t == nil {
			continue
		}
		if !a.t.DType().IsFloat() {
			return 0, torchloss.Errorf(torchloss.ErrDType, op, a.name, "expected a floating-point tensor, got %v", a.t.DType())
		}
		dt = promote(dt, a.t)
	}
	return dt, nil
}

// promote returns the promotion of dt (0: none yet) with the dtypes of the
// floating-point tensors among ts; integer, bool and nil tensors take no
// part, as in PyTorch's promotion of a float tensor with an integer one.
// promote(tensor.Float32, ts...) is the dtype of a float operation on ts:
// Float32, the default dtype, unless a float64 tensor takes part.
func promote(dt tensor.DType, ts ...*tensor.Tensor) tensor.DType {
	for _, t := range ts {
		if t == nil || !t.DType().IsFloat() {
			continue
		}
		if dt == 0 {
			dt = t.DType()
		} else {
			dt = tensor.PromoteFloat(dt, t.DType())
		}
	}
	return dt
}

// notDifferentiable returns PyTorch's error for an argument that an
// explicit-backward op cannot differentiate but that requires a gradient.
func notDifferentiable(op string, args ...arg) error {
	for _, a := range args {
		if a.t != nil && a.t.RequiresGrad() {
			return torchloss.Errorf(torchloss.ErrGrad, op, a.name, "The function '%s' is not differentiable with respect to argument '%s'. This input cannot have requires_grad True.", op, a.name)
		}
	}
	return nil
}

// broadcastShape returns the broadcast shape of the arguments' shapes, with
// PyTorch's message (naming op) when they do not broadcast.
func broadcastShape(op string, args ...arg) ([]int, error) {
	var shape []int
	for i, a := range args {
		if a.t == nil {
			continue
		}
		if i == 0 || shape == nil {
			shape = a.t.Shape()
			continue
		}
		s, err := tensor.BroadcastShapes(shape, a.t.Shape())
		if err != nil {
			return nil, broadcastErr(op, a.name, err)
		}
		shape = s
	}
	return shape, nil
}

// values returns t converted to T and broadcast to shape, as a flat slice
// (t's own storage when no conversion is needed: do not modify it).
func values[T kernels.Float](t *tensor.Tensor, shape []int) ([]T, error) {
	c, err := t.To(tensor.DTypeOf[T]())
	if err != nil {
		return nil, err
	}
	b, err := tensor.BroadcastTo(c, shape)
	if err != nil {
		return nil, err
	}
	return tensor.Data[T](b), nil
}

// reduce applies the reduction to the per-element loss of the given shape:
// None returns it as a tensor of that shape, Sum and Mean a 0-d tensor
// (PyTorch's sum order; Mean divides by the element count, NaN when empty).
func reduce[T kernels.Float](loss []T, shape []int, r Reduction) *tensor.Tensor {
	switch r {
	case None:
		return tensor.MustFromData(loss, shape)
	case Sum:
		return tensor.Scalar(kernels.Sum(loss))
	default:
		return tensor.Scalar(kernels.Mean(loss))
	}
}

// upstream is the gradient that reaches each element of an unreduced loss
// from the output's gradient: the output gradient itself for None, its single
// value for Sum, and that value divided by the element count for Mean (the
// backward of mean(): grad.expand(shape) / numel, in T).
type upstream[T kernels.Float] struct {
	vec []T // per element (None), or nil
	s   T   // the same for every element (Sum, Mean)
}

func (u upstream[T]) at(i int) T {
	if u.vec != nil {
		return u.vec[i]
	}
	return u.s
}

// upstreamOf builds the upstream gradient of an n-element unreduced loss for
// the output gradient g under reduction r. With divide false, Mean is not
// divided (for kernels that divide at their own point, as PyTorch's
// explicit backward functions do).
func upstreamOf[T kernels.Float](g *tensor.Tensor, n int, r Reduction, divide bool) (upstream[T], error) {
	gv, err := g.To(tensor.DTypeOf[T]())
	if err != nil {
		return upstream[T]{}, err
	}
	d := tensor.Data[T](gv)
	if r == None {
		return upstream[T]{vec: d}, nil
	}
	s := d[0]
	if r == Mean && divide {
		s /= T(n)
	}
	return upstream[T]{s: s}, nil
}

// gradTo wraps the gradient g, computed in T over the broadcast shape, as the
// gradient of argument a: summed over broadcast dimensions and converted to
// a's dtype.
func gradTo[T kernels.Float](g []T, shape []int, a *tensor.Tensor) (*tensor.Tensor, error) {
	gt := tensor.MustFromData(g, shape)
	if !slices.Equal(shape, a.Shape()) {
		var err error
		if gt, err = tensor.SumTo(gt, a.Shape()); err != nil {
			return nil, err
		}
	}
	return gt.To(a.DType())
}

// needs reports whether argument t requires a gradient.
func needs(t *tensor.Tensor) bool { return t != nil && t.RequiresGrad() }

// dispatch runs the float32 or float64 instantiation of a loss.
func dispatch(dt tensor.DType, f32, f64 func() (*tensor.Tensor, error)) (*tensor.Tensor, error) {
	if dt == tensor.Float64 {
		return f64()
	}
	return f32()
}

// sizes formats a shape as PyTorch prints sizes in its messages: [2, 3].
func sizes(shape []int) string {
	parts := make([]string, len(shape))
	for i, d := range shape {
		parts[i] = strconv.Itoa(d)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// scalarTypeName is PyTorch's C++ name of a dtype (Float, Double, Long,
// Bool), as its dtype errors print it.
func scalarTypeName(dt tensor.DType) string {
	switch dt {
	case tensor.Float32:
		return "Float"
	case tensor.Float64:
		return "Double"
	case tensor.Int64:
		return "Long"
	case tensor.Bool:
		return "Bool"
	}
	return dt.String()
}
