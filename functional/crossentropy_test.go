package functional

import (
	"errors"
	"math"
	"testing"

	"github.com/torchloss/torchloss"
	"github.com/torchloss/torchloss/tensor"
)

// The cross-entropy vectors of docs/semantics.md §6 (float32, PyTorch 2.11).
var ceLogits = []float32{1, 2, 0.5, -1, 0.1, 0.2, 0.3, 0.4, 5, -5, 0, 1}

func ceX() *tensor.Tensor { return tensor.MustNew(append([]float32{}, ceLogits...), 3, 4) }

func ceW() *tensor.Tensor { return tensor.MustNew([]float32{1, 2, 0.5, 3}, 4) }

func checkValues(t *testing.T, name string, got *tensor.Tensor, want []float64) {
	t.Helper()
	v := got.Values()
	if len(v) != len(want) {
		t.Fatalf("%s: %d values %v, want %d", name, len(v), v, len(want))
	}
	for i := range want {
		if !isClose(v[i], want[i], 1e-5, 1e-6) {
			t.Errorf("%s[%d] = %v, want %v", name, i, v[i], want[i])
		}
	}
}

func TestCrossEntropySpecVectors(t *testing.T) {
	tgt := tensor.MustNew([]int64{1, 3, 0}, 3)
	tgtIgn := tensor.MustNew([]int64{1, -100, 0}, 3)
	probs := tensor.MustNew([]float32{.1, .2, .3, .4, 0, 0, 1, 0, .25, .25, .25, .25}, 3, 4)
	cases := []struct {
		name   string
		target *tensor.Tensor
		opts   []Option
		want   []float64
	}{
		{"none", tgt, []Option{None}, []float64{0.4951818883419037, 1.2425355911254883, 0.02478923089802265}},
		{"mean", tgt, nil, []float64{0.5875022411346436}},
		{"weighted mean", tgt, []Option{Weight(ceW())}, []float64{0.790459930896759}},
		{"weighted mean ignored", tgtIgn, []Option{Weight(ceW())}, []float64{0.33838436007499695}},
		{"smoothing none", tgtIgn, []Option{Weight(ceW()), LabelSmoothing(0.1), None}, []float64{1.2405444383621216, 0, 0.888838529586792}},
		{"smoothing mean", tgtIgn, []Option{Weight(ceW()), LabelSmoothing(0.1)}, []float64{0.709794282913208}},
		{"smoothing sum", tgtIgn, []Option{Weight(ceW()), LabelSmoothing(0.1), Sum}, []float64{2.129383087158203}},
		{"probs none", probs, []Option{Weight(ceW()), None}, []float64{4.841086387634277, 0.6712678074836731, 8.665282249450684}},
		{"probs mean", probs, []Option{Weight(ceW())}, []float64{4.725878715515137}},
	}
	for _, c := range cases {
		out, err := CrossEntropy(ceX(), c.target, c.opts...)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		checkValues(t, c.name, out, c.want)
	}
}

func TestNLLLossValues(t *testing.T) {
	// ℓ_i = −w[t_i]·x[i, t_i]; mean divides by Σ w[t_i] over non-ignored targets.
	x := tensor.MustNew([]float64{-1, -2, -3, -4, -5, -6}, 3, 2)
	tg := tensor.MustNew([]int64{1, 0, 7}, 3)
	w := tensor.MustNew([]float64{0.5, 2}, 2)
	cases := []struct {
		name string
		opts []Option
		want []float64
	}{
		{"none", []Option{Weight(w), IgnoreIndex(7), None}, []float64{4, 1.5, 0}},
		{"sum", []Option{Weight(w), IgnoreIndex(7), Sum}, []float64{5.5}},
		{"mean", []Option{Weight(w), IgnoreIndex(7)}, []float64{5.5 / 2.5}},
		{"unweighted mean", []Option{IgnoreIndex(7)}, []float64{(2 + 3) / 2.0}},
		{"legacy sum", []Option{IgnoreIndex(7), LegacyReduction(ptr(false), nil)}, []float64{5}},
	}
	for _, c := range cases {
		out, err := NLLLoss(x, tg, c.opts...)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		checkValues(t, c.name, out, c.want)
	}
	// 1-D input, 0-d target: a 0-d result even for None.
	out, err := NLLLoss(tensor.MustNew([]float64{-1, -2, -3}, 3), tensor.Scalar(int64(2)), None)
	if err != nil || out.Dim() != 0 {
		t.Fatalf("1-D none: %v %v", out, err)
	}
	checkValues(t, "1-D none", out, []float64{3})
	// K-dim: input (1, 2, 2), target (1, 2): ℓ[0, e] = −x[0, t_e, e].
	xk := tensor.MustNew([]float64{-1, -2, -3, -4}, 1, 2, 2)
	out, err = NLLLoss(xk, tensor.MustNew([]int64{1, 0}, 1, 2), None)
	if err != nil {
		t.Fatal(err)
	}
	checkValues(t, "K-dim none", out, []float64{3, 2})
	if s := out.Shape(); len(s) != 2 || s[0] != 1 || s[1] != 2 {
		t.Errorf("K-dim none shape %v, want [1 2]", s)
	}
}

func ptr[T any](v T) *T { return &v }

func TestNLLAllIgnoredAndEmpty(t *testing.T) {
	x := tensor.MustNew([]float64{-1, -2, -3, -4}, 2, 2)
	if err := x.SetRequiresGrad(true); err != nil {
		t.Fatal(err)
	}
	out, err := NLLLoss(x, tensor.MustNew([]int64{-100, -100}, 2))
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := out.Item(); !math.IsNaN(v) {
		t.Errorf("all ignored mean = %v, want NaN", v)
	}
	if err := out.Backward(); err != nil {
		t.Fatal(err)
	}
	for i, g := range x.Grad().Values() {
		if g != 0 {
			t.Errorf("all ignored grad[%d] = %v, want 0", i, g)
		}
	}
	empty := tensor.MustNew([]float32{}, 0, 3)
	et := tensor.MustNew([]int64{}, 0)
	for _, c := range []struct {
		fn   func(a, b *tensor.Tensor, o ...Option) (*tensor.Tensor, error)
		r    Reduction
		want float64
	}{{NLLLoss, Mean, math.NaN()}, {NLLLoss, Sum, 0}, {CrossEntropy, Mean, math.NaN()}, {CrossEntropy, Sum, 0}} {
		out, err := c.fn(empty, et, c.r)
		if err != nil {
			t.Fatal(err)
		}
		if v, _ := out.Item(); !isClose(v, c.want, 0, 0) {
			t.Errorf("empty %s = %v, want %v", c.r, v, c.want)
		}
	}
}

func TestCrossEntropyErrors(t *testing.T) {
	x := ceX()
	tg := tensor.MustNew([]int64{1, 3, 0}, 3)
	wGrad := tensor.MustNew([]float32{1, 1, 1, 1}, 4)
	if err := wGrad.SetRequiresGrad(true); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		fn   func(a, b *tensor.Tensor, o ...Option) (*tensor.Tensor, error)
		x, t *tensor.Tensor
		opts []Option
		kind *torchloss.Kind
	}{
		{"oob", CrossEntropy, x, tensor.MustNew([]int64{1, 4, 0}, 3), nil, torchloss.ErrValue},
		{"negative target", NLLLoss, x, tensor.MustNew([]int64{1, -1, 0}, 3), nil, torchloss.ErrValue},
		{"ignored before range", NLLLoss, x, tensor.MustNew([]int64{1, 9, 0}, 3), []Option{IgnoreIndex(9), None}, nil},
		{"batch", NLLLoss, x, tensor.MustNew([]int64{1, 3}, 2), nil, torchloss.ErrShape},
		{"weight size", CrossEntropy, x, tg, []Option{Weight(tensor.MustNew([]float32{1, 2, 3}, 3))}, torchloss.ErrShape},
		{"weight 2-D", NLLLoss, x, tg, []Option{Weight(tensor.MustNew([]float32{1, 2, 3, 4}, 1, 4))}, torchloss.ErrShape},
		{"weight dtype", NLLLoss, x, tg, []Option{Weight(tensor.MustNew([]float64{1, 2, 3, 4}, 4))}, torchloss.ErrDType},
		{"weight requires grad", CrossEntropy, x, tg, []Option{Weight(wGrad)}, torchloss.ErrGrad},
		{"weight requires grad, probs", CrossEntropy, x, tensor.MustNew(make([]float32, 12), 3, 4), []Option{Weight(wGrad)}, nil},
		{"float index target", CrossEntropy, x, tensor.MustNew([]float32{1, 3, 0}, 3), nil, torchloss.ErrDType},
		{"long probability target", CrossEntropy, x, tensor.MustNew(make([]int64, 12), 3, 4), nil, torchloss.ErrDType},
		{"ignore_index with probs", CrossEntropy, x, tensor.MustNew(make([]float32, 12), 3, 4), []Option{IgnoreIndex(0)}, torchloss.ErrOption},
		{"negative ignore_index with probs", CrossEntropy, x, tensor.MustNew(make([]float32, 12), 3, 4), []Option{IgnoreIndex(-5)}, nil},
		{"smoothing > 1", CrossEntropy, x, tg, []Option{LabelSmoothing(1.5)}, torchloss.ErrOption},
		{"smoothing = 1", CrossEntropy, x, tg, []Option{LabelSmoothing(1)}, nil},
		{"negative smoothing", CrossEntropy, x, tg, []Option{LabelSmoothing(-3)}, nil},
		{"0-d input", CrossEntropy, tensor.Scalar(float32(1)), tensor.Scalar(float32(1)), nil, torchloss.ErrShape},
		{"0-d nll input", NLLLoss, tensor.Scalar(float32(1)), tensor.Scalar(int64(0)), nil, torchloss.ErrShape},
		{"1-D input, (2,) target", NLLLoss, tensor.MustNew([]float32{1, 2, 3}, 3), tensor.MustNew([]int64{0, 1}, 2), nil, torchloss.ErrShape},
		{"multi-target", NLLLoss, x, tensor.MustNew([]int64{0, 1, 0, 1, 0, 1}, 3, 2), nil, torchloss.ErrShape},
		{"K-dim target size", NLLLoss, tensor.MustNew(make([]float32, 24), 2, 4, 3), tensor.MustNew(make([]int64, 8), 2, 4), nil, torchloss.ErrShape},
		{"K-dim weight numel only", NLLLoss, tensor.MustNew(make([]float32, 24), 2, 4, 3), tensor.MustNew(make([]int64, 6), 2, 3), []Option{Weight(tensor.MustNew([]float32{1, 2, 3, 4}, 4, 1))}, nil},
		{"smoothing with (1,) target", CrossEntropy, tensor.MustNew([]float32{1, 2, 3}, 3), tensor.MustNew([]int64{1}, 1), []Option{LabelSmoothing(0.1)}, torchloss.ErrShape},
		{"unknown option", NLLLoss, x, tg, []Option{LabelSmoothing(0.1)}, torchloss.ErrOption},
		{"integer input", NLLLoss, tensor.MustNew(make([]int64, 12), 3, 4), tg, nil, torchloss.ErrDType},
	}
	for _, c := range cases {
		_, err := c.fn(c.x, c.t, c.opts...)
		if c.kind == nil {
			if err != nil {
				t.Errorf("%s: unexpected error %v", c.name, err)
			}
			continue
		}
		if !errors.Is(err, c.kind) {
			t.Errorf("%s: error %v, want kind %v", c.name, err, c.kind)
		}
	}
}

// PyTorch 2.11: input (C) with target (1,) passes the forward; the backward
// fails with a size mismatch.
func TestOneDQuirk(t *testing.T) {
	for _, fn := range []func(a, b *tensor.Tensor, o ...Option) (*tensor.Tensor, error){NLLLoss, CrossEntropy} {
		x := tensor.MustNew([]float64{-1, -2, -3, -4}, 4)
		if err := x.SetRequiresGrad(true); err != nil {
			t.Fatal(err)
		}
		out, err := fn(x, tensor.MustNew([]int64{2}, 1), None)
		if err != nil {
			t.Fatalf("forward: %v", err)
		}
		if out.Dim() != 0 {
			t.Errorf("output shape %v, want 0-d", out.Shape())
		}
		if err := out.Backward(); !errors.Is(err, torchloss.ErrShape) {
			t.Errorf("backward error %v, want ErrShape", err)
		}
	}
}

// numGrad checks the analytic gradient of f with respect to each leaf
// against central differences, in float64.
func numGrad(t *testing.T, name string, f func() (*tensor.Tensor, error), leaves ...*tensor.Tensor) {
	t.Helper()
	for _, l := range leaves {
		l.ZeroGrad()
		if err := l.SetRequiresGrad(true); err != nil {
			t.Fatal(err)
		}
	}
	out, err := f()
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	// Reduce with fixed upstream weights so that 'none' outputs are covered.
	up := make([]float64, out.Numel())
	for i := range up {
		up[i] = 0.3 + 0.7*float64(i%5)
	}
	if err := out.BackwardWith(tensor.MustNew(up, out.Shape()...)); err != nil {
		t.Fatalf("%s backward: %v", name, err)
	}
	scalar := func() float64 {
		o, err := f()
		if err != nil {
			t.Fatal(err)
		}
		s := 0.0
		for i, v := range o.Values() {
			s += v * up[i]
		}
		return s
	}
	const h = 1e-6
	for li, l := range leaves {
		d := l.Float64s()
		g := l.Grad().Values()
		for i := range d {
			orig := d[i]
			d[i] = orig + h
			fp := scalar()
			d[i] = orig - h
			fm := scalar()
			d[i] = orig
			num := (fp - fm) / (2 * h)
			if !isClose(g[i], num, 1e-6, 1e-7) {
				t.Errorf("%s: leaf %d grad[%d] = %v, numerical %v", name, li, i, g[i], num)
			}
		}
	}
}

func TestCrossEntropyNumericalGradients(t *testing.T) {
	xs := []float64{0.3, -1.2, 2.0, 0.7, -0.4, 1.1, 0.05, -2.2, 0.9, 1.6, -0.8, 0.2, 0.4, -0.6, 1.3, -1.7, 0.8, 0.1}
	newX := func() *tensor.Tensor { return tensor.MustNew(append([]float64{}, xs...), 2, 3, 3) }
	tg := tensor.MustNew([]int64{0, 2, 1, 1, -100, 2}, 2, 3)
	w := tensor.MustNew([]float64{0.5, 1.5, 2.0}, 3)
	for _, r := range []Reduction{None, Sum, Mean} {
		x := newX()
		numGrad(t, "index/"+string(r), func() (*tensor.Tensor, error) {
			return CrossEntropy(x, tg, Weight(w), LabelSmoothing(0.2), r)
		}, x)
		x = newX()
		numGrad(t, "index-noweight/"+string(r), func() (*tensor.Tensor, error) {
			return CrossEntropy(x, tg, r)
		}, x)
		x = newX()
		p := tensor.MustNew([]float64{0.2, 0.5, 0.3, 0.1, 0.1, 0.8, 0.6, 0.2, 0.2, 0.3, 0.3, 0.4, -0.1, 0.5, 0.6, 0.9, 0.05, 0.05}, 2, 3, 3)
		pw := w.Clone()
		numGrad(t, "probs/"+string(r), func() (*tensor.Tensor, error) {
			return CrossEntropy(x, p, Weight(pw), LabelSmoothing(0.1), r)
		}, x, p, pw)
	}
}

// The probability-target path promotes mixed dtypes; the gradients keep
// each argument's dtype.
func TestCrossEntropyProbPromotion(t *testing.T) {
	x := tensor.MustNew([]float32{1, 2, 3, 0, -1, 0.5}, 2, 3)
	p := tensor.MustNew([]float64{0.2, 0.3, 0.5, 1, 0, 0}, 2, 3)
	if err := x.SetRequiresGrad(true); err != nil {
		t.Fatal(err)
	}
	if err := p.SetRequiresGrad(true); err != nil {
		t.Fatal(err)
	}
	out, err := CrossEntropy(x, p, Sum)
	if err != nil {
		t.Fatal(err)
	}
	if out.DType() != tensor.Float64 {
		t.Errorf("output dtype %v, want float64", out.DType())
	}
	if err := out.Backward(); err != nil {
		t.Fatal(err)
	}
	if x.Grad().DType() != tensor.Float32 || p.Grad().DType() != tensor.Float64 {
		t.Errorf("grad dtypes %v %v, want float32 float64", x.Grad().DType(), p.Grad().DType())
	}
	// Σ_c p = 1 per row, so ∂/∂x = softmax(x) − p: rows sum to 0.
	g := x.Grad().Values()
	for r := 0; r < 2; r++ {
		if s := g[3*r] + g[3*r+1] + g[3*r+2]; math.Abs(s) > 1e-6 {
			t.Errorf("row %d input gradient sums to %v, want 0", r, s)
		}
	}
}
