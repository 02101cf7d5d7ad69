package tensor

import (
	"math/bits"
	"sync"
)

// The caching allocator of device memory, in the spirit of PyTorch's
// CUDACachingAllocator: a block a tensor releases (Free, or its garbage
// collection) goes to a free list of its size class and is handed to the
// next allocation of that class without a driver call. All work of a
// device is on one stream, so a block released while kernels that use it
// are still queued is only written by work queued after them: reuse needs
// no synchronization.
//
// Size classes: requests up to smallMax bytes round up to a power of two
// (at least minBlock) and are carved from segments of segmentBytes, so
// that the small blocks a step leaves to the garbage collector (a 0-d
// loss, say) come from a segment already there; larger requests round up
// to a multiple of segmentBytes and are allocated one by one. Nothing goes
// back to the driver except by EmptyCache (and when an allocation fails:
// the cache is emptied and the allocation retried once).
const (
	minBlock     = 512
	smallMax     = 1 << 20
	segmentBytes = 2 << 20
)

type devCache struct {
	mu       sync.Mutex
	b        Backend
	idle     map[int][]uintptr // released blocks by class
	segs     map[uintptr]bool  // the small-block segments (never freed)
	inUse    int               // bytes of the blocks tensors hold (by class)
	reserved int               // bytes obtained from the driver
}

var caches struct {
	mu sync.Mutex
	m  map[Device]*devCache
}

// cacheOf returns the caching allocator of device d over backend b (a new
// one when the device's backend was replaced).
func cacheOf(d Device, b Backend) *devCache {
	caches.mu.Lock()
	defer caches.mu.Unlock()
	if caches.m == nil {
		caches.m = map[Device]*devCache{}
	}
	c := caches.m[d]
	if c == nil || c.b != b {
		c = &devCache{b: b, idle: map[int][]uintptr{}, segs: map[uintptr]bool{}}
		caches.m[d] = c
	}
	return c
}

// classOf is the size class of an n-byte request.
func classOf(n int) int {
	if n <= smallMax {
		if n <= minBlock {
			return minBlock
		}
		return 1 << bits.Len(uint(n-1))
	}
	return (n + segmentBytes - 1) / segmentBytes * segmentBytes
}

func (c *devCache) alloc(n int) (uintptr, error) {
	k := classOf(n)
	c.mu.Lock()
	defer c.mu.Unlock()
	if l := c.idle[k]; len(l) > 0 {
		p := l[len(l)-1]
		c.idle[k] = l[:len(l)-1]
		c.inUse += k
		return p, nil
	}
	size := k
	if k <= smallMax {
		size = segmentBytes
	}
	p, err := c.b.Alloc(size)
	if err != nil {
		c.emptyLocked()
		if p, err = c.b.Alloc(size); err != nil {
			return 0, err
		}
	}
	if k <= smallMax {
		c.segs[p] = true
		for q := p + uintptr(size) - uintptr(k); q > p; q -= uintptr(k) {
			c.idle[k] = append(c.idle[k], q)
		}
	}
	c.reserved += size
	c.inUse += k
	return p, nil
}

// release returns the block at p of an n-byte request to its class.
func (c *devCache) release(p uintptr, n int) {
	k := classOf(n)
	c.mu.Lock()
	c.idle[k] = append(c.idle[k], p)
	c.inUse -= k
	c.mu.Unlock()
}

// emptyLocked returns the cached large blocks to the driver.
func (c *devCache) emptyLocked() {
	for k, l := range c.idle {
		if k <= smallMax {
			continue
		}
		for _, p := range l {
			_ = c.b.Free(p)
			c.reserved -= k
		}
		delete(c.idle, k)
	}
}

// EmptyCache returns the large device blocks that no tensor uses to the
// driver of device d (PyTorch's torch.cuda.empty_cache), for another
// program or library that needs the memory. Small blocks stay in their
// segments. EmptyCache(CPU) drops the host buffer cache's idle storage
// (see Free) for the garbage collector.
func EmptyCache(d Device) {
	if d == CPU {
		emptyHostCache()
		return
	}
	caches.mu.Lock()
	c := caches.m[d]
	caches.mu.Unlock()
	if c != nil {
		c.mu.Lock()
		c.emptyLocked()
		c.mu.Unlock()
	}
}

// MemoryStats reports device d's memory: allocated, the bytes of the blocks
// that tensors hold (rounded to their size classes), and reserved, the
// bytes obtained from the driver (PyTorch's torch.cuda.memory_allocated
// and memory_reserved). For the CPU it reports the host buffer cache
// (see Free): allocated, the bytes (by size class) of the cache storage
// that tensors hold, and reserved, those plus the idle bytes it keeps.
func MemoryStats(d Device) (allocated, reserved int) {
	if d == CPU {
		return hostStats()
	}
	caches.mu.Lock()
	c := caches.m[d]
	caches.mu.Unlock()
	if c == nil {
		return 0, 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.inUse, c.reserved
}
