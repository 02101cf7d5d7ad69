// Package functional is torchloss's torch.nn.functional: one function per
// PyTorch loss, with PyTorch's semantics (values, gradients, errors), plus
// the differentiable operations the losses are chained with.
//
// A loss takes its tensor arguments in PyTorch's order and its keyword
// arguments as options:
//
//	loss, err := functional.CrossEntropy(logits, target,
//		functional.Weight(w), functional.IgnoreIndex(0), functional.LabelSmoothing(0.1))
//	err = loss.Backward()
//
// The losses: BinaryCrossEntropy, BinaryCrossEntropyWithLogits,
// PoissonNLLLoss, GaussianNLLLoss (and GaussianNLLLossScalarVar),
// CosineEmbeddingLoss, CrossEntropy, NLLLoss, CTCLoss (and CTCLossInts),
// HingeEmbeddingLoss, KLDiv, L1Loss, MSELoss, SmoothL1Loss, HuberLoss,
// SoftMarginLoss, MultilabelSoftMarginLoss, MarginRankingLoss,
// MultiMarginLoss, MultilabelMarginLoss, TripletMarginLoss and
// TripletMarginWithDistanceLoss. Each one's documentation gives the PyTorch
// signature it mirrors, its options and their defaults, the math, the
// gradient and the PyTorch quirks it keeps, and has a runnable Example.
//
// Options are named as PyTorch's keyword arguments; an option left out takes
// PyTorch's default for that loss, and an option the loss does not have is
// an error (torchloss.ErrOption), as an unexpected keyword is in PyTorch.
// So is an option given twice, even with the same value (Sum and Mean
// together, Margin(1) and Margin(2)), as a repeated keyword is in Python:
// no option silently overrides another. A loss checks its options (names,
// repeats, and the values it can judge without its arguments) before its
// arguments; the nn constructors rely on that to reject bad options when a
// module is built. The reduction is an option too: Mean (the default), Sum, None, and
// BatchMean for KLDiv; LegacyReduction maps the deprecated size_average /
// reduce pair.
//
// The output is a 0-d tensor for Mean and Sum, and the per-element (or
// per-sample) losses for None. Gradients flow to every argument PyTorch
// differentiates that requires a gradient (tensor.SetRequiresGrad); asking
// for the gradient of an argument PyTorch cannot differentiate (a class
// weight, BCE's weight) is an error (torchloss.ErrGrad), as in PyTorch.
// Sigmoid, Softmax, LogSoftmax, PairwiseDistance and the small arithmetic
// ops (Add, Sub, Mul, Div, Abs, Sqrt, Pow, SumDim, Norm, Minimum, ...) are
// differentiable, for chaining (the tutorial's BinaryCrossEntropy of a
// Sigmoid) and for custom distance functions, and so are the tensor
// package's shape operations (Reshape, View, Flatten, Unsqueeze, Squeeze,
// Transpose, Permute).
//
// Every error wraps a torchloss kind (ErrShape, ErrDType, ErrValue,
// ErrOption, ErrGrad, ErrLimit, ErrDevice) and names the argument; no input
// panics. The functions are safe for concurrent use. SetNumThreads bounds
// the worker goroutines; results are bitwise identical for any count. The
// *Shard functions give the numerator and denominator of a mean for
// data-parallel training (MeanShard).
package functional
