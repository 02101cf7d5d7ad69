// Package devhook connects the functional package to device (GPU)
// implementations of the losses without making functional depend on them:
// a device package (github.com/torchloss/torchloss/cuda) registers a fused
// implementation per PyTorch function name from its init function, and
// functional's device hook looks it up when a loss is called on device
// tensors.
package devhook

import "github.com/torchloss/torchloss/tensor"

// Options are the keyword arguments of one call, as given (not validated:
// a fused implementation must decline an option it does not handle, and the
// CPU implementation behind the fallback then validates everything).
type Options struct {
	Given          map[string]bool // PyTorch names of the options given, e.g. "weight"
	Reduction      string          // "" (default), "mean", "sum", "none", "batchmean", ...
	Weight         *tensor.Tensor
	PosWeight      *tensor.Tensor
	IgnoreIndex    int64 // -100 unless given
	LabelSmoothing float64
	LogInput       bool // true unless given
	Full           bool
	Eps            float64 // the loss's default unless given
	Margin         float64 // the loss's default unless given
	Blank          int64
	ZeroInfinity   bool
	LogTarget      bool
}

// Only reports whether every option given is one of names.
func (o *Options) Only(names ...string) bool {
	for g := range o.Given {
		ok := false
		for _, n := range names {
			ok = ok || g == n
		}
		if !ok {
			return false
		}
	}
	return true
}

// Loss is a device implementation of a loss. args are the loss's tensor
// arguments in PyTorch's order (all on the device, except ctc_loss's
// lengths, which may be on the host). It returns handled = false (and no
// error) to decline a call it does not cover (an option, a dtype, a
// broadcast, an input a CPU check would reject): the caller then runs the
// CPU implementation on host copies, which also produces PyTorch's errors.
type Loss func(args []*tensor.Tensor, o *Options) (out *tensor.Tensor, handled bool, err error)

var losses = map[string]Loss{}

// Register makes f the device implementation of the loss op (PyTorch's
// name). Call it from an init function only.
func Register(op string, f Loss) { losses[op] = f }

// Lookup returns the device implementation of op, or nil.
func Lookup(op string) Loss { return losses[op] }
