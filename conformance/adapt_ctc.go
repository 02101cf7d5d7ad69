package conformance

import (
	"fmt"

	"github.com/torchloss/torchloss/functional"
	"github.com/torchloss/torchloss/tensor"
)

func init() {
	// ctc_loss takes its lengths as two tensors or as two lists of ints;
	// mixing them (or anything else) is PyTorch's TypeError.
	register("ctc_loss", func(c *Call) (*tensor.Tensor, error) {
		opts, err := c.Options()
		if err != nil {
			return nil, err
		}
		const il, tl = "input_lengths", "target_lengths"
		for _, name := range []string{il, tl} {
			if !c.Has(name) {
				return nil, fmt.Errorf("ctc_loss() received an invalid combination of arguments: %s is None", name)
			}
		}
		switch a, b := c.IsTensor(il), c.IsTensor(tl); {
		case a && b:
			return functional.CTCLoss(c.T("log_probs"), c.T("targets"), c.T(il), c.T(tl), opts...)
		case a != b:
			return nil, fmt.Errorf("ctc_loss() received an invalid combination of arguments: input_lengths and target_lengths must both be tensors or both be lists of ints")
		}
		in, err := c.Ints(il)
		if err != nil {
			return nil, err
		}
		tg, err := c.Ints(tl)
		if err != nil {
			return nil, err
		}
		return functional.CTCLossInts(c.T("log_probs"), c.T("targets"), in, tg, opts...)
	})
}
