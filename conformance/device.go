package conformance

import (
	"fmt"

	"github.com/torchloss/torchloss/tensor"
)

// RunCaseOn runs one case with its tensors on device dev: every tensor
// argument is moved there (a transformed argument is transformed on the
// host and moved differentiably), the gradient leaves live on dev, the
// backward pass starts from the output on dev with the case's host
// grad_output, and the output and the gradients (on the device of their
// leaf: the host for a transformed argument) are moved back to the host
// to be compared, with the same tolerances as on the CPU (Tolerances). A
// result that is not on dev is a failure: a loss must return its output on
// its arguments' device and the gradients on the leaves' device.
func RunCaseOn(c *Case, dev tensor.Device) Result { return runCase(c, dev) }

// RunOn runs every case of f with its tensors on dev (see RunCaseOn).
func RunOn(f *File, dev tensor.Device) *Report { return run(f, dev) }

// onHost checks that t (an output or a gradient) is on dev and returns a
// host copy of it, detached from autograd.
func onHost(t *tensor.Tensor, dev tensor.Device) (*tensor.Tensor, error) {
	if t == nil {
		return nil, nil
	}
	if t.Device() != dev {
		return nil, fmt.Errorf("on %v, want %v", t.Device(), dev)
	}
	if dev == tensor.CPU {
		return t, nil
	}
	return t.Detach().ToCPU()
}
