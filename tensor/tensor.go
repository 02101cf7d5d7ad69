// Package tensor holds the Tensor that torchloss's users hold: a row-major
// array of float32, float64, int64 or bool values of any rank (0-d included)
// with reverse-mode automatic differentiation, in the manner of torch.Tensor.
//
// A Tensor is created from a Go slice and a shape:
//
//	x, err := tensor.New([]float32{1, 2, 3, 4, 5, 6}, 3, 2)
//
// Marking it with SetRequiresGrad(true) makes every differentiable operation
// that consumes it record a node in the autograd graph; Backward on the
// result then fills x.Grad().
//
// Tensors live on the CPU unless moved to a GPU with ToCUDA (see Device).
package tensor

import (
	"fmt"
	"math"
	"sync"
	"sync/atomic"

	"github.com/torchloss/torchloss"
)

// Tensor is an n-dimensional array with an optional autograd history.
//
// The data of a Tensor is not copied by the accessors that return slices
// (Float32s, Float64s, Int64s, Bools, Data): do not modify a tensor that is
// part of an autograd graph. Operations never modify their inputs.
type Tensor struct {
	dtype DType
	shape []int
	data  any // []float32, []float64, []int64 or []bool, len = numel; nil on a device

	device Device
	dev    *devBuf // the storage of a device tensor

	host  *hostBuf    // the storage of a CPU tensor from the host buffer cache (Uninit), or nil
	freed atomic.Bool // Free was called on this tensor

	requiresGrad bool
	node         *Node // the operation that produced this tensor; nil for a leaf

	mu        sync.Mutex // guards grad, gradState and claim
	grad      *Tensor
	gradState gradState  // what grad's buffer holds (a leaf's, on the CPU)
	claim     *GradClaim // the forward pass writing into grad (gradClaimed)
}

// Numel returns the number of elements of a shape, or an error if a
// dimension is negative (ErrShape) or the product overflows int or exceeds
// MaxElements (ErrLimit).
func Numel(shape []int) (int, error) {
	n, err := shapeNumel(shape)
	if err != nil {
		return 0, err
	}
	if err := CheckElements("tensor", "shape", n, fmt.Sprintf("shape %v", shape)); err != nil {
		return 0, err
	}
	return n, nil
}

// shapeNumel is Numel without the MaxElements check.
func shapeNumel(shape []int) (int, error) {
	n := 1
	for _, d := range shape {
		if d < 0 {
			return 0, torchloss.Errorf(torchloss.ErrShape, "tensor", "shape", "negative dimension %d in %v", d, shape)
		}
		if d != 0 && n > math.MaxInt/d {
			return 0, torchloss.Errorf(torchloss.ErrLimit, "tensor", "shape", "the element count of %v overflows int", shape)
		}
		n *= d
	}
	return n, nil
}

// New returns a tensor holding data with the given shape (row-major). With no
// shape it is 1-D of len(data); use Scalar (or an empty, non-nil shape) for a
// 0-d tensor. The slice is used as the tensor's storage, not copied.
func New[T Elem](data []T, shape ...int) (*Tensor, error) {
	if shape == nil {
		shape = []int{len(data)}
	}
	n, err := Numel(shape)
	if err != nil {
		return nil, err
	}
	if n != len(data) {
		return nil, torchloss.Errorf(torchloss.ErrShape, "tensor", "data", "%d values do not fill shape %v (%d elements)", len(data), shape, n)
	}
	return &Tensor{dtype: DTypeOf[T](), shape: append([]int{}, shape...), data: data}, nil
}

// MustNew is New for literals known to be well formed: it panics on error.
func MustNew[T Elem](data []T, shape ...int) *Tensor {
	t, err := New(data, shape...)
	if err != nil {
		panic(err)
	}
	return t
}

// Scalar returns a 0-d tensor holding v.
func Scalar[T Elem](v T) *Tensor {
	return &Tensor{dtype: DTypeOf[T](), shape: []int{}, data: []T{v}}
}

// Zeros returns a tensor of the given dtype and shape filled with zeros.
func Zeros(dtype DType, shape ...int) (*Tensor, error) {
	n, err := Numel(shape)
	if err != nil {
		return nil, err
	}
	return fromStorage(dtype, shape, makeStorage(dtype, n))
}

// Full returns a tensor of the given dtype and shape filled with v.
func Full(v float64, dtype DType, shape ...int) (*Tensor, error) {
	t, err := Zeros(dtype, shape...)
	if err != nil {
		return nil, err
	}
	switch s := t.data.(type) {
	case []float32:
		fill(s, float32(v))
	case []float64:
		fill(s, v)
	case []int64:
		fill(s, int64(v))
	case []bool:
		fill(s, v != 0)
	}
	return t, nil
}

// Ones returns a tensor of the given dtype and shape filled with ones.
func Ones(dtype DType, shape ...int) (*Tensor, error) { return Full(1, dtype, shape...) }

func fill[T any](s []T, v T) {
	for i := range s {
		s[i] = v
	}
}

func makeStorage(dtype DType, n int) any {
	switch dtype {
	case Float32:
		return make([]float32, n)
	case Float64:
		return make([]float64, n)
	case Int64:
		return make([]int64, n)
	case Bool:
		return make([]bool, n)
	}
	return nil
}

func fromStorage(dtype DType, shape []int, data any) (*Tensor, error) {
	if data == nil {
		return nil, torchloss.Errorf(torchloss.ErrDType, "tensor", "dtype", "unsupported dtype %v", dtype)
	}
	return &Tensor{dtype: dtype, shape: append([]int{}, shape...), data: data}, nil
}

// FromData wraps a slice as a tensor of the given shape, taken as given
// (nil or empty: a 0-d tensor), for callers that hold the shape as a slice.
// Like New it returns an error if a dimension is negative (ErrShape), if the
// product of the shape overflows int (ErrLimit), or if data does not hold
// exactly that many values (ErrShape). It does not apply MaxElements: it
// allocates nothing. The slice is used as the tensor's storage, not copied.
func FromData[T Elem](data []T, shape []int) (*Tensor, error) {
	n, err := shapeNumel(shape)
	if err != nil {
		return nil, err
	}
	if n != len(data) {
		return nil, torchloss.Errorf(torchloss.ErrShape, "tensor", "data", "%d values do not fill shape %v (%d elements)", len(data), shape, n)
	}
	return &Tensor{dtype: DTypeOf[T](), shape: append([]int{}, shape...), data: data}, nil
}

// MustFromData is FromData for an operation's result, whose data the
// operation sized from the shape itself: it panics on error, which can only
// be a bug in the caller.
func MustFromData[T Elem](data []T, shape []int) *Tensor {
	t, err := FromData(data, shape)
	if err != nil {
		panic(err)
	}
	return t
}

// DType returns the element type.
func (t *Tensor) DType() DType { return t.dtype }

// Shape returns a copy of the shape.
func (t *Tensor) Shape() []int { return append([]int{}, t.shape...) }

// Dim returns the number of dimensions (0 for a scalar).
func (t *Tensor) Dim() int { return len(t.shape) }

// Size returns the size of dimension d; negative d counts from the end.
// It panics if d is out of range, like indexing a slice.
func (t *Tensor) Size(d int) int {
	if d < 0 {
		d += len(t.shape)
	}
	return t.shape[d]
}

// Numel returns the number of elements.
func (t *Tensor) Numel() int {
	if t.device != CPU {
		n, _ := Numel(t.shape)
		return n
	}
	switch s := t.data.(type) {
	case []float32:
		return len(s)
	case []float64:
		return len(s)
	case []int64:
		return len(s)
	case []bool:
		return len(s)
	}
	return 0
}

// Data returns the storage of t as a []T, or nil if T is not t's dtype or
// t was freed (Free).
func Data[T Elem](t *Tensor) []T {
	if t.Freed() {
		return nil
	}
	s, _ := t.data.([]T)
	return s
}

// Float32s returns the float32 storage (nil for another dtype, or freed).
func (t *Tensor) Float32s() []float32 { return Data[float32](t) }

// Float64s returns the float64 storage (nil for another dtype).
func (t *Tensor) Float64s() []float64 { return Data[float64](t) }

// Int64s returns the int64 storage (nil for another dtype).
func (t *Tensor) Int64s() []int64 { return Data[int64](t) }

// Bools returns the bool storage (nil for another dtype).
func (t *Tensor) Bools() []bool { return Data[bool](t) }

// Values returns a copy of the elements converted to float64 (true is 1);
// nil for a device tensor or a freed one.
func (t *Tensor) Values() []float64 {
	if t.device != CPU || t.Freed() {
		return nil
	}
	out := make([]float64, t.Numel())
	switch s := t.data.(type) {
	case []float32:
		for i, v := range s {
			out[i] = float64(v)
		}
	case []float64:
		copy(out, s)
	case []int64:
		for i, v := range s {
			out[i] = float64(v)
		}
	case []bool:
		for i, v := range s {
			if v {
				out[i] = 1
			}
		}
	}
	return out
}

// Item returns the single element of a one-element tensor as float64.
func (t *Tensor) Item() (float64, error) {
	if t.device == CPU && t.Freed() {
		return 0, errFreed("item", "")
	}
	if t.Numel() != 1 {
		return 0, torchloss.Errorf(torchloss.ErrShape, "item", "", "a Tensor with %d elements cannot be converted to a scalar", t.Numel())
	}
	if t.device != CPU {
		return 0, torchloss.Errorf(torchloss.ErrDevice, "item", "", "the tensor is on %v: move it with ToCPU first", t.device)
	}

	return t.Values()[0], nil
}

// Clone returns a deep copy of t's data, with no autograd history, on t's
// device. It panics if a device copy fails (device memory exhausted or
// freed); use CloneErr to get the error. The clone of a freed CPU tensor is
// a freed tensor of the same shape (Freed; CloneErr returns ErrValue).
func (t *Tensor) Clone() *Tensor {
	if t.device == CPU && t.Freed() {
		c := &Tensor{dtype: t.dtype, shape: append([]int{}, t.shape...)}
		c.freed.Store(true)
		return c
	}
	c, err := t.CloneErr()
	if err != nil {
		panic(err)
	}
	return c
}

// CloneErr is Clone returning the error of a device copy.
func (t *Tensor) CloneErr() (*Tensor, error) {
	if t.device != CPU {
		return deviceClone(t)
	}
	if t.Freed() {
		return nil, errFreed("clone", "")
	}
	var data any
	switch s := t.data.(type) {
	case []float32:
		data = append([]float32{}, s...)
	case []float64:
		data = append([]float64{}, s...)
	case []int64:
		data = append([]int64{}, s...)
	case []bool:
		data = append([]bool{}, s...)
	}
	return &Tensor{dtype: t.dtype, shape: append([]int{}, t.shape...), data: data}, nil
}

// Detach returns a tensor sharing t's data without autograd history (freed
// if t is).
func (t *Tensor) Detach() *Tensor {
	d := &Tensor{dtype: t.dtype, shape: t.shape, data: t.data, device: t.device, dev: t.dev, host: t.host}
	d.freed.Store(t.freed.Load())
	return d
}

// To returns t converted to dtype (t itself if it already has that dtype).
// Floats convert to int64 by truncation toward zero, as PyTorch's .to(long).
// The conversion is not recorded by autograd. A device tensor is converted
// on its device (through a host copy on a device without Arith).
func (t *Tensor) To(dtype DType) (*Tensor, error) {
	if dtype == t.dtype {
		return t, nil
	}
	if t.device != CPU {
		return convertOnDevice(t, dtype)
	}
	if t.Freed() {
		return nil, errFreed("to", "")
	}
	vals := t.Values()
	out, err := Zeros(dtype, t.shape...)
	if err != nil {
		return nil, err
	}
	switch s := out.data.(type) {
	case []float32:
		for i, v := range vals {
			s[i] = float32(v)
		}
	case []float64:
		copy(s, vals)
	case []int64:
		for i, v := range vals {
			if math.IsNaN(v) || math.IsInf(v, 0) || v >= 9.223372036854775807e18 || v < -9.223372036854775808e18 {
				return nil, torchloss.Errorf(torchloss.ErrValue, "to", "", "value %v cannot be converted to int64", v)
			}
			s[i] = int64(v)
		}
	case []bool:
		for i, v := range vals {
			s[i] = v != 0
		}
	}
	return out, nil
}
