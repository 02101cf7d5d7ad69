package cuda

import (
	"errors"
	"fmt"
	"math"
	"unsafe"

	drv "github.com/torchloss/torchloss/internal/cuda"
	"github.com/torchloss/torchloss/tensor"
)

// The tensor package's elementwise operations on the GPU (tensor.Arith):
// gradient accumulation and float32↔float64 conversion, each one kernel
// on the stream, so that neither goes through the host.

// elementsGrid is the grid of the elementwise kernels on n elements: one
// element per thread, at most pointwiseBlocks blocks striding over the rest
// (nothing is reduced: the grid does not change a result).
func elementsGrid(n int) uint32 {
	return uint32(max(1, min((n+block-1)/block, pointwiseBlocks)))
}

// elementwise launches kernel name of the module with args, on n elements.
func elementwise(name string, n int, args ...unsafe.Pointer) error {
	m, err := module()
	if err != nil {
		return err
	}
	fn, err := m.Function(name)
	if err != nil {
		return err
	}
	return drv.Launch(fn, [3]uint32{elementsGrid(n), 1, 1}, [3]uint32{block, 1, 1}, 0, args...)
}

// Add is dst = a + b on n elements of a float dtype (dst may be a): the
// accumulation of a gradient into a device gradient.
func (backend) Add(dst, a, b uintptr, dt tensor.DType, n int) error {
	var name string
	switch dt {
	case tensor.Float32:
		name = "add_f32"
	case tensor.Float64:
		name = "add_f64"
	default:
		return fmt.Errorf("cuda: add of %v: %w", dt, errors.ErrUnsupported)
	}
	nn := int64(n)
	return elementwise(name, n, unsafe.Pointer(&dst), unsafe.Pointer(&a), unsafe.Pointer(&b), unsafe.Pointer(&nn))
}

// Convert converts n elements between float32 and float64 on the GPU;
// other pairs are unsupported (the tensor package converts them on the
// host).
func (backend) Convert(dst uintptr, to tensor.DType, src uintptr, from tensor.DType, n int) error {
	var name string
	switch {
	case from == tensor.Float32 && to == tensor.Float64:
		name = "convert_f32_f64"
	case from == tensor.Float64 && to == tensor.Float32:
		name = "convert_f64_f32"
	default:
		return fmt.Errorf("cuda: conversion from %v to %v: %w", from, to, errors.ErrUnsupported)
	}
	nn := int64(n)
	return elementwise(name, n, unsafe.Pointer(&dst), unsafe.Pointer(&src), unsafe.Pointer(&nn))
}

// fill64 writes the float64 v to n elements: zeros by one memset of 2n
// words, another value by the fill_f64 kernel (one launch where two
// strided memsets were needed), the memsets without the module.
func fill64(dst uintptr, v float64, n int) error {
	bits := math.Float64bits(v)
	if bits == 0 {
		return drv.Memset32(dst, 0, 2*n)
	}
	nn := int64(n)
	if err := elementwise("fill_f64", n, unsafe.Pointer(&dst), unsafe.Pointer(&v), unsafe.Pointer(&nn)); err != nil {
		if _, merr := module(); merr != nil {
			return drv.Memset64(dst, bits, n)
		}
		return err
	}
	return nil
}
