package functional

import (
	"github.com/torchloss/torchloss"
	"github.com/torchloss/torchloss/internal/devhook"
	"github.com/torchloss/torchloss/tensor"
)

// Device tensors (tensor.CUDA).
//
// Every public loss (and every differentiable op of this package) begins
// with one call of onDevice: when all its tensors are on the CPU, the call
// returns at once and the CPU implementation runs as before. When they are
// on a device:
//
//   - tensors on different devices are an error of kind torchloss.ErrDevice
//     (ctc_loss's length tensors may stay on the CPU, as in PyTorch);
//   - a fused device implementation registered for the loss (package
//     github.com/torchloss/torchloss/cuda lists them in cuda.Fused; some
//     cover only some shapes, e.g. cross_entropy class indices with an
//     (N, C) input) computes the loss and its gradient on
//     the device, for the options and shapes it covers;
//   - otherwise (the other losses, and options or shapes a fused kernel
//     does not cover) the fallback runs the CPU implementation on host
//     copies of the tensors and moves the output to the device. The copies
//     are differentiable (tensor.ToDevice), so gradients reach the device
//     tensors on their device. The fallback produces PyTorch's CPU errors.
//
// The result is on the arguments' device; Backward accepts an upstream
// gradient on either device. A custom DistanceFunction of
// TripletMarginWithDistanceLoss runs on host tensors under the fallback.

// hostFn runs the CPU implementation of a loss on host tensors (the
// arguments in the order given to onDevice) and options.
type hostFn func(ts []*tensor.Tensor, opts []Option) (*tensor.Tensor, error)

// onDevice is the device hook of the public function op. ts are its tensor
// arguments (nil entries allowed); the last anyDevice of them may be on any
// device (ctc_loss's lengths). It returns handled = false when every tensor
// (option tensors included) is on the CPU.
func onDevice(op string, ts []*tensor.Tensor, anyDevice int, opts []Option, host hostFn) (out *tensor.Tensor, handled bool, err error) {
	onDev := false
	for _, t := range ts {
		if t != nil && t.Device() != tensor.CPU {
			onDev = true
			break
		}
	}
	var cfg config
	if !onDev && len(opts) > 0 {
		cfg = applyRaw(opts)
		onDev = (cfg.weight != nil && cfg.weight.Device() != tensor.CPU) || (cfg.posWeight != nil && cfg.posWeight.Device() != tensor.CPU)
	}
	if !onDev {
		return nil, false, nil
	}
	if err := checkOnce(op, opts); err != nil {
		return nil, true, err
	}
	cfg = applyRaw(opts)
	strict := append(append([]*tensor.Tensor{}, ts[:len(ts)-anyDevice]...), cfg.weight, cfg.posWeight)
	dev, err := tensor.SameDevice(op, strict...)
	if err != nil {
		return nil, true, err
	}
	if dev == tensor.CPU { // only lengths on the device
		dev = tensor.CUDA
		for _, t := range ts {
			if t != nil && t.Device() != tensor.CPU {
				dev = t.Device()
			}
		}
	}
	if dev == tensor.CUDA {
		if f := devhook.Lookup(op); f != nil {
			o := hookOptions(op, cfg)
			if out, ok, err := f(ts, o); ok || err != nil {
				return out, true, err
			}
		}
	}
	out, err = hostFallback(dev, ts, cfg, opts, host)
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

// hookOptions converts the options of a call of op for a fused
// implementation.
func hookOptions(op string, c config) *devhook.Options {
	var d config
	if s := lossSpecs[op]; s != nil {
		d = s.defaults
	}
	o := &devhook.Options{
		Given:          map[string]bool{},
		Reduction:      string(c.reduction),
		Weight:         c.weight,
		PosWeight:      c.posWeight,
		IgnoreIndex:    d.ignoreIndex,
		LabelSmoothing: c.labelSmoothing,
		LogInput:       d.logInput,
		Full:           c.full,
		Eps:            d.eps,
		Margin:         d.margin,
		Blank:          c.blank,
		ZeroInfinity:   c.zeroInfinity,
		LogTarget:      c.logTarget,
	}
	for i, n := range optNames {
		if c.set&(1<<i) != 0 {
			o.Given[n] = true
		}
	}
	if c.set&optIgnoreIndex != 0 {
		o.IgnoreIndex = c.ignoreIndex
	}
	if c.set&optLogInput != 0 {
		o.LogInput = c.logInput
	}
	if c.set&optEps != 0 {
		o.Eps = c.eps
	}
	if c.set&optMargin != 0 {
		o.Margin = c.margin
	}
	return o
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
