// Package devhook is the registry of device kernels: a device package
// (github.com/torchloss/torchloss/cuda, internal/fakedevice) registers, per
// operation and device, a forward kernel and the backward kernel it
// returns; package functional parses and checks every call once, for every
// device, looks the kernel up, runs it and records the autograd node
// itself. Semantics (argument checks, option defaults, errors, node names,
// which arguments are differentiable) stay in functional; a kernel only
// computes, and declines the layouts it does not cover.
package devhook

import (
	"sync"

	"github.com/torchloss/torchloss/tensor"
)

// Options are a call's options, parsed, checked and with PyTorch's
// defaults applied by functional (Reduction is never "").
type Options struct {
	Reduction      string // "mean", "sum", "none" or "batchmean"
	Weight         *tensor.Tensor
	PosWeight      *tensor.Tensor
	IgnoreIndex    int64
	LabelSmoothing float64
	LogInput       bool
	Full           bool
	Eps            float64
	Margin         float64
	Blank          int64
	ZeroInfinity   bool
	LogTarget      bool
	Dim            int     // the dimension of softmax, log_softmax, norm, ... (non-negative)
	Scalar         float64 // the scalar operand of an elementwise op (pow's exponent, clamp_min's bound, add.Scalar's), norm's p
}

// Call is one checked call of an operation on a device.
type Call struct {
	Op     string        // PyTorch's name: "mse_loss", "sigmoid", ...
	Device tensor.Device // where every tensor argument lives (ctc_loss's lengths may be on the host)
	// Args are the tensor arguments in PyTorch's order (nil for an
	// optional one not given). Their shapes and dtypes passed
	// functional's checks; they are not converted or broadcast: a kernel
	// declines the layouts it does not handle.
	Args    []*tensor.Tensor
	Options Options
	// Needs[i] reports whether Args[i] wants a gradient (len(Needs) is the
	// number of differentiable leading arguments).
	Needs []bool
	// Reference runs the host implementation of this call (its options
	// bound) on host tensors args and option tensors weight and
	// posWeight. A device whose memory the host can address (the fake
	// device) computes with it; a real device ignores it.
	Reference func(args []*tensor.Tensor, weight, posWeight *tensor.Tensor) (*tensor.Tensor, error)
	// Fold, when not tensor.UnaryNone, says that Args[0] is the output of
	// a unary node of that kind (its Node.Unary) whose backward functional
	// lets this operation fold into its own (binary_cross_entropy of a
	// sigmoid). The kernel may then set Through; it may ignore Fold.
	Fold tensor.UnaryGrad
	// Through, set by the forward kernel, is the backward of this node and
	// of Args[0]'s node in one pass (tensor.Node.Through): for the output
	// gradient grad it returns ins, what Backward(grad) returns with entry
	// 0 nil, and through, the gradient of the input of Args[0]'s node, bit
	// for bit what Backward followed by that node's backward give; each
	// newly allocated. ok false declines (nothing computed).
	Through func(grad *tensor.Tensor) (ins []*tensor.Tensor, through *tensor.Tensor, ok bool, err error)
}

// Backward is a backward kernel: it maps the gradient of the output (on the
// device, of the output's shape and dtype) to the gradients of the
// arguments that Call.Needs (nil entries elsewhere), each of its
// argument's shape, dtype and device, newly allocated on every call.
type Backward func(grad *tensor.Tensor) ([]*tensor.Tensor, error)

// Forward is a forward kernel: it computes the output of c on c.Device and
// returns the backward kernel for it (nil when nothing needs a gradient).
// ok false (with a nil error) declines: functional then runs the host
// implementation on host copies. A value check that needs the data (a
// target out of range) either declines or, on a device with a
// tensor.Checker, is reported by the device at the next synchronizing
// point.
type Forward func(c *Call) (out *tensor.Tensor, bwd Backward, ok bool, err error)

type key struct {
	op  string
	dev tensor.Device
}

var registry struct {
	mu   sync.RWMutex
	fwd  map[key]Forward
	dflt map[tensor.Device]Forward
}

// Register makes f the forward kernel of op on device dev (call it from an
// init function, or from a device's registration).
func Register(op string, dev tensor.Device, f Forward) {
	registry.mu.Lock()
	defer registry.mu.Unlock()
	if registry.fwd == nil {
		registry.fwd = map[key]Forward{}
	}
	registry.fwd[key{op, dev}] = f
}

// RegisterDefault makes f the forward kernel of every operation without a
// kernel of its own on dev (the fake device computes every operation by
// its Reference).
func RegisterDefault(dev tensor.Device, f Forward) {
	registry.mu.Lock()
	defer registry.mu.Unlock()
	if registry.dflt == nil {
		registry.dflt = map[tensor.Device]Forward{}
	}
	registry.dflt[dev] = f
}

// Lookup returns the forward kernel of op on dev, or nil.
func Lookup(op string, dev tensor.Device) Forward {
	registry.mu.RLock()
	defer registry.mu.RUnlock()
	if f := registry.fwd[key{op, dev}]; f != nil {
		return f
	}
	return registry.dflt[dev]
}
