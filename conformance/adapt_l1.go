package conformance

import (
	"github.com/torchloss/torchloss/functional"
	"github.com/torchloss/torchloss/tensor"
)

func init() {
	register("l1_loss", func(c *Call) (*tensor.Tensor, error) {
		opts, err := c.Options()
		if err != nil {
			return nil, err
		}
		return functional.L1Loss(c.T("input"), c.T("target"), opts...)
	})
}
