// Package fakedevice is a host-backed device for tests: "device memory" is
// Go byte slices behind made-up addresses, registered as its own device
// ("fake", see Register), so that the device plumbing (moving tensors, the
// kernel path of functional, autograd across devices, the caching
// allocator) is tested on machines without a GPU. Its kernels compute by
// the host implementation (devhook.Call.Reference) on views of its memory.
// It counts every driver operation (Stats): the counting test of a
// training step runs on it.
package fakedevice

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"sync"
	"unsafe"

	"github.com/torchloss/torchloss"
	"github.com/torchloss/torchloss/internal/devhook"
	"github.com/torchloss/torchloss/internal/kernels"
	"github.com/torchloss/torchloss/tensor"
)

// Stats counts the driver operations of a fake device.
type Stats struct {
	Allocs, Frees int // Backend.Alloc and Free calls
	HtoD, DtoH    int // copies between host and device
	DtoD          int // copies on the device
	Kernels       int // kernels run (forward and backward, Arith included)
	Deferred      int // value checks that failed and were deferred (DeferErrors)
	Folded        int // backward kernels run through a sigmoid's (devhook.Call.Through)
}

// Backend is the fake device memory.
type Backend struct {
	mu    sync.Mutex
	next  uintptr
	mem   map[uintptr][]byte
	bases []uintptr // sorted keys of mem
	stats Stats
	// DeferErrors makes the kernels keep a failed value check (an ErrValue
	// of the host implementation) as a real device does: the kernel
	// returns a NaN output and the error comes from Err at the next
	// synchronizing point.
	DeferErrors bool
	pending     error
}

// New returns an empty fake device.
func New() *Backend { return &Backend{next: 0x1000, mem: map[uintptr][]byte{}} }

// Device is the fake device (registered on first use).
var Device = tensor.RegisterDevice("fake")

var kernelsOnce sync.Once

// Register makes b the backend of the fake device and registers its
// kernels, and returns the device.
func Register(b *Backend) tensor.Device {
	tensor.RegisterBackend(Device, func() (tensor.Backend, error) { return b, nil })
	kernelsOnce.Do(func() { devhook.RegisterDefault(Device, forward) })
	return Device
}

// Live returns the number of allocations not yet freed.
func (b *Backend) Live() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.mem)
}

// Stats returns the counts so far.
func (b *Backend) Stats() Stats {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.stats
}

func (b *Backend) count(f func(s *Stats)) {
	b.mu.Lock()
	f(&b.stats)
	b.mu.Unlock()
}

func (b *Backend) find(p uintptr, n int) ([]byte, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	i := sort.Search(len(b.bases), func(i int) bool { return b.bases[i] > p }) - 1
	if i >= 0 {
		base := b.bases[i]
		m := b.mem[base]
		if p+uintptr(n) <= base+uintptr(len(m)) {
			return m[p-base : int(p-base)+n], nil
		}
	}
	return nil, fmt.Errorf("fakedevice: invalid address %#x (+%d)", p, n)
}

func (b *Backend) Alloc(n int) (uintptr, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	p := b.next
	b.next += uintptr(n+255) &^ 255
	b.mem[p] = make([]byte, n)
	b.bases = append(b.bases, p) // increasing
	b.stats.Allocs++
	return p, nil
}

func (b *Backend) Free(p uintptr) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.mem[p]; !ok {
		return fmt.Errorf("fakedevice: free of unknown address %#x", p)
	}
	delete(b.mem, p)
	i := sort.Search(len(b.bases), func(i int) bool { return b.bases[i] >= p })
	b.bases = append(b.bases[:i], b.bases[i+1:]...)
	b.stats.Frees++
	return nil
}

func (b *Backend) CopyToDevice(dst uintptr, src unsafe.Pointer, n int) error {
	m, err := b.find(dst, n)
	if err != nil {
		return err
	}
	copy(m, unsafe.Slice((*byte)(src), n))
	b.count(func(s *Stats) { s.HtoD++ })
	return nil
}

func (b *Backend) CopyToHost(dst unsafe.Pointer, src uintptr, n int) error {
	m, err := b.find(src, n)
	if err != nil {
		return err
	}
	copy(unsafe.Slice((*byte)(dst), n), m)
	b.count(func(s *Stats) { s.DtoH++ })
	return nil
}

func (b *Backend) CopyDevice(dst, src uintptr, n int) error {
	s, err := b.find(src, n)
	if err != nil {
		return err
	}
	d, err := b.find(dst, n)
	if err != nil {
		return err
	}
	copy(d, s)
	b.count(func(s *Stats) { s.DtoD++ })
	return nil
}

// Err returns the failed value check kept under DeferErrors (tensor.Checker).
func (b *Backend) Err() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	err := b.pending
	b.pending = nil
	return err
}

// view returns a host tensor over the device memory of t (no copy), or
// nil for nil.
func (b *Backend) view(t *tensor.Tensor) (*tensor.Tensor, error) {
	if t == nil {
		return nil, nil
	}
	if t.Device() == tensor.CPU {
		return t.Detach(), nil
	}
	n := t.Numel()
	if n == 0 {
		z, err := tensor.Zeros(t.DType(), t.Shape()...)
		return z, err
	}
	p, err := t.DevicePtr()
	if err != nil {
		return nil, err
	}
	m, err := b.raw(p, t.DType(), n)
	if err != nil {
		return nil, err
	}
	return tensorOf(m, t.Shape()), nil
}

// store returns a new device tensor holding the host tensor h's values
// (written by the "device": no copy is counted).
func (b *Backend) store(dev tensor.Device, h *tensor.Tensor) (*tensor.Tensor, error) {
	out, err := tensor.Empty(dev, h.DType(), h.Shape()...)
	if err != nil {
		return nil, err
	}
	v, err := b.view(out)
	if err != nil {
		return nil, err
	}
	switch h.DType() {
	case tensor.Float32:
		copy(v.Float32s(), h.Float32s())
	case tensor.Float64:
		copy(v.Float64s(), h.Float64s())
	case tensor.Int64:
		copy(v.Int64s(), h.Int64s())
	case tensor.Bool:
		copy(v.Bools(), h.Bools())
	}
	return out, nil
}

// forward is the fake device's kernel of every operation: the call's
// Reference on views of the device memory, with the arguments that need a
// gradient as host leaves, so that the backward kernel is the host graph's
// backward pass.
func forward(c *devhook.Call) (*tensor.Tensor, devhook.Backward, bool, error) {
	tb, err := tensor.BackendOf(c.Device)
	if err != nil {
		return nil, nil, false, err
	}
	b := tb.(*Backend)
	b.count(func(s *Stats) { s.Kernels++ })
	args := make([]*tensor.Tensor, len(c.Args))
	for i, a := range c.Args {
		if args[i], err = b.view(a); err != nil {
			return nil, nil, true, err
		}
		if i < len(c.Needs) && c.Needs[i] {
			if err := args[i].SetRequiresGrad(true); err != nil {
				return nil, nil, true, err
			}
		}
	}
	w, err := b.view(c.Options.Weight)
	if err != nil {
		return nil, nil, true, err
	}
	pw, err := b.view(c.Options.PosWeight)
	if err != nil {
		return nil, nil, true, err
	}
	hout, err := c.Reference(args, w, pw)
	if err != nil {
		if b.DeferErrors && errors.Is(err, torchloss.ErrValue) {
			b.mu.Lock()
			if b.pending == nil {
				b.pending = err
			}
			b.stats.Deferred++
			b.mu.Unlock()
			return nanOutput(c)
		}
		return nil, nil, true, err
	}
	out, err := b.store(c.Device, hout.Detach())
	if err != nil {
		return nil, nil, true, err
	}
	if !hout.RequiresGrad() {
		return out, nil, true, nil
	}
	bwd := func(g *tensor.Tensor) ([]*tensor.Tensor, error) {
		b.count(func(s *Stats) { s.Kernels++ })
		hg, err := b.view(g)
		if err != nil {
			return nil, err
		}
		for _, l := range args {
			if l != nil && l.RequiresGrad() {
				l.ZeroGrad()
			}
		}
		if err := hout.BackwardWith(hg); err != nil {
			return nil, err
		}
		grads := make([]*tensor.Tensor, len(c.Needs))
		for i := range c.Needs {
			if !c.Needs[i] || args[i].Grad() == nil {
				continue
			}
			if grads[i], err = b.store(c.Device, args[i].Grad()); err != nil {
				return nil, err
			}
		}
		return grads, nil
	}
	if c.Fold == tensor.UnarySigmoid {
		c.Through = func(g *tensor.Tensor) ([]*tensor.Tensor, *tensor.Tensor, bool, error) {
			return b.through(c, bwd, g)
		}
	}
	return out, bwd, true, nil
}

// through is the fake device's backward folded through the sigmoid that
// made Args[0] (devhook.Call.Through): the backward kernel, then, as one
// kernel with it, the sigmoid's backward g·(1 − σ)·σ on Args[0]'s
// gradient, which is never stored on the device.
func (b *Backend) through(c *devhook.Call, bwd devhook.Backward, g *tensor.Tensor) ([]*tensor.Tensor, *tensor.Tensor, bool, error) {
	grads, err := bwd(g)
	if err != nil || grads[0] == nil {
		return nil, nil, false, err
	}
	gin, err := b.view(grads[0])
	if err != nil {
		return nil, nil, false, err
	}
	sig, err := b.view(c.Args[0])
	if err != nil {
		return nil, nil, false, err
	}
	var h *tensor.Tensor
	switch gin.DType() {
	case tensor.Float32:
		gz := make([]float32, gin.Numel())
		kernels.SigmoidBackward(gin.Float32s(), sig.Float32s(), gz)
		h = tensor.MustFromData(gz, gin.Shape())
	case tensor.Float64:
		gz := make([]float64, gin.Numel())
		kernels.SigmoidBackward(gin.Float64s(), sig.Float64s(), gz)
		h = tensor.MustFromData(gz, gin.Shape())
	default:
		return nil, nil, false, nil
	}
	_ = grads[0].Free()
	th, err := b.store(c.Device, h)
	if err != nil {
		return nil, nil, false, err
	}
	grads[0] = nil
	b.count(func(s *Stats) { s.Folded++ })
	return grads, th, true, nil
}

// nanOutput is the output of a kernel whose value check failed (the error
// is pending): NaN of the first argument's dtype (0-d, or the first
// argument's shape for reduction none), and a backward kernel giving NaN
// gradients; the caller learns of the error at the next synchronizing
// point.
func nanOutput(c *devhook.Call) (*tensor.Tensor, devhook.Backward, bool, error) {
	dt := tensor.Float32
	if len(c.Args) > 0 && c.Args[0] != nil && c.Args[0].DType().IsFloat() {
		dt = c.Args[0].DType()
	}
	var shape []int
	if c.Options.Reduction == "none" && len(c.Args) > 0 && c.Args[0] != nil {
		shape = c.Args[0].Shape()
	}
	nan, err := tensor.FullOn(c.Device, math.NaN(), dt, shape...)
	if err != nil {
		return nil, nil, true, err
	}
	bwd := func(*tensor.Tensor) ([]*tensor.Tensor, error) {
		grads := make([]*tensor.Tensor, len(c.Needs))
		for i, need := range c.Needs {
			if need {
				var err error
				if grads[i], err = tensor.FullOn(c.Device, math.NaN(), c.Args[i].DType(), c.Args[i].Shape()...); err != nil {
					return nil, err
				}
			}
		}
		return grads, nil
	}
	for _, need := range c.Needs {
		if need {
			return nan, bwd, true, nil
		}
	}
	return nan, nil, true, nil
}

// Fill, Add and Convert are the device's elementwise operations
// (tensor.Filler, tensor.Arith), computed on views of its memory.
func (b *Backend) Fill(dst uintptr, dt tensor.DType, v float64, n int) error {
	d, err := b.raw(dst, dt, n)
	if err != nil {
		return err
	}
	b.count(func(s *Stats) { s.Kernels++ })
	switch s := d.(type) {
	case []float32:
		for i := range s {
			s[i] = float32(v)
		}
	case []float64:
		for i := range s {
			s[i] = v
		}
	case []int64:
		for i := range s {
			s[i] = int64(v)
		}
	case []bool:
		for i := range s {
			s[i] = v != 0
		}
	}
	return nil
}

func (b *Backend) Add(dst, a, c uintptr, dt tensor.DType, n int) error {
	d, err := b.raw(dst, dt, n)
	if err != nil {
		return err
	}
	x, err := b.raw(a, dt, n)
	if err != nil {
		return err
	}
	y, err := b.raw(c, dt, n)
	if err != nil {
		return err
	}
	b.count(func(s *Stats) { s.Kernels++ })
	switch s := d.(type) {
	case []float32:
		xs, ys := x.([]float32), y.([]float32)
		for i := range s {
			s[i] = xs[i] + ys[i]
		}
	case []float64:
		xs, ys := x.([]float64), y.([]float64)
		for i := range s {
			s[i] = xs[i] + ys[i]
		}
	default:
		return fmt.Errorf("fakedevice: add of %v", dt)
	}
	return nil
}

func (b *Backend) Convert(dst uintptr, to tensor.DType, src uintptr, from tensor.DType, n int) error {
	s, err := b.raw(src, from, n)
	if err != nil {
		return err
	}
	h, err := tensorOf(s, []int{n}).To(to)
	if err != nil {
		return err
	}
	d, err := b.raw(dst, to, n)
	if err != nil {
		return err
	}
	b.count(func(s *Stats) { s.Kernels++ })
	switch ds := d.(type) {
	case []float32:
		copy(ds, h.Float32s())
	case []float64:
		copy(ds, h.Float64s())
	case []int64:
		copy(ds, h.Int64s())
	case []bool:
		copy(ds, h.Bools())
	}
	return nil
}

// tensorOf is a host tensor of shape over the slice s (from raw).
func tensorOf(s any, shape []int) *tensor.Tensor {
	switch v := s.(type) {
	case []float32:
		return tensor.MustFromData(v, shape)
	case []float64:
		return tensor.MustFromData(v, shape)
	case []int64:
		return tensor.MustFromData(v, shape)
	}
	return tensor.MustFromData(s.([]bool), shape)
}

// raw returns n elements of dtype dt at p as a slice over the memory.
func (b *Backend) raw(p uintptr, dt tensor.DType, n int) (any, error) {
	size := map[tensor.DType]int{tensor.Float32: 4, tensor.Float64: 8, tensor.Int64: 8, tensor.Bool: 1}[dt]
	m, err := b.find(p, size*n)
	if err != nil || n == 0 {
		return nil, err
	}
	q := unsafe.Pointer(&m[0])
	switch dt {
	case tensor.Float32:
		return unsafe.Slice((*float32)(q), n), nil
	case tensor.Float64:
		return unsafe.Slice((*float64)(q), n), nil
	case tensor.Int64:
		return unsafe.Slice((*int64)(q), n), nil
	}
	return unsafe.Slice((*bool)(q), n), nil
}
