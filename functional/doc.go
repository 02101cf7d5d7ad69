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
// The losses, by their PyTorch names (generated from the table of
// losses by go generate ./internal/losses):
//
//   - [BinaryCrossEntropy]: binary_cross_entropy
//   - [BinaryCrossEntropyWithLogits]: binary_cross_entropy_with_logits
//   - [PoissonNLLLoss]: poisson_nll_loss
//   - [GaussianNLLLoss], [GaussianNLLLossScalarVar]: gaussian_nll_loss
//   - [CosineEmbeddingLoss]: cosine_embedding_loss
//   - [CrossEntropy]: cross_entropy
//   - [NLLLoss]: nll_loss
//   - [CTCLoss], [CTCLossInts]: ctc_loss
//   - [HingeEmbeddingLoss]: hinge_embedding_loss
//   - [KLDiv]: kl_div
//   - [L1Loss]: l1_loss
//   - [MSELoss]: mse_loss
//   - [SmoothL1Loss]: smooth_l1_loss
//   - [HuberLoss]: huber_loss
//   - [SoftMarginLoss]: soft_margin_loss
//   - [MultilabelSoftMarginLoss]: multilabel_soft_margin_loss
//   - [MarginRankingLoss]: margin_ranking_loss
//   - [MultiMarginLoss]: multi_margin_loss
//   - [MultilabelMarginLoss]: multilabel_margin_loss
//   - [TripletMarginLoss]: triplet_margin_loss
//   - [TripletMarginWithDistanceLoss]: triplet_margin_with_distance_loss
//
// Each one's documentation gives the PyTorch signature it mirrors, its
// options and their defaults, the math, the gradient and the PyTorch quirks
// it keeps, and has a runnable Example.
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
