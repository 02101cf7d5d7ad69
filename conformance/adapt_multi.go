package conformance

import (
	"encoding/json"
	"fmt"

	"github.com/torchloss/torchloss/functional"
	"github.com/torchloss/torchloss/tensor"
)

// The multi-class margin and triplet losses.

func init() {
	register("multi_margin_loss", func(c *Call) (*tensor.Tensor, error) {
		opts, err := multiOptions(c, "p", "margin")
		if err != nil {
			return nil, err
		}
		return functional.MultiMarginLoss(c.T("input"), c.T("target"), opts...)
	})
	register("multilabel_margin_loss", func(c *Call) (*tensor.Tensor, error) {
		opts, err := multiOptions(c)
		if err != nil {
			return nil, err
		}
		return functional.MultilabelMarginLoss(c.T("input"), c.T("target"), opts...)
	})
	register("triplet_margin_loss", func(c *Call) (*tensor.Tensor, error) {
		opts, err := multiOptions(c, "margin", "p", "eps", "swap")
		if err != nil {
			return nil, err
		}
		return functional.TripletMarginLoss(c.T("anchor"), c.T("positive"), c.T("negative"), opts...)
	})
	register("triplet_margin_with_distance_loss", func(c *Call) (*tensor.Tensor, error) {
		// distance_function can only be recorded as null or a name: null
		// and PyTorch's default, pairwise_distance, are the default here.
		if raw, ok := c.kwargs["distance_function"]; ok {
			var name *string
			if err := json.Unmarshal(raw, &name); err != nil {
				return nil, fmt.Errorf("%s() keyword argument distance_function: %v", c.Fn, err)
			}
			if name != nil {
				switch *name {
				case "pairwise_distance", "PairwiseDistance":
				default:
					return nil, fmt.Errorf("%s(): unsupported distance_function %q", c.Fn, *name)
				}
			}
			rest := map[string]json.RawMessage{}
			for k, v := range c.kwargs {
				if k != "distance_function" {
					rest[k] = v
				}
			}
			cc := *c
			cc.kwargs = rest
			c = &cc
		}
		opts, err := multiOptions(c, "margin", "swap")
		if err != nil {
			return nil, err
		}
		return functional.TripletMarginWithDistanceLoss(c.T("anchor"), c.T("positive"), c.T("negative"), opts...)
	})
}

// multiOptions is c.Options() plus the scalar parameters in names when a
// case passes them among its args rather than its kwargs.
func multiOptions(c *Call, names ...string) ([]functional.Option, error) {
	var opts []functional.Option
	for _, k := range names {
		raw, ok := c.raw[k]
		if !ok || string(raw) == "null" || c.IsTensor(k) {
			continue
		}
		if k == "swap" {
			var b bool
			if err := json.Unmarshal(raw, &b); err != nil {
				return nil, fmt.Errorf("%s() argument swap: %v", c.Fn, err)
			}
			opts = append(opts, functional.Swap(b))
			continue
		}
		v, _, err := c.Number(k)
		if err != nil {
			return nil, fmt.Errorf("%s() argument %s: %v", c.Fn, k, err)
		}
		switch k {
		case "p":
			opts = append(opts, functional.P(v))
		case "margin":
			opts = append(opts, functional.Margin(v))
		case "eps":
			opts = append(opts, functional.Eps(v))
		}
	}
	kw, err := c.Options()
	if err != nil {
		return nil, err
	}
	return append(opts, kw...), nil
}
