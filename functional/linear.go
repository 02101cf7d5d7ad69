package functional

import (
	"slices"

	"github.com/torchloss/torchloss"
	"github.com/torchloss/torchloss/internal/kernels"
	"github.com/torchloss/torchloss/tensor"
)

// This file holds the matrix products a user needs around a loss (Linear
// and MatMul, differentiable, on kernels.GemmNN and kernels.GemmNT) and
// linear_cross_entropy, which is cross_entropy of a linear layer's output.

// Linear is PyTorch's torch.nn.functional.linear(input, weight, bias):
// y = input·weightᵀ + bias.
//
// Shapes: input (*, in), weight (out, in) (or (in), which drops the last
// dimension of the output), bias nil or broadcastable to the output
// (*, out), typically (out). All three have one floating-point dtype.
//
// Gradient: ∂input = g·weight, ∂weight = gᵀ·input (summed over every
// leading dimension of input), ∂bias = g summed to bias's shape.
//
// The products run on a cache-blocked GEMM with an AVX2/FMA micro-kernel
// for float32 on amd64 (a Go kernel with the same arithmetic elsewhere and
// for float64), in parallel over fixed tiles of the output: the results do
// not depend on the thread count. Each output is a dot product over in
// summed in eight lanes (not BLAS's order), so float32 results differ from
// PyTorch's in the last bits.
//
// Errors: a 0-d input, a weight of more than two dimensions, in-feature
// counts that differ, a bias that does not broadcast to the output
// (ErrShape); non-float or mixed dtypes (ErrDType).
func Linear(input, weight, bias *tensor.Tensor) (*tensor.Tensor, error) {
	if out, ok, err := onDevice("linear", devArgs(input, weight, bias), 0, nil, func(a []*tensor.Tensor, _ []Option) (*tensor.Tensor, error) { return Linear(a[0], a[1], a[2]) }); ok {
		return out, err
	}
	const op = "linear"
	g, err := linearCheck(op, input, weight, bias)
	if err != nil {
		return nil, err
	}
	return dispatch(input.DType(),
		func() (*tensor.Tensor, error) { return linearT[float32](input, weight, bias, g) },
		func() (*tensor.Tensor, error) { return linearT[float64](input, weight, bias, g) })
}

// linearGeom is a checked Linear call: rows × in times (out × in)ᵀ.
type linearGeom struct {
	rows, in, out int
	outShape      []int
	biasRow       bool // bias has shape (out): added by the GEMM
}

// dtypeName is PyTorch's lower-case name of a float dtype in its matmul
// messages ("float", "double").
func dtypeName(dt tensor.DType) string {
	if dt == tensor.Float64 {
		return "double"
	}
	return "float"
}

// linearCheck applies F.linear's checks (addmm's, for a 2-D input) in
// PyTorch's order.
func linearCheck(op string, input, weight, bias *tensor.Tensor) (linearGeom, error) {
	var g linearGeom
	if err := required(op, arg{"input", input}, arg{"weight", weight}); err != nil {
		return g, err
	}
	if _, err := floatDType(op, arg{"input", input}, arg{"weight", weight}, arg{"bias", bias}); err != nil {
		return g, err
	}
	if input.Dim() == 0 || weight.Dim() == 0 {
		return g, torchloss.Errorf(torchloss.ErrShape, op, "input", "both arguments to linear need to be at least 1D, but they are %dD and %dD", input.Dim(), weight.Dim())
	}
	if weight.Dim() > 2 {
		return g, torchloss.Errorf(torchloss.ErrShape, op, "weight", "t() expects a tensor with <= 2 dimensions, but self is %dD", weight.Dim())
	}
	in := input.Size(input.Dim() - 1)
	ws := weight.Shape()
	out := 1
	if len(ws) == 2 {
		out = ws[0]
	}
	win := ws[len(ws)-1]
	rows := 1
	for _, d := range input.Shape()[:input.Dim()-1] {
		rows *= d
	}
	if in != win {
		return g, torchloss.Errorf(torchloss.ErrShape, op, "weight", "mat1 and mat2 shapes cannot be multiplied (%dx%d and %dx%d)", rows, in, win, out)
	}
	if input.DType() != weight.DType() {
		return g, torchloss.Errorf(torchloss.ErrDType, op, "weight", "expected m1 and m2 to have the same dtype, but got: %s != %s", dtypeName(input.DType()), dtypeName(weight.DType()))
	}
	outShape := input.Shape()[:input.Dim()-1]
	if len(ws) == 2 {
		outShape = append(outShape, out)
	}
	g = linearGeom{rows: rows, in: in, out: out, outShape: outShape}
	if bias != nil {
		bs := bias.Shape()
		if b, err := tensor.BroadcastShapes(bs, outShape); err != nil || !slices.Equal(b, outShape) {
			// PyTorch's expand message, for the first dimension (from the
			// right) that does not fit.
			for k := 1; k <= len(bs); k++ {
				var want int
				if k <= len(outShape) {
					want = outShape[len(outShape)-k]
				}
				if have := bs[len(bs)-k]; have != 1 && (k > len(outShape) || have != want) {
					return g, torchloss.Errorf(torchloss.ErrShape, op, "bias", "The expanded size of the tensor (%d) must match the existing size (%d) at non-singleton dimension %d.  Target sizes: %v.  Tensor sizes: %v", want, have, max(len(outShape)-k, 0), sizes(outShape), sizes(bs))
				}
			}
			return g, torchloss.Errorf(torchloss.ErrShape, op, "bias", "bias of shape %v does not broadcast to the output shape %v", sizes(bs), sizes(outShape))
		}
		if bias.DType() != input.DType() {
			return g, torchloss.Errorf(torchloss.ErrDType, op, "bias", "self and mat2 must have the same dtype, but got %s and %s", scalarTypeName(bias.DType()), scalarTypeName(input.DType()))
		}
		g.biasRow = len(bs) == 1 && bs[0] == out && len(ws) == 2
	}
	if err := tensor.CheckElements(op, "input", g.rows*g.out, "the output"); err != nil {
		return g, err
	}
	return g, nil
}

func linearT[T kernels.Float](input, weight, bias *tensor.Tensor, g linearGeom) (*tensor.Tensor, error) {
	x, w := tensor.Data[T](input), tensor.Data[T](weight)
	y := make([]T, g.rows*g.out)
	var brow []T
	if g.biasRow {
		brow = tensor.Data[T](bias)
	}
	kernels.ParGemmNT(g.rows, g.out, g.in, x, g.in, w, g.in, y, g.out, brow)
	if bias != nil && !g.biasRow {
		bv, err := values[T](bias, g.outShape)
		if err != nil {
			return nil, err
		}
		for i := range y {
			y[i] += bv[i]
		}
	}
	name := "MmBackward0"
	if bias != nil {
		name = "AddmmBackward0"
	}
	out := tensor.MustFromData(y, g.outShape)
	res := tensor.Record(out, name, []*tensor.Tensor{input, weight, bias}, func(gr *tensor.Tensor) ([]*tensor.Tensor, error) {
		gv, err := gr.To(tensor.DTypeOf[T]())
		if err != nil {
			return nil, err
		}
		gy := tensor.Data[T](gv)
		grads := make([]*tensor.Tensor, 3)
		if needs(input) {
			gx := make([]T, g.rows*g.in)
			kernels.ParGemmNN(g.rows, g.in, g.out, gy, g.out, 1, w, g.in, gx, g.in, false)
			grads[0] = tensor.MustFromData(gx, input.Shape())
		}
		if needs(weight) {
			gw := make([]T, g.out*g.in)
			kernels.ParGemmNN(g.out, g.in, g.rows, gy, 1, g.out, x, g.in, gw, g.in, false)
			grads[1] = tensor.MustFromData(gw, weight.Shape())
		}
		if needs(bias) {
			if g.biasRow {
				grads[2] = tensor.MustFromData(columnSums(gy, g.rows, g.out), bias.Shape())
			} else if grads[2], err = gradTo(slices.Clone(gy), g.outShape, bias); err != nil {
				return nil, err
			}
		}
		return grads, nil
	})
	ownGrads(res)
	return res, nil
}

// columnSums returns Σ_i x[i·n + j] for each j, the rows added in order.
func columnSums[T kernels.Float](x []T, rows, n int) []T {
	s := make([]T, n)
	for i := range rows {
		addTo(s, x[i*n:i*n+n])
	}
	return s
}

// addTo adds src to dst elementwise.
func addTo[T kernels.Float](dst, src []T) {
	dst = dst[:len(src)]
	for j, v := range src {
		dst[j] += v
	}
}

// MatMul is PyTorch's torch.matmul(a, b) for floating-point tensors: the
// dot product of two vectors (a 0-d result), a matrix product (m, k)·(k, n),
// a vector-matrix (k)·(k, n) or matrix-vector (m, k)·(k) product, or a
// batched product (…, m, k)·(…, k, n) whose batch dimensions broadcast; a
// 1-D argument gets a dimension of 1 prepended (a) or appended (b), which
// the result then drops.
//
// Gradient: ∂a = g·bᵀ, ∂b = aᵀ·g, summed over broadcast batch dimensions.
//
// Each product runs on the GEMM kernels of Linear (see there for the
// order of the sums and the determinism across thread counts).
//
// Errors: a 0-d argument, inner dimensions that differ, batch dimensions
// that do not broadcast (ErrShape); non-float or mixed dtypes (ErrDType).
func MatMul(a, b *tensor.Tensor) (*tensor.Tensor, error) {
	if out, ok, err := onDevice("matmul", devArgs(a, b), 0, nil, func(t []*tensor.Tensor, _ []Option) (*tensor.Tensor, error) { return MatMul(t[0], t[1]) }); ok {
		return out, err
	}
	const op = "matmul"
	if err := required(op, arg{"input", a}, arg{"other", b}); err != nil {
		return nil, err
	}
	if _, err := floatDType(op, arg{"input", a}, arg{"other", b}); err != nil {
		return nil, err
	}
	if a.Dim() == 0 || b.Dim() == 0 {
		return nil, torchloss.Errorf(torchloss.ErrShape, op, "input", "both arguments to matmul need to be at least 1D, but they are %dD and %dD", a.Dim(), b.Dim())
	}
	as, bs := a.Shape(), b.Shape()
	aVec, bVec := len(as) == 1, len(bs) == 1
	if aVec {
		as = []int{1, as[0]}
	}
	if bVec {
		bs = []int{bs[0], 1}
	}
	m, k := as[len(as)-2], as[len(as)-1]
	k2, n := bs[len(bs)-2], bs[len(bs)-1]
	if k != k2 {
		if aVec && bVec {
			return nil, torchloss.Errorf(torchloss.ErrShape, op, "other", "inconsistent tensor size, expected tensor [%d] and src [%d] to have the same number of elements, but got %d and %d elements respectively", k, k2, k, k2)
		}
		return nil, torchloss.Errorf(torchloss.ErrShape, op, "other", "mat1 and mat2 shapes cannot be multiplied (%dx%d and %dx%d)", m, k, k2, n)
	}
	if a.DType() != b.DType() {
		return nil, torchloss.Errorf(torchloss.ErrDType, op, "other", "expected m1 and m2 to have the same dtype, but got: %s != %s", dtypeName(a.DType()), dtypeName(b.DType()))
	}
	batch, err := tensor.BroadcastShapes(as[:len(as)-2], bs[:len(bs)-2])
	if err != nil {
		return nil, broadcastErr(op, "other", err)
	}
	nb := 1
	for _, d := range batch {
		nb *= d
	}
	// The output, and the broadcast gradients a backward would hold.
	if err := tensor.CheckElements(op, "other", nb*max(m*n, m*k, k*n), "the output or a broadcast gradient"); err != nil {
		return nil, err
	}
	outShape := slices.Clone(batch)
	if !aVec {
		outShape = append(outShape, m)
	}
	if !bVec {
		outShape = append(outShape, n)
	}
	mm := matmulGeom{batch: batch, nb: nb, m: m, k: k, n: n, as: as, bs: bs, outShape: outShape}
	return dispatch(a.DType(),
		func() (*tensor.Tensor, error) { return matmulT[float32](a, b, mm) },
		func() (*tensor.Tensor, error) { return matmulT[float64](a, b, mm) })
}

type matmulGeom struct {
	batch       []int
	nb, m, k, n int
	as, bs      []int // the shapes with vectors made matrices
	outShape    []int
}

// batchOffsets returns, for each index of the broadcast batch shape, the
// element offset of the matching matrix of a tensor of batch shape from
// with matrices of size mat.
func batchOffsets(batch, from []int, mat int) []int {
	nb := 1
	for _, d := range batch {
		nb *= d
	}
	offs := make([]int, nb)
	lead := len(batch) - len(from)
	strides := make([]int, len(batch))
	s := mat
	for d := len(from) - 1; d >= 0; d-- {
		if from[d] != 1 {
			strides[lead+d] = s
		}
		s *= from[d]
	}
	idx := make([]int, len(batch))
	for i := range offs {
		o := 0
		for d := range batch {
			o += idx[d] * strides[d]
		}
		offs[i] = o
		for d := len(batch) - 1; d >= 0; d-- {
			idx[d]++
			if idx[d] < batch[d] {
				break
			}
			idx[d] = 0
		}
	}
	return offs
}

func matmulT[T kernels.Float](a, b *tensor.Tensor, g matmulGeom) (*tensor.Tensor, error) {
	x, y := tensor.Data[T](a), tensor.Data[T](b)
	m, k, n := g.m, g.k, g.n
	aOff := batchOffsets(g.batch, g.as[:len(g.as)-2], m*k)
	bOff := batchOffsets(g.batch, g.bs[:len(g.bs)-2], k*n)
	c := make([]T, g.nb*m*n)
	for i := range g.nb {
		kernels.ParGemmNN(m, n, k, x[aOff[i]:], k, 1, y[bOff[i]:], n, c[i*m*n:], n, false)
	}
	name := "MmBackward0"
	if len(g.batch) > 0 {
		name = "BmmBackward0"
	}
	res := tensor.Record(tensor.MustFromData(c, g.outShape), name, []*tensor.Tensor{a, b}, func(gr *tensor.Tensor) ([]*tensor.Tensor, error) {
		gv, err := gr.To(tensor.DTypeOf[T]())
		if err != nil {
			return nil, err
		}
		gc := tensor.Data[T](gv)
		grads := make([]*tensor.Tensor, 2)
		full := append(slices.Clone(g.batch), 0, 0)
		if needs(a) {
			ga := make([]T, g.nb*m*k)
			for i := range g.nb {
				kernels.ParGemmNT(m, k, n, gc[i*m*n:], n, y[bOff[i]:], n, ga[i*m*k:], k, nil)
			}
			full[len(full)-2], full[len(full)-1] = m, k
			if grads[0], err = matmulGradTo(ga, full, g.as, a); err != nil {
				return nil, err
			}
		}
		if needs(b) {
			gb := make([]T, g.nb*k*n)
			for i := range g.nb {
				kernels.ParGemmNN(k, n, m, x[aOff[i]:], 1, k, gc[i*m*n:], n, gb[i*k*n:], n, false)
			}
			full[len(full)-2], full[len(full)-1] = k, n
			if grads[1], err = matmulGradTo(gb, full, g.bs, b); err != nil {
				return nil, err
			}
		}
		return grads, nil
	})
	ownGrads(res)
	return res, nil
}

// matmulGradTo sums the gradient g of the broadcast shape full to the
// matrix shape ms of argument t and gives it t's shape.
func matmulGradTo[T kernels.Float](g []T, full, ms []int, t *tensor.Tensor) (*tensor.Tensor, error) {
	gt, err := tensor.SumTo(tensor.MustFromData(g, full), ms)
	if err != nil {
		return nil, err
	}
	if gt, err = gt.Reshape(t.Shape()...); err != nil {
		return nil, err
	}
	return gt, nil
}
