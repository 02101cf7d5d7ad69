package functional

import (
	"errors"
	"math"
	"testing"

	"github.com/torchloss/torchloss"
	"github.com/torchloss/torchloss/tensor"
)

func TestMarginRankingLoss(t *testing.T) {
	// max(0, −t·(x1 − x2) + margin): t = 1 wants x1 > x2 by the margin.
	x1 := tensor.MustNew([]float64{1, 2, 0.5, 3})
	x2 := tensor.MustNew([]float64{2, 1, 0.5, 1})
	tg := tensor.MustNew([]float64{1, 1, -1, -1})
	out, err := MarginRankingLoss(x1, x2, tg, Margin(0.5), None)
	if err != nil {
		t.Fatal(err)
	}
	mgCheckValues(t, "none", out, []float64{1.5, 0, 0.5, 2.5}, 1e-15, 0)

	// The gradient passes at the kink (u = 0): x1 − x2 = 0.5 = margin, t = 1.
	k1 := tensor.MustNew([]float32{1.5})
	k2 := tensor.MustNew([]float32{1})
	kt := tensor.MustNew([]float32{1})
	for _, l := range []*tensor.Tensor{k1, k2, kt} {
		if err := l.SetRequiresGrad(true); err != nil {
			t.Fatal(err)
		}
	}
	out, err = MarginRankingLoss(k1, k2, kt, Margin(0.5), Sum)
	if err != nil {
		t.Fatal(err)
	}
	if err := out.Backward(); err != nil {
		t.Fatal(err)
	}
	mgCheckValues(t, "kink x1", k1.Grad(), []float64{-1}, 0, 0)
	mgCheckValues(t, "kink x2", k2.Grad(), []float64{1}, 0, 0)
	mgCheckValues(t, "kink target", kt.Grad(), []float64{-0.5}, 0, 0)

	// Broadcast (2,1), (1,3), (1,3): gradients of all three arguments.
	b1 := tensor.MustNew([]float64{0.3, -0.8}, 2, 1)
	b2 := tensor.MustNew([]float64{0.1, 0.9, -1.4}, 1, 3)
	bt := tensor.MustNew([]float64{1, -0.5, 0.7}, 1, 3)
	mgGradCheck(t, "margin ranking", func() (*tensor.Tensor, error) {
		return MarginRankingLoss(b1, b2, bt, Margin(0.25), Mean)
	}, b1, b2, bt)

	// An int64 target works like a float one.
	out, err = MarginRankingLoss(x1, x2, tensor.MustNew([]int64{1, 1, -1, -1}), Margin(0.5), Sum)
	if err != nil {
		t.Fatal(err)
	}
	mgCheckValues(t, "int target", out, []float64{4.5}, 1e-15, 0)
}

func TestMarginRankingLossErrors(t *testing.T) {
	v := tensor.MustNew([]float32{1, 2, 3})
	cases := []struct {
		name       string
		x1, x2, tg *tensor.Tensor
		kind       error
	}{
		{"rank mismatch", v, tensor.MustNew([]float32{1, 2, 3}, 1, 3), v, torchloss.ErrShape},
		{"size mismatch", v, tensor.MustNew([]float32{1, 2}), v, torchloss.ErrShape},
		{"bool target", v, v, tensor.MustNew([]bool{true, false, true}), torchloss.ErrDType},
		{"int input", tensor.MustNew([]int64{1, 2, 3}), v, v, torchloss.ErrDType},
		{"nil input2", v, nil, v, torchloss.ErrValue},
	}
	for _, c := range cases {
		if _, err := MarginRankingLoss(c.x1, c.x2, c.tg); !errors.Is(err, c.kind) {
			t.Errorf("%s: error %v, want %v", c.name, err, c.kind)
		}
	}
}

func TestSoftMarginLoss(t *testing.T) {
	x := tensor.MustNew([]float64{0.5, -1.5, 2, 0})
	tg := tensor.MustNew([]float64{1, 1, -1, -1})
	out, err := SoftMarginLoss(x, tg, None)
	if err != nil {
		t.Fatal(err)
	}
	want := []float64{math.Log1p(math.Exp(-0.5)), math.Log1p(math.Exp(1.5)), math.Log1p(math.Exp(2)), math.Log(2)}
	mgCheckValues(t, "none", out, want, 1e-15, 0)
	mgGradCheck(t, "soft margin", func() (*tensor.Tensor, error) { return SoftMarginLoss(x, tg, Mean) }, x)

	// Overflow (float32): exp(100) is inf, the loss inf and the gradient NaN.
	xo := tensor.MustNew([]float32{-100, 1})
	if err := xo.SetRequiresGrad(true); err != nil {
		t.Fatal(err)
	}
	out, err = SoftMarginLoss(xo, tensor.MustNew([]float32{1, 1}), None)
	if err != nil {
		t.Fatal(err)
	}
	mgCheckValues(t, "overflow", out, []float64{math.Inf(1), float64(float32(math.Log1p(math.Exp(-1))))}, 1e-6, 0)
	if err := out.BackwardWith(tensor.MustNew([]float32{1, 1})); err != nil {
		t.Fatal(err)
	}
	if g := xo.Grad().Values(); !math.IsNaN(g[0]) || math.IsNaN(g[1]) {
		t.Errorf("overflow gradient %v, want [NaN, finite]", g)
	}

	// The target broadcasts to the input's shape, not beyond; the result
	// has the input's dtype.
	x2 := tensor.MustNew([]float32{1, 2, 3, 4, 5, 6}, 2, 3)
	out, err = SoftMarginLoss(x2, tensor.MustNew([]float64{1, -1, 1}), Sum)
	if err != nil {
		t.Fatal(err)
	}
	if out.DType() != tensor.Float32 {
		t.Errorf("dtype %v, want float32 (the input's)", out.DType())
	}
	if _, err := SoftMarginLoss(tensor.MustNew([]float32{1, 2, 3}), x2); !errors.Is(err, torchloss.ErrShape) {
		t.Errorf("target larger than input: %v", err)
	}
	// The target is not differentiable.
	tr := tensor.MustNew([]float64{1, 1, -1, -1})
	if err := tr.SetRequiresGrad(true); err != nil {
		t.Fatal(err)
	}
	if _, err := SoftMarginLoss(x, tr); !errors.Is(err, torchloss.ErrGrad) {
		t.Errorf("target requiring grad: %v", err)
	}
	// A bool target works forward but fails in backward, as in PyTorch.
	xb := tensor.MustNew([]float32{0.5, -0.5})
	if err := xb.SetRequiresGrad(true); err != nil {
		t.Fatal(err)
	}
	out, err = SoftMarginLoss(xb, tensor.MustNew([]bool{true, false}))
	if err != nil {
		t.Fatal(err)
	}
	if err := out.Backward(); !errors.Is(err, torchloss.ErrDType) {
		t.Errorf("bool target backward: %v", err)
	}
	if _, err := SoftMarginLoss(x, tg, Margin(1)); !errors.Is(err, torchloss.ErrOption) {
		t.Errorf("margin option: %v", err)
	}
}

// mlsmReference is multilabel_soft_margin_loss's 'none' output by its
// definition, for (N, C) input, target and a (C) weight.
func mlsmReference(x, tg, w []float64, n, c int) []float64 {
	logSig := func(v float64) float64 { return -math.Log1p(math.Exp(-v)) }
	out := make([]float64, n)
	for i := 0; i < n; i++ {
		var s float64
		for j := 0; j < c; j++ {
			k := i*c + j
			l := -(tg[k]*logSig(x[k]) + (1-tg[k])*logSig(-x[k]))
			if w != nil {
				l *= w[j]
			}
			s += l
		}
		out[i] = s / float64(c)
	}
	return out
}

func TestMultilabelSoftMarginLoss(t *testing.T) {
	xd := []float64{0.3, -1.2, 2.5, 0.1, -0.4, 1.7}
	td := []float64{1, 0, 1, 0, 0.5, 1}
	wd := []float64{0.5, 2, 1.5}
	x := tensor.MustNew(xd, 2, 3)
	tg := tensor.MustNew(td, 2, 3)
	w := tensor.MustNew(wd)
	out, err := MultilabelSoftMarginLoss(x, tg, Weight(w), None)
	if err != nil {
		t.Fatal(err)
	}
	mgCheckValues(t, "weighted none", out, mlsmReference(xd, td, wd, 2, 3), 1e-14, 0)
	ref := mlsmReference(xd, td, nil, 2, 3)
	out, err = MultilabelSoftMarginLoss(x, tg, Mean)
	if err != nil {
		t.Fatal(err)
	}
	mgCheckValues(t, "mean", out, []float64{(ref[0] + ref[1]) / 2}, 1e-14, 0)

	// All three arguments are differentiable.
	mgGradCheck(t, "multilabel soft margin", func() (*tensor.Tensor, error) {
		return MultilabelSoftMarginLoss(x, tg, Weight(w), Mean)
	}, x, tg, w)

	// A (C) input with a (2, C) target: the sum runs over dimension 0 of
	// the broadcast loss, divided by C (PyTorch's quirk), giving shape (C).
	x1 := tensor.MustNew([]float64{0.3, -1.2, 2.5})
	out, err = MultilabelSoftMarginLoss(x1, tg, None)
	if err != nil {
		t.Fatal(err)
	}
	if s := out.Shape(); len(s) != 1 || s[0] != 3 {
		t.Fatalf("shape %v, want [3]", s)
	}
	full := mlsmReference([]float64{0.3, -1.2, 2.5, 0.3, -1.2, 2.5}, td, nil, 6, 1) // per-element losses
	for j := 0; j < 3; j++ {
		want := (full[j] + full[3+j]) / 3
		if got := out.Values()[j]; !isClose(got, want, 1e-14, 0) {
			t.Errorf("column %d = %v, want %v", j, got, want)
		}
	}
	mgGradCheck(t, "multilabel broadcast", func() (*tensor.Tensor, error) {
		return MultilabelSoftMarginLoss(x1, tg, Sum)
	}, x1, tg)

	// Empty batch: mean NaN, sum 0; C = 0 gives NaN per sample (0/0).
	e := tensor.MustNew([]float32{}, 0, 4)
	if out, _ := MultilabelSoftMarginLoss(e, e); out == nil || !math.IsNaN(out.Values()[0]) {
		t.Errorf("empty mean: %v", out)
	}
	if out, _ := MultilabelSoftMarginLoss(e, e, Sum); out == nil || out.Values()[0] != 0 {
		t.Errorf("empty sum: %v", out)
	}
	z := tensor.MustNew([]float32{}, 2, 0)
	if out, _ := MultilabelSoftMarginLoss(z, z, None); out == nil || len(out.Values()) != 2 || !math.IsNaN(out.Values()[0]) {
		t.Errorf("C = 0: %v", out)
	}
}

func TestMultilabelSoftMarginLossErrors(t *testing.T) {
	x := tensor.MustNew([]float32{1, 2, 3, 4, 5, 6}, 2, 3)
	cases := []struct {
		name  string
		x, tg *tensor.Tensor
		opts  []Option
		kind  error
	}{
		{"0-d input", tensor.Scalar[float32](1), tensor.Scalar[float32](1), nil, torchloss.ErrShape},
		{"bool target", x, tensor.MustNew([]bool{true, false, true, true, false, true}, 2, 3), nil, torchloss.ErrDType},
		{"int input", tensor.MustNew([]int64{1, 2, 3}), tensor.MustNew([]float32{1, 0, 1}), nil, torchloss.ErrDType},
		{"target shape", x, tensor.MustNew([]float32{1, 0, 1, 1}), nil, torchloss.ErrShape},
		{"weight shape", x, x, []Option{Weight(tensor.MustNew([]float32{1, 2}))}, torchloss.ErrShape},
		{"margin option", x, x, []Option{Margin(1)}, torchloss.ErrOption},
		{"bad reduction", x, x, []Option{Reduction("foo")}, torchloss.ErrOption},
	}
	for _, c := range cases {
		if _, err := MultilabelSoftMarginLoss(c.x, c.tg, c.opts...); !errors.Is(err, c.kind) {
			t.Errorf("%s: error %v, want %v", c.name, err, c.kind)
		}
	}
}
