package functional

import (
	"github.com/torchloss/torchloss"
	"github.com/torchloss/torchloss/internal/kernels"
	"github.com/torchloss/torchloss/tensor"
)

// MeanShard is one shard's share of a loss's mean, for data-parallel
// training: the batch is split across machines, and the mean over the whole
// batch is
//
//	mean = Σ_shards Numerator / Σ_shards Denominator
//
// For most losses the denominator is the element count, but not for all:
// weighted nll_loss and cross_entropy divide by the summed weights of the
// non-ignored targets (ignore_index and label smoothing included), ctc_loss
// averages per-sample losses divided by their target lengths, kl_div's
// batchmean divides by the batch size, and weighted l1_loss and mse_loss by
// the summed weights. Averaging per-shard means is then wrong; MeanShard gives
// each shard's numerator and denominator so that the shards combine to
// exactly the single-machine mean.
//
// A training step on each shard:
//
//	s, err := functional.CrossEntropyShard(logits, target, functional.IgnoreIndex(0))
//	total := allReduceSum(s.Denominator)          // across machines
//	loss, err := s.Scaled(total)                  // this shard's term of the mean
//	err = loss.Backward()                         // the shard's gradient of the global mean
//	globalMean := allReduceSum(loss.Item())
//
// The gradient each shard gets is the gradient of the single-machine mean
// with respect to that shard's inputs.
type MeanShard struct {
	// Numerator is the shard's sum (0-d, differentiable): the loss with
	// reduction Sum, or, for ctc_loss, Σ_b loss_b / max(target_length_b, 1).
	Numerator *tensor.Tensor
	// Denominator is the shard's part of the mean's divisor.
	Denominator float64
}

// Scaled returns Numerator / total (0-d, differentiable): this shard's term
// of the global mean, where total is the sum of every shard's Denominator.
// Its gradient scale is 1/total, as PyTorch's mean backward applies it.
func (s MeanShard) Scaled(total float64) (*tensor.Tensor, error) {
	if s.Numerator == nil {
		return nil, torchloss.Errorf(torchloss.ErrValue, "mean_shard", "numerator", "no numerator")
	}
	if dev := s.Numerator.Device(); dev != tensor.CPU {
		// A 0-d division: on the host, through differentiable copies.
		host, err := s.Numerator.ToCPU()
		if err != nil {
			return nil, err
		}
		out, err := MeanShard{host, s.Denominator}.Scaled(total)
		if err != nil {
			return nil, err
		}
		return out.ToDevice(dev)
	}
	return dispatch(s.Numerator.DType(),
		func() (*tensor.Tensor, error) { return scaledT[float32](s.Numerator, total) },
		func() (*tensor.Tensor, error) { return scaledT[float64](s.Numerator, total) })
}

func scaledT[T kernels.Float](num *tensor.Tensor, total float64) (*tensor.Tensor, error) {
	tt := T(total)
	out := tensor.Scalar(tensor.Data[T](num)[0] / tt)
	return tensor.Record(out, "DivBackward0", []*tensor.Tensor{num}, func(g *tensor.Tensor) ([]*tensor.Tensor, error) {
		return []*tensor.Tensor{tensor.Scalar(g0[T](g) / tt)}, nil
	}), nil
}

// shardOptions rejects a reduction other than Mean (a shard computes its
// part of the mean) and returns opts with the reduction set to r.
func shardOptions(op string, opts []Option, r Reduction) ([]Option, config, error) {
	if err := checkOnce(op, opts); err != nil {
		return nil, config{}, err
	}
	var c config
	for _, o := range opts {
		if o != nil {
			o.apply(&c)
		}
	}
	if c.set&optReduction != 0 && c.reduction != "" && c.reduction != Mean && c.reduction != BatchMean {
		return nil, c, torchloss.Errorf(torchloss.ErrOption, op, "reduction", "a mean shard computes the mean reduction, not %q", c.reduction)
	}
	return replaceOption(opts, r), c, nil
}

// classDenominator is the divisor of nll_loss's and cross_entropy's mean with
// class-index targets: Σ weight[t] over the non-ignored targets, or their
// count without a weight.
func classDenominator(target *tensor.Tensor, c config) (float64, error) {
	ignore := int64(-100)
	if c.set&optIgnoreIndex != 0 {
		ignore = c.ignoreIndex
	}
	var w []float64
	if c.weight != nil {
		var err error
		if w, err = hostValues(c.weight); err != nil {
			return 0, err
		}
	}
	ts, err := hostValues(target)
	if err != nil {
		return 0, err
	}
	var d float64
	for _, t := range ts {
		if int64(t) == ignore {
			continue
		}
		if w == nil {
			d++
		} else if t >= 0 && int(t) < len(w) {
			d += w[int(t)]
		}
	}
	return d, nil
}

// NLLLossShard is NLLLoss's MeanShard: Numerator is the Sum-reduced loss,
// Denominator the summed weights of the shard's non-ignored targets (their
// count without a weight).
func NLLLossShard(input, target *tensor.Tensor, opts ...Option) (MeanShard, error) {
	o, c, err := shardOptions("nll_loss", opts, Sum)
	if err != nil {
		return MeanShard{}, err
	}
	num, err := NLLLoss(input, target, o...)
	if err != nil {
		return MeanShard{}, err
	}
	d, err := classDenominator(target, c)
	return MeanShard{num, d}, err
}

// CrossEntropyShard is CrossEntropy's MeanShard. With class indices the
// Denominator is the summed weights of the non-ignored targets (their count
// without a weight), label smoothing or not; with class probabilities it is
// the shard's number of samples (N·d1·…·dk).
func CrossEntropyShard(input, target *tensor.Tensor, opts ...Option) (MeanShard, error) {
	o, c, err := shardOptions("cross_entropy", opts, Sum)
	if err != nil {
		return MeanShard{}, err
	}
	num, err := CrossEntropy(input, target, o...)
	if err != nil {
		return MeanShard{}, err
	}
	if target.DType().IsFloat() {
		classes := input.Size(0)
		if input.Dim() > 1 {
			classes = input.Size(1)
		}
		if classes == 0 {
			return MeanShard{num, 0}, nil
		}
		return MeanShard{num, float64(input.Numel() / classes)}, nil
	}
	d, err := classDenominator(target, c)
	return MeanShard{num, d}, err
}

// CTCLossShard is CTCLoss's MeanShard: Numerator is
// Σ_b loss_b / max(target_length_b, 1) over the shard's samples (after
// ZeroInfinity), Denominator the shard's batch size.
func CTCLossShard(logProbs, targets, inputLengths, targetLengths *tensor.Tensor, opts ...Option) (MeanShard, error) {
	if targetLengths == nil {
		return MeanShard{}, torchloss.Errorf(torchloss.ErrValue, "ctc_loss", "target_lengths", "expected a tensor, got nil")
	}
	o, _, err := shardOptions("ctc_loss", opts, None)
	if err != nil {
		return MeanShard{}, err
	}
	loss, err := CTCLoss(logProbs, targets, inputLengths, targetLengths, o...)
	if err != nil {
		return MeanShard{}, err
	}
	lens, err := hostValues(targetLengths)
	if err != nil {
		return MeanShard{}, err
	}
	return ctcShard(loss, lens)
}

// CTCLossIntsShard is CTCLossShard with lengths as Go slices.
func CTCLossIntsShard(logProbs, targets *tensor.Tensor, inputLengths, targetLengths []int64, opts ...Option) (MeanShard, error) {
	o, _, err := shardOptions("ctc_loss", opts, None)
	if err != nil {
		return MeanShard{}, err
	}
	loss, err := CTCLossInts(logProbs, targets, inputLengths, targetLengths, o...)
	if err != nil {
		return MeanShard{}, err
	}
	lens := make([]float64, len(targetLengths))
	for i, l := range targetLengths {
		lens[i] = float64(l)
	}
	return ctcShard(loss, lens)
}

// ctcShard divides the per-sample losses by their clamped target lengths
// and sums them, differentiably, as PyTorch's mean does before its division
// by the batch size.
func ctcShard(loss *tensor.Tensor, lengths []float64) (MeanShard, error) {
	for i := range lengths {
		lengths[i] = max(lengths[i], 1)
	}
	lt, err := tensor.New(lengths, loss.Shape()...)
	if err != nil {
		return MeanShard{}, err
	}
	if lt, err = lt.To(loss.DType()); err != nil {
		return MeanShard{}, err
	}
	per, err := Div(loss, lt)
	if err != nil {
		return MeanShard{}, err
	}
	num, err := SumAll(per)
	if err != nil {
		return MeanShard{}, err
	}
	return MeanShard{num, float64(len(lengths))}, nil
}

// KLDivShard is KLDiv's MeanShard: Numerator is the Sum-reduced loss;
// Denominator the shard's batch size input.size(0) for BatchMean (1 for a
// 0-d input, which PyTorch does not divide), or its element count for Mean.
func KLDivShard(input, target *tensor.Tensor, opts ...Option) (MeanShard, error) {
	o, c, err := shardOptions("kl_div", opts, Sum)
	if err != nil {
		return MeanShard{}, err
	}
	num, err := KLDiv(input, target, o...)
	if err != nil {
		return MeanShard{}, err
	}
	if c.reduction == BatchMean {
		if input.Dim() == 0 {
			return MeanShard{num, 1}, nil
		}
		return MeanShard{num, float64(input.Size(0))}, nil
	}
	shape, err := tensor.BroadcastShapes(input.Shape(), target.Shape())
	if err != nil {
		return MeanShard{}, err
	}
	n, err := tensor.Numel(shape)
	return MeanShard{num, float64(n)}, err
}

// L1LossShard is L1Loss's MeanShard: Numerator is the Sum-reduced (weighted)
// loss; Denominator Σ weight with a Weight, else the element count.
func L1LossShard(input, target *tensor.Tensor, opts ...Option) (MeanShard, error) {
	return weightedShard("l1_loss", L1Loss, input, target, opts)
}

// MSELossShard is MSELoss's MeanShard: Numerator is the Sum-reduced
// (weighted) loss; Denominator Σ weight with a Weight, else the element
// count.
func MSELossShard(input, target *tensor.Tensor, opts ...Option) (MeanShard, error) {
	return weightedShard("mse_loss", MSELoss, input, target, opts)
}

func weightedShard(op string, fn func(a, b *tensor.Tensor, o ...Option) (*tensor.Tensor, error), input, target *tensor.Tensor, opts []Option) (MeanShard, error) {
	o, c, err := shardOptions(op, opts, Sum)
	if err != nil {
		return MeanShard{}, err
	}
	num, err := fn(input, target, o...)
	if err != nil {
		return MeanShard{}, err
	}
	if c.weight != nil {
		var d float64
		ws, err := hostValues(c.weight)
		if err != nil {
			return MeanShard{}, err
		}
		for _, w := range ws {
			d += w
		}
		return MeanShard{num, d}, nil
	}
	shape, err := tensor.BroadcastShapes(input.Shape(), target.Shape())
	if err != nil {
		return MeanShard{}, err
	}
	n, err := tensor.Numel(shape)
	return MeanShard{num, float64(n)}, err
}

// hostValues returns t's elements as float64, copying a device tensor to
// the host first (its Values are nil there). Int64 class indices up to 2^53
// are exact.
func hostValues(t *tensor.Tensor) ([]float64, error) {
	if t.Device() != tensor.CPU {
		h, err := t.Detach().ToCPU()
		if err != nil {
			return nil, err
		}
		t = h
	}
	return t.Values(), nil
}
