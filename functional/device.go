package functional

import (
	"slices"

	"github.com/torchloss/torchloss"
	"github.com/torchloss/torchloss/internal/devhook"
	"github.com/torchloss/torchloss/tensor"
)

// Device tensors.
//
// A loss (or differentiable op) whose arguments live on a device other
// than the CPU runs in one of two ways:
//
//   - the kernel path (onKernel): the function parses and checks its
//     arguments, shapes, dtypes and options as for the CPU, then looks up
//     the kernel registered for (operation, device) in internal/devhook
//     (package github.com/torchloss/torchloss/cuda registers the CUDA
//     kernels, internal/fakedevice a host-backed test device). The kernel
//     computes the output on the device and returns its backward kernel;
//     this package records the autograd node (its PyTorch name, the
//     differentiable arguments), so semantics live here once for every
//     device. A kernel may decline a layout it does not cover;
//   - the fallback (no kernel, or declined): the CPU implementation runs on
//     host copies of the tensors and its output is moved to the device.
//     The copies are differentiable (tensor.ToDevice), so gradients reach
//     the device tensors on their device, and errors are the CPU's.
//
// Tensors on different devices are an error of kind torchloss.ErrDevice
// (ctc_loss's length tensors may stay on the CPU, as in PyTorch). The
// result is on the arguments' device; Backward accepts an upstream
// gradient on either device. A custom DistanceFunction of
// TripletMarginWithDistanceLoss runs on host tensors under the fallback.

// hostFn runs the CPU implementation of a loss on host tensors (the
// arguments in the order given to onDevice) and options.
type hostFn func(ts []*tensor.Tensor, opts []Option) (*tensor.Tensor, error)

// deviceOf returns the device of a call's tensors ts (nil entries
// allowed; the last anyDevice of them may be on any device: ctc_loss's
// lengths) and option tensors, CPU when all are on the host, or an
// ErrDevice error for tensors on different devices.
func deviceOf(op string, ts []*tensor.Tensor, anyDevice int, cfg *config) (tensor.Device, error) {
	onDev := anyOnDevice(ts) || (cfg.weight != nil && cfg.weight.Device() != tensor.CPU) || (cfg.posWeight != nil && cfg.posWeight.Device() != tensor.CPU)
	if !onDev {
		return tensor.CPU, nil
	}
	strict := append(append([]*tensor.Tensor{}, ts[:len(ts)-anyDevice]...), cfg.weight, cfg.posWeight)
	dev, err := tensor.SameDevice(op, strict...)
	if err != nil {
		return 0, err
	}
	if dev == tensor.CPU { // only lengths on the device
		for _, t := range ts {
			if t != nil && t.Device() != tensor.CPU {
				dev = t.Device()
			}
		}
	}
	return dev, nil
}

// anyOnDevice reports whether a tensor of ts (nil entries allowed) is off
// the CPU.
func anyOnDevice(ts []*tensor.Tensor) bool {
	for _, t := range ts {
		if t != nil && t.Device() != tensor.CPU {
			return true
		}
	}
	return false
}

// onDevice is the device hook of an operation without the kernel path:
// ts are its tensor arguments (nil entries allowed; see deviceOf for
// anyDevice). It returns handled = false when every tensor (option
// tensors included) is on the CPU; otherwise it runs the fallback.
func onDevice(op string, ts []*tensor.Tensor, anyDevice int, opts []Option, host hostFn) (out *tensor.Tensor, handled bool, err error) {
	if len(opts) == 0 && !anyOnDevice(ts) {
		return nil, false, nil // the CPU path, without building a config
	}
	cfg := applyRaw(opts)
	dev, err := deviceOf(op, ts, anyDevice, &cfg)
	if err == nil && dev == tensor.CPU {
		return nil, false, nil
	}
	if err := checkOnce(op, opts); err != nil {
		return nil, true, err
	}
	if err != nil {
		return nil, true, err
	}
	out, err = hostFallback(dev, ts, cfg, opts, host)
	return out, true, err
}

// kernelCall is a checked call for the kernel path.
type kernelCall struct {
	op        string
	args      []*tensor.Tensor // tensor arguments in PyTorch's order
	anyDevice int              // trailing args that may be on any device
	diff      int              // leading args that are differentiable
	cfg       config           // parsed, with the loss's defaults
	dim       int              // the dimension of softmax, norm, ... (non-negative)
	scalar    float64          // the scalar operand of an elementwise op, norm's p
	name      string           // the autograd node's name
	hostOnly  bool             // no kernel: a composite graph (a weighted regression)
	fold      bool             // the kernel may fold args[0]'s unary node's backward (Node.Through)
	unary     tensor.UnaryGrad // the recorded node's Node.Unary (sigmoid: a consumer may fold it)
	kind      int              // what else the host closure needs (an op's kind)
	opts      []Option         // as given (for the fallback)
	// host runs the host implementation on host tensors. It takes what it
	// needs from k rather than capturing it, so that building a kernelCall
	// allocates nothing on the CPU path.
	host func(k *kernelCall, a []*tensor.Tensor, o []Option) (*tensor.Tensor, error)
}

// onKernel runs a checked call on its device: handled is false when every
// tensor is on the CPU (the caller computes on the host). Otherwise the
// device's kernel runs and this function records the node, or, without a
// kernel or when it declines, the fallback runs.
func onKernel(k kernelCall) (out *tensor.Tensor, handled bool, err error) {
	dev, err := deviceOf(k.op, k.args, k.anyDevice, &k.cfg)
	if err != nil || dev == tensor.CPU {
		return nil, err != nil, err
	}
	return kernelOn(dev, k)
}

// kernelOn is onKernel's device part, apart so that nothing of k reaches
// the heap on the CPU path.
func kernelOn(dev tensor.Device, k kernelCall) (*tensor.Tensor, bool, error) {
	args, opts := slices.Clone(k.args), slices.Clone(k.opts)
	host := func(a []*tensor.Tensor, o []Option) (*tensor.Tensor, error) { return k.host(&k, a, o) }
	if fwd := devhook.Lookup(k.op, dev); fwd != nil && !k.hostOnly {
		c := &devhook.Call{Op: k.op, Device: dev, Args: args, Options: hookOptions(k.cfg), Needs: make([]bool, k.diff)}
		c.Options.Dim, c.Options.Scalar = k.dim, k.scalar
		for i := range c.Needs {
			c.Needs[i] = args[i] != nil && args[i].RequiresGrad()
		}
		if k.fold && len(c.Needs) > 0 && c.Needs[0] {
			if nd := args[0].GradFn(); nd != nil && len(nd.Inputs) == 1 && nd.Inputs[0] != nil {
				c.Fold = nd.Unary
			}
		}
		c.Reference = func(hargs []*tensor.Tensor, w, pw *tensor.Tensor) (*tensor.Tensor, error) {
			o := opts
			if w != nil {
				o = replaceOption(o, Weight(w))
			}
			if pw != nil {
				o = replaceOption(o, PosWeight(pw))
			}
			return host(hargs, o)
		}
		out, bwd, ok, err := fwd(c)
		if err != nil {
			return nil, true, err
		}
		if ok {
			if bwd == nil {
				return out, true, nil
			}
			res := tensor.Record(out, k.name, args[:k.diff], bwd)
			ownGrads(res)
			if nd := res.GradFn(); nd != nil {
				nd.Unary = k.unary
			}
			if nd := res.GradFn(); nd != nil && c.Through != nil && c.Fold != tensor.UnaryNone {
				through := c.Through
				nd.Through = func(g *tensor.Tensor, j int) ([]*tensor.Tensor, []*tensor.Tensor, bool, error) {
					if j != 0 {
						return nil, nil, false, nil
					}
					ins, th, ok, err := through(g)
					if !ok || err != nil {
						return nil, nil, ok, err
					}
					return ins, []*tensor.Tensor{th}, true, nil
				}
			}
			return res, true, nil
		}
	}
	out, err := hostFallback(dev, args, k.cfg, opts, host)
	return out, true, err
}

// hostFallback runs host on host copies of ts (and of the option tensors)
// and moves its output to dev.
func hostFallback(dev tensor.Device, ts []*tensor.Tensor, cfg config, opts []Option, host hostFn) (*tensor.Tensor, error) {
	hts := make([]*tensor.Tensor, len(ts))
	for i, t := range ts {
		if t == nil {
			continue
		}
		h, err := t.ToCPU()
		if err != nil {
			return nil, err
		}
		hts[i] = h
	}
	hopts := opts
	if cfg.weight != nil && cfg.weight.Device() != tensor.CPU {
		h, err := cfg.weight.ToCPU()
		if err != nil {
			return nil, err
		}
		hopts = replaceOption(hopts, Weight(h))
	}
	if cfg.posWeight != nil && cfg.posWeight.Device() != tensor.CPU {
		h, err := cfg.posWeight.ToCPU()
		if err != nil {
			return nil, err
		}
		hopts = replaceOption(hopts, PosWeight(h))
	}
	out, err := host(hts, hopts)
	if err != nil {
		return nil, err
	}
	return out.ToDevice(dev)
}

// applyRaw applies opts to an empty config without validating them.
func applyRaw(opts []Option) config {
	var c config
	for _, o := range opts {
		if o != nil {
			o.apply(&c)
		}
	}
	return c
}

// hookOptions converts parsed options (defaults applied) for a kernel.
func hookOptions(c config) devhook.Options {
	r := string(c.reduction)
	if r == "" {
		r = string(Mean)
	}
	return devhook.Options{
		Reduction:      r,
		Weight:         c.weight,
		PosWeight:      c.posWeight,
		IgnoreIndex:    c.ignoreIndex,
		LabelSmoothing: c.labelSmoothing,
		LogInput:       c.logInput,
		Full:           c.full,
		Eps:            c.eps,
		Margin:         c.margin,
		Blank:          c.blank,
		ZeroInfinity:   c.zeroInfinity,
		LogTarget:      c.logTarget,
	}
}

// ctcIntsOnDevice is the device hook of CTCLossInts: the lengths become
// host int64 tensors and CTCLoss (with its own hook) runs.
func ctcIntsOnDevice(logProbs, targets *tensor.Tensor, il, tl []int64, opts []Option) (*tensor.Tensor, bool, error) {
	if (logProbs == nil || logProbs.Device() == tensor.CPU) && (targets == nil || targets.Device() == tensor.CPU) {
		return nil, false, nil
	}
	if il == nil || tl == nil {
		return nil, true, torchloss.Errorf(torchloss.ErrValue, "ctc_loss", "input_lengths", "expected lengths, got nil")
	}
	out, err := CTCLoss(logProbs, targets, tensor.MustFromData(il, []int{len(il)}), tensor.MustFromData(tl, []int{len(tl)}), opts...)
	return out, true, err
}

// devArgs is shorthand for the tensor arguments of a hook.
func devArgs(t ...*tensor.Tensor) []*tensor.Tensor { return t }

// b2i is 1 for true (kernelCall.kind of a flag).
func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
