// Package cuda is a minimal binding of the NVIDIA CUDA driver API, loaded at
// run time from libcuda.so.1 with purego: no cgo, no CUDA toolkit at build
// time. It holds what torchloss needs: the primary context of device 0,
// device memory, copies, PTX modules and kernel launches.
//
// All work goes to one non-blocking stream of the context (Stream), in
// order: allocations and frees are stream-ordered (cuMemAllocAsync and
// cuMemFreeAsync on the device's default memory pool, where the driver has
// them), copies and memsets are the Async forms on that stream, kernels
// are launched on it. Nothing synchronizes but a copy to the host (which
// returns when its data is there) and Synchronize.
//
// Every function is safe for concurrent use; calls bind the primary context
// to the calling OS thread first (cuCtxSetCurrent is per thread).
package cuda

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/ebitengine/purego"
)

// Result is a CUresult.
type Result int32

// Error is a failed driver call.
type Error struct {
	Call string
	Code Result
	Msg  string
}

func (e *Error) Error() string {
	return fmt.Sprintf("cuda: %s: %s (CUresult %d)", e.Call, e.Msg, e.Code)
}

var drv struct {
	cuInit                   func(flags uint32) Result
	cuDeviceGetCount         func(n *int32) Result
	cuDeviceGet              func(d *int32, ordinal int32) Result
	cuDeviceGetName          func(name *byte, n int32, d int32) Result
	cuDeviceGetAttribute     func(v *int32, attr int32, d int32) Result
	cuDevicePrimaryCtxRetain func(ctx *uintptr, d int32) Result
	cuCtxSetCurrent          func(ctx uintptr) Result
	cuMemAlloc               func(p *uintptr, n uintptr) Result
	cuMemFree                func(p uintptr) Result
	cuMemAllocAsync          func(p *uintptr, n uintptr, stream uintptr) Result // nil before CUDA 11.2
	cuMemFreeAsync           func(p uintptr, stream uintptr) Result
	cuStreamCreate           func(s *uintptr, flags uint32) Result
	cuMemHostAlloc           func(p *unsafe.Pointer, n uintptr, flags uint32) Result
	cuMemHostGetDevicePtr    func(d *uintptr, p unsafe.Pointer, flags uint32) Result
	cuStreamSynchronize      func(s uintptr) Result
	cuMemcpyHtoDAsync        func(dst uintptr, src unsafe.Pointer, n uintptr, stream uintptr) Result
	cuMemcpyDtoHAsync        func(dst unsafe.Pointer, src uintptr, n uintptr, stream uintptr) Result
	cuMemcpyDtoDAsync        func(dst, src uintptr, n uintptr, stream uintptr) Result
	cuMemsetD8Async          func(dst uintptr, v uint8, n uintptr, stream uintptr) Result
	cuMemsetD32Async         func(dst uintptr, v uint32, n uintptr, stream uintptr) Result
	cuMemsetD2D32Async       func(dst uintptr, pitch uintptr, v uint32, w, h uintptr, stream uintptr) Result
	cuModuleLoadData         func(m *uintptr, image unsafe.Pointer) Result
	cuModuleGetFunction      func(f *uintptr, m uintptr, name *byte) Result
	cuLaunchKernel           func(f uintptr, gx, gy, gz, bx, by, bz uint32, shmem uint32, stream uintptr, params unsafe.Pointer, extra unsafe.Pointer) Result
	cuGetErrorString         func(r Result, s **byte) Result
	cuDriverGetVersion       func(v *int32) Result
}

var state struct {
	once   sync.Once
	err    error
	dev    int32
	ctx    uintptr
	stream uintptr // the stream of all work (CU_STREAM_NON_BLOCKING)
	name   string
	cc     [2]int32
	driver int32
}

// Library is the driver library Init loads.
const Library = "libcuda.so.1"

// Init loads the driver, initializes it and retains the primary context of
// device 0. It runs once; later calls return the first result. The error
// says what is missing (the library, a device) on a machine without a GPU.
func Init() error {
	state.once.Do(func() { state.err = initDriver() })
	return state.err
}

func initDriver() (err error) {
	defer func() {
		if p := recover(); p != nil { // a symbol missing from an old driver
			err = fmt.Errorf("cuda: %v", p)
		}
	}()
	lib, err := purego.Dlopen(Library, purego.RTLD_NOW|purego.RTLD_GLOBAL)
	if err != nil {
		return fmt.Errorf("cuda: cannot load the NVIDIA driver (%s): %v", Library, err)
	}
	reg := func(fptr any, name string) { purego.RegisterLibFunc(fptr, lib, name) }
	reg(&drv.cuInit, "cuInit")
	reg(&drv.cuDeviceGetCount, "cuDeviceGetCount")
	reg(&drv.cuDeviceGet, "cuDeviceGet")
	reg(&drv.cuDeviceGetName, "cuDeviceGetName")
	reg(&drv.cuDeviceGetAttribute, "cuDeviceGetAttribute")
	reg(&drv.cuDevicePrimaryCtxRetain, "cuDevicePrimaryCtxRetain")
	reg(&drv.cuCtxSetCurrent, "cuCtxSetCurrent")
	reg(&drv.cuMemAlloc, "cuMemAlloc_v2")
	reg(&drv.cuMemFree, "cuMemFree_v2")
	if _, err := purego.Dlsym(lib, "cuMemAllocAsync"); err == nil {
		reg(&drv.cuMemAllocAsync, "cuMemAllocAsync")
		reg(&drv.cuMemFreeAsync, "cuMemFreeAsync")
	}
	reg(&drv.cuStreamCreate, "cuStreamCreate")
	reg(&drv.cuMemHostAlloc, "cuMemHostAlloc")
	reg(&drv.cuMemHostGetDevicePtr, "cuMemHostGetDevicePointer_v2")
	reg(&drv.cuStreamSynchronize, "cuStreamSynchronize")
	reg(&drv.cuMemcpyHtoDAsync, "cuMemcpyHtoDAsync_v2")
	reg(&drv.cuMemcpyDtoHAsync, "cuMemcpyDtoHAsync_v2")
	reg(&drv.cuMemcpyDtoDAsync, "cuMemcpyDtoDAsync_v2")
	reg(&drv.cuMemsetD8Async, "cuMemsetD8Async")
	reg(&drv.cuMemsetD32Async, "cuMemsetD32Async")
	reg(&drv.cuMemsetD2D32Async, "cuMemsetD2D32Async")
	reg(&drv.cuModuleLoadData, "cuModuleLoadData")
	reg(&drv.cuModuleGetFunction, "cuModuleGetFunction")
	reg(&drv.cuLaunchKernel, "cuLaunchKernel")
	reg(&drv.cuGetErrorString, "cuGetErrorString")
	reg(&drv.cuDriverGetVersion, "cuDriverGetVersion")

	if err := check("cuInit", drv.cuInit(0)); err != nil {
		return err
	}
	var n int32
	if err := check("cuDeviceGetCount", drv.cuDeviceGetCount(&n)); err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("cuda: the driver reports no CUDA device")
	}
	if err := check("cuDeviceGet", drv.cuDeviceGet(&state.dev, 0)); err != nil {
		return err
	}
	var buf [256]byte
	if drv.cuDeviceGetName(&buf[0], int32(len(buf)), state.dev) == 0 {
		for i, c := range buf {
			if c == 0 {
				state.name = string(buf[:i])
				break
			}
		}
	}
	const major, minor = 75, 76 // CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR/MINOR
	drv.cuDeviceGetAttribute(&state.cc[0], major, state.dev)
	drv.cuDeviceGetAttribute(&state.cc[1], minor, state.dev)
	drv.cuDriverGetVersion(&state.driver)
	if err := check("cuDevicePrimaryCtxRetain", drv.cuDevicePrimaryCtxRetain(&state.ctx, state.dev)); err != nil {
		return err
	}
	if err := check("cuCtxSetCurrent", drv.cuCtxSetCurrent(state.ctx)); err != nil {
		return err
	}
	const nonBlocking = 1 // CU_STREAM_NON_BLOCKING: no implicit sync with the legacy stream
	return check("cuStreamCreate", drv.cuStreamCreate(&state.stream, nonBlocking))
}

// check turns a CUresult into an error with the driver's message.
func check(call string, r Result) error {
	if r == 0 {
		return nil
	}
	msg := "unknown error"
	if drv.cuGetErrorString != nil {
		var s *byte
		if drv.cuGetErrorString(r, &s) == 0 && s != nil {
			msg = cString(s)
		}
	}
	return &Error{Call: call, Code: r, Msg: msg}
}

func cString(p *byte) string {
	var b []byte
	for q := unsafe.Pointer(p); *(*byte)(q) != 0; q = unsafe.Add(q, 1) {
		b = append(b, *(*byte)(q))
	}
	return string(b)
}

// bind makes the primary context current on this OS thread. The caller
// must hold the thread (runtime.LockOSThread) for the calls that follow.
func bind() error {
	if err := Init(); err != nil {
		return err
	}
	return check("cuCtxSetCurrent", drv.cuCtxSetCurrent(state.ctx))
}

// do runs f with the context current on a locked OS thread.
func do(f func() error) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := bind(); err != nil {
		return err
	}
	return f()
}

// DeviceInfo describes device 0: its name, compute capability and the
// driver version (e.g. 12040 for CUDA 12.4).
func DeviceInfo() (name string, major, minor int, driver int, err error) {
	if err := Init(); err != nil {
		return "", 0, 0, 0, err
	}
	return state.name, int(state.cc[0]), int(state.cc[1]), int(state.driver), nil
}

// Counts are the driver operations since the program started (for the
// steady-state tests: a training step should make no allocation and no
// copy but the loss's).
type Counts struct {
	Allocs, Frees, HtoD, DtoH, DtoD, Syncs, Launches int64
}

var counts struct {
	allocs, frees, htod, dtoh, dtod, syncs, launches atomic.Int64
}

// Counted returns the counts so far.
func Counted() Counts {
	return Counts{counts.allocs.Load(), counts.frees.Load(), counts.htod.Load(), counts.dtoh.Load(),
		counts.dtod.Load(), counts.syncs.Load(), counts.launches.Load()}
}

// Alloc allocates n bytes of device memory, ordered on the stream
// (cuMemAllocAsync on the device's default pool; cuMemAlloc on a driver
// without it).
func Alloc(n int) (uintptr, error) {
	var p uintptr
	counts.allocs.Add(1)
	err := do(func() error {
		if drv.cuMemAllocAsync != nil {
			return check("cuMemAllocAsync", drv.cuMemAllocAsync(&p, uintptr(n), state.stream))
		}
		return check("cuMemAlloc", drv.cuMemAlloc(&p, uintptr(n)))
	})
	return p, err
}

// Free releases device memory from Alloc, ordered on the stream
// (cuMemFreeAsync: no synchronization; cuMemFree on a driver without it).
func Free(p uintptr) error {
	counts.frees.Add(1)
	return do(func() error {
		if drv.cuMemFreeAsync != nil {
			return check("cuMemFreeAsync", drv.cuMemFreeAsync(p, state.stream))
		}
		return check("cuMemFree", drv.cuMemFree(p))
	})
}

// CopyHtoD copies n bytes from (pageable) host memory to the device, on
// the stream; src may be reused when it returns (the driver has staged it).
func CopyHtoD(dst uintptr, src unsafe.Pointer, n int) error {
	counts.htod.Add(1)
	return do(func() error {
		return check("cuMemcpyHtoDAsync", drv.cuMemcpyHtoDAsync(dst, src, uintptr(n), state.stream))
	})
}

// CopyDtoH copies n bytes from the device to (pageable) host memory, on
// the stream: it returns when the data is there, after the work queued
// before it.
func CopyDtoH(dst unsafe.Pointer, src uintptr, n int) error {
	counts.dtoh.Add(1)
	return do(func() error {
		if err := check("cuMemcpyDtoHAsync", drv.cuMemcpyDtoHAsync(dst, src, uintptr(n), state.stream)); err != nil {
			return err
		}
		// Pageable destinations complete before the call returns; a
		// pinned one would not: wait for the stream either way.
		return check("cuStreamSynchronize", drv.cuStreamSynchronize(state.stream))
	})
}

// CopyDtoD copies n bytes between device buffers, on the stream.
func CopyDtoD(dst, src uintptr, n int) error {
	counts.dtod.Add(1)
	return do(func() error {
		return check("cuMemcpyDtoDAsync", drv.cuMemcpyDtoDAsync(dst, src, uintptr(n), state.stream))
	})
}

// Memset sets n bytes of device memory to v, on the stream.
func Memset(dst uintptr, v uint8, n int) error {
	return do(func() error { return check("cuMemsetD8Async", drv.cuMemsetD8Async(dst, v, uintptr(n), state.stream)) })
}

// Memset32 sets n 4-byte words of device memory to v, on the stream.
func Memset32(dst uintptr, v uint32, n int) error {
	return do(func() error { return check("cuMemsetD32Async", drv.cuMemsetD32Async(dst, v, uintptr(n), state.stream)) })
}

// Memset64 sets n 8-byte words of device memory (8-byte aligned) to v, on
// the stream: the low and the high 4-byte halves as two strided memsets.
func Memset64(dst uintptr, v uint64, n int) error {
	return do(func() error {
		lo, hi := uint32(v), uint32(v>>32)
		if err := check("cuMemsetD2D32Async", drv.cuMemsetD2D32Async(dst, 8, lo, 1, uintptr(n), state.stream)); err != nil {
			return err
		}
		return check("cuMemsetD2D32Async", drv.cuMemsetD2D32Async(dst+4, 8, hi, 1, uintptr(n), state.stream))
	})
}

// HostWords allocates n 4-byte words of pinned host memory mapped into the
// device's address space (cuMemHostAlloc with CU_MEMHOSTALLOC_DEVICEMAP):
// kernels write them through dev, the host reads them through host without
// a copy (after the writing kernels are done). The memory is never freed.
func HostWords(n int) (host []int32, dev uintptr, err error) {
	var p unsafe.Pointer
	err = do(func() error {
		const portable, deviceMap = 1, 2
		if err := check("cuMemHostAlloc", drv.cuMemHostAlloc(&p, uintptr(4*n), portable|deviceMap)); err != nil {
			return err
		}
		return check("cuMemHostGetDevicePointer", drv.cuMemHostGetDevicePtr(&dev, p, 0))
	})
	if err != nil {
		return nil, 0, err
	}
	return unsafe.Slice((*int32)(p), n), dev, nil
}

// Synchronize waits for the work queued on the stream.
func Synchronize() error {
	counts.syncs.Add(1)
	return do(func() error { return check("cuStreamSynchronize", drv.cuStreamSynchronize(state.stream)) })
}

// Module is a loaded PTX module.
type Module struct {
	mu    sync.Mutex
	h     uintptr
	funcs map[string]uintptr
}

// LoadPTX JIT-compiles and loads a PTX image (NUL-terminated here).
func LoadPTX(ptx []byte) (*Module, error) {
	img := append(append([]byte{}, ptx...), 0)
	m := &Module{funcs: map[string]uintptr{}}
	err := do(func() error { return check("cuModuleLoadData", drv.cuModuleLoadData(&m.h, unsafe.Pointer(&img[0]))) })
	runtime.KeepAlive(img)
	if err != nil {
		return nil, err
	}
	return m, nil
}

// Function returns the kernel name of the module.
func (m *Module) Function(name string) (uintptr, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if f, ok := m.funcs[name]; ok {
		return f, nil
	}
	cname := append([]byte(name), 0)
	var f uintptr
	if err := do(func() error {
		return check("cuModuleGetFunction("+name+")", drv.cuModuleGetFunction(&f, m.h, &cname[0]))
	}); err != nil {
		return 0, err
	}
	m.funcs[name] = f
	return f, nil
}

// Launch runs kernel f on a grid of grid blocks of block threads with shmem
// bytes of dynamic shared memory on the stream. args are the
// kernel's parameters, each a pointer to its value (uintptr for a device
// address, int32, int64, float32, float64), as cuLaunchKernel takes them.
func Launch(f uintptr, grid, block [3]uint32, shmem uint32, args ...unsafe.Pointer) error {
	counts.launches.Add(1)
	var params unsafe.Pointer
	// cuLaunchKernel reads the array of argument pointers: keep it in C-safe
	// memory terms, a Go array pinned for the call.
	var pinner runtime.Pinner
	defer pinner.Unpin()
	if len(args) > 0 {
		arr := make([]unsafe.Pointer, len(args))
		copy(arr, args)
		for _, a := range args {
			pinner.Pin(a)
		}
		pinner.Pin(&arr[0])
		params = unsafe.Pointer(&arr[0])
	}
	return do(func() error {
		return check("cuLaunchKernel", drv.cuLaunchKernel(f, grid[0], grid[1], grid[2], block[0], block[1], block[2], shmem, state.stream, params, nil))
	})
}
