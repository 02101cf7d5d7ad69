package functional

import (
	"github.com/torchloss/torchloss"
	"github.com/torchloss/torchloss/tensor"
)

// Helpers of the likelihood family (poisson_nll_loss, gaussian_nll_loss,
// kl_div): PyTorch composes these losses from tensor operations, so integer
// operands take part in type promotion and each operation runs in its own
// result dtype.

// promotedFloat returns the dtype the arguments promote to when integer and
// bool tensors (and nil arguments) take no part, as in PyTorch's promotion of
// a float tensor with an integer one; Float32 (the default dtype) when none
// is floating point, the dtype of a float operation on integers.
func promotedFloat(args ...*tensor.Tensor) tensor.DType {
	var dt tensor.DType
	for _, a := range args {
		if a == nil || !a.DType().IsFloat() {
			continue
		}
		if dt == 0 {
			dt = a.DType()
		} else {
			dt = tensor.PromoteFloat(dt, a.DType())
		}
	}
	if dt == 0 {
		return tensor.Float32
	}
	return dt
}

// boolSubError is PyTorch's error for a subtraction with a bool operand.
func boolSubError(op, argName string) error {
	return torchloss.Errorf(torchloss.ErrDType, op, argName, "Subtraction, the `-` operator, with a bool tensor is not supported. If you are trying to invert a mask, use the `~` or `logical_not()` operator instead.")
}
