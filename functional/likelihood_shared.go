package functional

import "github.com/torchloss/torchloss"

// Helpers of the likelihood family (poisson_nll_loss, gaussian_nll_loss,
// kl_div): PyTorch composes these losses from tensor operations, so integer
// operands take part in type promotion and each operation runs in its own
// result dtype.

// boolSubError is PyTorch's error for a subtraction with a bool operand.
func boolSubError(op, argName string) error {
	return torchloss.Errorf(torchloss.ErrDType, op, argName, "Subtraction, the `-` operator, with a bool tensor is not supported. If you are trying to invert a mask, use the `~` or `logical_not()` operator instead.")
}
