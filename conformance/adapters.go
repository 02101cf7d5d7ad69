package conformance

import (
	"fmt"

	F "github.com/torchloss/torchloss/functional"
	"github.com/torchloss/torchloss/internal/losses"
	"github.com/torchloss/torchloss/tensor"
)

// The adapters: how each PyTorch function's case becomes a Go call. Most
// losses take two or three tensors by their PyTorch names (the table's Args)
// and their keyword arguments as options; ctc_loss and gaussian_nll_loss
// also take lengths or a variance that may be lists or numbers.

type lossOf2 = func(a, b *tensor.Tensor, opts ...F.Option) (*tensor.Tensor, error)
type lossOf3 = func(a, b, c *tensor.Tensor, opts ...F.Option) (*tensor.Tensor, error)

// pair adapts a loss of two tensor arguments named a and b.
func pair(fn lossOf2, a, b string) Adapter {
	return func(c *Call) (*tensor.Tensor, error) {
		opts, err := c.Options()
		if err != nil {
			return nil, err
		}
		return fn(c.T(a), c.T(b), opts...)
	}
}

// triple adapts a loss of three tensor arguments named a, b and d.
func triple(fn lossOf3, a, b, d string) Adapter {
	return func(c *Call) (*tensor.Tensor, error) {
		opts, err := c.Options()
		if err != nil {
			return nil, err
		}
		return fn(c.T(a), c.T(b), c.T(d), opts...)
	}
}

// special are the adapters of the losses whose arguments do not map one to
// one to tensors and options: lengths or a variance that may be Go values
// (the table's Also functions).
var special = map[string]Adapter{
	"ctc_loss":          ctcLoss,
	"gaussian_nll_loss": gaussianNLLLoss,
}

func init() {
	for _, l := range losses.Table {
		if a := special[l.Name]; a != nil {
			register(l.Name, l.Args, a)
			continue
		}
		if len(l.Also) > 0 {
			panic("conformance: no adapter in special for " + l.Name)
		}
		switch fn := lossFuncs[l.Name].(type) {
		case lossOf2:
			register(l.Name, l.Args, pair(fn, l.Args[0], l.Args[1]))
		case lossOf3:
			register(l.Name, l.Args, triple(fn, l.Args[0], l.Args[1], l.Args[2]))
		default:
			panic(fmt.Sprintf("conformance: %s: no adapter for %T", l.Name, fn))
		}
	}
}

// ctcLoss takes the lengths as two tensors or as two lists of ints; mixing
// them (or anything else) is PyTorch's TypeError.
func ctcLoss(c *Call) (*tensor.Tensor, error) {
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
		return F.CTCLoss(c.T("log_probs"), c.T("targets"), c.T(il), c.T(tl), opts...)
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
	return F.CTCLossInts(c.T("log_probs"), c.T("targets"), in, tg, opts...)
}

// gaussianNLLLoss takes var as a tensor or a Python float; a Python int is
// PyTorch's TypeError (it reaches torch.any(var < 0)).
func gaussianNLLLoss(c *Call) (*tensor.Tensor, error) {
	opts, err := c.Options()
	if err != nil {
		return nil, err
	}
	if c.IsTensor("var") || !c.Has("var") {
		return F.GaussianNLLLoss(c.T("input"), c.T("target"), c.T("var"), opts...)
	}
	v, isInt, err := c.Number("var")
	if err != nil {
		return nil, fmt.Errorf("gaussian_nll_loss(): argument var: expected a tensor or a float: %v", err)
	}
	if isInt {
		return nil, fmt.Errorf("TypeError: any() received an invalid combination of arguments - got (bool)")
	}
	return F.GaussianNLLLossScalarVar(c.T("input"), c.T("target"), v, opts...)
}
