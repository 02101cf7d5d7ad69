package functional

import (
	"slices"

	"github.com/torchloss/torchloss"
	"github.com/torchloss/torchloss/internal/kernels"
	"github.com/torchloss/torchloss/tensor"
)

// Helpers of the margin family (cosine_embedding_loss, hinge_embedding_loss,
// margin_ranking_loss, soft_margin_loss, multilabel_soft_margin_loss). These
// losses are compositions of tensor operations in PyTorch; with mixed
// float32/float64 arguments each operation runs in its own operands' dtype.
// The helpers below let a kernel instantiated for the promoted type T
// reproduce the float32 steps (rounding to float32 where PyTorch computes in
// float32) and the per-operation broadcast reductions of autograd.

// mgIs32 reports whether values of dtype dt held in T must be rounded to
// float32: dt is float32 and T is float64.
func mgIs32[T kernels.Float](dt tensor.DType) bool {
	return dt == tensor.Float32 && !kernels.Is32[T]()
}

// mgNarrowAll rounds every value of v to float32 in place when f32 is true.
func mgNarrowAll[T kernels.Float](v []T, f32 bool) []T {
	if f32 {
		for i := range v {
			v[i] = T(float32(v[i]))
		}
	}
	return v
}

// mgExpand returns v, of shape from, broadcast to shape to (v itself when
// the shapes are equal).
func mgExpand[T kernels.Float](v []T, from, to []int) ([]T, error) {
	if slices.Equal(from, to) {
		return v, nil
	}
	b, err := tensor.BroadcastTo(tensor.MustFromData(v, from), to)
	if err != nil {
		return nil, err
	}
	return tensor.Data[T](b), nil
}

// mgSumTo sums g, of the broadcast shape from, down to shape to in dtype dt
// and returns it in T: autograd reduces a broadcast gradient at the
// operation that broadcast, in the dtype that operation's backward computed
// it in (g's values must be representable in dt). A cast to the input's
// dtype, when it differs, comes after the sum (mgNarrowAll).
func mgSumTo[T kernels.Float](g []T, from, to []int, dt tensor.DType) ([]T, error) {
	t := tensor.MustFromData(g, from)
	if dt != t.DType() {
		var err error
		if t, err = t.To(dt); err != nil {
			return nil, err
		}
	}
	if !slices.Equal(from, to) {
		var err error
		if t, err = tensor.SumTo(t, to); err != nil {
			return nil, err
		}
	}
	if t.DType() != tensor.DTypeOf[T]() {
		var err error
		if t, err = t.To(tensor.DTypeOf[T]()); err != nil {
			return nil, err
		}
	}
	out := tensor.Data[T](t)
	if len(out) > 0 && len(g) > 0 && &out[0] == &g[0] {
		out = slices.Clone(out) // never alias g: callers narrow in place
	}
	return out, nil
}

// mgTargetClasses broadcasts target (any dtype) to shape and classifies each
// element as equal to 1, to −1, or neither (NaN included), the comparisons
// cosine_embedding_loss and hinge_embedding_loss make (true counts as 1).
func mgTargetClasses(target *tensor.Tensor, shape []int) ([]int8, error) {
	b, err := tensor.BroadcastTo(target, shape)
	if err != nil {
		return nil, err
	}
	switch b.DType() {
	case tensor.Float32:
		return classesOf(tensor.Data[float32](b)), nil
	case tensor.Float64:
		return classesOf(tensor.Data[float64](b)), nil
	}
	vals := b.Values()
	cls := make([]int8, len(vals))
	for i, v := range vals {
		switch v {
		case 1:
			cls[i] = kernels.TargetPos
		case -1:
			cls[i] = kernels.TargetNeg
		}
	}
	return cls, nil
}

// mgBroadcast is broadcastShape for two shapes, naming arg b on error.
func mgBroadcast(op, b string, sa, sb []int) ([]int, error) {
	s, err := tensor.BroadcastShapes(sa, sb)
	if err != nil {
		return nil, broadcastErr(op, b, err)
	}
	return s, nil
}

// mgAnyDType checks that t (a target compared or multiplied, not
// differentiated through a float-only op) has a dtype the op accepts:
// floats always, int64 when allowInt, bool when allowBool; rejectMsg is
// PyTorch's message for a bool tensor where bool is refused.
func mgAnyDType(op, name string, t *tensor.Tensor, allowInt, allowBool bool, rejectMsg string) error {
	switch dt := t.DType(); {
	case dt.IsFloat():
		return nil
	case dt == tensor.Int64 && allowInt:
		return nil
	case dt == tensor.Bool && allowBool:
		return nil
	case dt == tensor.Bool && rejectMsg != "":
		return torchloss.Errorf(torchloss.ErrDType, op, name, "%s", rejectMsg)
	default:
		return torchloss.Errorf(torchloss.ErrDType, op, name, "expected a floating-point tensor, got %v", dt)
	}
}

// mgFloatValues returns t's values as T, broadcast to shape, after
// converting t to dtype dt (the dtype PyTorch converts an integer or bool
// operand to before the operation).
func mgFloatValues[T kernels.Float](t *tensor.Tensor, dt tensor.DType, shape []int) ([]T, error) {
	c, err := t.To(dt)
	if err != nil {
		return nil, err
	}
	return values[T](c, shape)
}

// mgAsF32 and mgFromF32 move values between T and float32 so that a
// float32 kernel can run on float32-typed operands inside a float64
// computation.
func mgAsF32[T kernels.Float](v []T) []float32 {
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(x)
	}
	return out
}

func mgFromF32[T kernels.Float](v []float32) []T {
	out := make([]T, len(v))
	for i, x := range v {
		out[i] = T(x)
	}
	return out
}

// mgNumel is the element count of a shape known to be valid.
func mgNumel(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// classesOf classifies float targets as mgTargetClasses does, in parallel.
func classesOf[T kernels.Float](t []T) []int8 {
	cls := make([]int8, len(t))
	parallelFor(len(t), sumGrain, func(lo, hi int) { classify(cls[lo:hi], t[lo:hi]) })
	return cls
}

// classify writes the class of each target t[i] to c[i]: TargetPos (1) at
// t[i] == 1, TargetNeg (−1) at t[i] == −1, else 0, without a branch (the
// targets are random).
func classify[T kernels.Float](c []int8, t []T) {
	c = c[:len(t)]
	for i, v := range t {
		var p, n int8
		if v == 1 {
			p = 1
		}
		if v == -1 {
			n = 1
		}
		c[i] = p*kernels.TargetPos + n*kernels.TargetNeg
	}
}
