// Package cuda is a minimal binding of the NVIDIA CUDA driver API, loaded at
// run time from libcuda.so.1 with purego: no cgo, no CUDA toolkit at build
// time. It holds what torchloss needs: the primary context of device 0,
// device memory, copies, PTX modules and kernel launches.
//
// Every function is safe for concurrent use; calls bind the primary context
// to the calling OS thread first (cuCtxSetCurrent is per thread).
package cuda

import (
	"fmt"
	"runtime"
	"sync"
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
	cuCtxSynchronize         func() Result
	cuMemAlloc               func(p *uintptr, n uintptr) Result
	cuMemFree                func(p uintptr) Result
	cuMemcpyHtoD             func(dst uintptr, src unsafe.Pointer, n uintptr) Result
	cuMemcpyDtoH             func(dst unsafe.Pointer, src uintptr, n uintptr) Result
	cuMemcpyDtoD             func(dst, src uintptr, n uintptr) Result
	cuMemsetD8               func(dst uintptr, v uint8, n uintptr) Result
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
	reg(&drv.cuCtxSynchronize, "cuCtxSynchronize")
	reg(&drv.cuMemAlloc, "cuMemAlloc_v2")
	reg(&drv.cuMemFree, "cuMemFree_v2")
	reg(&drv.cuMemcpyHtoD, "cuMemcpyHtoD_v2")
	reg(&drv.cuMemcpyDtoH, "cuMemcpyDtoH_v2")
	reg(&drv.cuMemcpyDtoD, "cuMemcpyDtoD_v2")
	reg(&drv.cuMemsetD8, "cuMemsetD8_v2")
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
	return check("cuCtxSetCurrent", drv.cuCtxSetCurrent(state.ctx))
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

// Alloc allocates n bytes of device memory.
func Alloc(n int) (uintptr, error) {
	var p uintptr
	err := do(func() error { return check("cuMemAlloc", drv.cuMemAlloc(&p, uintptr(n))) })
	return p, err
}

// Free releases device memory from Alloc.
func Free(p uintptr) error {
	return do(func() error { return check("cuMemFree", drv.cuMemFree(p)) })
}

// CopyHtoD copies n bytes from host memory to the device.
func CopyHtoD(dst uintptr, src unsafe.Pointer, n int) error {
	return do(func() error { return check("cuMemcpyHtoD", drv.cuMemcpyHtoD(dst, src, uintptr(n))) })
}

// CopyDtoH copies n bytes from the device to host memory (synchronously
// with the work queued before it).
func CopyDtoH(dst unsafe.Pointer, src uintptr, n int) error {
	return do(func() error { return check("cuMemcpyDtoH", drv.cuMemcpyDtoH(dst, src, uintptr(n))) })
}

// CopyDtoD copies n bytes between device buffers.
func CopyDtoD(dst, src uintptr, n int) error {
	return do(func() error { return check("cuMemcpyDtoD", drv.cuMemcpyDtoD(dst, src, uintptr(n))) })
}

// Memset sets n bytes of device memory to v.
func Memset(dst uintptr, v uint8, n int) error {
	return do(func() error { return check("cuMemsetD8", drv.cuMemsetD8(dst, v, uintptr(n))) })
}

// Synchronize waits for every queued operation of the context.
func Synchronize() error {
	return do(func() error { return check("cuCtxSynchronize", drv.cuCtxSynchronize()) })
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
// bytes of dynamic shared memory on the default stream. args are the
// kernel's parameters, each a pointer to its value (uintptr for a device
// address, int32, int64, float32, float64), as cuLaunchKernel takes them.
func Launch(f uintptr, grid, block [3]uint32, shmem uint32, args ...unsafe.Pointer) error {
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
		return check("cuLaunchKernel", drv.cuLaunchKernel(f, grid[0], grid[1], grid[2], block[0], block[1], block[2], shmem, 0, params, nil))
	})
}
