package functional

import (
	"errors"
	"math"
	"testing"

	"github.com/torchloss/torchloss"
	"github.com/torchloss/torchloss/internal/kernels"
	"github.com/torchloss/torchloss/tensor"
)

func mgCheckValues(t *testing.T, what string, got *tensor.Tensor, want []float64, rtol, atol float64) {
	t.Helper()
	if got == nil {
		t.Fatalf("%s: nil tensor", what)
	}
	g := got.Values()
	if len(g) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(g), len(want))
	}
	for i := range want {
		if !isClose(g[i], want[i], rtol, atol) {
			t.Errorf("%s[%d] = %v, want %v", what, i, g[i], want[i])
		}
	}
}

// mgGradCheck compares the gradients Backward leaves in each leaf of args
// with central finite differences of loss (a scalar function of the leaves'
// float64 data, which it may read after the leaves are perturbed in place).
func mgGradCheck(t *testing.T, name string, loss func() (*tensor.Tensor, error), leaves ...*tensor.Tensor) {
	t.Helper()
	for _, l := range leaves {
		l.ZeroGrad()
		if err := l.SetRequiresGrad(true); err != nil {
			t.Fatal(err)
		}
	}
	out, err := loss()
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if err := out.Backward(); err != nil {
		t.Fatalf("%s: backward: %v", name, err)
	}
	const h = 1e-6
	for k, l := range leaves {
		g := l.Grad()
		if g == nil {
			t.Fatalf("%s: leaf %d got no gradient", name, k)
		}
		data := l.Float64s()
		for i := range data {
			v := data[i]
			data[i] = v + h
			p, err := loss()
			if err != nil {
				t.Fatal(err)
			}
			data[i] = v - h
			m, err := loss()
			if err != nil {
				t.Fatal(err)
			}
			data[i] = v
			pv, _ := p.Item()
			mv, _ := m.Item()
			num := (pv - mv) / (2 * h)
			if got := g.Float64s()[i]; !isClose(got, num, 1e-5, 1e-7) {
				t.Errorf("%s: leaf %d grad[%d] = %v, finite difference %v", name, k, i, got, num)
			}
		}
	}
}

func TestCosineEmbeddingLossValues(t *testing.T) {
	// docs/semantics.md §6 (float32): targets 0 and 2 contribute 0; a zero vector has
	// cosine 0.
	x1 := tensor.MustNew([]float32{1, 0, 0, 0, 0, 0, 1, 2, 3, 1, 1, 0, 2, 0, 0}, 5, 3)
	x2 := tensor.MustNew([]float32{0, 1, 0, 1, 1, 1, 1, 2, 3, 1, 0, 0, -1, 0, 0}, 5, 3)
	tg := tensor.MustNew([]int64{1, -1, -1, 0, 2}, 5)
	out, err := CosineEmbeddingLoss(x1, x2, tg, None)
	if err != nil {
		t.Fatal(err)
	}
	if out.DType() != tensor.Float32 {
		t.Errorf("dtype %v, want float32", out.DType())
	}
	mgCheckValues(t, "none", out, []float64{1, 0, 1, 0, 0}, 1e-6, 1e-7)

	// Mean over the 5 pairs, and a margin: t = −1 with cos = −1 and margin
	// −1.5 gives max(0, −1 + 1.5) = 0.5.
	out, err = CosineEmbeddingLoss(x1, x2, tg, Margin(-1.5), Sum)
	if err != nil {
		t.Fatal(err)
	}
	// rows: t=1 → 1; t=−1 rows 1 (cos 0) and 2 (cos 1) → 1.5 and 2.5.
	mgCheckValues(t, "sum margin", out, []float64{1 + 1.5 + 2.5}, 1e-6, 1e-6)

	// Unbatched: (D) inputs with a 0-d bool target (true counts as 1).
	u1 := tensor.MustNew([]float64{3, 4})
	u2 := tensor.MustNew([]float64{4, 3})
	out, err = CosineEmbeddingLoss(u1, u2, tensor.Scalar(true), None)
	if err != nil {
		t.Fatal(err)
	}
	if out.Dim() != 0 {
		t.Errorf("unbatched output shape %v, want []", out.Shape())
	}
	mgCheckValues(t, "unbatched", out, []float64{1 - 24.0/25}, 1e-12, 1e-12)
}

func TestCosineEmbeddingLossZeroVectorGradient(t *testing.T) {
	// docs/semantics.md §2.4: x1 = 0, x2 = (1,1,1), t = −1, margin 0: cos = 0 = margin,
	// the clamp passes the gradient, 1/sqrt(ε·3) = 577350.25 (float32).
	x1 := tensor.MustNew([]float32{0, 0, 0}, 1, 3)
	x2 := tensor.MustNew([]float32{1, 1, 1}, 1, 3)
	if err := x1.SetRequiresGrad(true); err != nil {
		t.Fatal(err)
	}
	out, err := CosineEmbeddingLoss(x1, x2, tensor.MustNew([]int64{-1}), Sum)
	if err != nil {
		t.Fatal(err)
	}
	if err := out.Backward(); err != nil {
		t.Fatal(err)
	}
	mgCheckValues(t, "grad", x1.Grad(), []float64{577350.25, 577350.25, 577350.25}, 1e-7, 0)
}

func TestCosineEmbeddingLossBroadcastAndEmpty(t *testing.T) {
	// A (1, D) input1 against a (2, D) input2, and a (1) target.
	x1 := tensor.MustNew([]float64{1, 0}, 1, 2)
	x2 := tensor.MustNew([]float64{0, 1, 1, 0}, 2, 2)
	out, err := CosineEmbeddingLoss(x1, x2, tensor.MustNew([]float64{1}), None)
	if err != nil {
		t.Fatal(err)
	}
	mgCheckValues(t, "broadcast", out, []float64{1, 1 - 1/(1+cosineEpsilon)}, 1e-12, 1e-12)

	// Empty batch: mean NaN, sum 0.
	e := tensor.MustNew([]float32{}, 0, 3)
	for r, want := range map[Reduction]float64{Mean: math.NaN(), Sum: 0} {
		out, err := CosineEmbeddingLoss(e, e, tensor.MustNew([]int64{}), r)
		if err != nil {
			t.Fatal(err)
		}
		mgCheckValues(t, string(r), out, []float64{want}, 0, 0)
	}
}

func TestCosineEmbeddingLossGradient(t *testing.T) {
	x1 := tensor.MustNew([]float64{0.3, -1.2, 0.8, 1.5, 0.1, -0.4, -0.7, 0.9, 0.2}, 3, 3)
	x2 := tensor.MustNew([]float64{1.1, 0.4, -0.6, 0.2, -0.9, 1.3, -0.5, 0.6, 0.4}, 3, 3)
	tg := tensor.MustNew([]int64{1, -1, -1})
	mgGradCheck(t, "cosine", func() (*tensor.Tensor, error) {
		return CosineEmbeddingLoss(x1, x2, tg, Margin(-0.2), Mean)
	}, x1, x2)
	// Broadcast input1 (1, D): its gradient sums over the batch.
	b1 := tensor.MustNew([]float64{0.5, -0.3, 0.8}, 1, 3)
	mgGradCheck(t, "cosine broadcast", func() (*tensor.Tensor, error) {
		return CosineEmbeddingLoss(b1, x2, tg, Margin(-0.5), Sum)
	}, b1, x2)
}

func TestCosineEmbeddingLossErrors(t *testing.T) {
	m := func(s ...int) *tensor.Tensor {
		n := 1
		for _, d := range s {
			n *= d
		}
		return tensor.MustNew(make([]float32, n), s...)
	}
	cases := []struct {
		name           string
		x1, x2, target *tensor.Tensor
		opts           []Option
		kind           error
	}{
		{"2-D target", m(2, 3), m(2, 3), m(2, 3), nil, torchloss.ErrShape},
		{"1-D target, 1-D inputs", m(3), m(3), m(3), nil, torchloss.ErrShape},
		{"0-D target, 2-D inputs", m(2, 3), m(2, 3), tensor.Scalar[float32](1), nil, torchloss.ErrShape},
		{"feature mismatch", m(3, 4), m(3, 5), m(3), nil, torchloss.ErrShape},
		{"batch mismatch", m(4, 3), m(5, 3), m(4), nil, torchloss.ErrShape},
		{"target mismatch", m(4, 3), m(4, 3), m(5), nil, torchloss.ErrShape},
		{"int input", tensor.MustNew([]int64{1, 2}, 1, 2), m(1, 2), m(1), nil, torchloss.ErrDType},
		{"nil target", m(2, 3), m(2, 3), nil, nil, torchloss.ErrValue},
		{"weight option", m(2, 3), m(2, 3), m(2), []Option{Weight(m(2))}, torchloss.ErrOption},
		{"bad reduction", m(2, 3), m(2, 3), m(2), []Option{Reduction("avg")}, torchloss.ErrOption},
	}
	for _, c := range cases {
		_, err := CosineEmbeddingLoss(c.x1, c.x2, c.target, c.opts...)
		if !errors.Is(err, c.kind) {
			t.Errorf("%s: error %v, want %v", c.name, err, c.kind)
		}
	}
}

func TestHingeEmbeddingLoss(t *testing.T) {
	// docs/semantics.md §6 (float32, margin 1): any target but ±1 takes both branches;
	// at x = margin with t = −1 the gradient is −1.
	x := tensor.MustNew([]float32{0.5, 1, 2, -1, 0.3, 0.3})
	tg := tensor.MustNew([]float32{1, -1, -1, -1, 0, 2})
	if err := x.SetRequiresGrad(true); err != nil {
		t.Fatal(err)
	}
	out, err := HingeEmbeddingLoss(x, tg, None)
	if err != nil {
		t.Fatal(err)
	}
	mgCheckValues(t, "none", out, []float64{0.5, 0, 0, 2, 1, 1}, 1e-6, 1e-7)
	if err := out.BackwardWith(tensor.MustNew([]float32{1, 1, 1, 1, 1, 1})); err != nil {
		t.Fatal(err)
	}
	mgCheckValues(t, "grad", x.Grad(), []float64{1, -1, 0, -1, 0, 0}, 0, 0)

	// Broadcast (3) input against a (2, 3) bool target, negative margin.
	xb := tensor.MustNew([]float64{0.2, -0.7, 1.5})
	tb := tensor.MustNew([]bool{true, false, true, false, true, false}, 2, 3)
	out, err = HingeEmbeddingLoss(xb, tb, Margin(-0.5), None)
	if err != nil {
		t.Fatal(err)
	}
	// false (0) takes both branches: max(0, −0.5 − x) + x.
	mgCheckValues(t, "broadcast", out, []float64{0.2, -0.5, 1.5, 0.2, -0.7, 1.5}, 1e-12, 1e-12)
	mgGradCheck(t, "hinge", func() (*tensor.Tensor, error) {
		return HingeEmbeddingLoss(xb, tensor.MustNew([]int64{1, -1, -1, -1, 0, 1}, 2, 3), Margin(0.9), Mean)
	}, xb)

	// Errors.
	if _, err := HingeEmbeddingLoss(tensor.MustNew([]int64{1, 2}), tg); !errors.Is(err, torchloss.ErrDType) {
		t.Errorf("int input: %v", err)
	}
	if _, err := HingeEmbeddingLoss(tensor.MustNew([]float32{1, 2}), tg); !errors.Is(err, torchloss.ErrShape) {
		t.Errorf("shape mismatch: %v", err)
	}
	if _, err := HingeEmbeddingLoss(x, tg, P(2)); !errors.Is(err, torchloss.ErrOption) {
		t.Errorf("p option: %v", err)
	}
	// Empty: mean NaN, sum 0.
	e := tensor.MustNew([]float32{}, 0)
	if out, _ := HingeEmbeddingLoss(e, e); out == nil || !math.IsNaN(out.Values()[0]) {
		t.Errorf("empty mean: %v", out)
	}
	if out, _ := HingeEmbeddingLoss(e, e, Sum); out == nil || out.Values()[0] != 0 {
		t.Errorf("empty sum: %v", out)
	}
}

func TestSumDimOrder(t *testing.T) {
	// PyTorch sums a row of 5..7 float32 values with four interleaved
	// partial sums ((x0 + x4) + x1 + x2 + x3): torch.tensor([1e8, 1, -1e8,
	// 1, 1]).sum() is 1, where left-to-right order gives 2.
	x := []float32{1e8, 1, -1e8, 1, 1}
	out := make([]float32, 1)
	kernels.SumDim(x, 1, 5, 1, out)
	if out[0] != 1 {
		t.Errorf("row sum = %v, want 1", out[0])
	}
	// An outer reduction sums each column: (2, 3) over dimension 0.
	y := []float64{1, 2, 3, 10, 20, 30}
	col := make([]float64, 3)
	kernels.SumDim(y, 1, 2, 3, col)
	for i, want := range []float64{11, 22, 33} {
		if col[i] != want {
			t.Errorf("column %d = %v, want %v", i, col[i], want)
		}
	}
}

// TestHingeEmbeddingLossTargetPaths: a float target of the input's dtype and
// shape is classified block by block inside the chunks; an int64 target
// holding the same values takes the classify-first path. Loss (every
// reduction) and gradient (eager, and BackwardWith 3 which reclassifies in
// the backward) agree bit for bit, over several chunks, float32 and float64.
func TestHingeEmbeddingLossTargetPaths(t *testing.T) {
	n := 3*sumGrain + 1001
	for _, dt := range []tensor.DType{tensor.Float32, tensor.Float64} {
		xs, ti, tf := make([]float64, n), make([]int64, n), make([]float64, n)
		for i := range xs {
			xs[i] = math.Sin(float64(i)) * 2
			ti[i] = []int64{1, -1, -1, 0, 2, 1, 1}[i%7]
			tf[i] = float64(ti[i])
		}
		mk := func(v []float64, grad bool) *tensor.Tensor {
			x, err := tensor.MustNew(v).To(dt)
			if err != nil {
				t.Fatal(err)
			}
			if grad {
				if err := x.SetRequiresGrad(true); err != nil {
					t.Fatal(err)
				}
			}
			return x
		}
		for _, r := range []Reduction{Mean, Sum, None} {
			for _, up := range []float64{1, 3} {
				var outs, grads [2][]float64
				for k, tg := range []*tensor.Tensor{mk(tf, false), tensor.MustNew(ti)} {
					x := mk(xs, true)
					out, err := HingeEmbeddingLoss(x, tg, Margin(0.7), r)
					if err != nil {
						t.Fatal(err)
					}
					g, err := tensor.Full(up, dt, out.Shape()...)
					if err != nil {
						t.Fatal(err)
					}
					if err := out.BackwardWith(g); err != nil {
						t.Fatal(err)
					}
					outs[k], grads[k] = out.Values(), x.Grad().Values()
				}
				for i := range outs[0] {
					if math.Float64bits(outs[0][i]) != math.Float64bits(outs[1][i]) {
						t.Fatalf("%v %v up %v: out[%d] %v, int target %v", dt, r, up, i, outs[0][i], outs[1][i])
					}
				}
				for i := range grads[0] {
					if math.Float64bits(grads[0][i]) != math.Float64bits(grads[1][i]) {
						t.Fatalf("%v %v up %v: grad[%d] %v, int target %v", dt, r, up, i, grads[0][i], grads[1][i])
					}
				}
			}
		}
	}
}
