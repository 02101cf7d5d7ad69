package tensor

import (
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

// The devices.
const (
	CPU  Device = iota // host memory (the default)
	CUDA               // the current NVIDIA GPU (device 0)
)

func (d Device) String() string {
	switch d {
	case CPU:
		return "cpu"
	case CUDA:
		return "cuda"
	}
	return fmt.Sprintf("Device(%d)", uint8(d))
}

// ParseDevice maps "cpu" and "cuda" (or "cuda:0") to a Device.
func ParseDevice(s string) (Device, error) {
	switch s {
	case "cpu":
		return CPU, nil
	case "cuda", "cuda:0":
		return CUDA, nil
	}
	return 0, torchloss.Errorf(torchloss.ErrDevice, "device", "", "unknown device %q (want cpu or cuda)", s)
}

// Backend is the memory interface of a device, implemented by the CUDA
// runtime (package github.com/torchloss/torchloss/cuda) and, in tests, by a
// host-backed fake. Addresses are device addresses (CUdeviceptr); a
// zero-byte allocation is never requested.
type Backend interface {
	Alloc(nbytes int) (uintptr, error)
	Free(ptr uintptr) error
	CopyToDevice(dst uintptr, src unsafe.Pointer, nbytes int) error
	CopyToHost(dst unsafe.Pointer, src uintptr, nbytes int) error
	CopyDevice(dst, src uintptr, nbytes int) error
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

// devBuf is the device storage of a tensor, shared by its views.
type devBuf struct {
	b      Backend
	ptr    uintptr
	nbytes int
	freed  *atomic.Bool // shared with the cleanup, which must not reference the devBuf
}

func newDevBuf(b Backend, nbytes int) (*devBuf, error) {
	buf := &devBuf{b: b, nbytes: nbytes, freed: new(atomic.Bool)}
	if nbytes == 0 {
		return buf, nil
	}
	p, err := b.Alloc(nbytes)
	if err != nil {
		return nil, torchloss.Errorf(torchloss.ErrDevice, "to", "", "allocating %d bytes: %v", nbytes, err)
	}
	buf.ptr = p
	type owned struct {
		b     Backend
		ptr   uintptr
		freed *atomic.Bool
	}
	runtime.AddCleanup(buf, func(o owned) {
		if o.freed.CompareAndSwap(false, true) {
			_ = o.b.Free(o.ptr)
		}
	}, owned{b, p, buf.freed})
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
	buf, err := newDevBuf(b, n*elemSize(dtype))
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

// Free releases a device tensor's memory now rather than when it is garbage
// collected. The tensor and its views (Reshape, Detach, a leaf's Grad shares
// nothing) must not be used afterwards: their device operations then return
// ErrDevice. Free on a CPU tensor, or twice, does nothing.
func (t *Tensor) Free() error {
	if t.device == CPU || t.dev == nil || t.dev.nbytes == 0 {
		return nil
	}
	if !t.dev.freed.CompareAndSwap(false, true) {
		return nil
	}
	if err := t.dev.b.Free(t.dev.ptr); err != nil {
		return torchloss.Errorf(torchloss.ErrDevice, "free", "", "%v", err)
	}
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
	return &Tensor{dtype: t.dtype, shape: append([]int{}, t.shape...), data: data}, nil
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
// to the same device. It is how the dtype conversions and gradient
// accumulation of device tensors run (they are small next to a loss).
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

// accumulateOnDevice returns a + b for gradients on a device (through host
// copies; a gradient is accumulated only when a leaf is reached twice).
func accumulateOnDevice(a, b *Tensor) (*Tensor, error) {
	if a.device != b.device {
		var err error
		if b, err = b.Detach().ToDevice(a.device); err != nil {
			return nil, err
		}
	}
	hb, err := download(b)
	if err != nil {
		return nil, err
	}
	return viaHost(a, func(ha *Tensor) (*Tensor, error) { return accumulate(ha, hb) })
}
