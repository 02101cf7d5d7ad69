package nn

import (
	"errors"
	"math"

	"github.com/torchloss/torchloss"
	"github.com/torchloss/torchloss/functional"
	"github.com/torchloss/torchloss/tensor"
)

// LinearCrossEntropyLoss is PyTorch 2.13's torch.nn.LinearCrossEntropyLoss:
// a language model's output layer and its loss in one module. It holds the
// linear layer's weight (numClasses, d1, …, dK, inFeatures) and optional
// bias (numClasses, d1, …, dK), leaves that require a gradient, and
// computes functional.LinearCrossEntropy (which never holds the logits;
// see there) of its input with them.
//
// Unlike the other modules it has state, the parameters: Forward reads
// them and backward adds to their gradients (under each tensor's lock), so
// any number of goroutines may call Forward and Backward concurrently. An
// optimizer step that writes the parameters must not run concurrently
// with a Forward.
type LinearCrossEntropyLoss struct {
	weight, bias *tensor.Tensor
	opts         []functional.Option
}

// LinearCrossEntropyConfig holds LinearCrossEntropyLoss's layer arguments
// beyond in_features and num_classes; the zero value is PyTorch's
// default.
type LinearCrossEntropyConfig struct {
	// OutFeatures are PyTorch's out_features (d1, …, dK): the linear
	// layer then has numClasses·d1·…·dK outputs, viewed as (C, d1, …, dK).
	OutFeatures []int
	// Bias adds a bias to the linear layer (PyTorch's bias=False default).
	Bias bool
	// DType is the parameters' dtype, Float32 (the default) or Float64.
	DType tensor.DType
	// Generator draws the initial parameters (nil: the default generator
	// of tensor.ManualSeed).
	Generator *tensor.Generator
}

// NewLinearCrossEntropyLoss returns a LinearCrossEntropyLoss for inputs
// of inFeatures features and numClasses classes, with the loss options
// opts (Reduction, Weight, IgnoreIndex, LabelSmoothing; not LinearBias:
// the module holds its bias).
//
// The parameters are initialized as nn.Linear's: weight and bias uniform
// on [−1/√inFeatures, 1/√inFeatures] (Kaiming-uniform with a = √5), from
// cfg.Generator; the same seed gives the same parameters, though not
// PyTorch's numbers.
//
// Errors: a size below 1 (ErrValue), a non-float dtype (ErrDType), an
// option the loss does not take, one given twice (LinearBias included) or
// a label_smoothing outside [0, 1] (ErrOption).
func NewLinearCrossEntropyLoss(inFeatures, numClasses int, cfg LinearCrossEntropyConfig, opts ...functional.Option) (*LinearCrossEntropyLoss, error) {
	const op = "LinearCrossEntropyLoss"
	if inFeatures < 1 || numClasses < 1 {
		return nil, torchloss.Errorf(torchloss.ErrValue, op, "in_features", "in_features and num_classes must be at least 1, got %d and %d", inFeatures, numClasses)
	}
	shape := []int{numClasses}
	for _, d := range cfg.OutFeatures {
		if d < 1 {
			return nil, torchloss.Errorf(torchloss.ErrValue, op, "out_features", "out_features must be at least 1, got %v", cfg.OutFeatures)
		}
		shape = append(shape, d)
	}
	// The loss options, checked as the other constructors check theirs;
	// the module's bias is a LinearBias of its own, so one among opts is
	// an option given twice.
	if _, err := functional.LinearCrossEntropy(nil, nil, nil, append(own(opts), functional.LinearBias(nil))...); errors.Is(err, torchloss.ErrOption) {
		return nil, err
	}
	dt := cfg.DType
	if dt == 0 {
		dt = tensor.Float32
	}
	if !dt.IsFloat() {
		return nil, torchloss.Errorf(torchloss.ErrDType, op, "dtype", "parameters must be floating point, got %v", dt)
	}
	bound := 1 / math.Sqrt(float64(inFeatures))
	w, err := uniformParam(cfg.Generator, append(append([]int{}, shape...), inFeatures), bound, dt)
	if err != nil {
		return nil, err
	}
	m := &LinearCrossEntropyLoss{weight: w, opts: own(opts)}
	if cfg.Bias {
		if m.bias, err = uniformParam(cfg.Generator, shape, bound, dt); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// uniformParam returns a leaf of shape, uniform on [−bound, bound), that
// requires a gradient.
func uniformParam(g *tensor.Generator, shape []int, bound float64, dt tensor.DType) (*tensor.Tensor, error) {
	var u *tensor.Tensor
	var err error
	if g != nil {
		u, err = g.Rand(shape...)
	} else {
		u, err = tensor.Rand(shape...)
	}
	if err != nil {
		return nil, err
	}
	v := u.Float32s()
	var t *tensor.Tensor
	if dt == tensor.Float64 {
		d := make([]float64, len(v))
		for i, x := range v {
			d[i] = (2*float64(x) - 1) * bound
		}
		t = tensor.MustFromData(d, shape)
	} else {
		for i, x := range v {
			v[i] = float32((2*float64(x) - 1) * bound)
		}
		t = u
	}
	if err := t.SetRequiresGrad(true); err != nil {
		return nil, err
	}
	return t, nil
}

// Weight returns the linear layer's weight, (C, d1, …, dK, inFeatures):
// the leaf itself, whose Grad the backward fills and whose data an
// optimizer updates.
func (m *LinearCrossEntropyLoss) Weight() *tensor.Tensor { return m.weight }

// Bias returns the linear layer's bias, (C, d1, …, dK), or nil without one.
func (m *LinearCrossEntropyLoss) Bias() *tensor.Tensor { return m.bias }

// Forward computes the loss of input (N, inFeatures) (or (inFeatures))
// against target: functional.LinearCrossEntropy(input, Weight(), target,
// LinearBias(Bias()), the module's options...).
func (m *LinearCrossEntropyLoss) Forward(input, target *tensor.Tensor) (*tensor.Tensor, error) {
	opts := append(own(m.opts), functional.LinearBias(m.bias))
	return functional.LinearCrossEntropy(input, m.weight, target, opts...)
}
