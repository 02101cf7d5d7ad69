package tensor

import (
	"slices"

	"github.com/torchloss/torchloss"
)

// BroadcastShapes returns the shape that shapes a and b broadcast to under
// PyTorch's (NumPy's) rules: dimensions are aligned from the right, and each
// pair must be equal or contain a 1. The error reads like PyTorch's:
// "The size of tensor a (3) must match the size of tensor b (2) at
// non-singleton dimension 1". A broadcast shape of more than MaxElements
// elements is an ErrLimit error.
func BroadcastShapes(a, b []int) ([]int, error) {
	n := max(len(a), len(b))
	out := make([]int, n)
	for i := 0; i < n; i++ {
		da, db := 1, 1
		if j := len(a) - n + i; j >= 0 {
			da = a[j]
		}
		if j := len(b) - n + i; j >= 0 {
			db = b[j]
		}
		switch {
		case da == db:
			out[i] = da
		case da == 1:
			out[i] = db
		case db == 1:
			out[i] = da
		default:
			return nil, torchloss.Errorf(torchloss.ErrShape, "broadcast", "", "The size of tensor a (%d) must match the size of tensor b (%d) at non-singleton dimension %d", da, db, i)
		}
	}
	// Broadcasting allocates the result: refuse a shape over MaxElements
	// (or one whose element count overflows) before anyone does.
	if _, err := Numel(out); err != nil {
		e := err.(*torchloss.Error)
		return nil, torchloss.Errorf(e.Kind, "broadcast", "", "the broadcast of %v and %v: %s", a, b, e.Msg)
	}
	return out, nil
}

// BroadcastTo returns the data of t expanded to shape (a copy; t itself when
// the shapes are equal). shape must be a broadcast of t's shape. It records
// no autograd node: losses expand their operands, compute, and reduce the
// gradient back with SumTo.
func BroadcastTo(t *Tensor, shape []int) (*Tensor, error) {
	if slices.Equal(t.shape, shape) {
		return t, nil
	}
	if t.device != CPU {
		return nil, errHostOnly("expand", t)
	}
	if len(shape) < len(t.shape) {
		return nil, torchloss.Errorf(torchloss.ErrShape, "expand", "", "the shape %v cannot be expanded to %v", t.shape, shape)
	}
	off := len(shape) - len(t.shape)
	for i, d := range t.shape {
		if d != 1 && d != shape[off+i] {
			return nil, torchloss.Errorf(torchloss.ErrShape, "expand", "", "The expanded size of the tensor (%d) must match the existing size (%d) at non-singleton dimension %d.  Target sizes: %v.  Tensor sizes: %v", shape[off+i], d, off+i, shape, t.shape)
		}
	}
	n, err := Numel(shape)
	if err != nil {
		return nil, err
	}
	idx := broadcastIndex(t.shape, shape, n)
	var data any
	switch s := t.data.(type) {
	case []float32:
		data = gather(s, idx)
	case []float64:
		data = gather(s, idx)
	case []int64:
		data = gather(s, idx)
	case []bool:
		data = gather(s, idx)
	}
	return &Tensor{dtype: t.dtype, shape: append([]int{}, shape...), data: data}, nil
}

func gather[T any](s []T, idx []int) []T {
	out := make([]T, len(idx))
	for i, j := range idx {
		out[i] = s[j]
	}
	return out
}

// broadcastIndex maps each of the n elements of shape (row-major) to the
// element of from (broadcast to shape) it reads.
func broadcastIndex(from, shape []int, n int) []int {
	off := len(shape) - len(from)
	strides := make([]int, len(shape)) // 0 on broadcast dimensions
	st := 1
	for i := len(from) - 1; i >= 0; i-- {
		if from[i] != 1 {
			strides[off+i] = st
		}
		st *= from[i]
	}
	idx := make([]int, n)
	coord := make([]int, len(shape))
	pos := 0
	for i := 0; i < n; i++ {
		idx[i] = pos
		for d := len(shape) - 1; d >= 0; d-- {
			coord[d]++
			pos += strides[d]
			if coord[d] < shape[d] {
				break
			}
			pos -= strides[d] * coord[d]
			coord[d] = 0
		}
	}
	return idx
}

// SumTo sums the floating-point tensor g (of a broadcast shape) down to shape,
// the inverse of broadcasting: it is how the gradient of a broadcast argument
// returns to the argument's shape. It returns g itself when the shapes match.
// Sums run in g's dtype, in index order.
func SumTo(g *Tensor, shape []int) (*Tensor, error) {
	if slices.Equal(g.shape, shape) {
		return g, nil
	}
	if g.device != CPU {
		return nil, errHostOnly("sum_to", g)
	}
	if _, err := BroadcastShapes(shape, g.shape); err != nil || len(shape) > len(g.shape) {
		return nil, torchloss.Errorf(torchloss.ErrShape, "sum_to", "", "cannot sum shape %v to %v", g.shape, shape)
	}
	n, err := Numel(shape)
	if err != nil {
		return nil, err
	}
	idx := broadcastIndex(shape, g.shape, g.Numel())
	switch s := g.data.(type) {
	case []float32:
		return &Tensor{dtype: g.dtype, shape: append([]int{}, shape...), data: scatterAdd(s, idx, n)}, nil
	case []float64:
		return &Tensor{dtype: g.dtype, shape: append([]int{}, shape...), data: scatterAdd(s, idx, n)}, nil
	}
	return nil, torchloss.Errorf(torchloss.ErrDType, "sum_to", "", "expected a floating-point tensor, got %v", g.dtype)
}

func scatterAdd[T Float](s []T, idx []int, n int) []T {
	out := make([]T, n)
	for i, j := range idx {
		out[j] += s[i]
	}
	return out
}

// accumulate returns a + b for two float tensors of one shape (gradient
// accumulation); b is converted to a's dtype.
func accumulate(a, b *Tensor) (*Tensor, error) {
	if !slices.Equal(a.shape, b.shape) {
		return nil, torchloss.Errorf(torchloss.ErrShape, "backward", "", "cannot accumulate a gradient of shape %v into %v", b.shape, a.shape)
	}
	b, err := b.To(a.dtype)
	if err != nil {
		return nil, err
	}
	if a.device != CPU || b.device != CPU {
		return accumulateOnDevice(a, b)
	}
	switch s := a.data.(type) {
	case []float32:
		return &Tensor{dtype: a.dtype, shape: a.shape, data: addSlices(s, b.data.([]float32))}, nil
	case []float64:
		return &Tensor{dtype: a.dtype, shape: a.shape, data: addSlices(s, b.data.([]float64))}, nil
	}
	return nil, torchloss.Errorf(torchloss.ErrDType, "backward", "", "cannot accumulate a %v gradient", a.dtype)
}

func addSlices[T Float](a, b []T) []T {
	out := make([]T, len(a))
	for i := range a {
		out[i] = a[i] + b[i]
	}
	return out
}
