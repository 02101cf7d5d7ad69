package tensor

import (
	"slices"

	"github.com/torchloss/torchloss"
)

// Node is one recorded operation of the autograd graph: the equivalent of a
// PyTorch grad_fn. Operations create nodes with Record; users only see them
// through a tensor's GradFn.
type Node struct {
	// Name is PyTorch's name of the backward function, e.g.
	// "BinaryCrossEntropyBackward0".
	Name string
	// Inputs are the operation's differentiable inputs; an entry is nil when
	// that input does not require a gradient.
	Inputs []*Tensor
	// Backward maps the gradient of the output to the gradient of each
	// input (same length as Inputs; an entry may be nil for an input that
	// needs none). The gradient of an input must have its shape and dtype.
	Backward func(grad *Tensor) ([]*Tensor, error)
	// OwnsGrads promises that Backward returns newly allocated gradients
	// that nothing else references (not grad, not an input, not a
	// tensor Backward returned before), so that a leaf can keep one as its
	// Grad without a copy.
	OwnsGrads bool
}

// RequiresGrad reports whether gradients flow to t: it is a leaf marked by
// SetRequiresGrad or the result of an operation on such tensors.
func (t *Tensor) RequiresGrad() bool { return t.requiresGrad }

// SetRequiresGrad marks a leaf tensor as requiring (or not) a gradient, like
// PyTorch's requires_grad_. Only floating-point leaves can require gradients.
func (t *Tensor) SetRequiresGrad(b bool) error {
	if t.node != nil {
		return torchloss.Errorf(torchloss.ErrGrad, "requires_grad_", "", "you can only change requires_grad flags of leaf variables")
	}
	if b && !t.dtype.IsFloat() {
		return torchloss.Errorf(torchloss.ErrDType, "requires_grad_", "", "only Tensors of floating point dtype can require gradients (got %v)", t.dtype)
	}
	t.requiresGrad = b
	return nil
}

// IsLeaf reports whether t was created by the user rather than by a
// differentiable operation.
func (t *Tensor) IsLeaf() bool { return t.node == nil }

// GradFn returns the node that produced t, or nil for a leaf.
func (t *Tensor) GradFn() *Node { return t.node }

// Grad returns the gradient accumulated in a leaf by Backward, or nil.
func (t *Tensor) Grad() *Tensor {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.grad
}

// ZeroGrad clears the accumulated gradient.
func (t *Tensor) ZeroGrad() {
	t.mu.Lock()
	t.grad = nil
	t.mu.Unlock()
}

// AnyRequiresGrad reports whether any of the tensors (nil entries allowed)
// requires a gradient.
func AnyRequiresGrad(ts ...*Tensor) bool {
	for _, t := range ts {
		if t != nil && t.requiresGrad {
			return true
		}
	}
	return false
}

// Record makes out the result of a differentiable operation on inputs: if
// any input requires a gradient, out gets a node whose backward function is
// backward, and requires a gradient itself. Inputs that do not require a
// gradient are recorded as nil, and backward's result for them is ignored.
// Record returns out.
func Record(out *Tensor, name string, inputs []*Tensor, backward func(grad *Tensor) ([]*Tensor, error)) *Tensor {
	if !AnyRequiresGrad(inputs...) {
		return out
	}
	in := make([]*Tensor, len(inputs))
	for i, t := range inputs {
		if t != nil && t.requiresGrad {
			in[i] = t
		}
	}
	out.requiresGrad = true
	out.node = &Node{Name: name, Inputs: in, Backward: backward}
	return out
}

// Backward computes the gradient of a scalar (one-element) tensor with
// respect to every leaf it depends on that requires a gradient, and adds it to
// their Grad, like PyTorch's loss.backward().
func (t *Tensor) Backward() error {
	if t.Numel() != 1 {
		return torchloss.Errorf(torchloss.ErrGrad, "backward", "", "grad can be implicitly created only for scalar outputs (the tensor has shape %v)", t.shape)
	}
	ones, err := Ones(t.dtype, t.shape...)
	if err != nil {
		return err
	}
	return t.BackwardWith(ones)
}

// BackwardWith is Backward with an upstream gradient grad of t's shape:
// it computes the gradient of sum(t * grad), like t.backward(grad).
func (t *Tensor) BackwardWith(grad *Tensor) error {
	if !t.requiresGrad {
		return torchloss.Errorf(torchloss.ErrGrad, "backward", "", "element 0 of tensors does not require grad and does not have a grad_fn")
	}
	if !slices.Equal(grad.shape, t.shape) {
		return torchloss.Errorf(torchloss.ErrShape, "backward", "grad", "Mismatch in shape: grad has shape %v and output has shape %v", grad.shape, t.shape)
	}
	if !grad.dtype.IsFloat() {
		return torchloss.Errorf(torchloss.ErrDType, "backward", "grad", "expected a floating-point gradient, got %v", grad.dtype)
	}
	grad, err := grad.To(t.dtype)
	if err != nil {
		return err
	}
	// A gradient on another device than t's is moved to t's device.
	if grad.device != t.device {
		if grad, err = grad.Detach().ToDevice(t.device); err != nil {
			return err
		}
	}
	// Order the nodes so that every tensor's gradient is complete before
	// its node runs: reverse topological order from t.
	var order []*Tensor
	seen := map[*Tensor]bool{}
	var visit func(x *Tensor)
	visit = func(x *Tensor) {
		if seen[x] {
			return
		}
		seen[x] = true
		if x.node != nil {
			for _, in := range x.node.Inputs {
				if in != nil {
					visit(in)
				}
			}
		}
		order = append(order, x)
	}
	visit(t)
	grads := map[*Tensor]*Tensor{t: grad}
	owned := map[*Tensor]bool{} // grads[x] is a fresh tensor nothing else holds
	for i := len(order) - 1; i >= 0; i-- {
		x := order[i]
		g := grads[x]
		if g == nil {
			continue
		}
		if x.node == nil {
			x.mu.Lock()
			if x.grad == nil {
				if owned[x] {
					x.grad = g
				} else {
					c, err := g.CloneErr()
					if err != nil {
						x.mu.Unlock()
						return err
					}
					x.grad = c
				}
			} else {
				sum, err := accumulate(x.grad, g)
				if err != nil {
					x.mu.Unlock()
					return err
				}
				x.grad = sum
			}
			x.mu.Unlock()
			continue
		}
		ins, err := x.node.Backward(g)
		if err != nil {
			return err
		}
		for j, in := range x.node.Inputs {
			if in == nil || j >= len(ins) || ins[j] == nil {
				continue
			}
			gi := ins[j]
			if !slices.Equal(gi.shape, in.shape) || gi.dtype != in.dtype || gi.device != in.device {
				return torchloss.Errorf(torchloss.ErrGrad, x.node.Name, "", "internal: gradient of input %d has shape %v dtype %v device %v, want %v %v %v", j, gi.shape, gi.dtype, gi.device, in.shape, in.dtype, in.device)
			}
			if prev := grads[in]; prev != nil {
				sum, err := accumulate(prev, gi)
				if err != nil {
					return err
				}
				grads[in] = sum
				owned[in] = true
			} else {
				grads[in] = gi
				owned[in] = x.node.OwnsGrads
			}
		}
		delete(grads, x)
	}
	return nil
}
