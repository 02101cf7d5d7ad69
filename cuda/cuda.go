// Package cuda puts torchloss's tensors and losses on an NVIDIA GPU. Import
// it (a blank import is enough) to make tensor.ToCUDA work:
//
//	import _ "github.com/torchloss/torchloss/cuda"
//
//	x, err := x.ToCUDA()               // ErrDevice without a driver or GPU
//	loss, err := F.CrossEntropy(x, y)  // on the GPU, output on the GPU
//	err = loss.Backward()              // x.Grad() on the GPU
//
// The NVIDIA driver (libcuda.so.1) is loaded at run time with purego: no
// cgo and no CUDA toolkit at build time. The fused kernels are PTX embedded
// in the binary (kernels/*.ptx, generated from kernels/losses.cu).
//
// The package registers, per operation, a forward kernel and its backward
// kernel for tensor.CUDA (internal/devhook); package functional checks the
// arguments and records the autograd node. The operations without a kernel
// here, and the layouts a kernel declines, run on host copies (the
// fallback of package functional) with their results moved to the GPU.
//
// Memory and streams: all work is queued on one stream; device memory goes
// through the tensor package's caching allocator over stream-ordered
// allocations, so a training step neither allocates nor synchronizes; the
// value checks of the kernels are reported at the next read from the device
// (checks.go).
package cuda

import (
	"fmt"
	"math"
	"sync"
	"unsafe"

	drv "github.com/torchloss/torchloss/internal/cuda"
	"github.com/torchloss/torchloss/tensor"
)

func init() {
	tensor.RegisterBackend(tensor.CUDA, openBackend)
	registerFused()
}

// openBackend opens the driver (tensor.RegisterBackend's open function).
func openBackend() (tensor.Backend, error) {
	if err := drv.Init(); err != nil {
		return nil, err
	}
	return backend{}, nil
}

// Available reports whether a GPU can be used, and if not, why.
func Available() error {
	_, err := tensor.BackendOf(tensor.CUDA)
	return err
}

// Info describes the GPU: its name, compute capability and driver version.
func Info() (name string, major, minor, driver int, err error) { return drv.DeviceInfo() }

type backend struct{}

func (backend) Alloc(n int) (uintptr, error) { return drv.Alloc(n) }
func (backend) Free(p uintptr) error         { return drv.Free(p) }
func (backend) CopyToDevice(dst uintptr, src unsafe.Pointer, n int) error {
	return drv.CopyHtoD(dst, src, n)
}
func (backend) CopyToHost(dst unsafe.Pointer, src uintptr, n int) error {
	seq := beforeSync()
	if err := drv.CopyDtoH(dst, src, n); err != nil {
		return err
	}
	afterSync(seq)
	return nil
}

// Err reports a failed value check of a kernel (tensor.Checker).
func (backend) Err() error                               { return deferredErr() }
func (backend) CopyDevice(dst, src uintptr, n int) error { return drv.CopyDtoD(dst, src, n) }

// Fill writes v to n elements by memsets on the stream (tensor.Filler): no
// copy from the host for Backward's seed.
func (backend) Fill(dst uintptr, dt tensor.DType, v float64, n int) error {
	switch dt {
	case tensor.Float32:
		return drv.Memset32(dst, math.Float32bits(float32(v)), n)
	case tensor.Float64:
		return fill64(dst, v, n)
	case tensor.Int64:
		return drv.Memset64(dst, uint64(int64(v)), n)
	case tensor.Bool:
		b := uint8(0)
		if v != 0 {
			b = 1
		}
		return drv.Memset(dst, b, n)
	}
	return fmt.Errorf("cuda: fill of %v", dt)
}

var mod struct {
	once sync.Once
	m    *drv.Module
	err  error
}

// module loads the PTX for the GPU's compute capability (8.x: compute_80,
// 9.x and later: compute_90); an older GPU gets an error and the fallback.
func module() (*drv.Module, error) {
	mod.once.Do(func() {
		_, major, _, _, err := drv.DeviceInfo()
		if err != nil {
			mod.err = err
			return
		}
		ptx := ptxSM90
		switch {
		case major < 8:
			mod.err = errOldGPU(major)
			return
		case major < 9:
			ptx = ptxSM80
		}
		mod.m, mod.err = drv.LoadPTX(ptx)
	})
	return mod.m, mod.err
}
