package tensor

import (
	"math/bits"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/torchloss/torchloss"
)

// The host buffer cache: the CPU counterpart of the device's caching
// allocator (devcache.go), in the spirit of PyTorch's CPU allocator reusing
// the memory of the tensors a training step drops. An operation whose
// output it overwrites entirely takes the output's storage from here
// (Uninit) without zeroing it; Free on that output returns the storage,
// and the next such output of the same dtype and size class reuses it. A
// class rounds the byte count up to an eighth of its power of two (at
// least 64 bytes), so a tensor that is never freed wastes at most 1/8;
// the cache is bounded in bytes (HostCacheLimit), dropping what would
// exceed it for the garbage collector, and emptied by EmptyCache(CPU).

// HostCacheLimit bounds the bytes the host buffer cache keeps for reuse
// (1 GiB); storage freed beyond it is left to the garbage collector.
const HostCacheLimit = 1 << 30

// hostBuf is the cache-owned storage of a CPU tensor, shared by its views.
type hostBuf struct {
	st *hostState // shared with the cleanup, which must not reference the hostBuf
}

type hostState struct {
	class int
	freed atomic.Bool
}

type hostKey struct {
	dtype DType
	class int
}

var hostCache struct {
	mu    sync.Mutex
	idle  map[hostKey][]any // released storage ([]T of capacity class/size) by key
	bytes int               // bytes in idle
	inUse int               // bytes (by class) of cache storage that tensors hold
}

// Uninit returns a CPU tensor of the given shape whose storage comes from
// the host buffer cache and is NOT initialized: it is for operations that
// write every element before anything reads it. Free returns the storage
// to the cache. It returns an error if the shape is invalid (ErrShape) or
// too large (ErrLimit).
func Uninit[T Elem](shape ...int) (*Tensor, error) {
	n, err := shapeNumel(shape)
	if err == nil && n > MaxElements() {
		_, err = Numel(shape) // its error
	}
	if err != nil {
		return nil, err
	}
	dt := DTypeOf[T]()
	size := elemSize(dt)
	class := hostClass(n * size)
	var s []T
	hostCache.mu.Lock()
	k := hostKey{dt, class}
	if l := hostCache.idle[k]; len(l) > 0 {
		s = l[len(l)-1].([]T)[:n]
		l[len(l)-1] = nil
		hostCache.idle[k] = l[:len(l)-1]
		hostCache.bytes -= class
	}
	hostCache.inUse += class
	hostCache.mu.Unlock()
	if s == nil {
		s = make([]T, n, class/size)
	}
	buf := &hostBuf{&hostState{class: class}}
	runtime.AddCleanup(buf, func(st *hostState) {
		// Collected without Free: the storage goes to the garbage
		// collector (a slice taken by Data may still hold it).
		if st.freed.CompareAndSwap(false, true) {
			hostCache.mu.Lock()
			hostCache.inUse -= st.class
			hostCache.mu.Unlock()
		}
	}, buf.st)
	return &Tensor{dtype: dt, shape: append([]int{}, shape...), data: s, host: buf}, nil
}

// hostClass is the size class of an n-byte storage.
func hostClass(n int) int {
	step := 64
	if n > 512 {
		step = 1 << (bits.Len(uint(n-1)) - 3)
	}
	return (n + step - 1) / step * step
}

// release returns the storage s of buf to the cache (within its bound).
func (buf *hostBuf) release(dt DType, s any) {
	hostCache.mu.Lock()
	defer hostCache.mu.Unlock()
	class := buf.st.class
	hostCache.inUse -= class
	if hostCache.bytes+class > HostCacheLimit {
		return
	}
	if hostCache.idle == nil {
		hostCache.idle = map[hostKey][]any{}
	}
	k := hostKey{dt, class}
	hostCache.idle[k] = append(hostCache.idle[k], s) // resliced to its capacity by Uninit
	hostCache.bytes += class
}

// Freed reports whether Free was called on t, or on the tensor whose
// storage t views (an output of an operation, on the CPU; any tensor on a
// device).
func (t *Tensor) Freed() bool {
	if t.freed.Load() {
		return true
	}
	if t.host != nil && t.host.st.freed.Load() {
		return true
	}
	return t.dev != nil && t.dev.freed.Load()
}

// errFreed is the error of an operation op given a freed CPU tensor.
func errFreed(op, arg string) error {
	return torchloss.Errorf(torchloss.ErrValue, op, arg, "the tensor was freed (Tensor.Free) and cannot be used")
}

// freeHost frees a CPU tensor (see Free).
func (t *Tensor) freeHost() {
	t.freed.Store(true)
	if t.host != nil && t.host.st.freed.CompareAndSwap(false, true) {
		t.host.release(t.dtype, t.data)
	}
}

// emptyHostCache drops the host buffer cache's idle storage.
func emptyHostCache() {
	hostCache.mu.Lock()
	hostCache.idle = nil
	hostCache.bytes = 0
	hostCache.mu.Unlock()
}

// hostStats is MemoryStats(CPU).
func hostStats() (allocated, reserved int) {
	hostCache.mu.Lock()
	defer hostCache.mu.Unlock()
	return hostCache.inUse, hostCache.inUse + hostCache.bytes
}
