package functional_test

import (
	"errors"
	"math"
	"testing"

	"github.com/torchloss/torchloss"
	"github.com/torchloss/torchloss/functional"
	"github.com/torchloss/torchloss/tensor"
)

func bceExpect(t *testing.T, what string, got *tensor.Tensor, want []float64, rtol float64) {
	t.Helper()
	functional.AssertClose(t, what, got.Values(), want, rtol, 1e-300)
}

func bceGrad(t *testing.T, x *tensor.Tensor) *tensor.Tensor {
	t.Helper()
	if err := x.SetRequiresGrad(true); err != nil {
		t.Fatal(err)
	}
	return x
}

// The float32 vectors of docs/semantics.md §6 (PyTorch 2.11, CPU).
func TestBinaryCrossEntropySpecVector(t *testing.T) {
	x := bceGrad(t, tensor.MustNew([]float32{0, 1, 0.5, 1e-7, 0.999999, 0.3, 0, 1, 1e-30}))
	y := tensor.MustNew([]float32{1, 0, 0.5, 0, 1, 0.2, 0, 1, 1})
	out, err := functional.BinaryCrossEntropy(x, y, functional.None)
	if err != nil {
		t.Fatal(err)
	}
	bceExpect(t, "loss", out, []float64{100, 100, 0.6931471824645996, 1.000000082740371e-07, 1.0132795296158292e-06,
		0.5261345505714417, 0.0, 0, 69.07755279541016}, 1e-6)
	if v := out.Float32s()[7]; v != 0 || !math.Signbit(float64(v)) {
		t.Errorf("loss at x=1, y=1 = %v, want -0", v)
	}
	ones, _ := tensor.Ones(tensor.Float32, 9)
	if err := out.BackwardWith(ones); err != nil {
		t.Fatal(err)
	}
	bceExpect(t, "dL/dx", x.Grad(), []float64{-999999995904, 999999995904, 0, 1.0000001192092896, -1.0000009536743164,
		0.4761905074119568, 0, 0, -999999995904}, 1e-6)

	mean, err := functional.BinaryCrossEntropy(x, y)
	if err != nil {
		t.Fatal(err)
	}
	bceExpect(t, "mean", mean, []float64{30.03297996520996}, 1e-6)
}

func TestBinaryCrossEntropyWithLogitsSpecVector(t *testing.T) {
	x := tensor.MustNew([]float32{-100, -20, -1, 0, 0.5, 3, 30, 1e4}, 2, 4)
	y := tensor.MustNew([]float32{0, 1, 0.3, 1, 0, 1, 0.5, 0}, 2, 4)
	out, err := functional.BinaryCrossEntropyWithLogits(x, y, functional.None)
	if err != nil {
		t.Fatal(err)
	}
	bceExpect(t, "loss", out, []float64{0, 20, 0.6132617592811584, 0.6931471824645996, 0.9740769863128662,
		0.04858735203742981, 15, 10000}, 1e-6)
	pw := tensor.MustNew([]float32{1, 2, 0.5, 3})
	out, err = functional.BinaryCrossEntropyWithLogits(x, y, functional.None, functional.PosWeight(pw))
	if err != nil {
		t.Fatal(err)
	}
	bceExpect(t, "loss with pos_weight", out, []float64{0, 40, 0.4162725806236267, 2.079441547393799, 0.9740769863128662,
		0.09717470407485962, 15, 10000}, 1e-6)
}

// The clamp of the input gradient uses the float constant 1e-12 even in
// float64: at x = 0, y = 1 the gradient is −1/float64(float32(1e-12)).
func TestBinaryCrossEntropyFloat64Epsilon(t *testing.T) {
	x := bceGrad(t, tensor.MustNew([]float64{0, 1, 0.25}))
	y := tensor.MustNew([]float64{1, 0, 1})
	yt := bceGrad(t, y)
	out, err := functional.BinaryCrossEntropy(x, yt, functional.Sum)
	if err != nil {
		t.Fatal(err)
	}
	if err := out.Backward(); err != nil {
		t.Fatal(err)
	}
	eps := float64(float32(1e-12))
	got := x.Grad().Float64s()
	if got[0] != -1/eps || got[1] != 1/eps {
		t.Errorf("dL/dx at the clamp = %v, want ∓%v", got[:2], 1/eps)
	}
	// (x − y)/((1 − x)x) at x = 1/4, y = 1: −0.75/0.1875 = −4.
	if got[2] != -4 {
		t.Errorf("dL/dx at x=0.25 = %v, want -4", got[2])
	}
	// dL/dy = −logit(x): +inf at 0, −inf at 1, log(3) at 1/4.
	gy := yt.Grad().Float64s()
	if !math.IsInf(gy[0], 1) || !math.IsInf(gy[1], -1) || math.Abs(gy[2]-math.Log(3)) > 1e-15 {
		t.Errorf("dL/dy = %v, want [+inf -inf %v]", gy, math.Log(3))
	}
}

// Weighted mean divides by the element count (not Σw); the weight
// broadcasts to the target's shape.
func TestBinaryCrossEntropyWeight(t *testing.T) {
	x := tensor.MustNew([]float64{0.5, 0.5, 0.5, 0.5}, 2, 2)
	y := tensor.MustNew([]float64{0, 1, 1, 0}, 2, 2)
	w := tensor.MustNew([]float64{1, 3}, 2)
	out, err := functional.BinaryCrossEntropy(x, y, functional.Weight(w))
	if err != nil {
		t.Fatal(err)
	}
	// Every element is log 2; weights 1, 3, 1, 3 → mean = 8·log2/4.
	bceExpect(t, "weighted mean", out, []float64{2 * math.Ln2}, 1e-15)
}

func TestBCEEmpty(t *testing.T) {
	for _, fn := range []struct {
		name string
		f    func(x, y *tensor.Tensor, o ...functional.Option) (*tensor.Tensor, error)
	}{{"bce", functional.BinaryCrossEntropy}, {"bce_with_logits", functional.BinaryCrossEntropyWithLogits}} {
		x := tensor.MustNew([]float32{}, 0, 3)
		y := tensor.MustNew([]float32{}, 0, 3)
		mean, err := fn.f(x, y)
		if err != nil {
			t.Fatal(err)
		}
		sum, err := fn.f(x, y, functional.Sum)
		if err != nil {
			t.Fatal(err)
		}
		if !math.IsNaN(mean.Values()[0]) || sum.Values()[0] != 0 {
			t.Errorf("%s empty: mean %v sum %v, want NaN 0", fn.name, mean, sum)
		}
	}
}

func TestBCEErrors(t *testing.T) {
	f32 := func(s ...int) *tensor.Tensor { v, _ := tensor.Full(0.5, tensor.Float32, s...); return v }
	f64 := func(s ...int) *tensor.Tensor { v, _ := tensor.Full(0.5, tensor.Float64, s...); return v }
	gradW := func() *tensor.Tensor { w := f32(3); _ = w.SetRequiresGrad(true); return w }
	bce, wl := functional.BinaryCrossEntropy, functional.BinaryCrossEntropyWithLogits
	cases := []struct {
		name string
		f    func(x, y *tensor.Tensor, o ...functional.Option) (*tensor.Tensor, error)
		x, y *tensor.Tensor
		opts []functional.Option
		kind *torchloss.Kind
	}{
		{"bce no broadcast", bce, f32(3, 1), f32(3), nil, torchloss.ErrShape},
		{"bce size", bce, f32(3), f32(2), nil, torchloss.ErrShape},
		{"bce weight broadcast", bce, f32(2, 3), f32(2, 3), []functional.Option{functional.Weight(f32(2))}, torchloss.ErrShape},
		{"bce weight larger", bce, f32(3), f32(3), []functional.Option{functional.Weight(f32(2, 3))}, torchloss.ErrShape},
		{"bce weight on 0-d", bce, f32(), f32(), []functional.Option{functional.Weight(f32(1))}, torchloss.ErrShape},
		{"bce input range", bce, tensor.MustNew([]float32{0.5, 1.5}), f32(2), nil, torchloss.ErrValue},
		{"bce input negative", bce, tensor.MustNew([]float32{-0.1, 0.5}), f32(2), nil, torchloss.ErrValue},
		{"bce input NaN", bce, tensor.MustNew([]float64{math.NaN()}), f64(1), nil, torchloss.ErrValue},
		{"bce target range", bce, f32(2), tensor.MustNew([]float32{0.5, 2}), nil, torchloss.ErrValue},
		{"bce target NaN", bce, f32(1), tensor.MustNew([]float32{float32(math.NaN())}), nil, torchloss.ErrValue},
		{"bce mixed dtypes", bce, f64(3), f32(3), nil, torchloss.ErrDType},
		{"bce int input", bce, tensor.MustNew([]int64{0, 1}), tensor.MustNew([]int64{0, 1}), nil, torchloss.ErrDType},
		{"bce int target", bce, f32(2), tensor.MustNew([]int64{0, 1}), nil, torchloss.ErrDType},
		{"bce weight requires grad", bce, f32(3), f32(3), []functional.Option{functional.Weight(gradW())}, torchloss.ErrGrad},
		{"bce reduction", bce, f32(2), f32(2), []functional.Option{functional.Reduction("average")}, torchloss.ErrOption},
		{"bce pos_weight", bce, f32(2), f32(2), []functional.Option{functional.PosWeight(f32(2))}, torchloss.ErrOption},
		{"bce nil target", bce, f32(2), nil, nil, torchloss.ErrValue},
		{"wl size", wl, f32(3), f32(4), nil, torchloss.ErrShape},
		{"wl no broadcast", wl, f32(3, 1), f32(3), nil, torchloss.ErrShape},
		{"wl pos_weight broadcast", wl, f32(2, 4), f32(2, 4), []functional.Option{functional.PosWeight(f32(3))}, torchloss.ErrShape},
		{"wl pos_weight larger", wl, f32(2, 4), f32(2, 4), []functional.Option{functional.PosWeight(f32(3, 2, 4))}, torchloss.ErrShape},
		{"wl weight larger", wl, f32(2, 4), f32(2, 4), []functional.Option{functional.Weight(f32(3, 2, 4))}, torchloss.ErrShape},
		{"wl weight broadcast", wl, f32(2, 4), f32(2, 4), []functional.Option{functional.Weight(f32(3))}, torchloss.ErrShape},
		{"wl weight on 0-d", wl, f32(), f32(), []functional.Option{functional.Weight(f32(1))}, torchloss.ErrShape},
		{"wl int target", wl, f32(2), tensor.MustNew([]int64{0, 1}), nil, torchloss.ErrDType},
		{"wl bool target", wl, f32(2), tensor.MustNew([]bool{false, true}), nil, torchloss.ErrDType},
		{"wl int input", wl, tensor.MustNew([]int64{0, 1}), f32(2), nil, torchloss.ErrDType},
		{"wl bool pos_weight", wl, f32(2), f32(2), []functional.Option{functional.PosWeight(tensor.MustNew([]bool{true, false}))}, torchloss.ErrDType},
		{"wl weight requires grad", wl, f32(3), f32(3), []functional.Option{functional.Weight(gradW())}, torchloss.ErrGrad},
		{"wl pos_weight requires grad", wl, f32(3), f32(3), []functional.Option{functional.PosWeight(gradW())}, torchloss.ErrGrad},
		{"wl reduction", wl, f32(2), f32(2), []functional.Option{functional.Reduction("average")}, torchloss.ErrOption},
		{"wl ignore_index", wl, f32(2), f32(2), []functional.Option{functional.IgnoreIndex(1)}, torchloss.ErrOption},
	}
	for _, c := range cases {
		_, err := c.f(c.x, c.y, c.opts...)
		if !errors.Is(err, c.kind) {
			t.Errorf("%s: error %v, want %v", c.name, err, c.kind)
		}
	}
}

// The accepted shapes of pos_weight and weight: anything that broadcasts
// into the input's shape, (C) along the last dimension, (N, 1) per row.
func TestBCEWithLogitsBroadcast(t *testing.T) {
	x := tensor.MustNew([]float64{-1, 0, 1, 2, -2, 0.5, 3, -3}, 2, 4)
	y := tensor.MustNew([]float64{0, 1, 1, 0, 1, 0.5, 0, 1}, 2, 4)
	col := tensor.MustNew([]float64{2, 3}, 2, 1)
	full := tensor.MustNew([]float64{2, 2, 2, 2, 3, 3, 3, 3}, 2, 4)
	a, err := functional.BinaryCrossEntropyWithLogits(x, y, functional.None, functional.PosWeight(col), functional.Weight(col))
	if err != nil {
		t.Fatal(err)
	}
	b, err := functional.BinaryCrossEntropyWithLogits(x, y, functional.None, functional.PosWeight(full), functional.Weight(full))
	if err != nil {
		t.Fatal(err)
	}
	bceExpect(t, "(2,1) vs (2,4) pos_weight", a, b.Values(), 0)
}

// The loss of binary_cross_entropy_with_logits has the target's dtype; the
// gradients have their arguments' dtypes.
func TestBCEWithLogitsMixedDTypes(t *testing.T) {
	x := bceGrad(t, tensor.MustNew([]float64{-1, 0.5, 2}))
	y := bceGrad(t, tensor.MustNew([]float32{0, 1, 0.25}))
	out, err := functional.BinaryCrossEntropyWithLogits(x, y)
	if err != nil {
		t.Fatal(err)
	}
	if out.DType() != tensor.Float32 {
		t.Errorf("float64 input, float32 target: loss dtype %v, want float32", out.DType())
	}
	if err := out.Backward(); err != nil {
		t.Fatal(err)
	}
	if x.Grad().DType() != tensor.Float64 || y.Grad().DType() != tensor.Float32 {
		t.Errorf("gradient dtypes %v, %v, want float64, float32", x.Grad().DType(), y.Grad().DType())
	}
	x32 := tensor.MustNew([]float32{-1, 0.5, 2})
	y64 := tensor.MustNew([]float64{0, 1, 0.25})
	out, err = functional.BinaryCrossEntropyWithLogits(x32, y64)
	if err != nil {
		t.Fatal(err)
	}
	if out.DType() != tensor.Float64 {
		t.Errorf("float32 input, float64 target: loss dtype %v, want float64", out.DType())
	}
	// binary_cross_entropy keeps the input's dtype with a float64 weight.
	p := tensor.MustNew([]float32{0.25, 0.5})
	out, err = functional.BinaryCrossEntropy(p, p, functional.Weight(tensor.MustNew([]float64{1, 2})))
	if err != nil {
		t.Fatal(err)
	}
	if out.DType() != tensor.Float32 {
		t.Errorf("bce with float64 weight: dtype %v, want float32", out.DType())
	}
}

// bceNumGrad checks the gradients of loss(x, y) (reduced with Sum, so that
// backward gives d Σℓ) against central differences in float64.
func bceNumGrad(t *testing.T, name string, loss func(x, y *tensor.Tensor) (*tensor.Tensor, error), xv, yv []float64, shape []int) {
	t.Helper()
	x := bceGrad(t, tensor.MustNew(append([]float64{}, xv...), shape...))
	y := bceGrad(t, tensor.MustNew(append([]float64{}, yv...), shape...))
	out, err := loss(x, y)
	if err != nil {
		t.Fatal(err)
	}
	if err := out.Backward(); err != nil {
		t.Fatal(err)
	}
	eval := func(xs, ys []float64) float64 {
		v, err := loss(tensor.MustNew(xs, shape...), tensor.MustNew(ys, shape...))
		if err != nil {
			t.Fatal(err)
		}
		return v.Values()[0]
	}
	const h = 1e-6
	for which, g := range map[string]*tensor.Tensor{"input": x.Grad(), "target": y.Grad()} {
		for i := range xv {
			xp, xm := append([]float64{}, xv...), append([]float64{}, xv...)
			yp, ym := append([]float64{}, yv...), append([]float64{}, yv...)
			if which == "input" {
				xp[i] += h
				xm[i] -= h
			} else {
				yp[i] += h
				ym[i] -= h
			}
			num := (eval(xp, yp) - eval(xm, ym)) / (2 * h)
			if got := g.Float64s()[i]; math.Abs(got-num) > 1e-6*(1+math.Abs(num)) {
				t.Errorf("%s: d/d%s[%d] = %v, numerical %v", name, which, i, got, num)
			}
		}
	}
}

func TestBCENumericalGradients(t *testing.T) {
	xs := []float64{-2.5, -0.3, 0.1, 1.7, 4, -6}
	ys := []float64{0.2, 1, 0, 0.6, 0.9, 0.35}
	shape := []int{2, 3}
	pw := tensor.MustNew([]float64{0.5, 2, 3.5})
	w := tensor.MustNew([]float64{1.5, 0.25}, 2, 1)
	bceNumGrad(t, "logits", func(x, y *tensor.Tensor) (*tensor.Tensor, error) {
		return functional.BinaryCrossEntropyWithLogits(x, y, functional.Sum)
	}, xs, ys, shape)
	bceNumGrad(t, "logits pos_weight weight", func(x, y *tensor.Tensor) (*tensor.Tensor, error) {
		return functional.BinaryCrossEntropyWithLogits(x, y, functional.Sum, functional.PosWeight(pw), functional.Weight(w))
	}, xs, ys, shape)
	// Probabilities away from 0 and 1 (where the clamps do not act).
	ps := []float64{0.1, 0.35, 0.5, 0.62, 0.8, 0.97}
	qs := []float64{0.2, 0.9, 0.4, 0.6, 0.05, 0.5}
	bceNumGrad(t, "probabilities weight", func(x, y *tensor.Tensor) (*tensor.Tensor, error) {
		return functional.BinaryCrossEntropy(x, y, functional.Sum, functional.Weight(w))
	}, ps, qs, shape)
}

// Mean divides each gradient by the element count; None multiplies by the
// output gradient element by element.
func TestBCEReductionGradients(t *testing.T) {
	for _, f := range []func(x, y *tensor.Tensor, o ...functional.Option) (*tensor.Tensor, error){
		functional.BinaryCrossEntropy, functional.BinaryCrossEntropyWithLogits,
	} {
		xv := []float64{0.2, 0.7, 0.4, 0.9}
		yv := []float64{0, 1, 0.5, 0.25}
		grads := map[functional.Reduction][]float64{}
		for _, r := range []functional.Reduction{functional.Sum, functional.Mean, functional.None} {
			x := bceGrad(t, tensor.MustNew(append([]float64{}, xv...)))
			out, err := f(x, tensor.MustNew(yv), r)
			if err != nil {
				t.Fatal(err)
			}
			if r == functional.None {
				err = out.BackwardWith(tensor.MustNew([]float64{1, 2, 3, 4}))
			} else {
				err = out.Backward()
			}
			if err != nil {
				t.Fatal(err)
			}
			grads[r] = x.Grad().Float64s()
		}
		for i, s := range grads[functional.Sum] {
			if m := grads[functional.Mean][i]; math.Abs(m-s/4) > 1e-15 {
				t.Errorf("mean gradient %v, want sum gradient / 4 = %v", m, s/4)
			}
			if n := grads[functional.None][i]; math.Abs(n-s*float64(i+1)) > 1e-14 {
				t.Errorf("none gradient %v, want %v", n, s*float64(i+1))
			}
		}
	}
}
