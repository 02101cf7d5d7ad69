package kernels

import "sync"

// FreeList is a stack of reusable scratch objects shared by goroutines. It
// is not a sync.Pool: a pool is emptied by every garbage collection, and
// the losses allocate enough (their gradients) to collect every few steps.
// MaxItems (when not nil) and MaxBytes (when not 0) bound what it keeps, by
// count and by the sizes Put is given; Put drops an object that would go
// past either bound, for the garbage collector. The zero value keeps
// everything it is given.
type FreeList[P any] struct {
	MaxItems func() int
	MaxBytes int

	mu    sync.Mutex
	items []P
	sizes []int
	bytes int
}

// Get pops an object, if the list holds one.
func (l *FreeList[P]) Get() (p P, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := len(l.items)
	if n == 0 {
		return p, false
	}
	p = l.items[n-1]
	var zero P
	l.items[n-1] = zero
	l.items = l.items[:n-1]
	l.bytes -= l.sizes[n-1]
	l.sizes = l.sizes[:n-1]
	return p, true
}

// Put pushes p, which holds size bytes, unless a bound forbids it.
func (l *FreeList[P]) Put(p P, size int) {
	maxN := 0
	if l.MaxItems != nil {
		maxN = l.MaxItems()
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if maxN > 0 && len(l.items) >= maxN || l.MaxBytes > 0 && l.bytes+size > l.MaxBytes {
		return
	}
	l.items = append(l.items, p)
	l.sizes = append(l.sizes, size)
	l.bytes += size
}

// Len and Bytes report what the list holds.
func (l *FreeList[P]) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.items)
}

func (l *FreeList[P]) Bytes() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.bytes
}
