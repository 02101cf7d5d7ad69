package tensor

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/torchloss/torchloss"
)

// Device is where a tensor's elements live: the host (CPU) or an NVIDIA GPU
// (CUDA), PyTorch's torch.device("cpu") and torch.device("cuda").
//
// A CUDA tensor is created from a CPU tensor with ToCUDA and brought back
// with ToCPU, in the spirit of PyTorch's .to("cuda") and .cpu(). Its storage
// is device memory, released when the tensor (and every view of it made by
// Reshape or Detach) is garbage collected, or at once by Free.
//
// The accessors that return host storage (Data, Float32s, Float64s, Int64s,
// Bools, Values) return nil for a CUDA tensor, and Item returns an error:
// move it with ToCPU first. Shape, DType, Dim, Size and Numel work on both.
//
// The CUDA runtime is not linked into programs that do not ask for it: a
// program that uses CUDA tensors imports the package
// github.com/torchloss/torchloss/cuda (a blank import is enough), which loads
// the NVIDIA driver (libcuda.so.1) at run time, without cgo. Without that
// import, or on a machine without the driver or a GPU, ToCUDA returns an
// error of kind torchloss.ErrDevice and everything else works as before.
type Device uint8

// The devices every program knows. Other devices (a test's fake device, a
// second accelerator) are added by RegisterDevice.
const (
	CPU  Device = iota // host memory (the default)
	CUDA               // the current NVIDIA GPU (device 0)
)

var deviceNames = struct {
	mu    sync.RWMutex
	names []string
}{names: []string{"cpu", "cuda"}}

// RegisterDevice returns the device called name, adding it to the devices
// if it is new: the device registry is open, so that a package can bring a
// device (its Backend by RegisterBackend, its kernels by
// internal/devhook.Register) without any change to this package or to
// functional. At most 255 devices exist.
func RegisterDevice(name string) Device {
	deviceNames.mu.Lock()
	defer deviceNames.mu.Unlock()
	for i, n := range deviceNames.names {
		if n == name {
			return Device(i)
		}
	}
	if len(deviceNames.names) == 255 {
		panic("tensor: too many devices")
	}
	deviceNames.names = append(deviceNames.names, name)
	return Device(len(deviceNames.names) - 1)
}

func (d Device) String() string {
	deviceNames.mu.RLock()
	defer deviceNames.mu.RUnlock()
	if int(d) < len(deviceNames.names) {
		return deviceNames.names[d]
	}
	return fmt.Sprintf("Device(%d)", uint8(d))
}

// ParseDevice maps a device name ("cpu", "cuda" or "cuda:0", or the name
// of a registered device) to a Device.
func ParseDevice(s string) (Device, error) {
	if s == "cuda:0" {
		return CUDA, nil
	}
	deviceNames.mu.RLock()
	defer deviceNames.mu.RUnlock()
	for i, n := range deviceNames.names {
		if n == s {
			return Device(i), nil
		}
	}
	return 0, torchloss.Errorf(torchloss.ErrDevice, "device", "", "unknown device %q (want one of %v)", s, deviceNames.names)
}

// Backend is the driver interface of a device, implemented by the CUDA
// runtime (package github.com/torchloss/torchloss/cuda) and, in tests, by a
// host-backed fake. Addresses are device addresses (CUdeviceptr); a
// zero-byte allocation is never requested.
//
// Every operation is ordered on the device's one stream: Alloc and Free
// are stream-ordered (cuMemAllocAsync, cuMemFreeAsync), CopyToDevice and
// CopyDevice are queued, and CopyToHost returns when the copy is done, so
// it waits for the work queued before it. The tensor package never calls
// Alloc or Free in steady state: device memory goes through its caching
// allocator (see EmptyCache).
type Backend interface {
	Alloc(nbytes int) (uintptr, error)
	Free(ptr uintptr) error
	CopyToDevice(dst uintptr, src unsafe.Pointer, nbytes int) error
	CopyToHost(dst unsafe.Pointer, src uintptr, nbytes int) error
	CopyDevice(dst, src uintptr, nbytes int) error
}

// Filler is implemented by a Backend that fills device memory with one
// value without a copy from the host (a memset, a kernel): the seed of
// Backward and FullOn. n is the element count.
type Filler interface {
	Fill(dst uintptr, dt DType, v float64, n int) error
}

// Arith is implemented by a Backend that runs, on the device, the
// elementwise operations the tensor package itself needs: gradient
// accumulation and dtype conversion. n is the element count; the buffers
// do not overlap, except that dst may be a. A Backend without Arith runs
// them through host copies.
type Arith interface {
	Add(dst, a, b uintptr, dt DType, n int) error // dst = a + b, in dt
	// Convert returns an error wrapping errors.ErrUnsupported for a pair
	// of dtypes it has no kernel for: that conversion goes through the
	// host.
	Convert(dst uintptr, to DType, src uintptr, from DType, n int) error
}

// Checker is implemented by a Backend whose kernels check values on the
// device (binary_cross_entropy's range, ctc_loss's labels): a failed check
// is kept by the device and Err returns it, once, at the next point that
// reads from the device (a copy to the host, Item) or ends a Backward, as
// the typed error (ErrValue) the host implementation returns. Err must not
// wait for the device: it reports the failures of the work that has
// completed (all of it after a copy to the host).
type Checker interface {
	Err() error
}

var backends struct {
	mu    sync.Mutex
	open  map[Device]func() (Backend, error)
	ready map[Device]Backend
	err   map[Device]error
}

// RegisterBackend makes open the way to reach device d: it is called once,
// on the first use of d, and its result (a Backend or an error, such as "no
// NVIDIA driver") is kept. The cuda package registers CUDA from its init
// function; tests may register a fake. Registering again replaces the
// backend (tests only: tensors on the old backend must not be used after).
func RegisterBackend(d Device, open func() (Backend, error)) {
	backends.mu.Lock()
	defer backends.mu.Unlock()
	if backends.open == nil {
		backends.open = map[Device]func() (Backend, error){}
		backends.ready = map[Device]Backend{}
		backends.err = map[Device]error{}
	}
	backends.open[d] = open
	delete(backends.ready, d)
	delete(backends.err, d)
}

// BackendOf returns the backend of device d, opening it on first use; the
// error (kind torchloss.ErrDevice) says why the device cannot be used.
func BackendOf(d Device) (Backend, error) {
	if d == CPU {
		return nil, torchloss.Errorf(torchloss.ErrDevice, "device", "", "the CPU has no device backend")
	}
	backends.mu.Lock()
	defer backends.mu.Unlock()
	if b := backends.ready[d]; b != nil {
		return b, nil
	}
	if err := backends.err[d]; err != nil {
		return nil, err
	}
	open := backends.open[d]
	if open == nil {
		return nil, torchloss.Errorf(torchloss.ErrDevice, "to", "", "no %v support in this program: import _ \"github.com/torchloss/torchloss/cuda\"", d)
	}
	b, err := open()
	if err != nil {
		err = torchloss.Errorf(torchloss.ErrDevice, "to", "", "%v is not available: %v", d, err)
		backends.err[d] = err
		return nil, err
	}
	backends.ready[d] = b
	return b, nil
}

// Available reports whether device d can be used (always true for CPU).
func Available(d Device) bool {
	if d == CPU {
		return true
	}
	_, err := BackendOf(d)
	return err == nil
}

// devBuf is the device storage of a tensor, shared by its views. Its
// block comes from the device's caching allocator and goes back to it when
// the buffer is freed (Free) or garbage collected.
type devBuf struct {
	b      Backend
	c      *devCache
	ptr    uintptr
	nbytes int
	freed  *atomic.Bool // shared with the cleanup, which must not reference the devBuf
	// fill is the value of every element of a buffer that Full wrote and
	// nothing writes afterwards (KnownValue), or nil.
	fill *float64
}

func newDevBuf(d Device, b Backend, nbytes int) (*devBuf, error) {
	buf := &devBuf{b: b, nbytes: nbytes, freed: new(atomic.Bool)}
	if nbytes == 0 {
		return buf, nil
	}
	c := cacheOf(d, b)
	p, err := c.alloc(nbytes)
	if err != nil {
		return nil, torchloss.Errorf(torchloss.ErrDevice, "to", "", "allocating %d bytes: %v", nbytes, err)
	}
	buf.ptr, buf.c = p, c
	type owned struct {
		c     *devCache
		ptr   uintptr
		n     int
		freed *atomic.Bool
	}
	runtime.AddCleanup(buf, func(o owned) {
		if o.freed.CompareAndSwap(false, true) {
			o.c.release(o.ptr, o.n)
		}
	}, owned{c, p, nbytes, buf.freed})
	return buf, nil
}

func elemSize(dt DType) int {
	switch dt {
	case Float32:
		return 4
	case Float64, Int64:
		return 8
	case Bool:
		return 1
	}
	return 0
}

// Device returns where t's elements live.
func (t *Tensor) Device() Device { return t.device }

// IsCUDA reports whether t lives on the GPU.
func (t *Tensor) IsCUDA() bool { return t.device == CUDA }

// Empty returns an uninitialized tensor of the given dtype and shape on
// device d (zeros on the CPU). It is for kernel authors: every element must
// be written before it is read.
func Empty(d Device, dtype DType, shape ...int) (*Tensor, error) {
	if d == CPU {
		return Zeros(dtype, shape...)
	}
	n, err := Numel(shape)
	if err != nil {
		return nil, err
	}
	if elemSize(dtype) == 0 {
		return nil, torchloss.Errorf(torchloss.ErrDType, "tensor", "dtype", "unsupported dtype %v", dtype)
	}
	if n > (1<<62)/8 {
		return nil, torchloss.Errorf(torchloss.ErrLimit, "tensor", "shape", "%v elements do not fit in device memory", n)
	}
	b, err := BackendOf(d)
	if err != nil {
		return nil, err
	}
	buf, err := newDevBuf(d, b, n*elemSize(dtype))
	if err != nil {
		return nil, err
	}
	return &Tensor{dtype: dtype, shape: append([]int{}, shape...), device: d, dev: buf}, nil
}

// DevicePtr returns the device address of a device tensor's first element
// (0 for an empty tensor), for kernel launches. The tensor must be kept
// alive (runtime.KeepAlive) until the kernel using the address is done.
func (t *Tensor) DevicePtr() (uintptr, error) {
	if t.device == CPU {
		return 0, torchloss.Errorf(torchloss.ErrDevice, "data_ptr", "", "the tensor is on the CPU")
	}
	if t.dev.freed.Load() {
		return 0, torchloss.Errorf(torchloss.ErrDevice, "data_ptr", "", "the tensor's device memory was freed")
	}
	return t.dev.ptr, nil
}

// Free releases t's storage now rather than when it is garbage collected,
// like dropping the last reference to a tensor in PyTorch, whose caching
// allocators then reuse the memory.
//
// On a device the memory goes back to the device's caching allocator (it
// is reused by later allocations; work already queued on it completes
// first, as all work of a device is on one stream); the tensor and its
// views (Reshape, Detach; a leaf's Grad shares nothing) must not be used
// afterwards: their device operations then return ErrDevice.
//
// On the CPU, the storage of an operation's output that the operation
// took from the host buffer cache (Sigmoid's, see Uninit) goes back to
// that cache, and the next such output of the same dtype and size reuses
// it without allocating or zeroing. t, and every view of such an output,
// is then freed (Freed): a loss, an operation, a view, To, CloneErr, Item
// or Backward through a graph that saved it returns an ErrValue error;
// Data, Float32s (...), Values return nil, Clone a freed tensor, String
// "tensor(<freed>)". Slices that Data returned before must not be used
// after Free. Storage the caller supplied (New, FromData) is never reused:
// Free only marks t freed. Freeing a tensor that a graph not yet
// backpropagated saved (an input of a loss, say, or a leaf that requires
// a gradient) is allowed; Backward through that graph then fails with
// ErrValue instead of reading reused memory. The allocation-free training
// loop frees the intermediate outputs after Backward, as PyTorch drops
// them:
//
//	x.ZeroGrad()
//	p, _ := functional.Sigmoid(x)
//	loss, _ := functional.BinaryCrossEntropy(p, y)
//	_ = loss.Backward()
//	_ = p.Free() // the next step's Sigmoid reuses p's storage
//
// Free twice does nothing; it always returns nil on the CPU.
func (t *Tensor) Free() error {
	if t.device == CPU {
		t.freeHost()
		return nil
	}
	if t.dev == nil || t.dev.nbytes == 0 {
		return nil
	}
	if !t.dev.freed.CompareAndSwap(false, true) {
		return nil
	}
	t.dev.c.release(t.dev.ptr, t.dev.nbytes)
	return nil
}

// ToDevice returns t on device d: t itself if it is there already, else a
// copy. Like PyTorch's .to(device), the copy is differentiable: if t
// requires a gradient, the result records a node ("ToCopyBackward0") that
// moves the gradient back to t's device.
func (t *Tensor) ToDevice(d Device) (*Tensor, error) {
	if d == t.device {
		return t, nil
	}
	var out *Tensor
	var err error
	switch {
	case t.device == CPU && t.Freed():
		return nil, errFreed("to", "")
	case t.device == CPU:
		out, err = upload(t, d)
	case d == CPU:
		out, err = download(t)
	default:
		var h *Tensor
		if h, err = download(t); err == nil {
			out, err = upload(h, d)
		}
	}
	if err != nil {
		return nil, err
	}
	from := t.device
	return recordView(out, "ToCopyBackward0", t, func(g *Tensor) (*Tensor, error) { return g.ToDevice(from) }), nil
}

// ToCUDA returns t on the GPU (t itself if it is there already), like
// PyTorch's t.cuda(); see ToDevice. The error is of kind torchloss.ErrDevice
// when no GPU can be used (see Device).
func (t *Tensor) ToCUDA() (*Tensor, error) { return t.ToDevice(CUDA) }

// ToCPU returns t on the host (t itself if it is there already), like
// PyTorch's t.cpu(); see ToDevice.
func (t *Tensor) ToCPU() (*Tensor, error) { return t.ToDevice(CPU) }

// hostBytes returns the bytes of a host storage slice.
func hostBytes(data any) (unsafe.Pointer, int) {
	switch s := data.(type) {
	case []float32:
		if len(s) > 0 {
			return unsafe.Pointer(&s[0]), 4 * len(s)
		}
	case []float64:
		if len(s) > 0 {
			return unsafe.Pointer(&s[0]), 8 * len(s)
		}
	case []int64:
		if len(s) > 0 {
			return unsafe.Pointer(&s[0]), 8 * len(s)
		}
	case []bool:
		if len(s) > 0 {
			return unsafe.Pointer(&s[0]), len(s)
		}
	}
	return nil, 0
}

func upload(t *Tensor, d Device) (*Tensor, error) {
	out, err := Empty(d, t.dtype, t.shape...)
	if err != nil {
		return nil, err
	}
	p, n := hostBytes(t.data)
	if n > 0 {
		if err := out.dev.b.CopyToDevice(out.dev.ptr, p, n); err != nil {
			return nil, torchloss.Errorf(torchloss.ErrDevice, "to", "", "copy to %v: %v", d, err)
		}
	}
	runtime.KeepAlive(t)
	return out, nil
}

func download(t *Tensor) (*Tensor, error) {
	if t.dev.freed.Load() {
		return nil, torchloss.Errorf(torchloss.ErrDevice, "to", "", "the tensor's device memory was freed")
	}
	n, err := Numel(t.shape)
	if err != nil {
		return nil, err
	}
	data := makeStorage(t.dtype, n)
	p, nb := hostBytes(data)
	if nb > 0 {
		if err := t.dev.b.CopyToHost(p, t.dev.ptr, nb); err != nil {
			return nil, torchloss.Errorf(torchloss.ErrDevice, "to", "", "copy from %v: %v", t.device, err)
		}
	}
	runtime.KeepAlive(t)
	if err := deviceErr(t.dev.b); err != nil {
		return nil, err
	}
	return &Tensor{dtype: t.dtype, shape: append([]int{}, t.shape...), data: data}, nil
}

// deviceErr returns the failed value check that device backend b has seen
// (see Checker), or nil.
func deviceErr(b Backend) error {
	if c, ok := b.(Checker); ok {
		return c.Err()
	}
	return nil
}

// FullOn is Full on device d: on a device whose Backend is a Filler, the
// elements are written by the device (no copy from the host), and
// KnownValue reports v.
func FullOn(d Device, v float64, dtype DType, shape ...int) (*Tensor, error) {
	if d == CPU {
		return Full(v, dtype, shape...)
	}
	t, err := Empty(d, dtype, shape...)
	if err != nil {
		return nil, err
	}
	fl, ok := t.dev.b.(Filler)
	if !ok {
		h, err := Full(v, dtype, shape...)
		if err != nil {
			return nil, err
		}
		return upload(h, d)
	}
	if t.dev.nbytes > 0 {
		if err := fl.Fill(t.dev.ptr, dtype, v, t.Numel()); err != nil {
			return nil, torchloss.Errorf(torchloss.ErrDevice, "full", "", "%v", err)
		}
	}
	t.dev.fill = &v
	return t, nil
}

// KnownValue reports the value of every element of a device tensor made
// by FullOn (Backward's seed gradient, say), so that a kernel can use it
// without reading it from the device; ok is false for any other tensor.
func KnownValue(t *Tensor) (v float64, ok bool) {
	if t.device == CPU || t.dev == nil || t.dev.fill == nil {
		return 0, false
	}
	return *t.dev.fill, true
}

// deviceClone copies a device tensor's storage on the device.
func deviceClone(t *Tensor) (*Tensor, error) {
	if t.dev.freed.Load() {
		return nil, torchloss.Errorf(torchloss.ErrDevice, "clone", "", "the tensor's device memory was freed")
	}
	out, err := Empty(t.device, t.dtype, t.shape...)
	if err != nil {
		return nil, err
	}
	if out.dev.nbytes > 0 {
		if err := out.dev.b.CopyDevice(out.dev.ptr, t.dev.ptr, out.dev.nbytes); err != nil {
			return nil, torchloss.Errorf(torchloss.ErrDevice, "clone", "", "%v", err)
		}
	}
	runtime.KeepAlive(t)
	return out, nil
}

// viaHost applies a host operation to a device tensor: download, f, upload
// to the same device. It is how a device without Arith converts dtypes and
// accumulates gradients.
func viaHost(t *Tensor, f func(h *Tensor) (*Tensor, error)) (*Tensor, error) {
	h, err := download(t)
	if err != nil {
		return nil, err
	}
	r, err := f(h)
	if err != nil {
		return nil, err
	}
	return upload(r, t.device)
}

// convertOnDevice returns t converted to dtype on its device.
func convertOnDevice(t *Tensor, dtype DType) (*Tensor, error) {
	ar, ok := t.dev.b.(Arith)
	if !ok || t.dev.freed.Load() {
		return viaHost(t, func(h *Tensor) (*Tensor, error) { return h.To(dtype) })
	}
	out, err := Empty(t.device, dtype, t.shape...)
	if err != nil {
		return nil, err
	}
	if out.dev.nbytes > 0 {
		if err := ar.Convert(out.dev.ptr, dtype, t.dev.ptr, t.dtype, t.Numel()); errors.Is(err, errors.ErrUnsupported) {
			_ = out.Free()
			return viaHost(t, func(h *Tensor) (*Tensor, error) { return h.To(dtype) })
		} else if err != nil {
			return nil, torchloss.Errorf(torchloss.ErrDevice, "to", "", "%v", err)
		}
	}
	if t.dev.fill != nil {
		v := *t.dev.fill
		if dtype == Float32 {
			v = float64(float32(v))
		}
		out.dev.fill = &v
	}
	runtime.KeepAlive(t)
	return out, nil
}

// SameDevice returns the device of the non-nil tensors, or an ErrDevice
// error naming op when they are on different devices (PyTorch: "Expected all
// tensors to be on the same device").
func SameDevice(op string, ts ...*Tensor) (Device, error) {
	d, seen := CPU, false
	for _, t := range ts {
		if t == nil {
			continue
		}
		if !seen {
			d, seen = t.device, true
			continue
		}
		if t.device != d {
			return 0, torchloss.Errorf(torchloss.ErrDevice, op, "", "Expected all tensors to be on the same device, but found at least two devices, %v and %v!", d, t.device)
		}
	}
	return d, nil
}

// errHostOnly is the error of a host-only operation given a device tensor.
func errHostOnly(op string, t *Tensor) error {
	return torchloss.Errorf(torchloss.ErrDevice, op, "", "not implemented for a tensor on %v: move it with ToCPU first", t.device)
}

// accumulateOnDevice returns a + b for gradients on a device (b of a's
// dtype and shape), by the device's Add when it has Arith.
func accumulateOnDevice(a, b *Tensor) (*Tensor, error) {
	if a.device != b.device {
		var err error
		if b, err = b.Detach().ToDevice(a.device); err != nil {
			return nil, err
		}
	}
	ar, ok := a.dev.b.(Arith)
	if !ok || a.dev.freed.Load() || b.dev.freed.Load() {
		hb, err := download(b)
		if err != nil {
			return nil, err
		}
		return viaHost(a, func(ha *Tensor) (*Tensor, error) { return accumulate(ha, hb) })
	}
	out, err := Empty(a.device, a.dtype, a.shape...)
	if err != nil {
		return nil, err
	}
	if out.dev.nbytes > 0 {
		if err := ar.Add(out.dev.ptr, a.dev.ptr, b.dev.ptr, a.dtype, a.Numel()); err != nil {
			return nil, torchloss.Errorf(torchloss.ErrDevice, "backward", "", "%v", err)
		}
	}
	runtime.KeepAlive(a)
	runtime.KeepAlive(b)
	return out, nil
}

// deviceInPlace reports whether t's device fills and adds in place, on
// the device (its Backend is a Filler and an Arith), so that a gradient
// buffer there can be kept across steps.
func deviceInPlace(t *Tensor) bool {
	if t.device == CPU || t.dev == nil || t.dev.freed.Load() {
		return false
	}
	_, fills := t.dev.b.(Filler)
	_, adds := t.dev.b.(Arith)
	return fills && adds
}

// fillInPlace writes v into every element of device tensor t (Filler).
func fillInPlace(t *Tensor, v float64) error {
	fl, ok := t.dev.b.(Filler)
	if !ok || t.dev.freed.Load() {
		return torchloss.Errorf(torchloss.ErrDevice, "zero_grad", "", "%v cannot fill in place", t.device)
	}
	t.dev.fill = nil
	if t.dev.nbytes == 0 {
		return nil
	}
	if err := fl.Fill(t.dev.ptr, t.dtype, v, t.Numel()); err != nil {
		return torchloss.Errorf(torchloss.ErrDevice, "zero_grad", "", "%v", err)
	}
	return nil
}

// storeInPlace writes g into device tensor dst of its dtype, shape and
// device: dst = dst + g (Arith's Add, dst aliasing a) when add, else a
// device copy; no host copy.
func storeInPlace(dst, g *Tensor, add bool) error {
	if g.dev.freed.Load() || dst.dev.freed.Load() {
		return torchloss.Errorf(torchloss.ErrDevice, "backward", "", "the tensor's device memory was freed")
	}
	dst.dev.fill = nil
	if dst.dev.nbytes == 0 {
		return nil
	}
	var err error
	if ar, ok := dst.dev.b.(Arith); ok && add {
		err = ar.Add(dst.dev.ptr, dst.dev.ptr, g.dev.ptr, dst.dtype, dst.Numel())
	} else {
		err = dst.dev.b.CopyDevice(dst.dev.ptr, g.dev.ptr, dst.dev.nbytes)
	}
	runtime.KeepAlive(g)
	if err != nil {
		return torchloss.Errorf(torchloss.ErrDevice, "backward", "", "%v", err)
	}
	return nil
}
