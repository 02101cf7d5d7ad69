package tensor

import "fmt"

// DType is the element type of a Tensor. The zero value is invalid.
type DType uint8

// The dtypes torchloss supports, named as PyTorch names them.
const (
	Float32 DType = iota + 1
	Float64
	Int64
	Bool
)

func (d DType) String() string {
	switch d {
	case Float32:
		return "float32"
	case Float64:
		return "float64"
	case Int64:
		return "int64"
	case Bool:
		return "bool"
	}
	return fmt.Sprintf("DType(%d)", uint8(d))
}

// IsFloat reports whether d is a floating-point dtype.
func (d DType) IsFloat() bool { return d == Float32 || d == Float64 }

// ParseDType maps PyTorch's dtype names ("float32", "float64", "int64",
// "bool") to a DType.
func ParseDType(s string) (DType, error) {
	switch s {
	case "float32", "float":
		return Float32, nil
	case "float64", "double":
		return Float64, nil
	case "int64", "long":
		return Int64, nil
	case "bool":
		return Bool, nil
	}
	return 0, fmt.Errorf("tensor: unknown dtype %q", s)
}

// Float is the constraint of the floating-point element types.
type Float interface{ float32 | float64 }

// Elem is the constraint of every element type a Tensor can hold.
type Elem interface {
	float32 | float64 | int64 | bool
}

// DTypeOf returns the DType of the element type T.
func DTypeOf[T Elem]() DType {
	var z T
	switch any(z).(type) {
	case float32:
		return Float32
	case float64:
		return Float64
	case int64:
		return Int64
	default:
		return Bool
	}
}

// PromoteFloat returns the result dtype of combining floating-point tensors
// of dtypes a and b, as PyTorch's type promotion does: float64 wins.
func PromoteFloat(a, b DType) DType {
	if a == Float64 || b == Float64 {
		return Float64
	}
	return Float32
}
