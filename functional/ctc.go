package functional

import (
	"cmp"
	"math"
	"slices"

	"github.com/torchloss/torchloss"
	"github.com/torchloss/torchloss/internal/kernels"
	"github.com/torchloss/torchloss/internal/parallel"
	"github.com/torchloss/torchloss/tensor"
)

// CTCLoss is the Connectionist Temporal Classification loss, PyTorch's
//
//	torch.nn.functional.ctc_loss(log_probs, targets, input_lengths,
//	                             target_lengths, blank=0, reduction='mean',
//	                             zero_infinity=False)
//
// with the lengths given as tensors (CTCLossInts takes them as Go slices).
//
// Purpose: train a sequence model (speech or handwriting recognition) whose
// T output frames are not aligned with the S labels of the target: the loss
// is the negative log of the total probability of every alignment, a frame
// sequence that reads as the target once repeated labels are merged and
// blanks removed.
//
// Arguments:
//   - logProbs: (T, N, C) log-probabilities of C classes (the blank
//     included) for N sequences of at most T frames, usually the output of
//     LogSoftmax over the last dimension; or (T, C) for one unbatched
//     sequence. float32 or float64.
//   - targets: padded (N, S) labels (row b holds target_lengths[b] labels,
//     the rest is ignored), or the N targets concatenated into one 1-D
//     tensor of Σ target_lengths labels; (S) or (1, S) when unbatched. Any
//     dtype: values are converted to int64 (floats truncated), as PyTorch's
//     targets.to(long). Labels are in [0, C) and not the blank.
//   - inputLengths, targetLengths: int64 tensors of N lengths (any shape, read
//     flat: a (1, N) tensor works; 0-d or one element when unbatched), with
//     0 <= input_lengths[b] <= T and target_lengths[b] >= 0.
//
// Options: Blank (default 0), ZeroInfinity (default false) and a Reduction
// (default Mean).
//
// Math, per sequence b, with L = input_lengths[b] and the extended target
// l' = (blank, l_0, blank, l_1, …, blank) of 2S+1 entries: the forward
// (alpha) recursion in log space,
//
//	α[0][0] = lp[0][blank], α[0][1] = lp[0][l_0], α[0][s>1] = −∞
//	α[t][s] = logsumexp(α[t−1][s], α[t−1][s−1], α[t−1][s−2] if l'(s−2) ≠ l'(s)) + lp[t][l'(s)]
//	loss_b  = −logsumexp(α[L−1][2S], α[L−1][2S−1])        (−α[L−1][0] when S = 0)
//
// An impossible alignment (S > L, or too little room for the blanks between
// repeated labels) gives +∞; L = 0 gives +∞, or −0.0 when S = 0. ZeroInfinity
// replaces the +∞ losses (and their gradients) by 0. Reductions: None returns
// the N losses ((N), or 0-d when unbatched), Sum their sum, Mean
// mean_b(loss_b / max(target_lengths[b], 1)): each loss is divided by its
// target length before averaging over the batch.
//
// Gradient (log_probs only; targets and lengths get none): the backward
// (beta) recursion gives the posterior γ[t][c] = Σ_{s: l'(s)=c} α[t][s]·β[t][s]/p,
// and PyTorch returns, for t < L,
//
//	∂/∂lp[t][c] = (exp(lp[t][c]) − γ[t][c]) · g
//
// and 0 for t >= L. This is Graves' gradient with respect to the logits
// behind a log_softmax, not the true derivative −γ of the loss with respect
// to log_probs; it is exact when log_probs = LogSoftmax(logits) sits in the
// graph (LogSoftmax's backward then leaves it unchanged) and kept here as
// PyTorch computes it. With Mean, g for sequence b is (g/N)/max(S_b, 1).
//
// PyTorch quirks kept: the exp(lp) term above; the NaN gradient of every
// frame t < L of an impossible alignment without ZeroInfinity; the −0.0 loss
// of an empty input with an empty target; a zero gradient when L = 0.
//
// Errors: the checks of PyTorch's ctc_loss_allocate_outputs with its
// messages (ErrShape for ranks and sizes, ErrValue for blank and lengths
// out of range), non-float log_probs (ErrDType), non-integer lengths
// (ErrDType), empty log_probs (ErrShape). Deviation: PyTorch does not check
// the labels; one outside [0, C) makes it read out of bounds and one equal
// to the blank gives a meaningless loss. torchloss rejects both (ErrValue),
// for the first target_lengths[b] labels of each sequence (the labels
// PyTorch reads).
func CTCLoss(logProbs, targets, inputLengths, targetLengths *tensor.Tensor, opts ...Option) (*tensor.Tensor, error) {
	const op = "ctc_loss"
	cfg, err := lossOptions(op, opts)
	if err != nil {
		return nil, err
	}
	if err := required(op, arg{"log_probs", logProbs}, arg{"targets", targets}, arg{"input_lengths", inputLengths}, arg{"target_lengths", targetLengths}); err != nil {
		return nil, err
	}
	il, err := ctcLengths(op, "input_lengths", inputLengths)
	if err != nil {
		return nil, err
	}
	tl, err := ctcLengths(op, "target_lengths", targetLengths)
	if err != nil {
		return nil, err
	}
	sh, err := ctcCheck(op, logProbs, targets, il, tl, cfg)
	if err != nil {
		return nil, err
	}
	// The lengths as host tensors (PyTorch's CUDA ctc_loss reads them on
	// the host too); the labels' values are the kernel's to check.
	hil, htl := tensor.MustFromData(il, []int{len(il)}), tensor.MustFromData(tl, []int{len(tl)})
	if out, ok, err := onKernel(kernelCall{op: op, args: devArgs(logProbs, sh.tg, hil, htl), diff: 1, cfg: cfg, name: nodeName(op, cfg.reduction), opts: opts, anyDevice: 2,
		host: func(_ *kernelCall, a []*tensor.Tensor, o []Option) (*tensor.Tensor, error) {
			return CTCLoss(a[0], a[1], a[2], a[3], o...)
		}}); ok {
		return out, err
	}
	return ctcLabels(op, logProbs, il, tl, cfg, sh)
}

// CTCLossInts is CTCLoss with the lengths given as Go slices, PyTorch's
// ctc_loss(log_probs, targets, input_lengths: list[int],
// target_lengths: list[int], ...). Everything else is as in CTCLoss.
func CTCLossInts(logProbs, targets *tensor.Tensor, inputLengths, targetLengths []int64, opts ...Option) (*tensor.Tensor, error) {
	if out, ok, err := ctcIntsOnDevice(logProbs, targets, inputLengths, targetLengths, opts); ok {
		return out, err
	}
	const op = "ctc_loss"
	cfg, err := lossOptions(op, opts)
	if err != nil {
		return nil, err
	}
	if err := required(op, arg{"log_probs", logProbs}, arg{"targets", targets}); err != nil {
		return nil, err
	}
	return ctcLoss(op, logProbs, targets, inputLengths, targetLengths, cfg)
}

// ctcLengths reads a lengths tensor as PyTorch's tensor overload does: it
// must be integral (bool excluded) and is read flat, whatever its shape.
func ctcLengths(op, name string, t *tensor.Tensor) ([]int64, error) {
	if t.DType() != tensor.Int64 {
		return nil, torchloss.Errorf(torchloss.ErrDType, op, name, "%s must be integral (got %v)", name, t.DType())
	}
	if t.Device() != tensor.CPU { // lengths on a device are read on the host, as PyTorch does
		h, err := t.Detach().ToCPU()
		if err != nil {
			return nil, err
		}
		t = h
	}
	return t.Int64s(), nil
}

// ctcLoss checks the arguments in PyTorch's order and dispatches on the
// dtype of log_probs.
func ctcLoss(op string, logProbs, targets *tensor.Tensor, il, tl []int64, cfg config) (*tensor.Tensor, error) {
	sh, err := ctcCheck(op, logProbs, targets, il, tl, cfg)
	if err != nil {
		return nil, err
	}
	return ctcLabels(op, logProbs, il, tl, cfg, sh)
}

// ctcShape is what ctcCheck found: the int64 targets, where each sample's
// target starts in them, and the dimensions.
type ctcShape struct {
	tg          *tensor.Tensor
	offsets     []int
	batched     bool
	steps, n, c int
}

// ctcCheck makes the checks that need no label value: dtypes, shapes, the
// blank, the lengths and the size of the tables (for any device).
func ctcCheck(op string, logProbs, targets *tensor.Tensor, il, tl []int64, cfg config) (sh ctcShape, err error) {
	// ctc_loss_impl: a non-3-d log_probs is unsqueezed at dimension 1.
	dim := logProbs.Dim()
	batched := dim == 3
	if dim == 0 {
		return sh, torchloss.Errorf(torchloss.ErrShape, op, "log_probs", "Dimension out of range (expected to be in range of [-1, 0], but got 1)")
	}
	if !batched {
		dim++
	}
	tg, err := targets.To(tensor.Int64)
	if err != nil {
		return sh, torchloss.Errorf(torchloss.ErrValue, op, "targets", "targets cannot be converted to int64: %v", err.(*torchloss.Error).Msg)
	}
	if !logProbs.DType().IsFloat() {
		return sh, torchloss.Errorf(torchloss.ErrDType, op, "log_probs", "\"ctc_loss_cpu\" not implemented for '%v'", logProbs.DType())
	}
	if logProbs.Numel() == 0 {
		return sh, torchloss.Errorf(torchloss.ErrShape, op, "log_probs", "log_probs tensor must not be empty (got shape %v)", sizes(logProbs.Shape()))
	}
	const from = " (while checking arguments for ctc_loss_allocate_outputs)"
	if dim != 3 {
		return sh, torchloss.Errorf(torchloss.ErrShape, op, "log_probs", "Expected 3-dimensional tensor, but got %d-dimensional tensor for argument #1 'log_probs'"+from, dim)
	}
	if d := tg.Dim(); d < 1 || d > 2 {
		return sh, torchloss.Errorf(torchloss.ErrShape, op, "targets", "Expected 1 to 2 dimensions, but got %d-dimensional tensor for argument #2 'targets'"+from, d)
	}
	shape := logProbs.Shape()
	steps, n, c := shape[0], 1, shape[1]
	if batched {
		n, c = shape[1], shape[2]
	}
	if cfg.blank < 0 || cfg.blank >= int64(c) {
		return sh, torchloss.Errorf(torchloss.ErrOption, op, "blank", "blank must be in label range (blank %d, %d classes)", cfg.blank, c)
	}
	if len(il) != n {
		return sh, torchloss.Errorf(torchloss.ErrShape, op, "input_lengths", "input_lengths must be of size batch_size (got %d lengths, batch size %d)", len(il), n)
	}
	if len(tl) != n {
		return sh, torchloss.Errorf(torchloss.ErrShape, op, "target_lengths", "target_lengths must be of size batch_size (got %d lengths, batch size %d)", len(tl), n)
	}
	// Where each target starts in the flat targets.
	offsets := make([]int, n)
	negTL := func(v int64) error {
		return torchloss.Errorf(torchloss.ErrValue, op, "target_lengths", "Expected target_lengths to have value at least 0, but got value %d"+from, v)
	}
	tshape := tg.Shape()
	if tg.Dim() == 1 { // concatenated
		pos := int64(0)
		for b, v := range tl {
			if v < 0 {
				return sh, negTL(v)
			}
			offsets[b] = int(pos)
			if v > math.MaxInt64-pos || pos+v > math.MaxInt {
				return sh, torchloss.Errorf(torchloss.ErrLimit, op, "target_lengths", "the sum of target_lengths overflows")
			}
			pos += v
		}
		if pos != int64(tshape[0]) {
			return sh, torchloss.Errorf(torchloss.ErrShape, op, "targets", "Expected tensor to have size %d at dimension 0, but got size %d for argument #2 'targets'"+from, pos, tshape[0])
		}
	} else { // padded (N, S)
		maxTL := int64(0)
		for b, v := range tl {
			if v < 0 {
				return sh, negTL(v)
			}
			maxTL = max(maxTL, v)
			offsets[b] = b * tshape[1]
		}
		if tshape[0] != n {
			return sh, torchloss.Errorf(torchloss.ErrShape, op, "targets", "Expected tensor to have size %d at dimension 0, but got size %d for argument #2 'targets'"+from, n, tshape[0])
		}
		if int64(tshape[1]) < maxTL {
			return sh, torchloss.Errorf(torchloss.ErrShape, op, "targets", "Expected tensor to have size at least %d at dimension 1, but got size %d for argument #2 'targets'"+from, maxTL, tshape[1])
		}
	}
	for _, v := range il {
		if v < 0 {
			return sh, torchloss.Errorf(torchloss.ErrValue, op, "input_lengths", "Expected input_lengths to have value at least 0, but got value %d"+from, v)
		}
		if v > int64(steps) {
			return sh, torchloss.Errorf(torchloss.ErrValue, op, "input_lengths", "Expected input_lengths to have value at most %d, but got value %d"+from, steps, v)
		}
	}
	// The tables: per sample L·(2S+1) entries.
	total, maxOne := 0, 0
	for b := range n {
		S, L := int(tl[b]), int(il[b])
		if S > (math.MaxInt-1)/2 || (L > 0 && 2*S+1 > math.MaxInt/L) {
			return sh, torchloss.Errorf(torchloss.ErrLimit, op, "targets", "the CTC table of sample %d (%d x %d) overflows int", b, L, 2*S+1)
		}
		a := kernels.CTCAlphaLen(L, S)
		if a > math.MaxInt-total {
			return sh, torchloss.Errorf(torchloss.ErrLimit, op, "targets", "the CTC tables of the batch overflow int")
		}
		total += a
		maxOne = max(maxOne, a)
	}
	if err := ctcTableLimit(op, total, maxOne, needs(logProbs)); err != nil {
		return sh, err
	}
	return ctcShape{tg: tg, offsets: offsets, batched: batched, steps: steps, n: n, c: c}, nil
}

// ctcLabels reads the labels PyTorch reads, the first target_lengths[b] of
// each target, and computes the loss. PyTorch does not check them; we
// reject what it would read out of bounds and the blank (a meaningless
// loss).
func ctcLabels(op string, logProbs *tensor.Tensor, il, tl []int64, cfg config, sh ctcShape) (*tensor.Tensor, error) {
	labels := make([][]int64, sh.n)
	data := sh.tg.Int64s()
	for b := range sh.n {
		lab := data[sh.offsets[b] : sh.offsets[b]+int(tl[b])]
		for i, v := range lab {
			if v < 0 || v >= int64(sh.c) {
				return nil, torchloss.Errorf(torchloss.ErrValue, op, "targets", "target label %d (sample %d, position %d) is out of range for %d classes", v, b, i, sh.c)
			}
			if v == cfg.blank {
				return nil, torchloss.Errorf(torchloss.ErrValue, op, "targets", "target label %d (sample %d, position %d) is the blank label; PyTorch accepts it but the loss is meaningless", v, b, i)
			}
		}
		labels[b] = lab
	}
	p := ctcProblem{op: op, logProbs: logProbs, batched: sh.batched, steps: sh.steps, n: sh.n, c: sh.c, il: il, tl: tl, labels: labels, cfg: cfg}
	return dispatch(logProbs.DType(),
		func() (*tensor.Tensor, error) { return ctcLossT[float32](&p) },
		func() (*tensor.Tensor, error) { return ctcLossT[float64](&p) })
}

// ctcProblem is a checked ctc_loss call.
type ctcProblem struct {
	op          string
	logProbs    *tensor.Tensor
	batched     bool
	steps, n, c int
	il, tl      []int64
	labels      [][]int64
	cfg         config
}

// ctcOrder returns the samples in the order the workers take them: by
// decreasing work, the size of the alpha table L·(2S+1) (ties by index),
// so that the longest samples do not come last and leave one worker
// running alone. Each sample's results are its own (its loss, its rows of
// the gradient), so the order changes no result.
func ctcOrder(p *ctcProblem) []int {
	order := make([]int, p.n)
	for b := range order {
		order[b] = b
	}
	work := func(b int) int { return kernels.CTCAlphaLen(int(p.il[b]), len(p.labels[b])) }
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(work(b), work(a)) })
	return order
}

func ctcLossT[T kernels.Float](p *ctcProblem) (*tensor.Tensor, error) {
	lp := tensor.Data[T](p.logProbs)
	keep := needs(p.logProbs)
	sample := func(b int) kernels.CTCSample[T] {
		return kernels.CTCSample[T]{LP: lp, Off: b * p.c, Stride: p.n * p.c, C: p.c, L: int(p.il[b]), Labels: p.labels[b], Blank: int(p.cfg.blank)}
	}
	// Per-sample negative log-likelihoods, in parallel over the samples.
	// When the loss is reduced and log_probs requires a gradient, each
	// sample's gradient for an output gradient of 1 is computed right after
	// its forward (the samples write disjoint rows of the gradient), and the
	// alpha tables are scratch; otherwise they are kept for the backward.
	nll := make([]T, p.n)
	var alphas [][]T
	inf := kernels.Inf[T](1)
	clamped := func(b int) T { return T(max(p.tl[b], 1)) }
	eagerGrad := keep && p.cfg.reduction != None
	var grad []T
	var eager *eagerGrads[T]
	if keep {
		alphas = make([][]T, p.n)
	}
	if eagerGrad {
		eager = &eagerGrads[T]{ready: true}
		grad = gradBuf(&eager.claims, p.logProbs, p.logProbs.Shape(), len(lp), lp)
		eager.gs = [][]T{grad}
	}
	// Each sample takes a kernel workspace from the kernels' free list and
	// gives it back when done; with the eager gradient the alpha table is
	// scratch too, the workspace's. The samples are handed out longest
	// first (see ctcOrder).
	order := ctcOrder(p)
	parallel.For(p.n, 1, func(i, _, _ int) {
		b := order[i]
		x := sample(b)
		k := kernels.GetCTCWork[T]()
		defer kernels.PutCTCWork(k)
		size := kernels.CTCAlphaLen(x.L, len(x.Labels))
		var alpha []T
		if eagerGrad {
			alpha = k.Alpha(size)
		} else {
			alpha = make([]T, size)
			if alphas != nil {
				alphas[b] = alpha
			}
		}
		nll[b] = kernels.CTCForward(&x, alpha, k)
		if eagerGrad {
			gr := T(1)
			if p.cfg.reduction == Mean {
				gr /= T(p.n)
				gr /= clamped(b)
			}
			if p.cfg.zeroInfinity && nll[b] == inf {
				gr = 0
			}
			kernels.CTCBackward(&x, p.steps, alpha, nll[b], gr, p.cfg.zeroInfinity, grad, k)
		}
	})
	res := append([]T(nil), nll...)
	if p.cfg.zeroInfinity {
		for b, v := range res {
			if v == inf {
				res[b] = 0
			}
		}
	}
	var out *tensor.Tensor
	switch p.cfg.reduction {
	case None:
		if p.batched {
			out = tensor.MustFromData(res, []int{p.n})
		} else {
			out = tensor.Scalar(res[0])
		}
	case Sum:
		out = tensor.Scalar(kernels.Sum(res))
	default:
		q := make([]T, p.n)
		for b := range q {
			q[b] = res[b] / clamped(b)
		}
		out = tensor.Scalar(kernels.Mean(q))
	}
	shape := p.logProbs.Shape()
	eager.written()
	res2 := tensor.Record(out, nodeName("ctc_loss", p.cfg.reduction), []*tensor.Tensor{p.logProbs}, func(g *tensor.Tensor) ([]*tensor.Tensor, error) {
		if gs, ok := eager.take(g); ok {
			return gradsTo(shape, []gradOf[T]{{gs[0], p.logProbs}})
		}
		up, err := upstreamOf[T](g, p.n, p.cfg.reduction, true)
		if err != nil {
			return nil, err
		}
		grad := make([]T, len(lp))
		parallel.For(p.n, 1, func(i, _, _ int) {
			b := order[i]
			gr := up.at(b)
			if p.cfg.reduction == Mean {
				gr /= clamped(b)
			}
			if p.cfg.zeroInfinity && nll[b] == inf {
				gr = 0 // where(res == inf, 0, res)
			}
			x := sample(b)
			k := kernels.GetCTCWork[T]()
			defer kernels.PutCTCWork(k)
			alpha := alphas[b]
			if alpha == nil { // the eager path kept no table: recompute it
				alpha = k.Alpha(kernels.CTCAlphaLen(x.L, len(x.Labels)))
				kernels.CTCForward(&x, alpha, k)
			}
			kernels.CTCBackward(&x, p.steps, alpha, nll[b], gr, p.cfg.zeroInfinity, grad, k)
		})
		return gradsTo(shape, []gradOf[T]{{grad, p.logProbs}})
	})
	ownGrads(res2)
	return res2, nil
}
