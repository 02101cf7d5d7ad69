package functional

import (
	"math"

	"github.com/torchloss/torchloss"
	"github.com/torchloss/torchloss/internal/kernels"
	"github.com/torchloss/torchloss/tensor"
)

// This file holds the differentiable tensor operations a user needs to
// write a custom distance for TripletMarginWithDistanceLoss (and that the
// triplet losses are built from): elementwise arithmetic with broadcasting,
// a few unary functions, sums and the vector norm. Each one is PyTorch's
// operation of the same name, computed in the promoted floating-point dtype
// (float32 or float64; integer and bool tensors are rejected), and records
// an autograd node whose backward is PyTorch's derivative formula
// (derivatives.yaml); the gradient of a broadcast argument is summed back
// to its shape.
//
// Two names differ from PyTorch's because Sum and Mean are already
// Reductions in this package: SumAll is torch.sum(x) and MeanAll is
// torch.mean(x).

// opBinaryKind selects a broadcasting binary operation.
type opBinaryKind int

const (
	opAdd opBinaryKind = iota
	opSub
	opMul
	opDiv
	opMinimum
)

var opBinaryNames = [...]struct{ op, node string }{
	opAdd:     {"add", "AddBackward0"},
	opSub:     {"sub", "SubBackward0"},
	opMul:     {"mul", "MulBackward0"},
	opDiv:     {"div", "DivBackward0"},
	opMinimum: {"minimum", "MinimumBackward0"},
}

// Add returns a + b (broadcast), torch.add. Gradient: g to both.
func Add(a, b *tensor.Tensor) (*tensor.Tensor, error) { return opBinary(opAdd, a, b) }

// Sub returns a − b (broadcast), torch.sub. Gradient: g to a, −g to b.
func Sub(a, b *tensor.Tensor) (*tensor.Tensor, error) { return opBinary(opSub, a, b) }

// Mul returns a·b (broadcast), torch.mul. Gradient: g·b to a, g·a to b.
func Mul(a, b *tensor.Tensor) (*tensor.Tensor, error) { return opBinary(opMul, a, b) }

// Div returns a/b (broadcast), torch.div. Gradient: g/b to a and
// −g·((a/b)/b) to b.
func Div(a, b *tensor.Tensor) (*tensor.Tensor, error) { return opBinary(opDiv, a, b) }

// Minimum returns the elementwise minimum of a and b (broadcast),
// torch.minimum; a NaN in either gives NaN. Gradient: g goes to the
// smaller argument; at a tie (a == b) each gets g/2, as in PyTorch.
func Minimum(a, b *tensor.Tensor) (*tensor.Tensor, error) { return opBinary(opMinimum, a, b) }

func opBinary(kind opBinaryKind, a, b *tensor.Tensor) (*tensor.Tensor, error) {
	op := opBinaryNames[kind].op
	if err := required(op, arg{"input", a}, arg{"other", b}); err != nil {
		return nil, err
	}
	dt, err := floatDType(op, arg{"input", a}, arg{"other", b})
	if err != nil {
		return nil, err
	}
	shape, err := broadcastShape(op, arg{"input", a}, arg{"other", b})
	if err != nil {
		return nil, err
	}
	if out, ok, err := onKernel(kernelCall{op: op, args: devArgs(a, b), diff: 2, name: opBinaryNames[kind].node, kind: int(kind),
		host: func(k *kernelCall, a []*tensor.Tensor, _ []Option) (*tensor.Tensor, error) {
			return opBinary(opBinaryKind(k.kind), a[0], a[1])
		}}); ok {
		return out, err
	}
	return dispatch(dt,
		func() (*tensor.Tensor, error) { return opBinaryT[float32](kind, a, b, shape) },
		func() (*tensor.Tensor, error) { return opBinaryT[float64](kind, a, b, shape) })
}

func opBinaryT[T kernels.Float](kind opBinaryKind, a, b *tensor.Tensor, shape []int) (*tensor.Tensor, error) {
	x, err := values[T](a, shape)
	if err != nil {
		return nil, err
	}
	y, err := values[T](b, shape)
	if err != nil {
		return nil, err
	}
	out := make([]T, len(x))
	for i := range out {
		switch kind {
		case opAdd:
			out[i] = x[i] + y[i]
		case opSub:
			out[i] = x[i] - y[i]
		case opMul:
			out[i] = x[i] * y[i]
		case opDiv:
			out[i] = x[i] / y[i]
		case opMinimum:
			switch {
			case x[i] != x[i]:
				out[i] = x[i]
			case y[i] != y[i] || y[i] < x[i]:
				out[i] = y[i]
			default:
				out[i] = x[i]
			}
		}
	}
	return tensor.Record(tensor.MustFromData(out, shape), opBinaryNames[kind].node, []*tensor.Tensor{a, b}, func(g *tensor.Tensor) ([]*tensor.Tensor, error) {
		gv, err := values[T](g, shape)
		if err != nil {
			return nil, err
		}
		var ga, gb []T
		if needs(a) {
			ga = make([]T, len(gv))
		}
		if needs(b) {
			gb = make([]T, len(gv))
		}
		for i, gi := range gv {
			var da, db T
			switch kind {
			case opAdd:
				da, db = gi, gi
			case opSub:
				da, db = gi, -gi
			case opMul:
				da, db = gi*y[i], gi*x[i]
			case opDiv:
				da, db = gi/y[i], -gi*((x[i]/y[i])/y[i])
			case opMinimum:
				h := gi
				if x[i] == y[i] {
					h = gi / 2
				}
				da, db = h, h
				if x[i] > y[i] {
					da = 0
				}
				if x[i] < y[i] {
					db = 0
				}
			}
			if ga != nil {
				ga[i] = da
			}
			if gb != nil {
				gb[i] = db
			}
		}
		return gradsTo(shape, []gradOf[T]{{ga, a}, {gb, b}})
	}), nil
}

// opUnaryKind selects an elementwise operation of one tensor (and a scalar).
type opUnaryKind int

const (
	opNeg opUnaryKind = iota
	opAbs
	opSqrt
	opPow
	opAddScalar
	opMulScalar
	opClampMin
)

var opUnaryNames = [...]struct{ op, node string }{
	opNeg:       {"neg", "NegBackward0"},
	opAbs:       {"abs", "AbsBackward0"},
	opSqrt:      {"sqrt", "SqrtBackward0"},
	opPow:       {"pow", "PowBackward0"},
	opAddScalar: {"add", "AddBackward1"},
	opMulScalar: {"mul", "MulBackward1"},
	opClampMin:  {"clamp_min", "ClampMinBackward0"},
}

// Neg returns −x, torch.neg. Gradient: −g.
func Neg(x *tensor.Tensor) (*tensor.Tensor, error) { return opUnary(opNeg, x, 0) }

// Abs returns |x|, torch.abs. Gradient: g·sgn(x), with sgn(0) = 0.
func Abs(x *tensor.Tensor) (*tensor.Tensor, error) { return opUnary(opAbs, x, 0) }

// Sqrt returns √x, torch.sqrt. Gradient: g/(2·√x) (inf at 0).
func Sqrt(x *tensor.Tensor) (*tensor.Tensor, error) { return opUnary(opSqrt, x, 0) }

// Pow returns x^p for a scalar exponent p, torch.pow(x, p) (x·x for p = 2,
// √x for p = 0.5, ... as ATen special-cases them). Gradient: g·(p·x^(p−1)),
// and 0 for p = 0.
func Pow(x *tensor.Tensor, p float64) (*tensor.Tensor, error) { return opUnary(opPow, x, p) }

// AddScalar returns x + s, torch.add(x, s) (s rounded to x's dtype).
// Gradient: g.
func AddScalar(x *tensor.Tensor, s float64) (*tensor.Tensor, error) {
	return opUnary(opAddScalar, x, s)
}

// MulScalar returns x·s, torch.mul(x, s) (s rounded to x's dtype).
// Gradient: g·s.
func MulScalar(x *tensor.Tensor, s float64) (*tensor.Tensor, error) {
	return opUnary(opMulScalar, x, s)
}

// ClampMin returns max(x, m) elementwise with NaN propagating,
// torch.clamp_min(x, m). Gradient: g where x ≥ m (so it passes at
// equality), 0 elsewhere (and at NaN).
func ClampMin(x *tensor.Tensor, m float64) (*tensor.Tensor, error) {
	return opUnary(opClampMin, x, m)
}

func opUnary(kind opUnaryKind, x *tensor.Tensor, s float64) (*tensor.Tensor, error) {
	op := opUnaryNames[kind].op
	if err := required(op, arg{"input", x}); err != nil {
		return nil, err
	}
	dt, err := floatDType(op, arg{"input", x})
	if err != nil {
		return nil, err
	}
	key := op // the kernel's name: ATen's overload for a scalar operand
	if kind == opAddScalar || kind == opMulScalar {
		key += ".Scalar"
	}
	if out, ok, err := onKernel(kernelCall{op: key, args: devArgs(x), diff: 1, scalar: s, name: opUnaryNames[kind].node, kind: int(kind),
		host: func(k *kernelCall, a []*tensor.Tensor, _ []Option) (*tensor.Tensor, error) {
			return opUnary(opUnaryKind(k.kind), a[0], k.scalar)
		}}); ok {
		return out, err
	}
	return dispatch(dt,
		func() (*tensor.Tensor, error) { return opUnaryT[float32](kind, x, s) },
		func() (*tensor.Tensor, error) { return opUnaryT[float64](kind, x, s) })
}

func opUnaryT[T kernels.Float](kind opUnaryKind, x *tensor.Tensor, s float64) (*tensor.Tensor, error) {
	shape := x.Shape()
	xv := tensor.Data[T](x)
	st := T(s)
	// Every element is written: storage from the host buffer cache
	// (tensor.Uninit; reused once a previous output was freed).
	res, err := tensor.Uninit[T](shape...)
	if err != nil {
		return nil, err
	}
	out := tensor.Data[T](res)
	for i, v := range xv {
		switch kind {
		case opNeg:
			out[i] = -v
		case opAbs:
			out[i] = kernels.Abs(v)
		case opSqrt:
			out[i] = kernels.Sqrt(v)
		case opPow:
			out[i] = kernels.PowScalar(v, s)
		case opAddScalar:
			out[i] = v + st
		case opMulScalar:
			out[i] = v * st
		case opClampMin:
			out[i] = kernels.ClampMin(v, st)
		}
	}
	return tensor.Record(res, opUnaryNames[kind].node, []*tensor.Tensor{x}, func(g *tensor.Tensor) ([]*tensor.Tensor, error) {
		gv, err := values[T](g, shape)
		if err != nil {
			return nil, err
		}
		gx := make([]T, len(gv))
		for i, gi := range gv {
			v := xv[i]
			switch kind {
			case opNeg:
				gx[i] = -gi
			case opAbs:
				gx[i] = gi * kernels.Sgn(v)
			case opSqrt:
				gx[i] = gi / (2 * out[i])
			case opPow:
				if s != 0 {
					gx[i] = gi * T(st*kernels.PowScalar(v, s-1))
				}
			case opAddScalar:
				gx[i] = gi
			case opMulScalar:
				gx[i] = gi * st
			case opClampMin:
				if v >= st {
					gx[i] = gi
				}
			}
		}
		return []*tensor.Tensor{tensor.MustFromData(gx, shape)}, nil
	}), nil
}

// SumAll returns the sum of all elements of x as a 0-d tensor, torch.sum(x)
// (PyTorch's CPU summation order; 0 when x is empty). Gradient: g for every
// element.
func SumAll(x *tensor.Tensor) (*tensor.Tensor, error) {
	return opTotal("sum", "SumBackward0", x, false)
}

// MeanAll returns the mean of all elements of x as a 0-d tensor,
// torch.mean(x) (the sum divided by the count; NaN when x is empty).
// Gradient: g/n for every element.
func MeanAll(x *tensor.Tensor) (*tensor.Tensor, error) {
	return opTotal("mean", "MeanBackward0", x, true)
}

func opTotal(op, node string, x *tensor.Tensor, mean bool) (*tensor.Tensor, error) {
	if err := required(op, arg{"input", x}); err != nil {
		return nil, err
	}
	dt, err := floatDType(op, arg{"input", x})
	if err != nil {
		return nil, err
	}
	if out, ok, err := onKernel(kernelCall{op: op, args: devArgs(x), diff: 1, name: node, kind: b2i(mean),
		host: func(k *kernelCall, a []*tensor.Tensor, _ []Option) (*tensor.Tensor, error) {
			return opTotal(k.op, k.name, a[0], k.kind == 1)
		}}); ok {
		return out, err
	}
	return dispatch(dt,
		func() (*tensor.Tensor, error) { return opTotalT[float32](node, x, mean) },
		func() (*tensor.Tensor, error) { return opTotalT[float64](node, x, mean) })
}

func opTotalT[T kernels.Float](node string, x *tensor.Tensor, mean bool) (*tensor.Tensor, error) {
	xv := tensor.Data[T](x)
	shape := x.Shape()
	r := Sum
	if mean {
		r = Mean
	}
	out := reduce(xv, shape, r)
	return tensor.Record(out, node, []*tensor.Tensor{x}, func(g *tensor.Tensor) ([]*tensor.Tensor, error) {
		up, err := upstreamOf[T](g, len(xv), r, true)
		if err != nil {
			return nil, err
		}
		gx := make([]T, len(xv))
		for i := range gx {
			gx[i] = up.s
		}
		return []*tensor.Tensor{tensor.MustFromData(gx, shape)}, nil
	}), nil
}

// SumDim returns the sum of x along dimension dim (negative counts from the
// end), which is removed from the shape: torch.sum(x, dim). Gradient: g
// broadcast back along dim.
func SumDim(x *tensor.Tensor, dim int) (*tensor.Tensor, error) {
	return opAlong("sum", "SumBackward1", x, dim, 0, false)
}

// Norm returns the p-norm of x along dimension dim (removed from the
// shape), torch.norm(x, p, dim): (Σ|x|^p)^(1/p), with p = 2 the Euclidean
// norm, p = 1 the sum of magnitudes, p = ±inf the largest (smallest)
// magnitude and p = 0 the count of non-zero entries. Computed in x's dtype.
// An empty dimension gives 0, and is an error for p < 0 and p = +inf as in
// PyTorch (the reduction has no identity).
//
// Gradient (PyTorch's norm_backward): for p = 2, g·x/‖x‖ with 0 where
// ‖x‖ = 0; for p = 1, g·sgn(x); for p = ±inf, g shared equally among the
// entries of extreme magnitude, times their sign; for p = 0, 0; otherwise
// g·sgn(x)·|x|^(p−1)/‖x‖^(p−1) (0 where ‖x‖ = 0 for p > 1, and where x = 0
// for p < 1).
func Norm(x *tensor.Tensor, p float64, dim int) (*tensor.Tensor, error) {
	return opAlong("norm", "NormBackward1", x, dim, p, true)
}

func opAlong(op, node string, x *tensor.Tensor, dim int, p float64, norm bool) (*tensor.Tensor, error) {
	if err := required(op, arg{"input", x}); err != nil {
		return nil, err
	}
	dt, err := floatDType(op, arg{"input", x})
	if err != nil {
		return nil, err
	}
	shape := x.Shape()
	outer, n, inner, d, err := splitDim(op, shape, dim)
	if err != nil {
		return nil, err
	}
	if norm && n == 0 && (p < 0 || math.IsInf(p, 1)) {
		return nil, torchloss.Errorf(torchloss.ErrValue, op, "p", "linalg.vector_norm cannot compute the %v norm on the dimension %d because this dimension is empty and the operation does not have an identity", p, d)
	}
	if out, ok, err := onKernel(kernelCall{op: op, args: devArgs(x), diff: 1, dim: d, scalar: p, name: node, kind: b2i(norm),
		host: func(k *kernelCall, a []*tensor.Tensor, _ []Option) (*tensor.Tensor, error) {
			return opAlong(k.op, k.name, a[0], k.dim, k.scalar, k.kind == 1)
		}}); ok {
		return out, err
	}
	var outShape []int
	if len(shape) > 0 {
		outShape = append(append([]int{}, shape[:d]...), shape[d+1:]...)
	} else {
		outShape = []int{}
	}
	return dispatch(dt,
		func() (*tensor.Tensor, error) { return opAlongT[float32](node, x, p, norm, outer, n, inner, outShape) },
		func() (*tensor.Tensor, error) { return opAlongT[float64](node, x, p, norm, outer, n, inner, outShape) })
}

func opAlongT[T kernels.Float](node string, x *tensor.Tensor, p float64, norm bool, outer, n, inner int, outShape []int) (*tensor.Tensor, error) {
	xv := tensor.Data[T](x)
	shape := x.Shape()
	out := make([]T, outer*inner)
	if norm {
		kernels.NormForward(xv, p, outer, n, inner, out)
	} else {
		buf := make([]T, n)
		for o := 0; o < outer; o++ {
			for i := 0; i < inner; i++ {
				base := o*n*inner + i
				if inner == 1 {
					out[o] = kernels.Sum(xv[base : base+n])
					continue
				}
				for j := range buf {
					buf[j] = xv[base+j*inner]
				}
				var s T
				for _, v := range buf {
					s += v
				}
				out[o*inner+i] = s
			}
		}
	}
	return tensor.Record(tensor.MustFromData(out, outShape), node, []*tensor.Tensor{x}, func(g *tensor.Tensor) ([]*tensor.Tensor, error) {
		gv, err := values[T](g, outShape)
		if err != nil {
			return nil, err
		}
		gx := make([]T, len(xv))
		if norm {
			kernels.NormBackward(xv, p, outer, n, inner, out, gv, gx)
		} else {
			for o := 0; o < outer; o++ {
				for j := 0; j < n; j++ {
					for i := 0; i < inner; i++ {
						gx[(o*n+j)*inner+i] = gv[o*inner+i]
					}
				}
			}
		}
		return []*tensor.Tensor{tensor.MustFromData(gx, shape)}, nil
	}), nil
}

// PairwiseDistance returns the p-norm distance between the rows of x1 and
// x2 along their last dimension, PyTorch's
//
//	torch.nn.functional.pairwise_distance(x1, x2, p=2.0, eps=1e-6, keepdim=False)
//
// computed as norm(x1 − x2 + eps, p, dim=−1): eps is added to the
// difference (not to the norm), so the distance of a vector to itself is
// eps·D^(1/p), and d(x1, x2) ≠ d(x2, x1) in general. x1 and x2 broadcast;
// the last dimension of the broadcast shape is reduced (a 0-d result for
// 1-D or 0-d inputs). Integer inputs are accepted as in PyTorch (two int64
// tensors subtract exactly and give float32). It is differentiable in both
// arguments: the gradients of Sub, AddScalar and Norm.
func PairwiseDistance(x1, x2 *tensor.Tensor, p, eps float64) (*tensor.Tensor, error) {
	if out, ok, err := onDevice("pairwise_distance", devArgs(x1, x2), 0, nil, func(a []*tensor.Tensor, _ []Option) (*tensor.Tensor, error) {
		return PairwiseDistance(a[0], a[1], p, eps)
	}); ok {
		return out, err
	}
	const op = "pairwise_distance"
	if err := required(op, arg{"x1", x1}, arg{"x2", x2}); err != nil {
		return nil, err
	}
	x1, x2, err := opIntOperands(op, arg{"x1", x1}, arg{"x2", x2})
	if err != nil {
		return nil, err
	}
	innermost := max(x1.Dim(), x2.Dim()) - 1
	d, err := Sub(x1, x2)
	if err != nil {
		return nil, err
	}
	if d, err = AddScalar(d, eps); err != nil {
		return nil, err
	}
	return Norm(d, p, innermost)
}

// opIntOperands prepares the operands of x1 − x2 when either is an int64
// tensor, as PyTorch's type promotion does for a difference that then gets
// a float scalar added: int64 with a float tensor converts to that float
// dtype; two int64 tensors subtract exactly in int64 and the difference
// becomes float32 (returned as x1, with a zero x2 of its shape). Bool
// tensors are rejected, as PyTorch's subtraction rejects them.
func opIntOperands(op string, a, b arg) (*tensor.Tensor, *tensor.Tensor, error) {
	for _, x := range []arg{a, b} {
		if x.t.DType() == tensor.Bool {
			return nil, nil, torchloss.Errorf(torchloss.ErrDType, op, x.name, "Subtraction, the `-` operator, with a bool tensor is not supported. If you are trying to invert a mask, use the `~` or `logical_not()` operator instead.")
		}
	}
	ai, bi := a.t.DType() == tensor.Int64, b.t.DType() == tensor.Int64
	switch {
	case ai && bi:
		shape, err := broadcastShape(op, a, b)
		if err != nil {
			return nil, nil, err
		}
		x, err := tensor.BroadcastTo(a.t, shape)
		if err != nil {
			return nil, nil, err
		}
		y, err := tensor.BroadcastTo(b.t, shape)
		if err != nil {
			return nil, nil, err
		}
		xs, ys := x.Int64s(), y.Int64s()
		diff := make([]float32, len(xs))
		for i := range diff {
			diff[i] = float32(xs[i] - ys[i])
		}
		zero, err := tensor.Zeros(tensor.Float32, shape...)
		if err != nil {
			return nil, nil, err
		}
		return tensor.MustFromData(diff, shape), zero, nil
	case ai:
		x, err := a.t.To(b.t.DType())
		return x, b.t, err
	case bi:
		y, err := b.t.To(a.t.DType())
		return a.t, y, err
	}
	return a.t, b.t, nil
}
