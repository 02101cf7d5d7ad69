package functional

import (
	"errors"
	"math"
	"testing"

	"github.com/torchloss/torchloss"
	"github.com/torchloss/torchloss/tensor"
)

type lossFn func(input, target *tensor.Tensor, opts ...Option) (*tensor.Tensor, error)

// leaf64 returns a float64 leaf that requires a gradient.
func leaf64(t *testing.T, data []float64, shape ...int) *tensor.Tensor {
	t.Helper()
	x, err := tensor.New(data, shape...)
	if err != nil {
		t.Fatal(err)
	}
	if err := x.SetRequiresGrad(true); err != nil {
		t.Fatal(err)
	}
	return x
}

// TestRegressionValues checks outputs and input gradients (g = 1) against
// values worked out by hand from the formulas of docs/semantics.md §3.1-3.3.
// x − y = [0, 1, −2, 0.5, 2] throughout (all exact in binary).
func TestRegressionValues(t *testing.T) {
	x := []float64{0, 1, -2, 0.5, 3}
	y := []float64{0, 0, 0, 0, 1}
	cases := []struct {
		name     string
		fn       lossFn
		opts     []Option
		out      []float64
		gradMean []float64 // ∂ mean / ∂x
	}{
		// (x−y)² = [0, 1, 4, 0.25, 4]; mean 9.25/5; ∂/∂x = 2/5·(x−y).
		{"mse", MSELoss, nil, []float64{0, 1, 4, 0.25, 4}, []float64{0, 0.4, -0.8, 0.2, 0.8}},
		// β = 1: z = [0, 1, 2, 0.5, 2] → [0, 0.5, 1.5, 0.125, 1.5];
		// ∂/∂x = sgn·1/5 where |d| ≥ β (|d| == β included), d/β/5 inside.
		{"smooth_l1 beta=1", SmoothL1Loss, nil, []float64{0, 0.5, 1.5, 0.125, 1.5}, []float64{0, 0.2, -0.2, 0.1, 0.2}},
		// β = 2: 0.5·z²/2 inside, z − 1 at z ≥ 2.
		{"smooth_l1 beta=2", SmoothL1Loss, []Option{Beta(2)}, []float64{0, 0.25, 1, 0.0625, 1}, []float64{0, 0.1, -0.2, 0.05, 0.2}},
		// β = 0 is l1_loss: |d|, ∂/∂x = sgn(d)/5 with sgn(0) = 0.
		{"smooth_l1 beta=0", SmoothL1Loss, []Option{Beta(0)}, []float64{0, 1, 2, 0.5, 2}, []float64{0, 0.2, -0.2, 0.2, 0.2}},
		// δ = 1 equals smooth_l1 with β = 1.
		{"huber delta=1", HuberLoss, nil, []float64{0, 0.5, 1.5, 0.125, 1.5}, []float64{0, 0.2, -0.2, 0.1, 0.2}},
		// δ = 2: 0.5·z² inside, 2·(z − 1) at z ≥ 2; gradient ±δ/5 at |d| == δ.
		{"huber delta=2", HuberLoss, []Option{Delta(2)}, []float64{0, 0.5, 2, 0.125, 2}, []float64{0, 0.2, -0.4, 0.1, 0.4}},
		// δ = 0.5: 0.5·(z − 0.25) at z ≥ 0.5.
		{"huber delta=0.5", HuberLoss, []Option{Delta(0.5)}, []float64{0, 0.375, 0.875, 0.125, 0.875}, []float64{0, 0.1, -0.1, 0.1, 0.1}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := leaf64(t, append([]float64{}, x...))
			tg := leaf64(t, append([]float64{}, y...))
			out, err := c.fn(in, tg, append([]Option{None}, c.opts...)...)
			if err != nil {
				t.Fatal(err)
			}
			if !allClose(out.Values(), c.out, 1e-15, 1e-15) {
				t.Errorf("none: got %v, want %v", out.Values(), c.out)
			}
			var sum float64
			for _, v := range c.out {
				sum += v
			}
			s, err := c.fn(in, tg, append([]Option{Sum}, c.opts...)...)
			if err != nil {
				t.Fatal(err)
			}
			if got, _ := s.Item(); math.Abs(got-sum) > 1e-15 {
				t.Errorf("sum: got %v, want %v", got, sum)
			}
			m, err := c.fn(in, tg, c.opts...)
			if err != nil {
				t.Fatal(err)
			}
			if got, _ := m.Item(); math.Abs(got-sum/5) > 1e-15 {
				t.Errorf("mean: got %v, want %v", got, sum/5)
			}
			if err := m.Backward(); err != nil {
				t.Fatal(err)
			}
			if !allClose(in.Grad().Values(), c.gradMean, 1e-15, 1e-15) {
				t.Errorf("d mean/d input: got %v, want %v", in.Grad().Values(), c.gradMean)
			}
			neg := make([]float64, len(c.gradMean))
			for i, v := range c.gradMean {
				neg[i] = -v
			}
			if !allClose(tg.Grad().Values(), neg, 1e-15, 1e-15) {
				t.Errorf("d mean/d target: got %v, want %v", tg.Grad().Values(), neg)
			}
		})
	}
}

// TestRegressionWeighted checks the weighted means: Σ(ℓ·w)/Σw for
// mse_loss, Σ(ℓ·w)/n for huber_loss (docs/semantics.md §3.1, §3.3).
func TestRegressionWeighted(t *testing.T) {
	x := tensor.MustNew([]float64{0, 1, -2, 0.5})
	y := tensor.MustNew([]float64{0, 0, 0, 0})
	w := tensor.MustNew([]float64{1, 2, 0.5, 4})
	cases := []struct {
		name      string
		fn        lossFn
		none, sum float64
		mean      float64
	}{
		// ℓ = [0, 1, 4, 0.25]; ℓ·w = [0, 2, 2, 1]; Σw = 7.5.
		{"mse", MSELoss, 0, 5, 5 / 7.5},
		// ℓ = [0, 0.5, 1.5, 0.125]; ℓ·w = [0, 1, 0.75, 0.5]; n = 4.
		{"huber", HuberLoss, 0, 2.25, 2.25 / 4},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, err := c.fn(x, y, Weight(w), Sum)
			if err != nil {
				t.Fatal(err)
			}
			m, err := c.fn(x, y, Weight(w))
			if err != nil {
				t.Fatal(err)
			}
			if got, _ := s.Item(); got != c.sum {
				t.Errorf("sum: got %v, want %v", got, c.sum)
			}
			if got, _ := m.Item(); math.Abs(got-c.mean) > 1e-15 {
				t.Errorf("mean: got %v, want %v", got, c.mean)
			}
		})
	}
}

// scalarOf evaluates the loss as Σ(out·g) for a fixed upstream gradient g.
func scalarOf(t *testing.T, fn lossFn, x, y, w []float64, xs, ys []int, g []float64, opts []Option) float64 {
	t.Helper()
	o := append([]Option{}, opts...)
	if w != nil {
		o = append(o, Weight(tensor.MustNew(w, xs...)))
	}
	out, err := fn(tensor.MustNew(x, xs...), tensor.MustNew(y, ys...), o...)
	if err != nil {
		t.Fatal(err)
	}
	var s float64
	for i, v := range out.Values() {
		s += v * g[i]
	}
	return s
}

// TestRegressionNumericalGrad checks the composite (weighted) paths, the
// broadcast of input and target, and the explicit backward kernels against
// central finite differences in float64, away from the kinks |d| == β, δ.
func TestRegressionNumericalGrad(t *testing.T) {
	xs, ys := []int{3, 1}, []int{1, 2}
	x := []float64{0.3, -1.7, 2.2}
	y := []float64{0.1, -0.45}
	w := []float64{0.7, 1.3, 2.1}
	cases := []struct {
		name     string
		fn       lossFn
		weighted bool
		opts     []Option
	}{
		{"mse", MSELoss, false, nil},
		{"mse weighted", MSELoss, true, nil},
		{"smooth_l1", SmoothL1Loss, false, []Option{Beta(0.9)}},
		{"huber", HuberLoss, false, []Option{Delta(1.1)}},
		{"huber weighted", HuberLoss, true, []Option{Delta(1.1)}},
	}
	for _, c := range cases {
		for _, r := range []Reduction{Mean, Sum, None} {
			t.Run(c.name+"/"+string(r), func(t *testing.T) {
				opts := append([]Option{r}, c.opts...)
				in := leaf64(t, append([]float64{}, x...), xs...)
				tg := leaf64(t, append([]float64{}, y...), ys...)
				var wt *tensor.Tensor
				var wv []float64
				o := opts
				if c.weighted {
					wv = w
					wt = leaf64(t, append([]float64{}, w...), xs...)
					o = append(append([]Option{}, opts...), Weight(wt))
				}
				out, err := c.fn(in, tg, o...)
				if err != nil {
					t.Fatal(err)
				}
				g := make([]float64, out.Numel())
				for i := range g {
					g[i] = 0.5 + 0.25*float64(i)
				}
				if err := out.BackwardWith(tensor.MustNew(g, out.Shape()...)); err != nil {
					t.Fatal(err)
				}
				const h = 1e-6
				check := func(name string, v []float64, grad *tensor.Tensor, eval func([]float64) float64) {
					if grad == nil {
						t.Fatalf("%s: no gradient", name)
					}
					num := make([]float64, len(v))
					for i := range v {
						p := append([]float64{}, v...)
						p[i] += h
						m := append([]float64{}, v...)
						m[i] -= h
						num[i] = (eval(p) - eval(m)) / (2 * h)
					}
					if !allClose(grad.Values(), num, 1e-6, 1e-6) {
						t.Errorf("%s: got %v, numerical %v", name, grad.Values(), num)
					}
				}
				check("input", x, in.Grad(), func(p []float64) float64 { return scalarOf(t, c.fn, p, y, wv, xs, ys, g, opts) })
				check("target", y, tg.Grad(), func(p []float64) float64 { return scalarOf(t, c.fn, x, p, wv, xs, ys, g, opts) })
				if c.weighted {
					check("weight", w, wt.Grad(), func(p []float64) float64 { return scalarOf(t, c.fn, x, y, p, xs, ys, g, opts) })
				}
			})
		}
	}
}

// TestRegressionEmpty: an empty input gives NaN for mean and 0 for sum
// (docs/semantics.md §1.2).
func TestRegressionEmpty(t *testing.T) {
	e := func() *tensor.Tensor { z, _ := tensor.Zeros(tensor.Float32, 0, 3); return z }
	for name, fn := range map[string]lossFn{"mse": MSELoss, "smooth_l1": SmoothL1Loss, "huber": HuberLoss} {
		m, err := fn(e(), e())
		if err != nil {
			t.Fatal(err)
		}
		if v, _ := m.Item(); !math.IsNaN(v) {
			t.Errorf("%s mean: got %v, want NaN", name, v)
		}
		s, err := fn(e(), e(), Sum)
		if err != nil {
			t.Fatal(err)
		}
		if v, _ := s.Item(); v != 0 {
			t.Errorf("%s sum: got %v, want 0", name, v)
		}
	}
}

// TestRegressionDTypes checks PyTorch's dtype rules: promotion to float64,
// huber's loss in input's dtype, integer targets, and the backward that
// fails for mixed dtypes (mse_loss, huber_loss) but not smooth_l1_loss.
func TestRegressionDTypes(t *testing.T) {
	x32 := func() *tensor.Tensor {
		x := tensor.MustNew([]float32{0.5, -1.5, 2})
		_ = x.SetRequiresGrad(true)
		return x
	}
	y64 := tensor.MustNew([]float64{0, 1, -1})
	yInt := tensor.MustNew([]int64{0, 1, -1})
	cases := []struct {
		name    string
		fn      lossFn
		target  *tensor.Tensor
		outDT   tensor.DType
		bwdFail bool
	}{
		{"mse f32/f64", MSELoss, y64, tensor.Float64, true},
		{"mse f32/int", MSELoss, yInt, tensor.Float32, true},
		{"smooth_l1 f32/f64", SmoothL1Loss, y64, tensor.Float64, false},
		{"smooth_l1 f32/int", SmoothL1Loss, yInt, tensor.Float32, false},
		{"huber f32/f64", HuberLoss, y64, tensor.Float32, true},
		{"huber f32/int", HuberLoss, yInt, tensor.Float32, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			x := x32()
			out, err := c.fn(x, c.target)
			if err != nil {
				t.Fatal(err)
			}
			if out.DType() != c.outDT {
				t.Errorf("output dtype %v, want %v", out.DType(), c.outDT)
			}
			err = out.Backward()
			if c.bwdFail {
				if !errors.Is(err, torchloss.ErrDType) {
					t.Errorf("backward: got %v, want ErrDType", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if g := x.Grad(); g == nil || g.DType() != tensor.Float32 {
				t.Errorf("input gradient %v, want float32", g)
			}
		})
	}
	// mixed weighted mse is autograd of a composite: its backward works,
	// and each gradient has its argument's dtype.
	x := x32()
	w := tensor.MustNew([]float64{1, 2, 3})
	_ = w.SetRequiresGrad(true)
	out, err := MSELoss(x, tensor.MustNew([]float32{0, 1, -1}), Weight(w))
	if err != nil {
		t.Fatal(err)
	}
	if out.DType() != tensor.Float64 {
		t.Errorf("weighted mse: output dtype %v, want float64", out.DType())
	}
	if err := out.Backward(); err != nil {
		t.Fatal(err)
	}
	if x.Grad().DType() != tensor.Float32 || w.Grad().DType() != tensor.Float64 {
		t.Errorf("weighted mse: gradient dtypes %v, %v", x.Grad().DType(), w.Grad().DType())
	}
}

func TestRegressionErrors(t *testing.T) {
	a := tensor.MustNew([]float32{1, 2, 3})
	b := tensor.MustNew([]float32{1, 2})
	i := tensor.MustNew([]int64{1, 2, 3})
	cases := []struct {
		name string
		fn   lossFn
		x, y *tensor.Tensor
		opts []Option
		kind *torchloss.Kind
	}{
		{"mse shapes", MSELoss, a, b, nil, torchloss.ErrShape},
		{"smooth_l1 shapes", SmoothL1Loss, a, b, nil, torchloss.ErrShape},
		{"huber shapes", HuberLoss, a, b, nil, torchloss.ErrShape},
		{"mse ints", MSELoss, i, i, nil, torchloss.ErrDType},
		{"smooth_l1 ints", SmoothL1Loss, i, i, nil, torchloss.ErrDType},
		{"huber ints", HuberLoss, i, i, nil, torchloss.ErrDType},
		{"huber int input", HuberLoss, i, a, nil, torchloss.ErrDType},
		{"smooth_l1 negative beta", SmoothL1Loss, a, a, []Option{Beta(-0.5)}, torchloss.ErrOption},
		{"smooth_l1 NaN beta", SmoothL1Loss, a, a, []Option{Beta(math.NaN())}, torchloss.ErrOption},
		{"huber zero delta", HuberLoss, a, a, []Option{Delta(0)}, torchloss.ErrOption},
		{"huber negative delta", HuberLoss, a, a, []Option{Delta(-1)}, torchloss.ErrOption},
		{"mse weight size", MSELoss, a, a, []Option{Weight(b)}, torchloss.ErrShape},
		{"huber weight size", HuberLoss, a, a, []Option{Weight(tensor.MustNew([]float32{1, 2, 3}, 1, 3))}, torchloss.ErrShape},
		{"mse beta", MSELoss, a, a, []Option{Beta(1)}, torchloss.ErrOption},
		{"smooth_l1 weight", SmoothL1Loss, a, a, []Option{Weight(a)}, torchloss.ErrOption},
		{"huber reduction", HuberLoss, a, a, []Option{Reduction("batchmean")}, torchloss.ErrOption},
		{"mse nil", MSELoss, nil, a, nil, torchloss.ErrValue},
		{"huber nil", HuberLoss, a, nil, nil, torchloss.ErrValue},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := c.fn(c.x, c.y, c.opts...)
			if !errors.Is(err, c.kind) {
				t.Errorf("got %v, want %v", err, c.kind)
			}
		})
	}
}

// TestLegacyReduction covers the 9 combinations of docs/semantics.md §4
// (nil is Python's None).
func TestLegacyReduction(t *testing.T) {
	tr, fa := true, false
	cases := []struct {
		sizeAverage, reduce *bool
		want                Reduction
	}{
		{nil, nil, Mean},
		{nil, &tr, Mean},
		{nil, &fa, None},
		{&tr, nil, Mean},
		{&tr, &tr, Mean},
		{&tr, &fa, None},
		{&fa, nil, Sum},
		{&fa, &tr, Sum},
		{&fa, &fa, None},
	}
	str := func(b *bool) string {
		if b == nil {
			return "None"
		}
		if *b {
			return "True"
		}
		return "False"
	}
	for _, c := range cases {
		if got := LegacyReduction(c.sizeAverage, c.reduce); got != c.want {
			t.Errorf("size_average=%s reduce=%s: got %q, want %q", str(c.sizeAverage), str(c.reduce), got, c.want)
		}
	}
}
