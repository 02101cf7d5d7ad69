package tensor

import (
	"unsafe"

	"github.com/torchloss/torchloss/internal/parallel"
)

// This file is a leaf's gradient buffer across training steps: ZeroGrad
// keeps it and zeroes it in place, Backward stores into it, and a fused
// loss may claim it to write its gradient straight into it in the forward
// pass (ClaimGrad). A training loop of ZeroGrad, loss, Backward thus
// reuses one buffer per leaf instead of allocating a gradient each step.

// gradState says what a leaf's gradient buffer holds.
type gradState uint8

const (
	// gradAccum: an accumulated gradient; Backward adds to it.
	gradAccum gradState = iota
	// gradZeroed: zeros written by ZeroGrad; the next Backward stores its
	// gradient (no addition: the bits of a gradient that was None).
	gradZeroed
	// gradClaimed: logically zero (as gradZeroed); the buffer holds the
	// gradient a forward pass wrote (claim), not yet delivered by Backward.
	gradClaimed
)

// gradGrain is the chunk length of the parallel passes over a gradient
// buffer (zeroing, storing, adding).
const gradGrain = 1 << 16

// GradClaim is a forward pass's claim on a leaf's zeroed gradient buffer:
// the loss writes the gradient for an output gradient of 1 into it and
// hands it to Backward as that leaf's gradient (the same storage), which
// then only marks it delivered. Anything else that touches the buffer
// first (Grad, ZeroGrad, a Backward storing another gradient into it)
// revokes the claim and zeroes or overwrites the buffer; the loss's
// backward must then compute its gradient anew (Valid is false).
type GradClaim struct {
	leaf    *Tensor
	writing bool // the forward pass may still write (until Written); leaf.mu
}

// Written tells that the forward pass has finished writing into the
// buffer. Until then, whatever revokes the claim (a Backward of another
// graph, Grad, ZeroGrad, from another goroutine) gives the leaf a new
// buffer instead of touching this one.
func (c *GradClaim) Written() {
	if c == nil {
		return
	}
	c.leaf.mu.Lock()
	c.writing = false
	c.leaf.mu.Unlock()
}

// Valid reports whether the claim still holds: the buffer holds the
// claimer's gradient, not yet delivered or revoked.
func (c *GradClaim) Valid() bool {
	if c == nil {
		return false
	}
	c.leaf.mu.Lock()
	defer c.leaf.mu.Unlock()
	return c.leaf.claim == c
}

// Cancel gives up a claim before anything was written into the buffer:
// it is zeroed again, as ZeroGrad left it.
func (c *GradClaim) Cancel() {
	if c == nil {
		return
	}
	c.leaf.mu.Lock()
	if c.leaf.claim == c {
		c.leaf.claim = nil
		c.leaf.gradState = gradZeroed
	}
	c.leaf.mu.Unlock()
}

// ClaimGrad returns the gradient buffer of leaf t for a loss's forward pass
// to write t's gradient into, as a []T of t's element count, with the
// claim; nil, nil when t is not a CPU leaf requiring a gradient of dtype T
// whose buffer ZeroGrad zeroed (and nothing used since), or when t's
// buffer is already claimed. The buffer holds zeros. The caller calls
// claim.Written when its forward pass is done writing, and its backward
// returns the slice (wrapped with t's shape) as t's gradient only while
// claim.Valid(); a reader of the buffer between the forward pass and
// Backward (through a reference taken before) sees the values written.
func ClaimGrad[T Float](t *Tensor) ([]T, *GradClaim) {
	if t == nil || t.node != nil || !t.requiresGrad || t.device != CPU || t.dtype != DTypeOf[T]() {
		return nil, nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.grad == nil || t.gradState != gradZeroed || t.claim != nil || t.grad.device != CPU {
		return nil, nil
	}
	s := Data[T](t.grad)
	if len(s) == 0 {
		return nil, nil
	}
	c := &GradClaim{leaf: t, writing: true}
	t.claim = c
	t.gradState = gradClaimed
	return s, c
}

// zeroGradLocked writes zeros into t's float gradient buffer (in parallel
// on the CPU, by the device's Fill on a device) and marks it zeroed (t.mu
// held). A device buffer its device fails to fill is dropped.
func (t *Tensor) zeroGradLocked() {
	if t.grad.device != CPU {
		if err := fillInPlace(t.grad, 0); err != nil {
			t.grad = nil
		}
		t.gradState = gradAccum
		if t.grad != nil {
			t.gradState = gradZeroed
		}
		t.claim = nil
		return
	}
	switch s := t.grad.data.(type) {
	case []float32:
		parallel.For(len(s), gradGrain, func(_, lo, hi int) { clear(s[lo:hi]) })
	case []float64:
		parallel.For(len(s), gradGrain, func(_, lo, hi int) { clear(s[lo:hi]) })
	}
	t.gradState = gradZeroed
	t.claim = nil
}

// revokeLocked ends t's claim, if any, leaving the buffer logically zero:
// zeroed in place, or, while its claimer may still be writing into it,
// replaced by a new zeroed buffer (t.mu held).
func (t *Tensor) revokeLocked() {
	if t.claim == nil {
		return
	}
	if t.claim.writing {
		t.grad = &Tensor{dtype: t.grad.dtype, shape: t.grad.shape, data: makeStorage(t.grad.dtype, t.grad.Numel())}
		t.claim = nil
		t.gradState = gradZeroed
		return
	}
	t.zeroGradLocked()
}

// reusable reports whether t's gradient buffer can be kept across steps:
// a float buffer on the CPU, or on a device that fills and adds in place
// (tensor.Filler and tensor.Arith: no host copy).
func (t *Tensor) reusable() bool {
	if t.grad.dtype != Float32 && t.grad.dtype != Float64 {
		return false
	}
	return t.grad.device == CPU || deviceInPlace(t.grad)
}

// sameStorage reports whether a and b are CPU tensors over the same
// elements.
func sameStorage(a, b *Tensor) bool {
	if a.device != CPU || b.device != CPU || a.dtype != b.dtype {
		return false
	}
	switch s := a.data.(type) {
	case []float32:
		o := b.data.([]float32)
		return len(s) > 0 && len(s) == len(o) && unsafe.SliceData(s) == unsafe.SliceData(o)
	case []float64:
		o := b.data.([]float64)
		return len(s) > 0 && len(s) == len(o) && unsafe.SliceData(s) == unsafe.SliceData(o)
	}
	return false
}

// storeGrad adds the gradient g that Backward computed for leaf t to t's
// gradient (owned: g is fresh and nothing else holds it). A claimed buffer
// that g is (its claimer's gradient) is only marked delivered; a zeroed or
// claimed buffer is overwritten with g, in parallel (the bits of storing g
// into a None gradient); an accumulated one gets g added in place, in
// parallel, as a[i] + g[i] (the bits of the former a + g).
func (t *Tensor) storeGrad(g *Tensor, owned bool) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case t.grad == nil:
		if !owned {
			c, err := g.CloneErr()
			if err != nil {
				return err
			}
			g = c
		}
		t.grad = g
		t.gradState = gradAccum
	case t.claim != nil && sameStorage(g, t.grad):
		t.claim = nil
		t.gradState = gradAccum
	case t.grad.device != CPU && t.reusable() && g.device == t.grad.device && g.dtype == t.grad.dtype:
		// A device buffer kept by ZeroGrad: g stored (copied) into it when
		// zeroed, added to it in place otherwise, on the device.
		if err := storeInPlace(t.grad, g, t.gradState == gradAccum); err != nil {
			return err
		}
		if owned {
			_ = g.Free() // back to the caching allocator, in stream order
		}
		t.claim = nil
		t.gradState = gradAccum
	case !t.reusable() || g.device != CPU || g.dtype != t.grad.dtype:
		if t.gradState != gradAccum {
			// A zeroed buffer that cannot be kept: store g as Backward
			// into a None gradient.
			t.grad = nil
			t.claim = nil
			return t.storeGradNil(g, owned)
		}
		sum, err := accumulate(t.grad, g)
		if err != nil {
			return err
		}
		t.grad = sum
	case t.claim != nil && t.claim.writing:
		// Its claimer may still be writing into the buffer: leave it
		// that one and store g as into a None gradient.
		t.grad, t.claim = nil, nil
		return t.storeGradNil(g, owned)
	case t.gradState != gradAccum:
		copyParallel(t.grad, g)
		t.claim = nil
		t.gradState = gradAccum
	default:
		addParallel(t.grad, g)
	}
	return nil
}

// storeGradNil stores g as t's gradient when t has none (t.mu held).
func (t *Tensor) storeGradNil(g *Tensor, owned bool) error {
	if !owned {
		c, err := g.CloneErr()
		if err != nil {
			return err
		}
		g = c
	}
	t.grad = g
	t.gradState = gradAccum
	return nil
}

// copyParallel copies b's elements into a (same CPU float dtype and count).
func copyParallel(a, b *Tensor) {
	switch s := a.data.(type) {
	case []float32:
		o := b.data.([]float32)
		parallel.For(len(s), gradGrain, func(_, lo, hi int) { copy(s[lo:hi], o[lo:hi]) })
	case []float64:
		o := b.data.([]float64)
		parallel.For(len(s), gradGrain, func(_, lo, hi int) { copy(s[lo:hi], o[lo:hi]) })
	}
}

// addParallel adds b's elements to a's in place: a[i] = a[i] + b[i].
func addParallel(a, b *Tensor) {
	switch s := a.data.(type) {
	case []float32:
		o := b.data.([]float32)
		parallel.For(len(s), gradGrain, func(_, lo, hi int) { addInto(s[lo:hi], o[lo:hi]) })
	case []float64:
		o := b.data.([]float64)
		parallel.For(len(s), gradGrain, func(_, lo, hi int) { addInto(s[lo:hi], o[lo:hi]) })
	}
}

func addInto[T Float](a, b []T) {
	b = b[:len(a)]
	for i := range a {
		a[i] += b[i]
	}
}
