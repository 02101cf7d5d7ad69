package functional

import (
	"errors"
	"math"
	"testing"

	"github.com/torchloss/torchloss"
	"github.com/torchloss/torchloss/tensor"
)

// Tests of the likelihood family: poisson_nll_loss, gaussian_nll_loss,
// kl_div. Expected values are the reference values of docs/semantics.md §6 (PyTorch 2.11, float32)
// or follow from the formulas by hand; gradients of the composite graphs are
// checked against central finite differences in float64.

// lkClose reports whether got is within the conformance tolerance of want
// for dtype dt, NaN matching NaN.
func lkClose(got, want float64, dt tensor.DType) bool {
	rtol, atol := 1e-10, 1e-12
	if dt == tensor.Float32 {
		rtol, atol = 1e-5, 1e-6
	}
	return isClose(got, want, rtol, atol)
}

func lkCheck(t *testing.T, name string, got *tensor.Tensor, want []float64) {
	t.Helper()
	g := got.Values()
	if len(g) != len(want) {
		t.Fatalf("%s: got %d values %v, want %d", name, len(g), g, len(want))
	}
	for i := range want {
		if !lkClose(g[i], want[i], got.DType()) {
			t.Errorf("%s[%d] = %v, want %v", name, i, g[i], want[i])
		}
	}
}

func lk32(v ...float32) *tensor.Tensor { return tensor.MustNew(v) }

func lkGrad(v []float64, shape ...int) *tensor.Tensor {
	x := tensor.MustNew(v, shape...)
	if err := x.SetRequiresGrad(true); err != nil {
		panic(err)
	}
	return x
}

func TestLikelihoodSpecVectors(t *testing.T) {
	inf, nan := math.Inf(1), math.NaN()
	// §6 Poisson: log_input=True, full=True, reduction='none'.
	out, err := PoissonNLLLoss(lk32(-2, 0, 0.5, 1, 2, 3), lk32(0, 0.5, 1, 1.5, 2, 10), Full(true), None)
	if err != nil {
		t.Fatal(err)
	}
	lkCheck(t, "poisson", out, []float64{0.1353352814912796, 1.0, 1.1487212181091309, 1.448150396347046, 4.040862560272217, 5.1816205978393555})

	// §6 GaussNLL: var clamped at eps = 1e-6 for 1e-9 and 0.
	x := tensor.MustNew([]float32{0, 1, 2, 3, -1, 0.5}, 2, 3)
	y := tensor.MustNew([]float32{0.5, 1, 0, 2, 1, 0.5}, 2, 3)
	v := tensor.MustNew([]float32{1, 0.5, 2, 1e-9, 0, 4}, 2, 3)
	out, err = GaussianNLLLoss(x, y, v, None)
	if err != nil {
		t.Fatal(err)
	}
	lkCheck(t, "gaussian", out, []float64{0.125, -0.3465735912322998, 1.3465735912322998, 499993.09375, 1999993.125, 0.6931471824645996})

	// §6 KLDiv: NaN for a negative target, 0 for t == 0 (even x = −inf).
	x = tensor.MustNew([]float32{-1, -2, float32(math.Inf(-1)), -0.5, 0, -3, -1, 2}, 2, 4)
	y = tensor.MustNew([]float32{0.5, 0, 0, 0.5, 0.2, 0.3, -0.1, 0.6}, 2, 4)
	out, err = KLDiv(x, y, None)
	if err != nil {
		t.Fatal(err)
	}
	lkCheck(t, "kl_div", out, []float64{0.1534264087677002, 0.0, nan, -0.0965735912322998, -0.3218875825405121, 0.5388081669807434, nan, -1.506495475769043})
	_ = inf
}

func TestLikelihoodFormulas(t *testing.T) {
	l2pi := 0.9189385332046727
	cases := []struct {
		name string
		f    func() (*tensor.Tensor, error)
		want []float64
	}{
		{"poisson log_input", func() (*tensor.Tensor, error) {
			return PoissonNLLLoss(tensor.MustNew([]float64{0, 1}), tensor.MustNew([]float64{2, 3}), None)
		}, []float64{1, math.E - 3}},
		{"poisson rate, eps", func() (*tensor.Tensor, error) {
			return PoissonNLLLoss(tensor.MustNew([]float64{1, 2}), tensor.MustNew([]float64{2, 3}), LogInput(false), Eps(0.5), None)
		}, []float64{1 - 2*math.Log(1.5), 2 - 3*math.Log(2.5)}},
		{"poisson full masks t <= 1", func() (*tensor.Tensor, error) {
			return PoissonNLLLoss(tensor.MustNew([]float64{0, 0}), tensor.MustNew([]float64{1, 2}), Full(true), None)
		}, []float64{1, 1 + (2*math.Log(2) - 2 + 0.5*math.Log(4*math.Pi))}},
		{"poisson int target promotes", func() (*tensor.Tensor, error) {
			return PoissonNLLLoss(tensor.MustNew([]float64{0, 1}), tensor.MustNew([]int64{2, 3}), Sum)
		}, []float64{1 + math.E - 3}},
		{"poisson broadcast mean", func() (*tensor.Tensor, error) {
			return PoissonNLLLoss(tensor.MustNew([]float64{0, 0, 0, 0}, 2, 2), tensor.MustNew([]float64{1, 3}))
		}, []float64{1}},
		{"gaussian full", func() (*tensor.Tensor, error) {
			return GaussianNLLLoss(tensor.MustNew([]float64{1}), tensor.MustNew([]float64{3}), tensor.MustNew([]float64{2}), Full(true), Sum)
		}, []float64{0.5*(math.Log(2)+2) + l2pi}},
		{"gaussian scalar var", func() (*tensor.Tensor, error) {
			return GaussianNLLLossScalarVar(tensor.MustNew([]float64{1, 2}), tensor.MustNew([]float64{3, 2}), 2, None)
		}, []float64{0.5 * (math.Log(2) + 2), 0.5 * math.Log(2)}},
		{"gaussian var one fewer dim", func() (*tensor.Tensor, error) {
			return GaussianNLLLoss(tensor.MustNew([]float64{1, 1, 1, 1}, 2, 2), tensor.MustNew([]float64{0, 0, 0, 0}, 2, 2), tensor.MustNew([]float64{1, 4}), None)
		}, []float64{0.5, 0.5, 0.5 * (math.Log(4) + 0.25), 0.5 * (math.Log(4) + 0.25)}},
		{"gaussian var size 1 in the first dim (2.11)", func() (*tensor.Tensor, error) {
			return GaussianNLLLoss(tensor.MustNew([]float64{1, 1, 1, 1}, 2, 2), tensor.MustNew([]float64{0, 0, 0, 0}, 2, 2), tensor.MustNew([]float64{1, 4}, 1, 2), None)
		}, []float64{0.5, 0.5 * (math.Log(4) + 0.25), 0.5, 0.5 * (math.Log(4) + 0.25)}},
		{"gaussian 0-d var for 1-D input", func() (*tensor.Tensor, error) {
			return GaussianNLLLoss(tensor.MustNew([]float64{1, 2}), tensor.MustNew([]float64{0, 0}), tensor.Scalar(1.0), Sum)
		}, []float64{2.5}},
		{"gaussian eps clamp", func() (*tensor.Tensor, error) {
			return GaussianNLLLoss(tensor.MustNew([]float64{0}), tensor.MustNew([]float64{0}), tensor.MustNew([]float64{0.01}), Eps(0.5), Sum)
		}, []float64{0.5 * math.Log(0.5)}},
		{"kl_div log_target", func() (*tensor.Tensor, error) {
			return KLDiv(tensor.MustNew([]float64{-1}), tensor.MustNew([]float64{-2}), LogTarget(true), None)
		}, []float64{math.Exp(-2) * (-2 + 1)}},
		{"kl_div mean over elements", func() (*tensor.Tensor, error) {
			return KLDiv(tensor.MustNew([]float64{-1, -1, -1, -1}, 2, 2), tensor.MustNew([]float64{1, 1, 1, 1}, 2, 2))
		}, []float64{1}},
		{"kl_div batchmean divides by input.size(0)", func() (*tensor.Tensor, error) {
			return KLDiv(tensor.MustNew([]float64{-1, -1, -1, -1}, 2, 2), tensor.MustNew([]float64{1, 1, 1, 1}, 2, 2), BatchMean)
		}, []float64{2}},
		{"kl_div batchmean with a larger target", func() (*tensor.Tensor, error) {
			return KLDiv(tensor.MustNew([]float64{-1, -1}), tensor.MustNew([]float64{1, 1, 1, 1, 1, 1}, 3, 2), BatchMean)
		}, []float64{3}},
		{"kl_div batchmean of a 0-d input is not divided", func() (*tensor.Tensor, error) {
			return KLDiv(tensor.Scalar(-1.0), tensor.MustNew([]float64{1, 1, 1}), BatchMean)
		}, []float64{3}},
		{"kl_div batchmean of an empty batch", func() (*tensor.Tensor, error) {
			return KLDiv(tensor.MustNew([]float64{}, 0, 3), tensor.MustNew([]float64{}, 0, 3), BatchMean)
		}, []float64{math.NaN()}},
		{"empty mean is NaN", func() (*tensor.Tensor, error) {
			return PoissonNLLLoss(tensor.MustNew([]float32{}), tensor.MustNew([]float32{}))
		}, []float64{math.NaN()}},
		{"empty sum is 0", func() (*tensor.Tensor, error) {
			return GaussianNLLLoss(tensor.MustNew([]float32{}), tensor.MustNew([]float32{}), tensor.MustNew([]float32{}), Sum)
		}, []float64{0}},
	}
	for _, c := range cases {
		out, err := c.f()
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		lkCheck(t, c.name, out, c.want)
	}
}

func TestLikelihoodErrors(t *testing.T) {
	f := func(v ...float64) *tensor.Tensor { return tensor.MustNew(v) }
	cases := []struct {
		name string
		err  error
		kind *torchloss.Kind
	}{}
	add := func(name string, kind *torchloss.Kind, _ *tensor.Tensor, err error) {
		cases = append(cases, struct {
			name string
			err  error
			kind *torchloss.Kind
		}{name, err, kind})
	}
	x23 := tensor.MustNew([]float64{1, 2, 3, 4, 5, 6}, 2, 3)
	out, err := PoissonNLLLoss(f(1, 2, 3), f(1, 2), None)
	add("poisson broadcast", torchloss.ErrShape, out, err)
	out, err = PoissonNLLLoss(f(1), f(1), BatchMean)
	add("poisson batchmean", torchloss.ErrOption, out, err)
	out, err = PoissonNLLLoss(f(1), f(1), Reduction("bogus"))
	add("poisson reduction", torchloss.ErrOption, out, err)
	out, err = PoissonNLLLoss(f(1), f(1), LogTarget(true))
	add("poisson unexpected option", torchloss.ErrOption, out, err)
	out, err = PoissonNLLLoss(nil, f(1))
	add("poisson nil input", torchloss.ErrValue, out, err)
	out, err = PoissonNLLLoss(f(1), tensor.MustNew([]bool{true}), Full(true))
	add("poisson bool target with full", torchloss.ErrDType, out, err)
	out, err = PoissonNLLLoss(tensor.MustNew([]bool{true}), f(1), LogInput(false))
	add("poisson bool rate", torchloss.ErrDType, out, err)
	out, err = GaussianNLLLoss(f(1, 2), f(1, 2), f(1, -0.5))
	add("gaussian negative var", torchloss.ErrValue, out, err)
	out, err = GaussianNLLLossScalarVar(f(1, 2), f(1, 2), -1)
	add("gaussian negative scalar var", torchloss.ErrValue, out, err)
	out, err = GaussianNLLLoss(x23, x23, f(1, 2, 3))
	add("gaussian var (3) for input (2,3)", torchloss.ErrShape, out, err)
	out, err = GaussianNLLLoss(x23, x23, tensor.Scalar(1.0))
	add("gaussian 0-d var for 2-D input", torchloss.ErrShape, out, err)
	out, err = GaussianNLLLoss(x23, x23, tensor.MustNew([]float64{1, 2}, 1, 2))
	add("gaussian var (1,2) for input (2,3)", torchloss.ErrShape, out, err)
	out, err = GaussianNLLLoss(x23, tensor.MustNew([]float64{1, 2}), x23)
	add("gaussian target broadcast", torchloss.ErrShape, out, err)
	out, err = GaussianNLLLoss(f(1), f(1), tensor.MustNew([]int64{1}))
	add("gaussian integer var", torchloss.ErrDType, out, err)
	out, err = GaussianNLLLoss(f(1), f(1), nil)
	add("gaussian nil var", torchloss.ErrValue, out, err)
	out, err = GaussianNLLLoss(f(1), f(1), f(1), BatchMean)
	add("gaussian batchmean", torchloss.ErrOption, out, err)
	out, err = GaussianNLLLoss(f(1), f(1), f(1), LogInput(true))
	add("gaussian unexpected option", torchloss.ErrOption, out, err)
	out, err = KLDiv(tensor.MustNew([]int64{1}), f(1))
	add("kl_div integer input", torchloss.ErrDType, out, err)
	out, err = KLDiv(f(1), tensor.MustNew([]bool{true}))
	add("kl_div bool target", torchloss.ErrDType, out, err)
	out, err = KLDiv(tensor.MustNew([]float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, 3, 4), tensor.MustNew([]float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}, 3, 5))
	add("kl_div broadcast", torchloss.ErrShape, out, err)
	out, err = KLDiv(f(1), f(1), Eps(1))
	add("kl_div unexpected option", torchloss.ErrOption, out, err)
	for _, c := range cases {
		if !errors.Is(c.err, c.kind) {
			t.Errorf("%s: got error %v, want kind %v", c.name, c.err, c.kind)
		}
	}
}

// lkNumGrad checks the gradients of loss(args) for the upstream gradient
// up against central differences, for every argument that requires a
// gradient (float64).
func lkNumGrad(t *testing.T, name string, loss func(args []*tensor.Tensor) (*tensor.Tensor, error), args []*tensor.Tensor, up []float64) {
	t.Helper()
	out, err := loss(args)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if err := out.BackwardWith(tensor.MustNew(up, out.Shape()...)); err != nil {
		t.Fatalf("%s: backward: %v", name, err)
	}
	eval := func(a []*tensor.Tensor) float64 {
		o, err := loss(a)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		s := 0.0
		for i, v := range o.Values() {
			s += v * up[i]
		}
		return s
	}
	for k, a := range args {
		if !a.RequiresGrad() {
			continue
		}
		g := a.Grad()
		if g == nil {
			t.Fatalf("%s: argument %d got no gradient", name, k)
		}
		gv := g.Values()
		for i := range a.Values() {
			h := 1e-6
			shifted := func(d float64) float64 {
				c := make([]*tensor.Tensor, len(args))
				copy(c, args)
				v := a.Values()
				v[i] += d
				c[k] = tensor.MustNew(v, a.Shape()...)
				return eval(c)
			}
			num := (shifted(h) - shifted(-h)) / (2 * h)
			if math.Abs(num-gv[i]) > 1e-6*(1+math.Abs(num)) {
				t.Errorf("%s: d/d arg%d[%d] = %v, numerical %v", name, k, i, gv[i], num)
			}
		}
	}
}

func TestLikelihoodGradients(t *testing.T) {
	up := func(n int) []float64 {
		u := make([]float64, n)
		for i := range u {
			u[i] = 0.5 + 0.25*float64(i%3)
		}
		return u
	}
	for _, full := range []bool{false, true} {
		for _, logIn := range []bool{true, false} {
			for _, r := range []Reduction{None, Mean} {
				args := []*tensor.Tensor{
					lkGrad([]float64{0.3, 1.7, 2.5, 0.9, 1.1, 0.2}, 2, 3),
					lkGrad([]float64{0.5, 2, 3.5, 1.5, 4, 7}, 2, 3),
				}
				n := 6
				if r != None {
					n = 1
				}
				lkNumGrad(t, "poisson", func(a []*tensor.Tensor) (*tensor.Tensor, error) {
					return PoissonNLLLoss(a[0], a[1], Full(full), LogInput(logIn), Eps(0.01), r)
				}, args, up(n))
			}
		}
	}
	// Broadcast target and var: gradients summed back to their shapes.
	for _, full := range []bool{false, true} {
		args := []*tensor.Tensor{
			lkGrad([]float64{0.3, -1.7, 2.5, 0.9, 1.1, 0.2}, 2, 3),
			lkGrad([]float64{0.5, 2, -1}, 3),
			lkGrad([]float64{0.7, 2.5}, 2),
		}
		lkNumGrad(t, "gaussian", func(a []*tensor.Tensor) (*tensor.Tensor, error) {
			return GaussianNLLLoss(a[0], a[1], a[2], Full(full), None)
		}, args, up(6))
	}
	args := []*tensor.Tensor{lkGrad([]float64{0.3, -1.7, 2.5, 0.9}, 2, 2), lkGrad([]float64{0.5, 2, 1, 3}, 2, 2), lkGrad([]float64{0.7, 2.5}, 1, 2)}
	lkNumGrad(t, "gaussian sum", func(a []*tensor.Tensor) (*tensor.Tensor, error) {
		return GaussianNLLLoss(a[0], a[1], a[2], Sum)
	}, args, up(1))
	for _, logT := range []bool{false, true} {
		for _, r := range []Reduction{None, BatchMean} {
			args := []*tensor.Tensor{
				lkGrad([]float64{-0.3, -1.7, -2.5, -0.9, -1.1, -0.2}, 2, 3),
				lkGrad([]float64{0.5, 0.2, 0.3}, 3),
			}
			n := 6
			if r != None {
				n = 1
			}
			lkNumGrad(t, "kl_div", func(a []*tensor.Tensor) (*tensor.Tensor, error) {
				return KLDiv(a[0], a[1], LogTarget(logT), r)
			}, args, up(n))
		}
	}
}

func TestLikelihoodGradientQuirks(t *testing.T) {
	// poisson full=True: the target gradient is NaN at t == 0 (and for
	// t < 0), 0 + main branch for 0 < t <= 1; the input gradient is
	// unaffected.
	x := lkGrad([]float64{0.5, 0.5, 0.5})
	y := lkGrad([]float64{0, 0.5, -1})
	out, err := PoissonNLLLoss(x, y, Full(true), Sum)
	if err != nil {
		t.Fatal(err)
	}
	if err := out.Backward(); err != nil {
		t.Fatal(err)
	}
	lkCheck(t, "poisson d/dt", y.Grad(), []float64{math.NaN(), -0.5, math.NaN()})
	e := math.Exp(0.5)
	lkCheck(t, "poisson d/dx", x.Grad(), []float64{e, e - 0.5, e + 1})

	// kl_div: the target gradient is NaN at t == 0 (0/0), log t + 1 − x
	// elsewhere; the input gradient is −t.
	x = lkGrad([]float64{-1, -1})
	y = lkGrad([]float64{0, 0.5})
	out, err = KLDiv(x, y, Sum)
	if err != nil {
		t.Fatal(err)
	}
	if err := out.Backward(); err != nil {
		t.Fatal(err)
	}
	lkCheck(t, "kl_div d/dt", y.Grad(), []float64{math.NaN(), math.Log(0.5) + 2})
	lkCheck(t, "kl_div d/dx", x.Grad(), []float64{0, -0.5})

	// gaussian: the clamp is hidden from autograd: var = 0, eps = 1e-6,
	// x − t = 1 gives ∂var = 0.5·(1/eps − 1/eps²) (docs/semantics.md §2.8, float32).
	xi := tensor.MustNew([]float32{1})
	ti := tensor.MustNew([]float32{0})
	v := tensor.MustNew([]float32{0})
	if err := v.SetRequiresGrad(true); err != nil {
		t.Fatal(err)
	}
	out, err = GaussianNLLLoss(xi, ti, v, Sum)
	if err != nil {
		t.Fatal(err)
	}
	if err := out.Backward(); err != nil {
		t.Fatal(err)
	}
	lkCheck(t, "gaussian d/dvar", v.Grad(), []float64{-4.99999506e11})
}

func TestGaussianVarShapeQuirk(t *testing.T) {
	// PyTorch 2.11 sums var's sizes at the mismatching dimensions: a 0 and
	// a 1 sum to 1, so var (0, 1) passes for input (1, 3) and broadcasts the
	// loss to (0, 3).
	x := lkGrad([]float64{1, 2, 3}, 1, 3)
	v := lkGrad([]float64{}, 0, 1)
	out, err := GaussianNLLLoss(x, tensor.MustNew([]float64{0, 0, 0}, 1, 3), v, None)
	if err != nil {
		t.Fatal(err)
	}
	if s := out.Shape(); len(s) != 2 || s[0] != 0 || s[1] != 3 {
		t.Fatalf("shape %v, want [0 3]", s)
	}
	sum, err := GaussianNLLLoss(x, tensor.MustNew([]float64{0, 0, 0}, 1, 3), v, Sum)
	if err != nil {
		t.Fatal(err)
	}
	lkCheck(t, "sum", sum, []float64{0})
	if err := sum.Backward(); err != nil {
		t.Fatal(err)
	}
	lkCheck(t, "d/dx", x.Grad(), []float64{0, 0, 0})
	if g := v.Grad(); g == nil || g.Numel() != 0 {
		t.Errorf("d/dvar = %v, want an empty (0, 1) gradient", g)
	}
}

func TestLikelihoodMixedDTypes(t *testing.T) {
	// exp(x) runs in input's dtype: a float32 input with a float64 target
	// gives float32(exp(x)) − t·x in float64.
	x := tensor.MustNew([]float32{0.3})
	y := tensor.MustNew([]float64{1.1})
	out, err := PoissonNLLLoss(x, y, Sum)
	if err != nil {
		t.Fatal(err)
	}
	if out.DType() != tensor.Float64 {
		t.Fatalf("dtype %v, want float64", out.DType())
	}
	want := float64(float32(math.Exp(float64(float32(0.3))))) - 1.1*float64(float32(0.3))
	if got := out.Values()[0]; got != want {
		t.Errorf("mixed poisson = %v, want %v", got, want)
	}
	// Two integer tensors give a float32 loss.
	out, err = PoissonNLLLoss(tensor.MustNew([]int64{1}), tensor.MustNew([]int64{2}), Sum)
	if err != nil {
		t.Fatal(err)
	}
	if out.DType() != tensor.Float32 {
		t.Errorf("int poisson dtype %v, want float32", out.DType())
	}
	// A float32 var keeps log(var) in float32 inside a float64 loss.
	out, err = GaussianNLLLoss(tensor.MustNew([]float64{0}), tensor.MustNew([]float64{0}), tensor.MustNew([]float32{3}), Sum)
	if err != nil {
		t.Fatal(err)
	}
	if want := 0.5 * float64(float32(math.Log(3))); out.Values()[0] != want {
		t.Errorf("mixed gaussian = %v, want %v", out.Values()[0], want)
	}
}
