// Package fakedevice is a host-backed tensor.Backend for tests: "device
// memory" is Go byte slices behind made-up addresses, so that the device
// plumbing (moving tensors, the device hooks of the losses, autograd across
// devices, freeing) is tested on machines without a GPU.
package fakedevice

import (
	"fmt"
	"sync"
	"unsafe"

	"github.com/torchloss/torchloss/tensor"
)

// Backend is the fake device memory. Live reports the bytes allocated.
type Backend struct {
	mu   sync.Mutex
	next uintptr
	mem  map[uintptr][]byte
}

// New returns an empty fake device.
func New() *Backend { return &Backend{next: 0x1000, mem: map[uintptr][]byte{}} }

// Register makes b the backend of tensor.CUDA (for tests).
func Register(b *Backend) {
	tensor.RegisterBackend(tensor.CUDA, func() (tensor.Backend, error) { return b, nil })
}

// Live returns the number of allocations not yet freed.
func (b *Backend) Live() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.mem)
}

func (b *Backend) find(p uintptr, n int) ([]byte, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for base, m := range b.mem {
		if p >= base && p+uintptr(n) <= base+uintptr(len(m)) {
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
	return p, nil
}

func (b *Backend) Free(p uintptr) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.mem[p]; !ok {
		return fmt.Errorf("fakedevice: free of unknown address %#x", p)
	}
	delete(b.mem, p)
	return nil
}

func (b *Backend) CopyToDevice(dst uintptr, src unsafe.Pointer, n int) error {
	m, err := b.find(dst, n)
	if err != nil {
		return err
	}
	copy(m, unsafe.Slice((*byte)(src), n))
	return nil
}

func (b *Backend) CopyToHost(dst unsafe.Pointer, src uintptr, n int) error {
	m, err := b.find(src, n)
	if err != nil {
		return err
	}
	copy(unsafe.Slice((*byte)(dst), n), m)
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
	return nil
}
