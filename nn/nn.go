// Package nn holds torchloss's loss modules: one type per PyTorch loss
// module (torch.nn.BCELoss, torch.nn.CrossEntropyLoss, ...), named as PyTorch
// names them. A module holds its options, given once to its constructor as
// functional options, and computes the loss with Forward:
//
//	lossFn, err := nn.NewCrossEntropyLoss(functional.LabelSmoothing(0.1))
//	...
//	loss, err := lossFn.Forward(logits, target)
//
// Like PyTorch's constructors, which reject a keyword the loss does not
// have, a constructor checks its options and returns an ErrOption error for
// an option the loss does not take, one given twice, or a value the loss
// rejects whatever its arguments (label_smoothing outside [0, 1], a
// negative beta, p other than 1 or 2 for MultiMarginLoss, ...); Forward
// then never fails because of the options alone, except where the check
// needs the arguments (a weight of the wrong size, a blank outside the
// classes).
//
// A module is immutable after construction, so one module can be reused for
// every step and shared by any number of goroutines. Forward calls the
// function of the functional package of the same name, so the modules have
// the same semantics, defaults and errors.
package nn

import (
	"errors"

	"github.com/torchloss/torchloss"
	"github.com/torchloss/torchloss/functional"
	"github.com/torchloss/torchloss/tensor"
)

// pairLoss is a loss of (input, target).
type pairLoss struct {
	fn   func(input, target *tensor.Tensor, opts ...functional.Option) (*tensor.Tensor, error)
	opts []functional.Option
}

// Forward computes the loss of input against target.
func (m pairLoss) Forward(input, target *tensor.Tensor) (*tensor.Tensor, error) {
	return m.fn(input, target, m.opts...)
}

// tripleLoss is a loss of three tensors.
type tripleLoss struct {
	fn   func(a, b, c *tensor.Tensor, opts ...functional.Option) (*tensor.Tensor, error)
	opts []functional.Option
}

func (m tripleLoss) forward(a, b, c *tensor.Tensor) (*tensor.Tensor, error) {
	return m.fn(a, b, c, m.opts...)
}

func own(opts []functional.Option) []functional.Option { return append([]functional.Option{}, opts...) }

// optionError keeps the error of a loss called without arguments if it is
// about the options (ErrOption). Every functional loss checks its options
// before its arguments, so the error for the missing arguments means that
// the options passed.
func optionError(err error) error {
	if errors.Is(err, torchloss.ErrOption) {
		return err
	}
	return nil
}

// pair is the checked pairLoss of fn with opts.
func pair(fn func(input, target *tensor.Tensor, opts ...functional.Option) (*tensor.Tensor, error), opts []functional.Option) (pairLoss, error) {
	m := pairLoss{fn, own(opts)}
	_, err := fn(nil, nil, m.opts...)
	return m, optionError(err)
}

// triple is the checked tripleLoss of fn with opts.
func triple(fn func(a, b, c *tensor.Tensor, opts ...functional.Option) (*tensor.Tensor, error), opts []functional.Option) (tripleLoss, error) {
	m := tripleLoss{fn, own(opts)}
	_, err := fn(nil, nil, nil, m.opts...)
	return m, optionError(err)
}

// made returns m, or nil and err if the options were rejected.
func made[M any](m *M, err error) (*M, error) {
	if err != nil {
		return nil, err
	}
	return m, nil
}

// L1Loss is torch.nn.L1Loss(reduction='mean'): functional.L1Loss as a module.
type L1Loss struct{ pairLoss }

// NewL1Loss returns an L1Loss with the given options (Reduction, Weight).
func NewL1Loss(opts ...functional.Option) (*L1Loss, error) {
	p, err := pair(functional.L1Loss, opts)
	return made(&L1Loss{p}, err)
}

// MSELoss is torch.nn.MSELoss: functional.MSELoss as a module.
type MSELoss struct{ pairLoss }

// NewMSELoss returns an MSELoss with the given options (Reduction, Weight).
func NewMSELoss(opts ...functional.Option) (*MSELoss, error) {
	p, err := pair(functional.MSELoss, opts)
	return made(&MSELoss{p}, err)
}

// SmoothL1Loss is torch.nn.SmoothL1Loss(reduction='mean', beta=1.0).
type SmoothL1Loss struct{ pairLoss }

// NewSmoothL1Loss returns a SmoothL1Loss with the given options (Reduction, Beta).
func NewSmoothL1Loss(opts ...functional.Option) (*SmoothL1Loss, error) {
	p, err := pair(functional.SmoothL1Loss, opts)
	return made(&SmoothL1Loss{p}, err)
}

// HuberLoss is torch.nn.HuberLoss(reduction='mean', delta=1.0).
type HuberLoss struct{ pairLoss }

// NewHuberLoss returns a HuberLoss with the given options (Reduction, Delta, Weight).
func NewHuberLoss(opts ...functional.Option) (*HuberLoss, error) {
	p, err := pair(functional.HuberLoss, opts)
	return made(&HuberLoss{p}, err)
}

// BCELoss is torch.nn.BCELoss(weight=None, reduction='mean').
type BCELoss struct{ pairLoss }

// NewBCELoss returns a BCELoss with the given options (Weight, Reduction).
func NewBCELoss(opts ...functional.Option) (*BCELoss, error) {
	p, err := pair(functional.BinaryCrossEntropy, opts)
	return made(&BCELoss{p}, err)
}

// BCEWithLogitsLoss is torch.nn.BCEWithLogitsLoss(weight=None,
// reduction='mean', pos_weight=None).
type BCEWithLogitsLoss struct{ pairLoss }

// NewBCEWithLogitsLoss returns a BCEWithLogitsLoss with the given options
// (Weight, PosWeight, Reduction).
func NewBCEWithLogitsLoss(opts ...functional.Option) (*BCEWithLogitsLoss, error) {
	p, err := pair(functional.BinaryCrossEntropyWithLogits, opts)
	return made(&BCEWithLogitsLoss{p}, err)
}

// PoissonNLLLoss is torch.nn.PoissonNLLLoss(log_input=True, full=False,
// eps=1e-8, reduction='mean').
type PoissonNLLLoss struct{ pairLoss }

// NewPoissonNLLLoss returns a PoissonNLLLoss with the given options
// (LogInput, Full, Eps, Reduction).
func NewPoissonNLLLoss(opts ...functional.Option) (*PoissonNLLLoss, error) {
	p, err := pair(functional.PoissonNLLLoss, opts)
	return made(&PoissonNLLLoss{p}, err)
}

// KLDivLoss is torch.nn.KLDivLoss(reduction='mean', log_target=False).
type KLDivLoss struct{ pairLoss }

// NewKLDivLoss returns a KLDivLoss with the given options (Reduction,
// including BatchMean, and LogTarget).
func NewKLDivLoss(opts ...functional.Option) (*KLDivLoss, error) {
	p, err := pair(functional.KLDiv, opts)
	return made(&KLDivLoss{p}, err)
}

// NLLLoss is torch.nn.NLLLoss(weight=None, ignore_index=-100,
// reduction='mean').
type NLLLoss struct{ pairLoss }

// NewNLLLoss returns an NLLLoss with the given options (Weight, IgnoreIndex,
// Reduction).
func NewNLLLoss(opts ...functional.Option) (*NLLLoss, error) {
	p, err := pair(functional.NLLLoss, opts)
	return made(&NLLLoss{p}, err)
}

// CrossEntropyLoss is torch.nn.CrossEntropyLoss(weight=None,
// ignore_index=-100, reduction='mean', label_smoothing=0.0).
type CrossEntropyLoss struct{ pairLoss }

// NewCrossEntropyLoss returns a CrossEntropyLoss with the given options
// (Weight, IgnoreIndex, LabelSmoothing, Reduction).
func NewCrossEntropyLoss(opts ...functional.Option) (*CrossEntropyLoss, error) {
	p, err := pair(functional.CrossEntropy, opts)
	return made(&CrossEntropyLoss{p}, err)
}

// HingeEmbeddingLoss is torch.nn.HingeEmbeddingLoss(margin=1.0,
// reduction='mean').
type HingeEmbeddingLoss struct{ pairLoss }

// NewHingeEmbeddingLoss returns a HingeEmbeddingLoss with the given options
// (Margin, Reduction).
func NewHingeEmbeddingLoss(opts ...functional.Option) (*HingeEmbeddingLoss, error) {
	p, err := pair(functional.HingeEmbeddingLoss, opts)
	return made(&HingeEmbeddingLoss{p}, err)
}

// SoftMarginLoss is torch.nn.SoftMarginLoss(reduction='mean').
type SoftMarginLoss struct{ pairLoss }

// NewSoftMarginLoss returns a SoftMarginLoss with the given options (Reduction).
func NewSoftMarginLoss(opts ...functional.Option) (*SoftMarginLoss, error) {
	p, err := pair(functional.SoftMarginLoss, opts)
	return made(&SoftMarginLoss{p}, err)
}

// MultiLabelSoftMarginLoss is torch.nn.MultiLabelSoftMarginLoss(weight=None,
// reduction='mean').
type MultiLabelSoftMarginLoss struct{ pairLoss }

// NewMultiLabelSoftMarginLoss returns a MultiLabelSoftMarginLoss with the
// given options (Weight, Reduction).
func NewMultiLabelSoftMarginLoss(opts ...functional.Option) (*MultiLabelSoftMarginLoss, error) {
	p, err := pair(functional.MultilabelSoftMarginLoss, opts)
	return made(&MultiLabelSoftMarginLoss{p}, err)
}

// MultiMarginLoss is torch.nn.MultiMarginLoss(p=1, margin=1.0, weight=None,
// reduction='mean').
type MultiMarginLoss struct{ pairLoss }

// NewMultiMarginLoss returns a MultiMarginLoss with the given options (P,
// Margin, Weight, Reduction).
func NewMultiMarginLoss(opts ...functional.Option) (*MultiMarginLoss, error) {
	p, err := pair(functional.MultiMarginLoss, opts)
	return made(&MultiMarginLoss{p}, err)
}

// MultiLabelMarginLoss is torch.nn.MultiLabelMarginLoss(reduction='mean').
type MultiLabelMarginLoss struct{ pairLoss }

// NewMultiLabelMarginLoss returns a MultiLabelMarginLoss with the given
// options (Reduction).
func NewMultiLabelMarginLoss(opts ...functional.Option) (*MultiLabelMarginLoss, error) {
	p, err := pair(functional.MultilabelMarginLoss, opts)
	return made(&MultiLabelMarginLoss{p}, err)
}

// CosineEmbeddingLoss is torch.nn.CosineEmbeddingLoss(margin=0.0,
// reduction='mean').
type CosineEmbeddingLoss struct{ m tripleLoss }

// NewCosineEmbeddingLoss returns a CosineEmbeddingLoss with the given
// options (Margin, Reduction).
func NewCosineEmbeddingLoss(opts ...functional.Option) (*CosineEmbeddingLoss, error) {
	p, err := triple(functional.CosineEmbeddingLoss, opts)
	return made(&CosineEmbeddingLoss{p}, err)
}

// Forward computes the loss of the pairs (input1, input2) labelled target.
func (m *CosineEmbeddingLoss) Forward(input1, input2, target *tensor.Tensor) (*tensor.Tensor, error) {
	return m.m.forward(input1, input2, target)
}

// MarginRankingLoss is torch.nn.MarginRankingLoss(margin=0.0,
// reduction='mean').
type MarginRankingLoss struct{ m tripleLoss }

// NewMarginRankingLoss returns a MarginRankingLoss with the given options
// (Margin, Reduction).
func NewMarginRankingLoss(opts ...functional.Option) (*MarginRankingLoss, error) {
	p, err := triple(functional.MarginRankingLoss, opts)
	return made(&MarginRankingLoss{p}, err)
}

// Forward computes the loss of ranking input1 against input2 as target says.
func (m *MarginRankingLoss) Forward(input1, input2, target *tensor.Tensor) (*tensor.Tensor, error) {
	return m.m.forward(input1, input2, target)
}

// TripletMarginLoss is torch.nn.TripletMarginLoss(margin=1.0, p=2.0,
// eps=1e-06, swap=False, reduction='mean').
type TripletMarginLoss struct{ m tripleLoss }

// NewTripletMarginLoss returns a TripletMarginLoss with the given options
// (Margin, P, Eps, Swap, Reduction).
func NewTripletMarginLoss(opts ...functional.Option) (*TripletMarginLoss, error) {
	p, err := triple(functional.TripletMarginLoss, opts)
	return made(&TripletMarginLoss{p}, err)
}

// Forward computes the loss of the triplets (anchor, positive, negative).
func (m *TripletMarginLoss) Forward(anchor, positive, negative *tensor.Tensor) (*tensor.Tensor, error) {
	return m.m.forward(anchor, positive, negative)
}

// TripletMarginWithDistanceLoss is
// torch.nn.TripletMarginWithDistanceLoss(distance_function=None,
// margin=1.0, swap=False, reduction='mean').
type TripletMarginWithDistanceLoss struct{ m tripleLoss }

// NewTripletMarginWithDistanceLoss returns a TripletMarginWithDistanceLoss
// with the given options (DistanceFunction, Margin, Swap, Reduction).
func NewTripletMarginWithDistanceLoss(opts ...functional.Option) (*TripletMarginWithDistanceLoss, error) {
	p, err := triple(functional.TripletMarginWithDistanceLoss, opts)
	return made(&TripletMarginWithDistanceLoss{p}, err)
}

// Forward computes the loss of the triplets (anchor, positive, negative).
func (m *TripletMarginWithDistanceLoss) Forward(anchor, positive, negative *tensor.Tensor) (*tensor.Tensor, error) {
	return m.m.forward(anchor, positive, negative)
}

// GaussianNLLLoss is torch.nn.GaussianNLLLoss(*, full=False, eps=1e-06,
// reduction='mean').
type GaussianNLLLoss struct{ opts []functional.Option }

// NewGaussianNLLLoss returns a GaussianNLLLoss with the given options (Full,
// Eps, Reduction).
func NewGaussianNLLLoss(opts ...functional.Option) (*GaussianNLLLoss, error) {
	m := &GaussianNLLLoss{own(opts)}
	_, err := functional.GaussianNLLLoss(nil, nil, nil, m.opts...)
	return made(m, optionError(err))
}

// Forward computes the loss of input as the mean of a Gaussian with variance
// variance, for the observations target.
func (m *GaussianNLLLoss) Forward(input, target, variance *tensor.Tensor) (*tensor.Tensor, error) {
	return functional.GaussianNLLLoss(input, target, variance, m.opts...)
}

// ForwardScalarVar is Forward with one variance for every element (PyTorch's
// var given as a float).
func (m *GaussianNLLLoss) ForwardScalarVar(input, target *tensor.Tensor, variance float64) (*tensor.Tensor, error) {
	return functional.GaussianNLLLossScalarVar(input, target, variance, m.opts...)
}

// CTCLoss is torch.nn.CTCLoss(blank=0, reduction='mean', zero_infinity=False).
type CTCLoss struct{ opts []functional.Option }

// NewCTCLoss returns a CTCLoss with the given options (Blank, Reduction,
// ZeroInfinity).
func NewCTCLoss(opts ...functional.Option) (*CTCLoss, error) {
	m := &CTCLoss{own(opts)}
	_, err := functional.CTCLoss(nil, nil, nil, nil, m.opts...)
	return made(m, optionError(err))
}

// Forward computes the CTC loss with lengths given as int64 tensors.
func (m *CTCLoss) Forward(logProbs, targets, inputLengths, targetLengths *tensor.Tensor) (*tensor.Tensor, error) {
	return functional.CTCLoss(logProbs, targets, inputLengths, targetLengths, m.opts...)
}

// ForwardInts computes the CTC loss with lengths given as Go slices.
func (m *CTCLoss) ForwardInts(logProbs, targets *tensor.Tensor, inputLengths, targetLengths []int64) (*tensor.Tensor, error) {
	return functional.CTCLossInts(logProbs, targets, inputLengths, targetLengths, m.opts...)
}
