package conformance

import (
	"github.com/torchloss/torchloss/functional"
	"github.com/torchloss/torchloss/tensor"
)

// The margin family: cosine_embedding_loss, hinge_embedding_loss,
// margin_ranking_loss, soft_margin_loss and multilabel_soft_margin_loss.
func init() {
	register("cosine_embedding_loss", func(c *Call) (*tensor.Tensor, error) {
		opts, err := c.Options()
		if err != nil {
			return nil, err
		}
		return functional.CosineEmbeddingLoss(c.T("input1"), c.T("input2"), c.T("target"), opts...)
	})
	register("hinge_embedding_loss", func(c *Call) (*tensor.Tensor, error) {
		opts, err := c.Options()
		if err != nil {
			return nil, err
		}
		return functional.HingeEmbeddingLoss(c.T("input"), c.T("target"), opts...)
	})
	register("margin_ranking_loss", func(c *Call) (*tensor.Tensor, error) {
		opts, err := c.Options()
		if err != nil {
			return nil, err
		}
		return functional.MarginRankingLoss(c.T("input1"), c.T("input2"), c.T("target"), opts...)
	})
	register("soft_margin_loss", func(c *Call) (*tensor.Tensor, error) {
		opts, err := c.Options()
		if err != nil {
			return nil, err
		}
		return functional.SoftMarginLoss(c.T("input"), c.T("target"), opts...)
	})
	register("multilabel_soft_margin_loss", func(c *Call) (*tensor.Tensor, error) {
		opts, err := c.Options()
		if err != nil {
			return nil, err
		}
		return functional.MultilabelSoftMarginLoss(c.T("input"), c.T("target"), opts...)
	})
}
