package conformance

import (
	"fmt"

	"github.com/torchloss/torchloss/functional"
	"github.com/torchloss/torchloss/tensor"
)

func init() {
	register("poisson_nll_loss", func(c *Call) (*tensor.Tensor, error) {
		opts, err := c.Options()
		if err != nil {
			return nil, err
		}
		return functional.PoissonNLLLoss(c.T("input"), c.T("target"), opts...)
	})
	register("gaussian_nll_loss", func(c *Call) (*tensor.Tensor, error) {
		opts, err := c.Options()
		if err != nil {
			return nil, err
		}
		if c.IsTensor("var") || !c.Has("var") {
			return functional.GaussianNLLLoss(c.T("input"), c.T("target"), c.T("var"), opts...)
		}
		v, isInt, err := c.Number("var")
		if err != nil {
			return nil, fmt.Errorf("gaussian_nll_loss(): argument var: expected a tensor or a float: %v", err)
		}
		if isInt {
			// PyTorch only takes a Python float as a scalar var; an int
			// reaches torch.any(var < 0) and raises a TypeError.
			return nil, fmt.Errorf("TypeError: any() received an invalid combination of arguments - got (bool)")
		}
		return functional.GaussianNLLLossScalarVar(c.T("input"), c.T("target"), v, opts...)
	})
	register("kl_div", func(c *Call) (*tensor.Tensor, error) {
		opts, err := c.Options()
		if err != nil {
			return nil, err
		}
		return functional.KLDiv(c.T("input"), c.T("target"), opts...)
	})
}
