package tensor

import (
	"slices"

	"github.com/torchloss/torchloss"
)

// This file holds the shape operations a model reaches for around a loss,
// each differentiable as PyTorch's: Reshape and View, Flatten, Unsqueeze,
// Squeeze, Transpose and Permute. The first four change only the shape and
// share t's data, as PyTorch's views do (do not modify the data of either);
// Transpose and Permute return a row-major copy, since torchloss tensors
// have no strides. Each records the node PyTorch records (ViewBackward0,
// UnsqueezeBackward0, ...), whose backward maps the gradient back to t's
// shape; the nodes keep no tensor of the forward, so, as in PyTorch, a
// second backward pass through them needs no RetainGraph.

// Reshape returns t with a new shape of the same number of elements,
// sharing t's data, like torch.reshape. One dimension may be -1: it is
// inferred from the others. The result is differentiable (grad_fn
// ViewBackward0): the gradient is reshaped back to t's shape.
func (t *Tensor) Reshape(shape ...int) (*Tensor, error) { return t.view("reshape", shape) }

// View is Reshape under PyTorch's other name, torch.Tensor.view. A
// torchloss tensor is always contiguous, so View never fails where Reshape
// succeeds.
func (t *Tensor) View(shape ...int) (*Tensor, error) { return t.view("view", shape) }

func (t *Tensor) view(op string, shape []int) (*Tensor, error) {
	if t == nil {
		return nil, torchloss.Errorf(torchloss.ErrValue, op, "input", "expected a tensor, got nil")
	}
	if t.device == CPU && t.Freed() {
		return nil, errFreed(op, "input")
	}
	n := t.Numel()
	shape, err := inferShape(op, shape, n)
	if err != nil {
		return nil, err
	}
	return t.withShape(shape, "ViewBackward0"), nil
}

// inferShape resolves a -1 in shape (at most one) for n elements and
// checks the element count, as at::infer_size does.
func inferShape(op string, shape []int, n int) ([]int, error) {
	shape = slices.Clone(shape)
	infer := -1
	known := 1
	for i, d := range shape {
		switch {
		case d == -1:
			if infer >= 0 {
				return nil, torchloss.Errorf(torchloss.ErrShape, op, "shape", "only one dimension can be inferred")
			}
			infer = i
		case d < 0:
			return nil, torchloss.Errorf(torchloss.ErrShape, op, "shape", "invalid shape dimension %d", d)
		default:
			var err error
			if known, err = shapeNumel([]int{known, d}); err != nil {
				return nil, err
			}
		}
	}
	if infer >= 0 && known != 0 && n%known == 0 {
		shape[infer] = n / known
		return shape, nil
	}
	if infer < 0 && known == n {
		return shape, nil
	}
	return nil, torchloss.Errorf(torchloss.ErrShape, op, "shape", "shape '%v' is invalid for input of size %d", shape, n)
}

// withShape returns t with shape (of t's element count) sharing t's data,
// recorded as the node name whose backward reshapes the gradient back.
func (t *Tensor) withShape(shape []int, name string) *Tensor {
	out := &Tensor{dtype: t.dtype, shape: shape, data: t.data, device: t.device, dev: t.dev, host: t.host}
	in := t.Shape()
	return recordView(out, name, t, func(g *Tensor) (*Tensor, error) {
		return &Tensor{dtype: g.dtype, shape: in, data: g.data, device: g.device, dev: g.dev}, nil
	})
}

// recordView records an operation whose backward maps the gradient of out
// to the gradient of t keeping nothing of the forward (a view, a device
// copy): its node is Retainable.
func recordView(out *Tensor, name string, t *Tensor, back func(g *Tensor) (*Tensor, error)) *Tensor {
	out = Record(out, name, []*Tensor{t}, func(g *Tensor) ([]*Tensor, error) {
		gi, err := back(g)
		if err != nil {
			return nil, err
		}
		return []*Tensor{gi}, nil
	})
	if out.node != nil {
		out.node.Retainable = true
	}
	return out
}

// wrapDim maps a dimension index in [-n, n) (or, for a 0-d tensor, [-1, 0],
// as PyTorch allows) to [0, n).
func wrapDim(op string, d, n int) (int, error) {
	lo, hi := -max(n, 1), max(n, 1)-1
	if d < lo || d > hi {
		return 0, torchloss.Errorf(torchloss.ErrShape, op, "dim", "Dimension out of range (expected to be in range of [%d, %d], but got %d)", lo, hi, d)
	}
	if d < 0 {
		d += max(n, 1)
	}
	return d, nil
}

// Flatten merges dimensions startDim through endDim (negative values count
// from the end) into one, like torch.flatten(t, startDim, endDim):
// Flatten(0, -1) gives a 1-D tensor (of one element for a 0-d t). It shares
// t's data and is differentiable (ViewBackward0); when there is nothing to
// merge it returns t itself, as PyTorch does.
func (t *Tensor) Flatten(startDim, endDim int) (*Tensor, error) {
	const op = "flatten"
	if t == nil {
		return nil, torchloss.Errorf(torchloss.ErrValue, op, "input", "expected a tensor, got nil")
	}
	if t.device == CPU && t.Freed() {
		return nil, errFreed(op, "input")
	}
	if t.Dim() == 0 {
		if _, err := wrapDim(op, startDim, 0); err != nil {
			return nil, err
		}
		if _, err := wrapDim(op, endDim, 0); err != nil {
			return nil, err
		}
		return t.withShape([]int{1}, "ViewBackward0"), nil
	}
	s, err := wrapDim(op, startDim, t.Dim())
	if err != nil {
		return nil, err
	}
	e, err := wrapDim(op, endDim, t.Dim())
	if err != nil {
		return nil, err
	}
	if s > e {
		return nil, torchloss.Errorf(torchloss.ErrShape, op, "end_dim", "flatten() has invalid args: start_dim cannot come after end_dim")
	}
	if s == e {
		return t, nil
	}
	merged := 1
	for _, d := range t.shape[s : e+1] {
		merged *= d // a sub-product of t's element count: no overflow
	}
	shape := append(append(slices.Clone(t.shape[:s]), merged), t.shape[e+1:]...)
	return t.withShape(shape, "ViewBackward0"), nil
}

// Unsqueeze inserts a dimension of size 1 at dim, in [-Dim()-1, Dim()],
// like torch.unsqueeze. It shares t's data and is differentiable
// (UnsqueezeBackward0).
func (t *Tensor) Unsqueeze(dim int) (*Tensor, error) {
	const op = "unsqueeze"
	if t == nil {
		return nil, torchloss.Errorf(torchloss.ErrValue, op, "input", "expected a tensor, got nil")
	}
	if t.device == CPU && t.Freed() {
		return nil, errFreed(op, "input")
	}
	d, err := wrapDim(op, dim, t.Dim()+1)
	if err != nil {
		return nil, err
	}
	shape := slices.Insert(slices.Clone(t.shape), d, 1)
	return t.withShape(shape, "UnsqueezeBackward0"), nil
}

// Squeeze removes dimensions of size 1, like torch.squeeze: with no dims
// every one of them (SqueezeBackward0), else those of dims that have size 1
// (a listed dimension of another size stays, as in PyTorch; one dim:
// SqueezeBackward1, several: SqueezeBackward2). It shares t's data and is
// differentiable.
func (t *Tensor) Squeeze(dims ...int) (*Tensor, error) {
	const op = "squeeze"
	if t == nil {
		return nil, torchloss.Errorf(torchloss.ErrValue, op, "input", "expected a tensor, got nil")
	}
	if t.device == CPU && t.Freed() {
		return nil, errFreed(op, "input")
	}
	drop := make([]bool, t.Dim())
	name := "SqueezeBackward0"
	if len(dims) == 0 {
		for i, d := range t.shape {
			drop[i] = d == 1
		}
	} else {
		name = "SqueezeBackward1"
		if len(dims) > 1 {
			name = "SqueezeBackward2"
		}
		for _, dim := range dims {
			d, err := wrapDim(op, dim, t.Dim())
			if err != nil {
				return nil, err
			}
			if t.Dim() > 0 && t.shape[d] == 1 {
				drop[d] = true
			}
		}
	}
	shape := []int{}
	for i, d := range t.shape {
		if !drop[i] {
			shape = append(shape, d)
		}
	}
	return t.withShape(shape, name), nil
}

// Transpose swaps dimensions dim0 and dim1, like torch.transpose. It
// returns a copy (torchloss tensors are row-major, without strides) and is
// differentiable (TransposeBackward0).
func (t *Tensor) Transpose(dim0, dim1 int) (*Tensor, error) {
	const op = "transpose"
	if t == nil {
		return nil, torchloss.Errorf(torchloss.ErrValue, op, "input", "expected a tensor, got nil")
	}
	if t.device == CPU && t.Freed() {
		return nil, errFreed(op, "input")
	}
	a, err := wrapDim(op, dim0, t.Dim())
	if err != nil {
		return nil, err
	}
	b, err := wrapDim(op, dim1, t.Dim())
	if err != nil {
		return nil, err
	}
	perm := make([]int, t.Dim())
	for i := range perm {
		perm[i] = i
	}
	if t.Dim() > 0 {
		perm[a], perm[b] = perm[b], perm[a]
	}
	return t.permute(perm, "TransposeBackward0")
}

// Permute reorders the dimensions: dimension i of the result is dimension
// dims[i] of t, like torch.permute. dims must name every dimension once
// (negative values count from the end). It returns a copy and is
// differentiable (PermuteBackward0).
func (t *Tensor) Permute(dims ...int) (*Tensor, error) {
	const op = "permute"
	if t == nil {
		return nil, torchloss.Errorf(torchloss.ErrValue, op, "input", "expected a tensor, got nil")
	}
	if t.device == CPU && t.Freed() {
		return nil, errFreed(op, "input")
	}
	if len(dims) != t.Dim() {
		return nil, torchloss.Errorf(torchloss.ErrShape, op, "dims", "number of dims don't match in permute (input.dim() = %d, len(dims) = %d)", t.Dim(), len(dims))
	}
	perm := make([]int, len(dims))
	seen := make([]bool, len(dims))
	for i, dim := range dims {
		d, err := wrapDim(op, dim, t.Dim())
		if err != nil {
			return nil, err
		}
		if t.Dim() > 0 {
			if seen[d] {
				return nil, torchloss.Errorf(torchloss.ErrShape, op, "dims", "repeated dim in permute")
			}
			seen[d] = true
		}
		perm[i] = d
	}
	return t.permute(perm, "PermuteBackward0")
}

// permute returns the copy of t with dimension i taken from t's perm[i],
// recorded as name; the backward applies the inverse permutation.
func (t *Tensor) permute(perm []int, name string) (*Tensor, error) {
	out, err := permuteData(t, perm)
	if err != nil {
		return nil, err
	}
	inv := make([]int, len(perm))
	for i, p := range perm {
		inv[p] = i
	}
	return recordView(out, name, t, func(g *Tensor) (*Tensor, error) { return permuteData(g, inv) }), nil
}

// permuteData copies t with its dimensions reordered by perm (no autograd).
func permuteData(t *Tensor, perm []int) (*Tensor, error) {
	if t.device != CPU {
		return viaHost(t, func(h *Tensor) (*Tensor, error) { return permuteData(h, perm) })
	}
	shape := make([]int, len(perm))
	for i, p := range perm {
		shape[i] = t.shape[p]
	}
	// idx[k]: the position in t of element k of the result.
	strides := make([]int, len(t.shape))
	st := 1
	for d := len(t.shape) - 1; d >= 0; d-- {
		strides[d] = st
		st *= t.shape[d]
	}
	n := t.Numel()
	idx := make([]int, n)
	coord := make([]int, len(shape))
	off := 0
	for k := range n {
		idx[k] = off
		for d := len(shape) - 1; d >= 0; d-- {
			coord[d]++
			off += strides[perm[d]]
			if coord[d] < shape[d] {
				break
			}
			off -= coord[d] * strides[perm[d]]
			coord[d] = 0
		}
	}
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
	return &Tensor{dtype: t.dtype, shape: shape, data: data}, nil
}
