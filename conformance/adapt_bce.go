package conformance

import (
	"github.com/torchloss/torchloss/functional"
	"github.com/torchloss/torchloss/tensor"
)

func init() {
	register("binary_cross_entropy", func(c *Call) (*tensor.Tensor, error) {
		opts, err := c.Options()
		if err != nil {
			return nil, err
		}
		return functional.BinaryCrossEntropy(c.T("input"), c.T("target"), opts...)
	})
	register("binary_cross_entropy_with_logits", func(c *Call) (*tensor.Tensor, error) {
		opts, err := c.Options()
		if err != nil {
			return nil, err
		}
		return functional.BinaryCrossEntropyWithLogits(c.T("input"), c.T("target"), opts...)
	})
}
