package conformance

import (
	"github.com/torchloss/torchloss/functional"
	"github.com/torchloss/torchloss/tensor"
)

// regressionArgs returns input and target of a regression-loss case, marking
// floating-point leaves as requiring a gradient. PyTorch 2.11's
// mse_loss_backward and huber_loss_backward fail when input and target
// dtypes differ, so such a call fails only in backward; a recorded error
// case has no grads (which is what makes the runner require them), and
// requiring them here lets the runner's backward of an error case see the
// failure. For a case with grads this changes nothing the runner compares.
func regressionArgs(c *Call) (input, target *tensor.Tensor) {
	input, target = c.T("input"), c.T("target")
	for _, t := range []*tensor.Tensor{input, target} {
		if t != nil && t.DType().IsFloat() && t.IsLeaf() {
			_ = t.SetRequiresGrad(true)
		}
	}
	return input, target
}

func init() {
	register("mse_loss", func(c *Call) (*tensor.Tensor, error) {
		opts, err := c.Options()
		if err != nil {
			return nil, err
		}
		input, target := regressionArgs(c)
		return functional.MSELoss(input, target, opts...)
	})
	register("smooth_l1_loss", func(c *Call) (*tensor.Tensor, error) {
		opts, err := c.Options()
		if err != nil {
			return nil, err
		}
		input, target := regressionArgs(c)
		return functional.SmoothL1Loss(input, target, opts...)
	})
	register("huber_loss", func(c *Call) (*tensor.Tensor, error) {
		opts, err := c.Options()
		if err != nil {
			return nil, err
		}
		input, target := regressionArgs(c)
		return functional.HuberLoss(input, target, opts...)
	})
}
