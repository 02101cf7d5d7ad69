// Package torchloss holds what every part of torchloss shares with its
// callers: the kinds of error a loss can return.
//
// torchloss is PyTorch's loss functions for Go, with PyTorch's semantics:
// the same values, the same gradients and the same errors on bad input. The
// packages are:
//
//   - tensor: the Tensor users hold (float32, float64, int64, bool; any rank)
//     with reverse-mode autograd;
//   - functional: one function per torch.nn.functional loss, plus the
//     differentiable Sigmoid, Softmax and LogSoftmax;
//   - conformance: runs PyTorch-recorded vector files against torchloss;
//   - cmd/torchloss: the command line (conform, ...).
//
// Every error returned by torchloss wraps one of the kinds below, so callers
// can branch with errors.Is:
//
//	if errors.Is(err, torchloss.ErrShape) { ... }
//
// and errors.As with *torchloss.Error gives the operation and the argument.
package torchloss

import "fmt"

// Kind is the category of a torchloss error. The kinds are the sentinel
// values below; compare with errors.Is.
type Kind struct{ name string }

func (k *Kind) Error() string { return k.name }

// The kinds of error.
var (
	// ErrShape: a tensor has the wrong rank or size, or shapes do not broadcast.
	ErrShape = &Kind{"shape error"}
	// ErrDType: a tensor has a dtype the operation does not accept.
	ErrDType = &Kind{"dtype error"}
	// ErrValue: a value is out of its valid range (a class index, a
	// probability, a length, a negative variance).
	ErrValue = &Kind{"value error"}
	// ErrOption: an option is not accepted by the function, or its value is
	// out of the option's range (a reduction, beta, delta, margin, p,
	// label_smoothing, blank).
	ErrOption = &Kind{"invalid option"}
	// ErrGrad: autograd was misused (backward of a non-scalar without a
	// gradient, a gradient of the wrong shape, requiring the gradient of an
	// argument PyTorch cannot differentiate).
	ErrGrad = &Kind{"autograd error"}
	// ErrLimit: the work or memory an input implies exceeds a limit.
	ErrLimit = &Kind{"size limit exceeded"}
	// ErrDevice: tensors of one call are on different devices (CPU and
	// CUDA), or a device cannot be used (no CUDA support linked in, no
	// NVIDIA driver or GPU, device memory exhausted or already freed).
	ErrDevice = &Kind{"device error"}
)

// Error is the error type returned by torchloss. Op is the operation
// (PyTorch's name, e.g. "cross_entropy"), Arg the argument at fault (PyTorch's
// parameter name, e.g. "target"; empty when no single argument is), Kind one
// of the kinds above and Msg what is wrong.
type Error struct {
	Op   string
	Arg  string
	Kind *Kind
	Msg  string
}

func (e *Error) Error() string {
	s := "torchloss: " + e.Op
	if e.Arg != "" {
		s += ": " + e.Arg
	}
	return s + ": " + e.Msg
}

// Unwrap returns the kind, so that errors.Is(err, ErrShape) works.
func (e *Error) Unwrap() error { return e.Kind }

// Errorf builds an *Error.
func Errorf(kind *Kind, op, arg, format string, a ...any) error {
	return &Error{Op: op, Arg: arg, Kind: kind, Msg: fmt.Sprintf(format, a...)}
}
