package tensor

import (
	"slices"
	"sync/atomic"

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
	// OwnsGrads promises that Backward (and Through) return newly
	// allocated gradients that nothing else references (not grad, not an
	// input, not a tensor Backward returned before), so that a leaf can
	// keep one as its Grad without a copy; or a leaf's own gradient buffer
	// that the node's forward pass claimed (ClaimGrad) and wrote, which
	// Backward then only marks delivered.
	OwnsGrads bool
	// Through, when not nil, offers the chain rule through two nodes in
	// one pass: this node's and that of its input j. The engine calls
	// Through(grad, j), instead of Backward, for an input j that is not a
	// leaf and whose only consumer in the graph being differentiated is
	// this node (one edge: nothing else adds to its gradient). Through
	// returns ins, what Backward(grad) would return with entry j nil, and
	// through, exactly (bit for bit) what Inputs[j].GradFn().Backward
	// would return for the gradient Backward gives input j; the engine
	// then never materializes that gradient nor runs Inputs[j]'s node,
	// and hands through to that node's inputs when it reaches the node in
	// its order, so every accumulation happens in the unfused order and
	// the results are identical to the unfused ones. ok false declines
	// (Through computes nothing then): the engine runs Backward and
	// Inputs[j]'s node as usual. PyTorch runs the two nodes one after the
	// other; e.g. binary_cross_entropy of a sigmoid writes ∂x = ∂ℓ/∂σ·
	// (1 − σ)·σ directly, without the intermediate ∂ℓ/∂σ tensor.
	Through func(grad *Tensor, j int) (ins, through []*Tensor, ok bool, err error)
	// Unary describes the backward of a unary elementwise operation in
	// terms of its output, for a consumer's Through (UnaryNone: not
	// described).
	Unary UnaryGrad
	// Retainable says that the backward keeps no tensor of the forward
	// (PyTorch saves none for this node, e.g. ViewBackward0), so that it
	// may run again after a backward pass freed its graph.
	Retainable bool

	freed atomic.Bool // a backward pass without RetainGraph ran through it
	saved []*Tensor   // the operation's inputs (for Free: Backward refuses freed ones)
}

// UnaryGrad describes the backward of a unary elementwise node in terms of
// its output out and the output gradient g, so that the node consuming out
// can fold it into its own backward (Node.Through).
type UnaryGrad uint8

// The described unary backward functions.
const (
	UnaryNone UnaryGrad = iota
	// UnarySigmoid: the input gradient is g·(1 − out)·out, computed in
	// that order in the output's dtype (ATen's sigmoid_backward).
	UnarySigmoid
)

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
// After ZeroGrad it is the same tensor, holding zeros until the next
// Backward.
func (t *Tensor) Grad() *Tensor {
	t.mu.Lock()
	defer t.mu.Unlock()
	// A forward pass wrote into the buffer (ClaimGrad) and Backward has
	// not delivered it: the gradient reads as zeros.
	t.revokeLocked()
	return t.grad
}

// ZeroGrad zeroes the accumulated gradient in place, in parallel, and
// keeps its buffer for the next Backward, like PyTorch's
// zero_grad(set_to_none=False): a tensor Grad returned before now holds
// zeros, and a training loop of ZeroGrad, loss, Backward reuses one
// gradient buffer per leaf (a fused loss writes its gradient straight into
// it in the forward pass) instead of allocating one each step. The next
// Backward stores its gradient into the zeroed buffer rather than adding it
// to zeros, so the values are bit for bit those of a gradient that was
// None (PyTorch's zero_grad(): a −0 stays −0, where PyTorch's 0 + g after
// zero_grad(set_to_none=False) gives +0); values written into the buffer
// by other means after ZeroGrad are overwritten, not added to. Use
// ClearGrad to drop the gradient instead. A gradient on a device is kept
// and zeroed the same way by the device (a fill, then the next Backward's
// store and adds run on the device: no host copy) when its backend is a
// Filler and an Arith, and dropped otherwise.
func (t *Tensor) ZeroGrad() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.grad == nil {
		return
	}
	if !t.reusable() {
		t.grad, t.claim, t.gradState = nil, nil, gradAccum
		return
	}
	if t.claim != nil {
		t.revokeLocked() // zeroed, or replaced by a zeroed buffer
		return
	}
	t.zeroGradLocked()
}

// ClearGrad drops the accumulated gradient (Grad returns nil until the
// next Backward), like PyTorch's zero_grad(set_to_none=True); a tensor
// Grad returned before keeps its values. The next Backward allocates a
// new gradient.
func (t *Tensor) ClearGrad() {
	t.mu.Lock()
	t.grad, t.claim, t.gradState = nil, nil, gradAccum
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
	out.node = &Node{Name: name, Inputs: in, Backward: backward, saved: inputs}
	return out
}

// releaseConsumed returns the device memory of the gradient g that a node
// has consumed to the caching allocator at once, as PyTorch frees it when
// its last reference goes, rather than at a garbage collection: when g is
// the engine's own (owned: fresh from a backward kernel, or a sum) and no
// gradient ins the node returned shares its storage. Work queued on g
// completes first (one stream per device).
func releaseConsumed(g *Tensor, owned bool, ins []*Tensor) {
	if g == nil || g.device == CPU || !owned || g.dev == nil {
		return
	}
	for _, in := range ins {
		if in != nil && in.dev == g.dev {
			return
		}
	}
	_ = g.Free()
}

// A BackwardOption is an option of Backward and BackwardWith: RetainGraph.
type BackwardOption interface{ backwardOption() }

// RetainGraph(true) keeps the graph for another backward pass, like
// PyTorch's retain_graph=True: loss.Backward(tensor.RetainGraph(true)).
// Without it a backward pass frees the graph it ran through, as PyTorch
// frees the tensors its nodes saved, and a later pass through any of those
// nodes fails with ErrGrad ("Trying to backward through the graph a second
// time") before computing anything, instead of adding the gradients again.
// Nodes that keep no tensor of the forward (the view operations) may be
// run again, as in PyTorch. Giving the option twice is an ErrOption error.
type RetainGraph bool

func (RetainGraph) backwardOption() {}

// Backward computes the gradient of a scalar (one-element) tensor with
// respect to every leaf it depends on that requires a gradient, and adds it to
// their Grad, like PyTorch's loss.backward(). It frees the graph unless
// given RetainGraph(true).
func (t *Tensor) Backward(opts ...BackwardOption) error {
	if t == nil {
		return torchloss.Errorf(torchloss.ErrValue, "backward", "", "expected a tensor, got nil")
	}
	if t.Numel() != 1 {
		return torchloss.Errorf(torchloss.ErrGrad, "backward", "", "grad can be implicitly created only for scalar outputs (the tensor has shape %v)", t.shape)
	}
	ones, err := FullOn(t.device, 1, t.dtype, t.shape...)
	if err != nil {
		return err
	}
	err = t.BackwardWith(ones, opts...)
	releaseConsumed(ones, true, nil) // the seed: nothing keeps it (a leaf keeps a clone)
	return err
}

// BackwardWith is Backward with an upstream gradient grad of t's shape:
// it computes the gradient of sum(t * grad), like t.backward(grad). While
// ordering the graph it counts each tensor's consumers, and lets a node
// that offers Through skip the node of an input it alone consumes (see
// Node.Through); the results are those of running every node.
func (t *Tensor) BackwardWith(grad *Tensor, opts ...BackwardOption) error {
	if t == nil || grad == nil {
		arg := ""
		if t != nil {
			arg = "grad"
		}
		return torchloss.Errorf(torchloss.ErrValue, "backward", arg, "expected a tensor, got nil")
	}
	if !t.requiresGrad {
		return torchloss.Errorf(torchloss.ErrGrad, "backward", "", "element 0 of tensors does not require grad and does not have a grad_fn")
	}
	if !slices.Equal(grad.shape, t.shape) {
		return torchloss.Errorf(torchloss.ErrShape, "backward", "grad", "Mismatch in shape: grad has shape %v and output has shape %v", grad.shape, t.shape)
	}
	if !grad.dtype.IsFloat() {
		return torchloss.Errorf(torchloss.ErrDType, "backward", "grad", "expected a floating-point gradient, got %v", grad.dtype)
	}
	retain, err := retainGraph(opts)
	if err != nil {
		return err
	}
	grad, err = grad.To(t.dtype)
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
	// its node runs: reverse topological order from t. consumers counts
	// the edges into each tensor (for Node.Through).
	var order []*Tensor
	seen := map[*Tensor]bool{}
	consumers := map[*Tensor]int{}
	freed := false
	var freedSaved *Tensor // a tensor the graph uses that was freed (Free)
	var visit func(x *Tensor)
	visit = func(x *Tensor) {
		if seen[x] {
			return
		}
		seen[x] = true
		if x.device == CPU && x.Freed() {
			freedSaved = x
		}
		if x.node != nil {
			for _, in := range x.node.saved {
				if in != nil && in.device == CPU && in.Freed() {
					freedSaved = in
				}
			}
			freed = freed || x.node.freed.Load() && !x.node.Retainable
			for _, in := range x.node.Inputs {
				if in != nil {
					consumers[in]++
					visit(in)
				}
			}
		}
		order = append(order, x)
	}
	visit(t)
	if freedSaved != nil {
		return torchloss.Errorf(torchloss.ErrValue, "backward", "", "a tensor of the graph (shape %v) was freed (Tensor.Free) before Backward; free a step's outputs after its Backward", freedSaved.shape)
	}
	if freed {
		return torchloss.Errorf(torchloss.ErrGrad, "backward", "", "Trying to backward through the graph a second time (or directly access saved tensors after they have already been freed). Saved intermediate values of the graph are freed when you call Backward. Pass tensor.RetainGraph(true) to the first Backward if you need to backward through the graph a second time")
	}
	if !retain {
		// Freed up front, as PyTorch frees each node as it runs: a pass
		// that fails part way has consumed the graph as well.
		for _, x := range order {
			if x.node != nil {
				x.node.freed.Store(true)
			}
		}
	}
	grads := map[*Tensor]*Tensor{t: grad}
	owned := map[*Tensor]bool{} // grads[x] is a fresh tensor nothing else holds
	// through[x]: the result of x's node's backward, computed by its
	// consumer's Through (owned per the consumer's OwnsGrads); x's own
	// gradient is never materialized.
	type fusedResult struct {
		ins  []*Tensor
		owns bool
	}
	through := map[*Tensor]fusedResult{}
	// deliver adds the gradients ins that node n's backward returned to
	// the gradients of n's inputs; owns: they are fresh tensors.
	deliver := func(n *Node, ins []*Tensor, owns bool) error {
		for j, in := range n.Inputs {
			if in == nil || j >= len(ins) || ins[j] == nil {
				continue
			}
			gi := ins[j]
			if !slices.Equal(gi.shape, in.shape) || gi.dtype != in.dtype || gi.device != in.device {
				return torchloss.Errorf(torchloss.ErrGrad, n.Name, "", "internal: gradient of input %d has shape %v dtype %v device %v, want %v %v %v", j, gi.shape, gi.dtype, gi.device, in.shape, in.dtype, in.device)
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
				owned[in] = owns
			}
		}
		return nil
	}
	for i := len(order) - 1; i >= 0; i-- {
		x := order[i]
		if th, ok := through[x]; ok {
			// x's node, run by its only consumer's Through.
			delete(through, x)
			if err := deliver(x.node, th.ins, th.owns); err != nil {
				return err
			}
			continue
		}
		g := grads[x]
		if g == nil {
			continue
		}
		if x.node == nil {
			if err := x.storeGrad(g, owned[x]); err != nil {
				return err
			}
			continue
		}
		var ins []*Tensor
		fused := -1
		if x.node.Through != nil {
			for j, in := range x.node.Inputs {
				if in == nil || in.node == nil || consumers[in] != 1 {
					continue
				}
				i2, th, ok, err := x.node.Through(g, j)
				if err != nil {
					return err
				}
				if ok {
					ins, fused = i2, j
					through[in] = fusedResult{th, x.node.OwnsGrads}
					break
				}
			}
		}
		if fused < 0 {
			var err error
			if ins, err = x.node.Backward(g); err != nil {
				return err
			}
		} else if fused < len(ins) {
			ins[fused] = nil
		}
		if err := deliver(x.node, ins, x.node.OwnsGrads); err != nil {
			return err
		}
		delete(grads, x)
		releaseConsumed(g, owned[x], ins)
	}
	if t.device != CPU {
		// A failed value check of a kernel of this graph (see Checker).
		if b, err := BackendOf(t.device); err == nil {
			return deviceErr(b)
		}
	}
	return nil
}

// retainGraph reads the options of a backward pass.
func retainGraph(opts []BackwardOption) (bool, error) {
	retain, given := false, false
	for _, o := range opts {
		switch o := o.(type) {
		case nil:
		case RetainGraph:
			if given {
				return false, torchloss.Errorf(torchloss.ErrOption, "backward", "retain_graph", "backward() got multiple values for keyword argument 'retain_graph'")
			}
			retain, given = bool(o), true
		}
	}
	return retain, nil
}
