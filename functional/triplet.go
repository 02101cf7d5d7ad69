package functional

import (
	"github.com/torchloss/torchloss"
	"github.com/torchloss/torchloss/tensor"
)

// TripletMarginLoss is the triplet loss of metric learning, PyTorch's
//
//	torch.nn.functional.triplet_margin_loss(anchor, positive, negative,
//	    margin=1.0, p=2, eps=1e-06, swap=False, size_average=None,
//	    reduce=None, reduction='mean')
//
// Purpose: learn embeddings where an anchor is closer to a positive
// (same-class) example than to a negative one, by at least a margin.
//
// Shapes: anchor, positive and negative must have the same number of
// dimensions; (N, D) triplets, or one unbatched (D) triplet (a 0-d
// result); their sizes broadcast. Integer tensors are accepted as in
// PyTorch (see PairwiseDistance); the result is float.
//
// Math, with d(a, b) = PairwiseDistance(a, b, p, eps) = ‖a − b + eps‖_p
// along the last dimension (eps is added to the difference):
//
//	ℓ = max(margin + d(a, p) − d(a, n), 0)
//
// With Swap(true), d(a, n) is replaced by min(d(a, n), d(p, n)) (the
// "distance swap" of Balntas et al.).
//
// Options: Margin (default 1; must be > 0, else ErrOption), P (the norm
// degree, default 2), Eps (default 1e-6), Swap (default false), a Reduction
// (default Mean).
//
// Gradient: autograd through the composite graph, as in PyTorch (ATen's
// triplet_margin_loss is CompositeImplicitAutograd): the norm's gradient
// (see Norm), the minimum's tie split (g/2 to each distance when they are
// equal), and clamp_min passing the gradient at exactly 0. All three inputs
// are differentiable.
func TripletMarginLoss(anchor, positive, negative *tensor.Tensor, opts ...Option) (*tensor.Tensor, error) {
	if out, ok, err := onDevice("triplet_margin_loss", devArgs(anchor, positive, negative), 0, opts, func(a []*tensor.Tensor, o []Option) (*tensor.Tensor, error) {
		return TripletMarginLoss(a[0], a[1], a[2], o...)
	}); ok {
		return out, err
	}
	const op = "triplet_margin_loss"
	cfg, err := lossOptions(op, opts)
	if err != nil {
		return nil, err
	}
	p, eps := cfg.p, cfg.eps
	dist := func(x1, x2 *tensor.Tensor) (*tensor.Tensor, error) { return PairwiseDistance(x1, x2, p, eps) }
	return tripletLoss(op, anchor, positive, negative, cfg, dist)
}

// TripletMarginWithDistanceLoss is the triplet loss with a distance of
// your choice, PyTorch's
//
//	torch.nn.functional.triplet_margin_with_distance_loss(anchor, positive,
//	    negative, *, distance_function=None, margin=1.0, swap=False,
//	    reduction='mean')
//
// Math: ℓ = max(margin + dist(a, p) − dist(a, n), 0), with
// dist(a, n) replaced by min(dist(a, n), dist(p, n)) under Swap(true).
//
// Options: DistanceFunction (a Distance; default PairwiseDistance with
// p = 2 and eps = 1e-6, which makes this loss equal TripletMarginLoss's
// default), Margin (default 1; must be > 0), Swap (default false) and a
// Reduction (default Mean; PyTorch's deprecated "elementwise_mean" is not
// accepted here, nor are the legacy size_average/reduce arguments).
//
// The distance receives the tensors as given and must return a tensor
// (typically (N), or 0-d for unbatched inputs) built from differentiable
// operations, such as those of this package (Sub, Abs, Pow, SumDim, Norm,
// Div, ...); the loss is differentiated through it by autograd. For
// example, an L1 distance:
//
//	l1 := func(x1, x2 *tensor.Tensor) (*tensor.Tensor, error) {
//		d, err := functional.Sub(x1, x2)
//		if err != nil {
//			return nil, err
//		}
//		if d, err = functional.Abs(d); err != nil {
//			return nil, err
//		}
//		return functional.SumDim(d, -1)
//	}
//	loss, err := functional.TripletMarginWithDistanceLoss(a, p, n, functional.DistanceFunction(l1))
//
// Gradient: autograd of the graph, as for TripletMarginLoss.
func TripletMarginWithDistanceLoss(anchor, positive, negative *tensor.Tensor, opts ...Option) (*tensor.Tensor, error) {
	if out, ok, err := onDevice("triplet_margin_with_distance_loss", devArgs(anchor, positive, negative), 0, opts, func(a []*tensor.Tensor, o []Option) (*tensor.Tensor, error) {
		return TripletMarginWithDistanceLoss(a[0], a[1], a[2], o...)
	}); ok {
		return out, err
	}
	const op = "triplet_margin_with_distance_loss"
	var raw config
	for _, o := range opts {
		if o != nil {
			o.apply(&raw)
		}
	}
	if raw.reduction == "elementwise_mean" {
		return nil, torchloss.Errorf(torchloss.ErrOption, op, "reduction", "%s is not a valid value for reduction", raw.reduction)
	}
	cfg, err := lossOptions(op, opts)
	if err != nil {
		return nil, err
	}
	dist := cfg.distance
	if dist == nil {
		dist = func(x1, x2 *tensor.Tensor) (*tensor.Tensor, error) { return PairwiseDistance(x1, x2, 2, 1e-6) }
	}
	return tripletLoss(op, anchor, positive, negative, cfg, dist)
}

// tripletLoss is the shared body of both triplet losses: the margin and
// rank checks, then clamp_min(margin + dist(a, p) − dist(a, n), 0) (with
// the swap) and the reduction, all recorded by autograd.
func tripletLoss(op string, anchor, positive, negative *tensor.Tensor, cfg config, dist Distance) (*tensor.Tensor, error) {
	if cfg.margin <= 0 {
		return nil, torchloss.Errorf(torchloss.ErrOption, op, "margin", "margin must be greater than 0, got %v", cfg.margin)
	}
	if err := required(op, arg{"anchor", anchor}, arg{"positive", positive}, arg{"negative", negative}); err != nil {
		return nil, err
	}
	ad, pd, nd := anchor.Dim(), positive.Dim(), negative.Dim()
	if ad != pd || pd != nd {
		name := "negative"
		if ad != pd {
			name = "positive"
		}
		return nil, torchloss.Errorf(torchloss.ErrShape, op, name, "The anchor, positive, and negative tensors are expected to have the same number of dimensions, but got: anchor %dD, positive %dD, and negative %dD inputs", ad, pd, nd)
	}
	call := func(x1, x2 *tensor.Tensor) (*tensor.Tensor, error) {
		d, err := dist(x1, x2)
		if err == nil && d == nil {
			err = torchloss.Errorf(torchloss.ErrValue, op, "distance_function", "the distance function returned no tensor")
		}
		return d, err
	}
	dPos, err := call(anchor, positive)
	if err != nil {
		return nil, err
	}
	dNeg, err := call(anchor, negative)
	if err != nil {
		return nil, err
	}
	if cfg.swap {
		dSwap, err := call(positive, negative)
		if err != nil {
			return nil, err
		}
		if dNeg, err = Minimum(dNeg, dSwap); err != nil {
			return nil, err
		}
	}
	l, err := AddScalar(dPos, cfg.margin)
	if err != nil {
		return nil, err
	}
	if l, err = Sub(l, dNeg); err != nil {
		return nil, err
	}
	if l, err = ClampMin(l, 0); err != nil {
		return nil, err
	}
	switch cfg.reduction {
	case None:
		return l, nil
	case Sum:
		return SumAll(l)
	default:
		return MeanAll(l)
	}
}
