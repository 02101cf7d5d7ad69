package conformance

import (
	"github.com/torchloss/torchloss/functional"
	"github.com/torchloss/torchloss/tensor"
)

func init() {
	register("nll_loss", func(c *Call) (*tensor.Tensor, error) {
		opts, err := c.Options()
		if err != nil {
			return nil, err
		}
		return functional.NLLLoss(c.T("input"), c.T("target"), opts...)
	})
	register("cross_entropy", func(c *Call) (*tensor.Tensor, error) {
		opts, err := c.Options()
		if err != nil {
			return nil, err
		}
		return functional.CrossEntropy(c.T("input"), c.T("target"), opts...)
	})
}
