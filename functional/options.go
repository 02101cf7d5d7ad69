package functional

import (
	"math/bits"
	"strings"

	"github.com/torchloss/torchloss"
	"github.com/torchloss/torchloss/tensor"
)

// Option is a keyword argument of a loss, named as PyTorch names it:
// Weight, PosWeight, IgnoreIndex, LabelSmoothing, LogInput, Full, Eps,
// Margin, Blank, ZeroInfinity, LogTarget, Beta, Delta, P, Swap,
// DistanceFunction, LinearBias, and a Reduction (Mean, Sum, None,
// BatchMean).
//
// An option left out takes PyTorch's default for that loss. Passing an
// option the loss does not have is an error (ErrOption), as an unexpected
// keyword argument is a TypeError in PyTorch, and so is passing one option
// twice, even with the same value: two reductions (Sum and Mean), or
// Margin(1) and Margin(2). A nil Option is ignored.
type Option interface{ apply(*config) }

// Reduction says how a loss reduces its per-element values: PyTorch's
// reduction argument. It is an Option: pass Mean, Sum, None or (kl_div)
// BatchMean. The empty Reduction means the default, Mean.
type Reduction string

// The reductions.
const (
	Mean      Reduction = "mean"
	Sum       Reduction = "sum"
	None      Reduction = "none"
	BatchMean Reduction = "batchmean" // kl_div only
)

func (r Reduction) apply(c *config) { c.reduction = r; c.set |= optReduction }

// LegacyReduction maps PyTorch's deprecated size_average and reduce
// arguments to a Reduction, as torch.nn._reduction.legacy_get_string does
// (nil stands for Python's None, which counts as true):
//
//	size_average  reduce  -> reduction
//	nil/true      nil/true   Mean
//	false         nil/true   Sum
//	any           false      None
//
// In PyTorch, passing either argument makes the loss ignore its reduction
// argument; in Go, pass the result of LegacyReduction as the reduction. The
// losses without the legacy arguments in PyTorch (huber_loss,
// gaussian_nll_loss, ctc_loss, triplet_margin_with_distance_loss) simply
// take the resulting Reduction like any other.
func LegacyReduction(sizeAverage, reduce *bool) Reduction {
	sa := sizeAverage == nil || *sizeAverage
	rd := reduce == nil || *reduce
	switch {
	case !rd:
		return None
	case sa:
		return Mean
	default:
		return Sum
	}
}

type optSet uint32

const (
	optReduction optSet = 1 << iota
	optWeight
	optPosWeight
	optIgnoreIndex
	optLabelSmoothing
	optLogInput
	optFull
	optEps
	optMargin
	optBlank
	optZeroInfinity
	optLogTarget
	optBeta
	optDelta
	optP
	optSwap
	optDistance
	optLinearBias
)

var optNames = []string{"reduction", "weight", "pos_weight", "ignore_index", "label_smoothing", "log_input", "full", "eps", "margin", "blank", "zero_infinity", "log_target", "beta", "delta", "p", "swap", "distance_function", "linear_bias"}

// Distance is a distance function for TripletMarginWithDistanceLoss: it maps
// two tensors of shape (N, D) (or (D)) to their distances (N) (or a 0-d
// tensor). Built from differentiable operations, it is differentiated
// through.
type Distance func(x1, x2 *tensor.Tensor) (*tensor.Tensor, error)

// config holds the parsed options of one call.
type config struct {
	set            optSet
	reduction      Reduction
	weight         *tensor.Tensor
	posWeight      *tensor.Tensor
	ignoreIndex    int64
	labelSmoothing float64
	logInput       bool
	full           bool
	eps            float64
	margin         float64
	blank          int64
	zeroInfinity   bool
	logTarget      bool
	beta           float64
	delta          float64
	p              float64
	swap           bool
	distance       Distance
	linearBias     *tensor.Tensor
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// Weight is a rescaling weight: per class (cross_entropy, nll_loss,
// linear_cross_entropy, multi_margin_loss, multilabel_soft_margin_loss) or
// per element (binary_cross_entropy, binary_cross_entropy_with_logits,
// l1_loss, mse_loss, huber_loss). A nil weight means none.
func Weight(w *tensor.Tensor) Option {
	return optionFunc(func(c *config) { c.weight = w; c.set |= optWeight })
}

// LinearBias is linear_cross_entropy's bias of the linear layer: a
// tensor of linear_weight's shape without its last dimension, (C) or
// (C, d1, …, dk); nil means none.
func LinearBias(b *tensor.Tensor) Option {
	return optionFunc(func(c *config) { c.linearBias = b; c.set |= optLinearBias })
}

// PosWeight is binary_cross_entropy_with_logits' weight of positive
// examples, broadcast against the target (a (C) tensor applies per class).
func PosWeight(w *tensor.Tensor) Option {
	return optionFunc(func(c *config) { c.posWeight = w; c.set |= optPosWeight })
}

// IgnoreIndex is the target value that is ignored and does not contribute to
// the gradient (cross_entropy, nll_loss, linear_cross_entropy; default -100).
func IgnoreIndex(i int64) Option {
	return optionFunc(func(c *config) { c.ignoreIndex = i; c.set |= optIgnoreIndex })
}

// LabelSmoothing in [0, 1] mixes the target with the uniform distribution
// (cross_entropy, linear_cross_entropy; default 0).
func LabelSmoothing(v float64) Option {
	return optionFunc(func(c *config) { c.labelSmoothing = v; c.set |= optLabelSmoothing })
}

// LogInput says whether poisson_nll_loss's input is the log of the rate
// (default true).
func LogInput(b bool) Option {
	return optionFunc(func(c *config) { c.logInput = b; c.set |= optLogInput })
}

// Full adds the constant terms (Stirling's approximation in
// poisson_nll_loss, 0.5·log(2π) in gaussian_nll_loss; default false).
func Full(b bool) Option {
	return optionFunc(func(c *config) { c.full = b; c.set |= optFull })
}

// Eps is a small value for numerical stability (poisson_nll_loss 1e-8,
// gaussian_nll_loss 1e-6, triplet_margin_loss 1e-6).
func Eps(v float64) Option {
	return optionFunc(func(c *config) { c.eps = v; c.set |= optEps })
}

// Margin is the margin of the margin-based losses (cosine_embedding_loss 0,
// hinge_embedding_loss 1, margin_ranking_loss 0, multi_margin_loss 1,
// triplet_margin_loss and triplet_margin_with_distance_loss 1).
func Margin(v float64) Option {
	return optionFunc(func(c *config) { c.margin = v; c.set |= optMargin })
}

// Blank is ctc_loss's blank label (default 0).
func Blank(b int64) Option {
	return optionFunc(func(c *config) { c.blank = b; c.set |= optBlank })
}

// ZeroInfinity makes ctc_loss replace infinite losses (impossible
// alignments) and their gradients by zero (default false).
func ZeroInfinity(b bool) Option {
	return optionFunc(func(c *config) { c.zeroInfinity = b; c.set |= optZeroInfinity })
}

// LogTarget says whether kl_div's target is given in log space (default
// false).
func LogTarget(b bool) Option {
	return optionFunc(func(c *config) { c.logTarget = b; c.set |= optLogTarget })
}

// Beta is smooth_l1_loss's threshold between the L2 and L1 regions
// (default 1).
func Beta(v float64) Option {
	return optionFunc(func(c *config) { c.beta = v; c.set |= optBeta })
}

// Delta is huber_loss's threshold (default 1).
func Delta(v float64) Option {
	return optionFunc(func(c *config) { c.delta = v; c.set |= optDelta })
}

// P is the norm degree (multi_margin_loss: 1 or 2, default 1;
// triplet_margin_loss: default 2).
func P(v float64) Option {
	return optionFunc(func(c *config) { c.p = v; c.set |= optP })
}

// Swap enables the distance swap of the triplet losses,
// triplet_margin_loss and triplet_margin_with_distance_loss (default
// false).
func Swap(b bool) Option {
	return optionFunc(func(c *config) { c.swap = b; c.set |= optSwap })
}

// DistanceFunction is triplet_margin_with_distance_loss's distance
// (default: PairwiseDistance with p = 2, eps = 1e-6).
func DistanceFunction(f Distance) Option {
	return optionFunc(func(c *config) { c.distance = f; c.set |= optDistance })
}

// parseOptions applies opts over defaults and checks that each given option
// is one that op accepts and is given once: a second option of the same
// name (two reductions such as Sum and Mean, or Margin twice), even with
// the same value, is an ErrOption error, as a repeated keyword argument is
// in Python, rather than the last one silently winning. It validates the reduction against the standard
// three (and BatchMean where allowBatchMean), mapping PyTorch's deprecated
// "elementwise_mean" to Mean and the empty Reduction to Mean.
func parseOptions(op string, accepted optSet, defaults config, opts []Option) (config, error) {
	c := defaults
	accepted |= optReduction
	for _, o := range opts {
		if o == nil {
			continue
		}
		o.apply(&c)
	}
	if err := checkOnce(op, opts); err != nil {
		return c, err
	}
	if extra := c.set &^ accepted; extra != 0 {
		var names []string
		for i, n := range optNames {
			if extra&(1<<i) != 0 {
				names = append(names, n)
			}
		}
		return c, torchloss.Errorf(torchloss.ErrOption, op, names[0], "%s() got an unexpected keyword argument %s", op, strings.Join(names, ", "))
	}
	if err := notFreed(op, arg{"weight", c.weight}, arg{"pos_weight", c.posWeight}); err != nil {
		return c, err
	}
	// The checks of option values that need no argument, each an option
	// only one loss takes (accepted above).
	switch {
	case c.set&optLabelSmoothing != 0 && c.labelSmoothing > 0 && !(c.labelSmoothing <= 1):
		return c, torchloss.Errorf(torchloss.ErrOption, op, "label_smoothing", "label_smoothing must be between 0.0 and 1.0. Got: %v", c.labelSmoothing)
	case c.set&optBeta != 0 && !(c.beta >= 0):
		return c, torchloss.Errorf(torchloss.ErrOption, op, "beta", "%s does not support negative values for beta. (got %v)", op, c.beta)
	case c.set&optDelta != 0 && !(c.delta > 0):
		return c, torchloss.Errorf(torchloss.ErrOption, op, "delta", "%s does not support non-positive values for delta. (got %v)", op, c.delta)
	}
	if err := notZeroValue(op, "weight", c.weight); err != nil {
		return c, err
	}
	if err := notZeroValue(op, "pos_weight", c.posWeight); err != nil {
		return c, err
	}
	switch c.reduction {
	case "", "elementwise_mean":
		c.reduction = Mean
	case Mean, Sum, None:
	case BatchMean:
		if accepted&optBatchMean == 0 {
			return c, torchloss.Errorf(torchloss.ErrOption, op, "reduction", "%s is not a valid value for reduction", c.reduction)
		}
	default:
		return c, torchloss.Errorf(torchloss.ErrOption, op, "reduction", "%s is not a valid value for reduction", c.reduction)
	}
	return c, nil
}

// optBatchMean in an accepted set allows the BatchMean reduction (kl_div).
const optBatchMean optSet = 1 << 31

// optionSet is the option (bit) that o sets.
func optionSet(o Option) optSet {
	var c config
	o.apply(&c)
	return c.set
}

// checkOnce returns an ErrOption error naming op if an option is given twice
// in opts.
func checkOnce(op string, opts []Option) error {
	var seen optSet
	for _, o := range opts {
		if o == nil {
			continue
		}
		s := optionSet(o)
		if dup := seen & s; dup != 0 {
			name := optNames[bits.TrailingZeros32(uint32(dup))]
			return torchloss.Errorf(torchloss.ErrOption, op, name, "%s() got multiple values for keyword argument '%s'", op, name)
		}
		seen |= s
	}
	return nil
}

// replaceOption returns a copy of opts with o in place of the option of the
// same name (if any): how a loss re-calls itself or another loss with one
// option changed.
func replaceOption(opts []Option, o Option) []Option {
	s := optionSet(o)
	out := make([]Option, 0, len(opts)+1)
	for _, p := range opts {
		if p != nil && optionSet(p)&s == 0 {
			out = append(out, p)
		}
	}
	return append(out, o)
}
