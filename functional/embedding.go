package functional

import (
	"github.com/torchloss/torchloss"
	"github.com/torchloss/torchloss/internal/kernels"
	"github.com/torchloss/torchloss/internal/parallel"
	"github.com/torchloss/torchloss/tensor"
	"slices"
)

// cosineEpsilon is ATen's EPSILON (Loss.cpp), a C++ float: even float64
// computations add double(float(1e-12)) = 9.999999960041972e-13.
const cosineEpsilon = float64(float32(1e-12))

// CosineEmbeddingLoss measures whether two batches of vectors are similar
// (target 1) or dissimilar (target −1) by their cosine similarity, PyTorch's
//
//	torch.nn.functional.cosine_embedding_loss(input1, input2, target,
//	    margin=0, size_average=None, reduce=None, reduction='mean')
//
// Purpose: learning embeddings (siamese networks, semi-supervised
// retrieval) where only the direction of a vector matters.
//
// Shapes: input1 and input2 are (N, D) with a (N) target, or (D) with a 0-d
// target (one pair). The three broadcast: a (1, D) input pairs one vector
// with the whole batch, a (1) target applies to every pair.
//
// Math, in PyTorch's order of operations (d the feature dimension):
//
//	prod = Σ_d x1·x2,  m1 = Σ_d x1² + ε,  m2 = Σ_d x2² + ε   (ε = float32(1e-12))
//	cos  = prod / sqrt(m1·m2)
//	ℓ    = 1 − cos              where t = 1
//	     = max(0, cos − margin) where t = −1
//	     = 0                    for any other target value
//
// Options: Margin (default 0; values in [−1, 1] make sense, 0 to 0.5 is
// typical) and a Reduction (default Mean): None returns ℓ (shape (N), or 0-d
// for a 0-d target), Sum Σℓ, Mean Σℓ/N.
//
// Gradient: autograd of the composite graph above, for input1 and input2.
// The target is only compared with ±1 and gets no gradient; it may have any
// dtype (int64, float, bool where true counts as 1).
//
// PyTorch quirks kept: ε keeps a zero vector's cosine finite (0), but its
// gradient through sqrt(m1·m2) is huge (≈ 5.8e5 per component for a zero
// input1 against (1, 1, 1)); the clamp passes the gradient at cos = margin;
// targets other than ±1 are silently ignored (loss 0). With mixed float32 /
// float64 inputs, each squared magnitude is computed in its input's own
// dtype, as PyTorch does.
func CosineEmbeddingLoss(input1, input2, target *tensor.Tensor, opts ...Option) (*tensor.Tensor, error) {
	const op = "cosine_embedding_loss"
	cfg, err := lossOptions(op, opts)
	if err != nil {
		return nil, err
	}
	if err := required(op, arg{"input1", input1}, arg{"input2", input2}, arg{"target", target}); err != nil {
		return nil, err
	}
	td := target.Dim()
	if td != 0 && td != 1 {
		return nil, torchloss.Errorf(torchloss.ErrShape, op, "target", "0D or 1D target tensor expected, multi-target not supported (got target of shape %v)", sizes(target.Shape()))
	}
	if td == 1 && (input1.Dim() != 2 || input2.Dim() != 2) {
		return nil, torchloss.Errorf(torchloss.ErrShape, op, "input1", "1D target tensor expects 2D input tensors, but found inputs with sizes %s and %s.", sizes(input1.Shape()), sizes(input2.Shape()))
	}
	if td == 0 && (input1.Dim() != 1 || input2.Dim() != 1) {
		return nil, torchloss.Errorf(torchloss.ErrShape, op, "input1", "0D target tensor expects 1D input tensors, but found inputs with sizes %s and %s.", sizes(input1.Shape()), sizes(input2.Shape()))
	}
	dt, err := floatDType(op, arg{"input1", input1}, arg{"input2", input2})
	if err != nil {
		return nil, err
	}
	abShape, err := broadcastShape(op, arg{"input1", input1}, arg{"input2", input2})
	if err != nil {
		return nil, err
	}
	cosShape := abShape[:td]
	outShape, err := mgBroadcast(op, "target", target.Shape(), cosShape)
	if err != nil {
		return nil, err
	}
	if out, ok, err := onKernel(kernelCall{op: op, args: devArgs(input1, input2, target), diff: 2, cfg: cfg, name: nodeName(op, cfg.reduction), opts: opts,
		host: func(_ *kernelCall, a []*tensor.Tensor, o []Option) (*tensor.Tensor, error) {
			return CosineEmbeddingLoss(a[0], a[1], a[2], o...)
		}}); ok {
		return out, err
	}
	return dispatch(dt,
		func() (*tensor.Tensor, error) {
			return cosineT[float32](input1, input2, target, cfg, abShape, outShape)
		},
		func() (*tensor.Tensor, error) {
			return cosineT[float64](input1, input2, target, cfg, abShape, outShape)
		})
}

// cosineSelfDot returns Σ_d x² + ε per row of x (of shape (rows, d) or
// (d)), computed in x's own dtype, as T.
func cosineSelfDot[T kernels.Float](x *tensor.Tensor, td int) []T {
	s := x.Shape()
	rows, d := 1, s[0]
	if td == 1 {
		rows, d = s[0], s[1]
	}
	if x.DType() == tensor.Float32 {
		out := make([]float32, rows)
		kernels.SelfDot(x.Float32s(), rows, d, float32(cosineEpsilon), out)
		return mgFromF32[T](out)
	}
	out := make([]float64, rows)
	kernels.SelfDot(x.Float64s(), rows, d, cosineEpsilon, out)
	res := make([]T, rows)
	for i, v := range out {
		res[i] = T(v)
	}
	return res
}

func cosineT[T kernels.Float](input1, input2, target *tensor.Tensor, cfg config, abShape, outShape []int) (*tensor.Tensor, error) {
	return cosineImplT[T](input1, input2, target, cfg, abShape, outShape, true)
}

// cosineSlowT is cosineT without the fused path.
func cosineSlowT[T kernels.Float](input1, input2, target *tensor.Tensor, cfg config, abShape, outShape []int) (*tensor.Tensor, error) {
	return cosineImplT[T](input1, input2, target, cfg, abShape, outShape, false)
}

func cosineImplT[T kernels.Float](input1, input2, target *tensor.Tensor, cfg config, abShape, outShape []int, fused bool) (*tensor.Tensor, error) {
	td := target.Dim()
	s1, s2 := input1.Shape(), input2.Shape()
	cosShape := abShape[:td]
	rows, d := 1, abShape[0]
	if td == 1 {
		rows, d = abShape[0], abShape[1]
	}
	n1, n2 := mgIs32[T](input1.DType()), mgIs32[T](input2.DType())
	if dt := tensor.DTypeOf[T](); fused && td == 1 && input1.DType() == dt && input2.DType() == dt &&
		slices.Equal(s1, abShape) && slices.Equal(s2, abShape) && slices.Equal(outShape, cosShape) && d > 0 && d <= sumGrain {
		return cosineFusedT[T](input1, input2, target, cfg, rows, d, outShape)
	}
	x1b, err := values[T](input1, abShape)
	if err != nil {
		return nil, err
	}
	x2b, err := values[T](input2, abShape)
	if err != nil {
		return nil, err
	}
	// prod = (x1 * x2).sum(d), in the promoted dtype.
	a := make([]T, len(x1b))
	for i := range a {
		a[i] = x1b[i] * x2b[i]
	}
	prod := make([]T, rows)
	kernels.SumDim(a, rows, d, 1, prod)
	// m1, m2 in each input's dtype, broadcast to the batch shape.
	m1 := cosineSelfDot[T](input1, td)
	m2 := cosineSelfDot[T](input2, td)
	m1b, err := mgExpand(m1, s1[:td], cosShape)
	if err != nil {
		return nil, err
	}
	m2b, err := mgExpand(m2, s2[:td], cosShape)
	if err != nil {
		return nil, err
	}
	cos := make([]T, rows)
	den := make([]T, rows)
	kernels.CosineForward(prod, m1b, m2b, cos, den)
	cosO, err := mgExpand(cos, cosShape, outShape)
	if err != nil {
		return nil, err
	}
	cls, err := mgTargetClasses(target, outShape)
	if err != nil {
		return nil, err
	}
	margin := T(cfg.margin)
	n := len(cls)
	loss := make([]T, n)
	kernels.CosineLoss(cosO, cls, margin, loss)
	out := reduce(loss, outShape, cfg.reduction)
	return tensor.Record(out, nodeName("cosine_embedding_loss", cfg.reduction), []*tensor.Tensor{input1, input2}, func(g *tensor.Tensor) ([]*tensor.Tensor, error) {
		up, err := upstreamOf[T](g, n, cfg.reduction, true)
		if err != nil {
			return nil, err
		}
		// The gradients reaching the two where() branches, summed to cos's
		// shape (each where broadcast its operand).
		gposF := make([]T, n)
		gnegF := make([]T, n)
		for i, c := range cls {
			switch c {
			case kernels.TargetPos:
				gposF[i] = up.at(i)
			case kernels.TargetNeg:
				gnegF[i] = up.at(i)
			}
		}
		gpos, err := mgSumTo(gposF, outShape, cosShape, tensor.DTypeOf[T]())
		if err != nil {
			return nil, err
		}
		gneg, err := mgSumTo(gnegF, outShape, cosShape, tensor.DTypeOf[T]())
		if err != nil {
			return nil, err
		}
		gprod := make([]T, rows)
		gp := make([]T, rows)
		kernels.CosineBackward(prod, cos, den, gpos, gneg, margin, gprod, gp)
		// p = m1·m2: each factor's gradient, summed to its shape, in its dtype.
		gm := make([]T, rows)
		for i := range gm {
			gm[i] = gp[i] * m2b[i]
		}
		gm1, err := mgSumTo(gm, cosShape, s1[:td], tensor.DTypeOf[T]())
		if err != nil {
			return nil, err
		}
		mgNarrowAll(gm1, n1)
		for i := range gm {
			gm[i] = gp[i] * m1b[i]
		}
		gm2, err := mgSumTo(gm, cosShape, s2[:td], tensor.DTypeOf[T]())
		if err != nil {
			return nil, err
		}
		mgNarrowAll(gm2, n2)
		// prod = Σ x1·x2: the gradient of each factor is gprod times the other.
		var grads [2]*tensor.Tensor
		for k, in := range []*tensor.Tensor{input1, input2} {
			if !needs(in) {
				continue
			}
			other, gmk, nk, sk := x2b, gm1, n1, s1
			if k == 1 {
				other, gmk, nk, sk = x1b, gm2, n2, s2
			}
			ga := make([]T, len(a))
			for i := range ga {
				ga[i] = gprod[i/max(d, 1)] * other[i]
			}
			gxa, err := mgSumTo(ga, abShape, sk, tensor.DTypeOf[T]())
			if err != nil {
				return nil, err
			}
			mgNarrowAll(gxa, nk)
			// Σ x·x + ε: x·x's backward gives g·x twice, accumulated first.
			xs, err := values[T](in, sk)
			if err != nil {
				return nil, err
			}
			dk := sk[td]
			gx := make([]T, len(xs))
			for i := range gx {
				r := kernels.Narrow(gmk[i/max(dk, 1)]*xs[i], nk)
				gx[i] = kernels.Narrow(kernels.Narrow(r+r, nk)+gxa[i], nk)
			}
			g, err := gradTo(gx, sk, in)
			if err != nil {
				return nil, err
			}
			grads[k] = g
		}
		return grads[:], nil
	}), nil
}

// HingeEmbeddingLoss is the hinge loss of a distance-like input against ±1
// labels, PyTorch's
//
//	torch.nn.functional.hinge_embedding_loss(input, target, margin=1.0,
//	    size_average=None, reduce=None, reduction='mean')
//
// Purpose: learning embeddings or similarities from pairwise distances x:
// similar pairs (t = 1) are pulled together (loss x), dissimilar pairs
// (t = −1) pushed beyond the margin (loss max(0, margin − x)).
//
// Math, per element of the broadcast input and target:
//
//	ℓ = where(t ≠ 1, max(0, margin − x), 0) + where(t ≠ −1, x, 0)
//
// Options: Margin (default 1; may be negative) and a Reduction (default
// Mean).
//
// Gradient: ∂ℓ/∂x = [t ≠ −1] − [t ≠ 1]·[margin − x ≥ 0]: the clamp passes the
// gradient at x = margin (−1 there for t = −1). The target gets none.
//
// PyTorch quirks kept: a target other than ±1 (0, 2, NaN) takes both
// branches, ℓ = max(0, margin − x) + x; the target may have any dtype
// (int64, float, bool where true counts as 1) and broadcasts with the input
// silently.
func HingeEmbeddingLoss(input, target *tensor.Tensor, opts ...Option) (*tensor.Tensor, error) {
	const op = "hinge_embedding_loss"
	cfg, err := lossOptions(op, opts)
	if err != nil {
		return nil, err
	}
	if err := required(op, arg{"input", input}, arg{"target", target}); err != nil {
		return nil, err
	}
	dt, err := floatDType(op, arg{"input", input})
	if err != nil {
		return nil, err
	}
	shape, err := broadcastShape(op, arg{"input", input}, arg{"target", target})
	if err != nil {
		return nil, err
	}
	if out, ok, err := onKernel(kernelCall{op: op, args: devArgs(input, target), diff: 1, cfg: cfg, name: nodeName(op, cfg.reduction), opts: opts,
		host: func(_ *kernelCall, a []*tensor.Tensor, o []Option) (*tensor.Tensor, error) {
			return HingeEmbeddingLoss(a[0], a[1], o...)
		}}); ok {
		return out, err
	}
	return dispatch(dt,
		func() (*tensor.Tensor, error) { return hingeT[float32](input, target, cfg, shape) },
		func() (*tensor.Tensor, error) { return hingeT[float64](input, target, cfg, shape) })
}

// hingeBlock is the block of targets hingeT classifies at a time.
const hingeBlock = 1024

func hingeT[T kernels.Float](input, target *tensor.Tensor, cfg config, shape []int) (*tensor.Tensor, error) {
	x, err := values[T](input, shape)
	if err != nil {
		return nil, err
	}
	margin := T(cfg.margin)
	n := len(x)
	var eager *eagerGrads[T]
	var gx []T
	up := T(1)
	if wantEager(cfg.reduction, input) && input.Numel() == n {
		eager = &eagerGrads[T]{}
		gx = gradBuf(&eager.claims, input, shape, n, x)
		eager.gs = [][]T{gx}
		if cfg.reduction == Mean {
			up /= T(n)
		}
	}
	// The targets' classes: a target of T and of the loss's shape is
	// classified block by block as the chunks run (no n-byte array; the
	// backward classifies again if it needs them), any other is broadcast
	// and classified first.
	var cls []int8
	var tv []T
	if target.DType() == tensor.DTypeOf[T]() && slices.Equal(target.Shape(), shape) {
		tv = tensor.Data[T](target)
	} else if cls, err = mgTargetClasses(target, shape); err != nil {
		return nil, err
	}
	fe := fusedElementwise[T]{n: n, shape: shape, r: cfg.reduction}
	if tv == nil {
		fe.fwd = func(lo, hi int, loss []T) { kernels.HingeForward(x[lo:hi], cls[lo:hi], margin, loss) }
		if gx != nil {
			fe.grad = func(lo, hi int) { kernels.HingeBackwardConst(x[lo:hi], cls[lo:hi], margin, up, gx[lo:hi]) }
		}
	} else {
		fe.fwd = func(lo, hi int, loss []T) {
			var c [hingeBlock]int8
			for a := lo; a < hi; a += hingeBlock {
				b := min(a+hingeBlock, hi)
				classify(c[:], tv[a:b])
				kernels.HingeForward(x[a:b], c[:b-a], margin, loss[a-lo:b-lo])
				if gx != nil {
					kernels.HingeBackwardConst(x[a:b], c[:b-a], margin, up, gx[a:b])
				}
			}
		}
		if gx != nil {
			fe.grad = func(int, int) {}
		}
	}
	out, ran := runFused(fe)
	if eager != nil {
		eager.ready = ran
	}
	eager.written()
	res := tensor.Record(out, nodeName("hinge_embedding_loss", cfg.reduction), []*tensor.Tensor{input}, func(g *tensor.Tensor) ([]*tensor.Tensor, error) {
		if gs, ok := eager.take(g); ok {
			return []*tensor.Tensor{tensor.MustFromData(gs[0], input.Shape())}, nil
		}
		up, err := upstreamOf[T](g, n, cfg.reduction, true)
		if err != nil {
			return nil, err
		}
		cls := cls
		if cls == nil {
			if cls, err = mgTargetClasses(target, shape); err != nil {
				return nil, err
			}
		}
		gsF := make([]T, n)
		gmF := make([]T, n)
		for i, c := range cls {
			if c != kernels.TargetNeg {
				gsF[i] = up.at(i)
			}
			if c != kernels.TargetPos {
				gmF[i] = up.at(i)
			}
		}
		is := input.Shape()
		gs, err := mgSumTo(gsF, shape, is, input.DType())
		if err != nil {
			return nil, err
		}
		gm, err := mgSumTo(gmF, shape, is, input.DType())
		if err != nil {
			return nil, err
		}
		xs, err := values[T](input, is)
		if err != nil {
			return nil, err
		}
		gx := make([]T, len(xs))
		kernels.HingeBackward(xs, margin, gs, gm, gx)
		return []*tensor.Tensor{tensor.MustFromData(gx, is)}, nil
	})
	ownGrads(res)
	return res, nil
}

// cosineFusedT is cosineT for (N, D) inputs of the element type T and an
// (N) target: one parallel pass over rows computes the row sums, the loss
// and, when a gradient will be wanted, the rows' gradients for an output
// gradient of 1, bit for bit what cosineT's graph computes.
func cosineFusedT[T kernels.Float](input1, input2, target *tensor.Tensor, cfg config, rows, d int, outShape []int) (*tensor.Tensor, error) {
	x1, x2 := tensor.Data[T](input1), tensor.Data[T](input2)
	cls, err := mgTargetClasses(target, outShape)
	if err != nil {
		return nil, err
	}
	margin := T(cfg.margin)
	eps := T(cosineEpsilon)
	r := cfg.reduction
	var loss []T
	if r == None {
		loss = make([]T, rows) // the output
	} else {
		lb := getRows[T](rows)
		defer putRows(lb)
		loss = *lb
	}
	var g1, g2 []T
	var eager *eagerGrads[T]
	up := T(1)
	if wantEager(r, input1, input2) {
		eager = &eagerGrads[T]{ready: true}
		if needs(input1) {
			g1 = gradBuf(&eager.claims, input1, input1.Shape(), len(x1), x1, x2)
		}
		if needs(input2) {
			g2 = gradBuf(&eager.claims, input2, input2.Shape(), len(x2), x1, x2)
		}
		if r == Mean {
			up /= T(rows)
		}
		eager.gs = [][]T{g1, g2}
	}
	// Large gradients are written with streaming stores: nothing reads
	// them before the backward hands them out.
	nt := len(x1) >= 1<<18
	parallel.For(rows, max(1, sumGrain/d), func(_, lo, hi int) {
		ab := getScratch[T]()
		a := (*ab)[:d]
		for i := lo; i < hi; i++ {
			r1, r2 := x1[i*d:i*d+d], x2[i*d:i*d+d]
			prod, m1, m2 := kernels.CosineRowSums(r1, r2, a)
			m1 += eps
			m2 += eps
			den := kernels.Sqrt(m1 * m2)
			cos := prod / den
			kernels.CosineLoss([]T{cos}, cls[i:i+1], margin, loss[i:i+1])
			if eager == nil {
				continue
			}
			var gpos, gneg T
			switch cls[i] {
			case kernels.TargetPos:
				gpos = up
			case kernels.TargetNeg:
				gneg = up
			}
			var gprod, gp [1]T
			kernels.CosineBackward([]T{prod}, []T{cos}, []T{den}, []T{gpos}, []T{gneg}, margin, gprod[:], gp[:])
			if g1 != nil {
				kernels.CosineRowGrad(r1, r2, g1[i*d:i*d+d], gp[0]*m2, gprod[0], nt)
			}
			if g2 != nil {
				kernels.CosineRowGrad(r2, r1, g2[i*d:i*d+d], gp[0]*m1, gprod[0], nt)
			}
		}
		if nt {
			kernels.RowFence()
		}
		putScratch(ab)
	})
	out := reduce(loss, outShape, r)
	eager.written()
	res := tensor.Record(out, nodeName("cosine_embedding_loss", r), []*tensor.Tensor{input1, input2}, func(g *tensor.Tensor) ([]*tensor.Tensor, error) {
		if gs, ok := eager.take(g); ok {
			var grads [2]*tensor.Tensor
			for k, in := range []*tensor.Tensor{input1, input2} {
				if gs[k] != nil {
					grads[k] = tensor.MustFromData(gs[k], in.Shape())
				}
			}
			return grads[:], nil
		}
		shape := input1.Shape()
		slow, err := cosineSlowT[T](input1, input2, target, cfg, shape, outShape)
		if err != nil {
			return nil, err
		}
		return slow.GradFn().Backward(g)
	})
	ownGrads(res)
	return res, nil
}
