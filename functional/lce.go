package functional

import (
	"github.com/torchloss/torchloss"
	"github.com/torchloss/torchloss/internal/kernels"
	"github.com/torchloss/torchloss/internal/parallel"
	"github.com/torchloss/torchloss/tensor"
)

// LinearCrossEntropy is the cross-entropy of a linear layer's output,
// PyTorch 2.13's
//
//	torch.nn.functional.linear_cross_entropy(input, linear_weight, target, *,
//	    linear_bias=None, weight=None, reduction='mean', ignore_index=None,
//	    label_smoothing=0.0)
//
// Purpose: the output layer of a classifier or language model (hidden
// states times the vocabulary's weight, then cross_entropy) without ever
// holding the logits: for N tokens and a vocabulary of V, the logits and
// their gradient are N×V each, which dwarfs everything else.
//
// Definition: PyTorch's reference implementation, which fixes every case:
//
//	C, *out_features, in_features = linear_weight.shape
//	logits = linear(input, linear_weight.reshape(-1, in_features),
//	                linear_bias.reshape(-1) if given)
//	logits = logits.reshape(*input.shape[:-1], C, *out_features)
//	loss = cross_entropy(logits, target, weight=weight, reduction=reduction,
//	                     ignore_index=ignore_index (−100 when None),
//	                     label_smoothing=label_smoothing)
//
// so the class dimension is dimension 1 of the logits (0 for an unbatched
// input (H)), and a K-dimensional linear_weight (C, d1, …, dK, H) gives
// logits (N, C, d1, …, dK) with a target (N, d1, …, dK). The target is
// class indices (int64) or, when it has the logits' shape, class
// probabilities; see CrossEntropy for the options, the reductions and the
// errors, and Linear for the linear layer's.
//
// Options: LinearBias (the layer's bias, linear_weight's shape without its
// last dimension), Weight (per class), IgnoreIndex, LabelSmoothing, a
// Reduction.
//
// Gradient: input, linear_weight and linear_bias are differentiable, and
// the target too when it holds probabilities.
//
// The fused path: for the usual case (input (N, H), linear_weight (C, H),
// class indices, one dtype) the loss never materializes the logits. Rows
// run in blocks of nb (nb·C elements of scratch, about 11 MiB: 84 rows for
// C = 32,000 in float32); for each block the vocabulary is cut into chunks
// of 510 classes, the block's logits are computed chunk by chunk (GemmNT),
// each row's maximum, exp-sum and loss terms follow (the row kernels of
// cross_entropy), and, when a gradient is wanted, the logits' gradient
// (softmax minus the target, scaled) replaces them in place and is
// multiplied out chunk by chunk into ∂linear_weight (its chunk's rows,
// accumulated over the blocks in order), ∂linear_bias and ∂input (through
// 12 fixed groups of chunks whose partial sums are added in order). Every
// logit is computed once and no N×C buffer exists, forward or backward:
// the extra memory is O(nb·(C + 12·H)) plus a packing buffer per thread,
// independent of N (about 11.9 MB for C = 32,000, H = 256, float32, where
// the reference implementation holds 2 × 131 MB of logits and their
// gradient at N = 1024), and the time is that of the three matrix
// products of the reference implementation. With Mean or Sum the
// gradients are computed during the forward when an argument requires one
// (Backward() then hands them out); with None, or another output gradient,
// the backward runs the pass again. Every sum runs in an order fixed by
// the shapes, so results are identical for any thread count; they are the
// reference's arithmetic in another order (dot products in eight lanes,
// the log-sum-exp as cross_entropy's fused rows), within a few float32
// ULP of it.
//
// The other cases (probabilities, K-dimensional weights, unbatched or
// empty inputs, and anything that must fail) run the reference
// implementation itself: Linear, a reshape and CrossEntropy.
func LinearCrossEntropy(input, linearWeight, target *tensor.Tensor, opts ...Option) (*tensor.Tensor, error) {
	const op = "linear_cross_entropy"
	raw := applyRaw(opts)
	if out, ok, err := onDevice(op, devArgs(input, linearWeight, target, raw.linearBias), 0, opts, func(a []*tensor.Tensor, o []Option) (*tensor.Tensor, error) {
		return LinearCrossEntropy(a[0], a[1], a[2], replaceOption(o, LinearBias(a[3]))...)
	}); ok {
		return out, err
	}
	cfg, err := lossOptions(op, opts)
	if err != nil {
		return nil, err
	}
	if err := required(op, arg{"input", input}, arg{"linear_weight", linearWeight}, arg{"target", target}); err != nil {
		return nil, err
	}
	if lceFusable(input, linearWeight, target, cfg) {
		return lceFused(op, input, linearWeight, target, cfg)
	}
	return lceReference(op, input, linearWeight, target, cfg)
}

// lceReference is PyTorch's reference implementation, op by op.
func lceReference(op string, input, lw, target *tensor.Tensor, cfg config) (*tensor.Tensor, error) {
	ws := lw.Shape()
	if len(ws) < 2 {
		return nil, torchloss.Errorf(torchloss.ErrShape, op, "linear_weight", "not enough values to unpack (expected at least 2, got %d): linear_weight must be (C, [d1, ..., dk,] H)", len(ws))
	}
	c, h := ws[0], ws[len(ws)-1]
	if h == 0 {
		return nil, torchloss.Errorf(torchloss.ErrShape, op, "linear_weight", "cannot reshape tensor of 0 elements into shape [-1, 0] because the unspecified dimension size -1 can be any value and is ambiguous")
	}
	w2, err := lw.Reshape(-1, h)
	if err != nil {
		return nil, err
	}
	var b2 *tensor.Tensor
	if b := cfg.linearBias; b != nil {
		if b2, err = b.Reshape(-1); err != nil {
			return nil, err
		}
	}
	logits, err := Linear(input, w2, b2)
	if err != nil {
		return nil, err
	}
	ls := append(input.Shape()[:input.Dim()-1], c)
	ls = append(ls, ws[1:len(ws)-1]...)
	if logits, err = logits.Reshape(ls...); err != nil {
		return nil, err
	}
	ceOpts := []Option{cfg.reduction, IgnoreIndex(cfg.ignoreIndex), LabelSmoothing(cfg.labelSmoothing)}
	if cfg.weight != nil {
		ceOpts = append(ceOpts, Weight(cfg.weight))
	}
	return CrossEntropy(logits, target, ceOpts...)
}

// lceFusable reports whether the fused path computes the call: input
// (N, H) with N, H > 0, linear_weight (C, H), an int64 target (N), one
// float dtype, a bias (C) and a class weight (C) if any, a valid label
// smoothing and a weight that takes no gradient. Anything else, errors
// included, is left to the reference implementation.
func lceFusable(input, lw, target *tensor.Tensor, cfg config) bool {
	dt := input.DType()
	if !dt.IsFloat() || lw.DType() != dt || target.DType() != tensor.Int64 {
		return false
	}
	if input.Dim() != 2 || lw.Dim() != 2 || target.Dim() != 1 {
		return false
	}
	n, h, c := input.Size(0), input.Size(1), lw.Size(0)
	if n == 0 || h == 0 || c == 0 || lw.Size(1) != h || target.Size(0) != n {
		return false
	}
	if b := cfg.linearBias; b != nil && (b.DType() != dt || b.Dim() != 1 || b.Size(0) != c) {
		return false
	}
	if w := cfg.weight; w != nil && (w.DType() != dt || w.Dim() != 1 || w.Size(0) != c || w.RequiresGrad()) {
		return false
	}
	ls := cfg.labelSmoothing
	return ls == ls && ls <= 1
}

// lceBudget is the scratch the fused path gives a block's logits; lceChunk
// the classes per chunk (a multiple of the NT micro-tile's 3); lceGroups
// the fixed number of partial sums of ∂input.
const (
	lceBudget = 11 << 20
	lceChunk  = 510
	lceGroups = 12
)

// lceMaxRows bounds the row block (a variable for the tests, which
// make blocks small).
var lceMaxRows = 240

// lceBlockRows is the fused path's row block for c classes of size bytes.
func lceBlockRows(n, c, size int) int {
	nb := lceBudget / (c * size) / 12 * 12
	return max(4, min(nb, lceMaxRows, n))
}

func lceFused(op string, input, lw, target *tensor.Tensor, cfg config) (*tensor.Tensor, error) {
	n, c := input.Size(0), lw.Size(0)
	// cross_entropy's checks of its (N, C) logits and the target.
	g, err := nllCheckShape(op, []int{n, c}, input.DType(), target, cfg.weight)
	if err != nil {
		return nil, err
	}
	return dispatch(input.DType(),
		func() (*tensor.Tensor, error) { return lceFusedT[float32](op, input, lw, target, cfg, g) },
		func() (*tensor.Tensor, error) { return lceFusedT[float64](op, input, lw, target, cfg, g) })
}

func lceFusedT[T kernels.Float](op string, input, lw, target *tensor.Tensor, cfg config, g nllGeom) (*tensor.Tensor, error) {
	core, err := newNLL[T](op, nil, target, cfg, g)
	if err != nil {
		return nil, err
	}
	n, h, c := input.Size(0), input.Size(1), lw.Size(0)
	bias := cfg.linearBias
	p := &lcePass[T]{
		x: tensor.Data[T](input), w: tensor.Data[T](lw),
		n: n, h: h, c: c,
		rr: newCERows(core.tgt, core.w, core.ignore, cfg.reduction, cfg.labelSmoothing, c),
	}
	if bias != nil {
		p.b = tensor.Data[T](bias)
	}
	red := cfg.reduction
	lb := getRows[T](n)
	defer putRows(lb)
	lpt := *lb
	var smooth []T
	if p.rr.smoothing {
		sb := getRows[T](n)
		defer putRows(sb)
		smooth = *sb
	}
	var eager *eagerGrads[T]
	if red != None && tensor.AnyRequiresGrad(input, lw, bias) {
		// The gradients go into the leaves' kept (zeroed) gradient
		// buffers when they can be claimed (a training loop's steady
		// state), else into new ones.
		eager = &eagerGrads[T]{ready: true}
		var gx, gw, gb []T
		if needs(input) {
			gx = gradBuf(&eager.claims, input, input.Shape(), n*h, p.x, p.w, p.b)
		}
		if needs(lw) {
			gw = gradBuf(&eager.claims, lw, lw.Shape(), c*h, p.x, p.w, p.b)
		}
		if needs(bias) {
			gb = gradBuf(&eager.claims, bias, bias.Shape(), c, p.x, p.w, p.b)
		}
		eager.gs = [][]T{gx, gw, gb}
		sN, gsv := p.rr.scalars(1)
		p.run(lpt, smooth, func(int) (T, T) { return sN, gsv }, gx, gw, gb)
		eager.written()
	} else {
		p.run(lpt, smooth, nil, nil, nil, nil)
	}
	var out *tensor.Tensor
	if red == None {
		out = tensor.MustFromData(p.rr.none(lpt, smooth), []int{n})
	} else {
		out = p.rr.reduced(lpt, smooth)
	}
	res := tensor.Record(out, "LinearCrossEntropyBackward0", []*tensor.Tensor{input, lw, bias}, func(gr *tensor.Tensor) ([]*tensor.Tensor, error) {
		gs, ok := eager.take(gr)
		if !ok {
			gv, err := gr.To(tensor.DTypeOf[T]())
			if err != nil {
				return nil, err
			}
			gd := tensor.Data[T](gv)
			coef := func(i int) (T, T) { return p.rr.scalars(gd[0]) }
			if red == None {
				coef = func(i int) (T, T) { return p.rr.scalars(gd[i]) }
			}
			gx, gw, gb := p.grads(needs(input), needs(lw), needs(bias))
			lb := getRows[T](n)
			defer putRows(lb)
			p.run(*lb, nil, coef, gx, gw, gb)
			gs = [][]T{gx, gw, gb}
		}
		grads := make([]*tensor.Tensor, 3)
		for k, t := range []*tensor.Tensor{input, lw, bias} {
			if gs[k] != nil {
				grads[k] = tensor.MustFromData(gs[k], t.Shape())
			}
		}
		return grads, nil
	})
	ownGrads(res)
	return res, nil
}

// lcePass is one evaluation of the fused linear_cross_entropy: x (n×h),
// w (c×h), bias b (c) or nil, and cross_entropy's row arithmetic.
type lcePass[T kernels.Float] struct {
	x, w, b []T
	n, h, c int
	rr      *ceRows[T]
}

// grads allocates the gradients that are wanted (nil otherwise).
func (p *lcePass[T]) grads(wantX, wantW, wantB bool) (gx, gw, gb []T) {
	if wantX {
		gx = make([]T, p.n*p.h)
	}
	if wantW {
		gw = make([]T, p.c*p.h)
	}
	if wantB {
		gb = make([]T, p.c)
	}
	return gx, gw, gb
}

// run evaluates the rows: each row's target log-probability into lpt and
// smoothing term into smooth (when not nil) and, when coef is not nil,
// the gradients for the per-row scalars coef(i) (see ceRows.scalars) into
// the non-nil gx, gw and gb (gw and gb zero on entry: they accumulate over
// the row blocks).
func (p *lcePass[T]) run(lpt, smooth []T, coef func(i int) (sN, gsv T), gx, gw, gb []T) {
	n, h, c := p.n, p.h, p.c
	var z T
	size := int(sizeOf(z))
	nb := lceBlockRows(n, c, size)
	// The scratch comes from the free lists of the fused losses' rows
	// (getRows), so a training loop's steady state allocates none of it.
	zb := getRows[T](nb * c)
	defer putRows(zb)
	zs := *zb // the block's logits, then their gradient
	nch := (c + lceChunk - 1) / lceChunk
	groups := min(lceGroups, nch)
	perGroup := (nch + groups - 1) / groups
	groups = (nch + perGroup - 1) / perGroup
	var parts []T
	if gx != nil {
		pb := getRows[T](groups * nb * h)
		defer putRows(pb)
		parts = *pb
	}
	// The workers' packing buffers (kept across calls) and the block's
	// input packed for ∂weight.
	bufs := gemmBufs[T]()
	getBuf := func() *kernels.GemmBuf[T] {
		if b, ok := bufs.Get(); ok {
			return b
		}
		return new(kernels.GemmBuf[T])
	}
	var xp []T
	if gw != nil {
		xpb := getRows[T](((h + 15) / 16) * 16 * nb)
		defer putRows(xpb)
		xp = (*xpb)[:0]
	}
	rr := p.rr
	w := rr.w
	for i0 := 0; i0 < n; i0 += nb {
		rows := min(nb, n-i0)
		xb := p.x[i0*h : (i0+rows)*h]
		// Logits, chunk by chunk of the vocabulary.
		parallel.For(nch, 1, func(_, lo, hi int) {
			for ch := lo; ch < hi; ch++ {
				c0, c1 := ch*lceChunk, min(c, (ch+1)*lceChunk)
				var b []T
				if p.b != nil {
					b = p.b[c0:c1]
				}
				kernels.GemmNT(rows, c1-c0, h, xb, h, p.w[c0*h:], h, zs[c0:], c, b)
			}
		})
		// Rows: max, exp-sum and loss terms; the gradient in place.
		parallel.For(rows, 1, func(_, lo, hi int) {
			for r := lo; r < hi; r++ {
				i := i0 + r
				row := zs[r*c : r*c+c]
				t := rr.tgt[i]
				var xt T
				if t != rr.ignore {
					xt = row[t]
				}
				m, s, a := kernels.CERowExp(row, row, w, rr.smoothing)
				lp, sm := rr.loss(t, xt, m, s, a)
				lpt[i] = lp
				if smooth != nil {
					smooth[i] = sm
				}
				if coef == nil {
					continue
				}
				sN, gsv := coef(i)
				k, gs, nv := rr.grad(t, s, sN, gsv)
				kernels.CERowGrad(row, w, k, gs)
				if t != rr.ignore {
					row[t] += nv
				}
			}
		})
		if coef == nil || (gx == nil && gw == nil && gb == nil) {
			continue
		}
		// The products of the logits' gradient: ∂weight and ∂bias chunk by
		// chunk, ∂input group by group of chunks.
		if gw != nil || gb != nil {
			if gw != nil {
				xp = kernels.PackBInto(xp, xb, h, rows, h)
			}
			parallel.For(nch, 1, func(_, lo, hi int) {
				buf := getBuf()
				defer bufs.Put(buf, 0)
				for ch := lo; ch < hi; ch++ {
					c0, c1 := ch*lceChunk, min(c, (ch+1)*lceChunk)
					if gb != nil {
						for r := range rows {
							addTo(gb[c0:c1], zs[r*c+c0:r*c+c1])
						}
					}
					if gw != nil {
						kernels.GemmNNPacked(c1-c0, h, rows, zs[c0:], 1, c, xp, gw[c0*h:], h, i0 > 0, buf) // gw is zero before the first block
					}
				}
			})
		}
		if gx != nil {
			parallel.For(groups, 1, func(_, lo, hi int) {
				buf := getBuf()
				defer bufs.Put(buf, 0)
				for gi := lo; gi < hi; gi++ {
					for ch := gi * perGroup; ch < min(nch, (gi+1)*perGroup); ch++ {
						c0, c1 := ch*lceChunk, min(c, (ch+1)*lceChunk)
						first := ch == gi*perGroup
						kernels.GemmNN(rows, h, c1-c0, zs[c0:], c, 1, p.w[c0*h:], h, parts[gi*nb*h:], h, !first, false, buf)
					}
				}
			})
		}
		if gx != nil {
			// ∂input of the block: the groups' partial sums in order.
			parallel.For(rows, 8, func(_, lo, hi int) {
				dst := gx[(i0+lo)*h : (i0+hi)*h]
				copy(dst, parts[lo*h:hi*h])
				for gi := 1; gi < groups; gi++ {
					addTo(dst, parts[gi*nb*h+lo*h:gi*nb*h+hi*h])
				}
			})
		}
	}
}

// sizeOf is the size in bytes of a T.
func sizeOf[T kernels.Float](T) uintptr {
	if kernels.Is32[T]() {
		return 4
	}
	return 8
}

// gemmBuf32 and gemmBuf64 are free lists of the GEMM packing buffers of
// linear_cross_entropy's workers (a few KiB each, one per concurrent
// worker).
var (
	gemmBuf32 kernels.FreeList[*kernels.GemmBuf[float32]]
	gemmBuf64 kernels.FreeList[*kernels.GemmBuf[float64]]
)

func gemmBufs[T kernels.Float]() *kernels.FreeList[*kernels.GemmBuf[T]] {
	if kernels.Is32[T]() {
		return any(&gemmBuf32).(*kernels.FreeList[*kernels.GemmBuf[T]])
	}
	return any(&gemmBuf64).(*kernels.FreeList[*kernels.GemmBuf[T]])
}
