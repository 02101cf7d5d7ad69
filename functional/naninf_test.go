package functional_test

// Tests for every place the README's "NaN and infinity" section lists where a loss or its gradient
// is NaN or ±inf (or, where PyTorch guards against it, stays finite), with
// values from docs/semantics.md (§2–§6) or PyTorch.

import (
	"math"
	"testing"

	"github.com/torchloss/torchloss/functional"
	"github.com/torchloss/torchloss/tensor"
)

var (
	nan  = math.NaN()
	pinf = math.Inf(1)
	ninf = math.Inf(-1)
)

// leaf is a float32 leaf requiring a gradient.
func leaf(t *testing.T, v []float32, shape ...int) *tensor.Tensor {
	t.Helper()
	x := tensor.MustNew(v, shape...)
	if err := x.SetRequiresGrad(true); err != nil {
		t.Fatal(err)
	}
	return x
}

// same reports whether got equals want, NaN equal to NaN and the sign of
// zero ignored unless wantNegZero.
func same(got, want float64) bool {
	if math.IsNaN(want) {
		return math.IsNaN(got)
	}
	return got == want
}

func expectValues(t *testing.T, what string, got *tensor.Tensor, want ...float64) {
	t.Helper()
	if got == nil {
		t.Fatalf("%s: nil tensor", what)
	}
	v := got.Values()
	if len(v) != len(want) {
		t.Fatalf("%s: %d values %v, want %v", what, len(v), v, want)
	}
	for i := range v {
		if !same(v[i], want[i]) {
			t.Errorf("%s[%d] = %v, want %v (all: %v)", what, i, v[i], want[i], v)
		}
	}
}

// ok returns a function that takes a loss's result, fails on its error and
// runs its backward with an upstream of ones when it requires a gradient.
func ok(t *testing.T) func(*tensor.Tensor, error) *tensor.Tensor {
	return func(out *tensor.Tensor, err error) *tensor.Tensor {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		ones, _ := tensor.Ones(out.DType(), out.Shape()...)
		if out.RequiresGrad() {
			if err := out.BackwardWith(ones); err != nil {
				t.Fatal(err)
			}
		}
		return out
	}
}

func f32s(v ...float32) *tensor.Tensor { return tensor.MustNew(v) }

func TestNaNInfBinaryCrossEntropy(t *testing.T) {
	// The logs clamp at −100: x = 0 or 1 against the opposite target is 100,
	// not inf; the input gradient's denominator clamps at 1e-12: ∓1e12.
	x := leaf(t, []float32{0, 1, 0, 1})
	y := leaf(t, []float32{1, 0, 0, 1})
	out := ok(t)(functional.BinaryCrossEntropy(x, y, functional.None))
	expectValues(t, "loss", out, 100, 100, 0, 0)
	expectValues(t, "dx", x.Grad(), -999999995904, 999999995904, 0, 0)
	// The target gradient is −logit(x): +inf at x = 0, −inf at x = 1.
	expectValues(t, "dy", y.Grad(), pinf, ninf, pinf, ninf)
	// NaN input fails the range check (an error, not a NaN loss).
	if _, err := functional.BinaryCrossEntropy(f32s(float32(nan)), f32s(0)); err == nil {
		t.Error("NaN input: no error")
	}
	// Mean of an empty input is NaN (0/0), sum is 0.
	e := f32s()
	expectValues(t, "empty mean", ok(t)(functional.BinaryCrossEntropy(e, e)), nan)
	expectValues(t, "empty sum", ok(t)(functional.BinaryCrossEntropy(e, e, functional.Sum)), 0)
}

func TestNaNInfBCEWithLogits(t *testing.T) {
	// Large logits are stable (docs/semantics.md §6): x = 1e4, t = 0 is exactly 1e4.
	x := leaf(t, []float32{-100, -20, 30, 1e4})
	out := ok(t)(functional.BinaryCrossEntropyWithLogits(x, f32s(0, 1, 0.5, 0), functional.None))
	expectValues(t, "loss", out, 0, 20, 15, 10000)
	for i, g := range x.Grad().Values() {
		if math.IsNaN(g) || math.IsInf(g, 0) {
			t.Errorf("dx[%d] = %v", i, g)
		}
	}
	e := f32s()
	expectValues(t, "empty mean", ok(t)(functional.BinaryCrossEntropyWithLogits(e, e)), nan)
}

func TestNaNInfPoisson(t *testing.T) {
	// full=True and t = 0: the target gradient is NaN in both log_input
	// modes (0·log 0 in the masked Stirling term); the input's is finite.
	for _, logInput := range []bool{true, false} {
		x := leaf(t, []float32{0.5, 2})
		y := leaf(t, []float32{0, 3})
		ok(t)(functional.PoissonNLLLoss(x, y, functional.Full(true), functional.LogInput(logInput), functional.None))
		if g := y.Grad().Values(); !math.IsNaN(g[0]) || math.IsNaN(g[1]) {
			t.Errorf("log_input=%v: target gradient %v, want NaN at t=0 only", logInput, g)
		}
		for _, g := range x.Grad().Values() {
			if math.IsNaN(g) {
				t.Errorf("log_input=%v: input gradient %v", logInput, x.Grad().Values())
			}
		}
	}
	// log_input=False: log of a negative input is NaN (no check), and so is
	// the target gradient −log(x + eps).
	x := leaf(t, []float32{-1, 0, 2})
	y := leaf(t, []float32{1, 0, 3})
	out := ok(t)(functional.PoissonNLLLoss(x, y, functional.LogInput(false), functional.None))
	if v := out.Values(); !math.IsNaN(v[0]) || math.IsNaN(v[1]) || math.IsNaN(v[2]) {
		t.Errorf("log_input=False loss %v, want NaN only at x = -1", v)
	}
	if g := y.Grad().Values(); !math.IsNaN(g[0]) {
		t.Errorf("target gradient %v, want NaN at x = -1", g)
	}
	// log_input=True: exp(x) overflows to inf (x = 100 in float32), and so
	// does the input gradient exp(x) − t.
	x = leaf(t, []float32{100})
	out = ok(t)(functional.PoissonNLLLoss(x, f32s(1), functional.None))
	expectValues(t, "exp overflow", out, pinf)
	expectValues(t, "exp overflow dx", x.Grad(), pinf)
}

func TestNaNInfGaussian(t *testing.T) {
	// var is clamped at eps (docs/semantics.md §6): var = 1e-9 and 0 give large finite
	// losses; the var gradient is taken at the clamped value and passed
	// through: −4.99999506e11 at var = 0, (x−t) = 1.
	v := leaf(t, []float32{1, 0.5, 2, 1e-9, 0, 4}, 2, 3)
	x := tensor.MustNew([]float32{0, 1, 2, 3, -1, 0.5}, 2, 3)
	y := tensor.MustNew([]float32{0.5, 1, 0, 2, 1, 0.5}, 2, 3)
	out := ok(t)(functional.GaussianNLLLoss(x, y, v, functional.None))
	expectValues(t, "loss", out, 0.125, -0.3465735912322998, 1.3465735912322998, 499993.09375, 1999993.125, 0.6931471824645996)
	v2 := leaf(t, []float32{0})
	ok(t)(functional.GaussianNLLLoss(f32s(1), f32s(0), v2, functional.None))
	if g := v2.Grad().Values()[0]; math.Abs(g/-4.99999506e11-1) > 1e-6 {
		t.Errorf("var gradient at the clamp = %v, want -4.99999506e11", g)
	}
	// With eps = 0 the clamp does not help: var = 0 gives log 0 + 1/0 =
	// −inf + inf = NaN, and a NaN var gradient.
	v3 := leaf(t, []float32{0, 0})
	out = ok(t)(functional.GaussianNLLLoss(f32s(1, 1), f32s(0, 0), v3, functional.Eps(0), functional.None))
	expectValues(t, "eps=0 loss", out, nan, nan)
	expectValues(t, "eps=0 dvar", v3.Grad(), nan, nan)
	e := f32s()
	expectValues(t, "empty mean", ok(t)(functional.GaussianNLLLossScalarVar(e, e, 1)), nan)
}

func TestNaNInfCosineEmbedding(t *testing.T) {
	// ε = 1e-12 keeps a zero vector's cosine at 0, but its gradient through
	// sqrt(m1·m2) is huge and finite: 577350.25 per component (docs/semantics.md §2.4).
	x1 := leaf(t, []float32{0, 0, 0}, 1, 3)
	x2 := tensor.MustNew([]float32{1, 1, 1}, 1, 3)
	out := ok(t)(functional.CosineEmbeddingLoss(x1, x2, f32s(-1), functional.Sum))
	expectValues(t, "loss", out, 0)
	expectValues(t, "dx1", x1.Grad(), 577350.25, 577350.25, 577350.25)
}

func TestNaNInfNLLAndCrossEntropy(t *testing.T) {
	x := leaf(t, []float32{-1, -2, -3, -4}, 2, 2)
	ign := tensor.MustNew([]int64{-100, -100})
	// Every target ignored: mean is 0/0 = NaN, the gradient zero.
	expectValues(t, "nll all ignored", ok(t)(functional.NLLLoss(x, ign)), nan)
	expectValues(t, "nll all ignored dx", x.Grad(), 0, 0, 0, 0)
	x.ZeroGrad()
	expectValues(t, "ce all ignored", ok(t)(functional.CrossEntropy(x, ign)), nan)
	expectValues(t, "ce all ignored dx", x.Grad(), 0, 0, 0, 0)
	// Weights that sum to zero over the targets: mean is NaN, and so is the
	// gradient at the targets (−w/Σw = 0/0), zero elsewhere.
	x.ZeroGrad()
	out := ok(t)(functional.NLLLoss(x, tensor.MustNew([]int64{0, 1}), functional.Weight(f32s(0, 0))))
	expectValues(t, "nll zero weights", out, nan)
	expectValues(t, "nll zero weights dx", x.Grad(), nan, 0, 0, nan)
	// Empty target: mean NaN, sum 0.
	e := tensor.MustNew([]float32{}, 0, 3)
	et := tensor.MustNew([]int64{})
	expectValues(t, "ce empty mean", ok(t)(functional.CrossEntropy(e, et)), nan)
	expectValues(t, "ce empty sum", ok(t)(functional.CrossEntropy(e, et, functional.Sum)), 0)
	// log_softmax of a row with +inf is NaN (inf − inf) for the whole row,
	// and so is its gradient; −inf at the target class gives +inf.
	x2 := leaf(t, []float32{0, float32(pinf), 1, 1, float32(ninf), 0}, 2, 3)
	out = ok(t)(functional.CrossEntropy(x2, tensor.MustNew([]int64{0, 1}), functional.None))
	expectValues(t, "ce inf logits", out, nan, pinf)
	if g := x2.Grad().Values(); !math.IsNaN(g[0]) || !math.IsNaN(g[1]) || !math.IsNaN(g[2]) || math.IsNaN(g[3]) || g[4] != -1 {
		t.Errorf("ce inf logits gradient %v, want NaN row 0, finite row 1 with -1 at the target", g)
	}
}

func TestNaNInfCTC(t *testing.T) {
	lp := func() *tensor.Tensor {
		v := []float32{
			-0.6041306257247925, -1.1041306257247925, -2.104130506515503,
			-2.2395448684692383, -0.23954476416110992, -2.2395448684692383,
			-1.4643688201904297, -1.9643688201904297, -0.4643687903881073,
			-0.40760597586631775, -2.4076058864593506, -1.4076060056686401,
		}
		return leaf(t, v, 4, 1, 3)
	}
	rep := tensor.MustNew([]int64{1, 1}, 1, 2)
	// targets [1, 1] need a blank between the repeats: T = 2 is infeasible,
	// +inf, and every frame t < L of its gradient is NaN (docs/semantics.md §2.7, §6).
	x := lp()
	out := ok(t)(functional.CTCLossInts(x, rep, []int64{2}, []int64{2}, functional.Sum))
	expectValues(t, "infeasible", out, pinf)
	g := x.Grad().Values()
	for i, v := range g {
		if (i < 6) != math.IsNaN(v) {
			t.Errorf("infeasible gradient[%d] = %v, want NaN for t < 2 only", i, v)
		}
	}
	// ZeroInfinity: the loss and its gradient are 0.
	x = lp()
	out = ok(t)(functional.CTCLossInts(x, rep, []int64{2}, []int64{2}, functional.Sum, functional.ZeroInfinity(true)))
	expectValues(t, "zero_infinity", out, 0)
	expectValues(t, "zero_infinity grad", x.Grad(), make([]float64, 12)...)
	// Mean propagates the +inf.
	expectValues(t, "infeasible mean", ok(t)(functional.CTCLossInts(lp().Detach(), rep, []int64{2}, []int64{2})), pinf)
	// input_length 0: +inf with a target, −0.0 without; zero gradient.
	x = lp()
	out = ok(t)(functional.CTCLossInts(x, rep, []int64{0}, []int64{2}, functional.Sum))
	expectValues(t, "L=0", out, pinf)
	expectValues(t, "L=0 grad", x.Grad(), make([]float64, 12)...)
	out = ok(t)(functional.CTCLossInts(lp(), tensor.MustNew([]int64{}, 1, 0), []int64{0}, []int64{0}, functional.None))
	if v := out.Values()[0]; v != 0 || !math.Signbit(v) {
		t.Errorf("L=0, S=0: %v, want -0.0", v)
	}
	// The feasible T = 4 case is finite (docs/semantics.md §6).
	expectValues(t, "feasible", ok(t)(functional.CTCLossInts(lp().Detach(), tensor.MustNew([]int64{1, 2}, 1, 2), []int64{4}, []int64{2}, functional.Sum)), 0.6775621771812439)
}

func TestNaNInfKLDiv(t *testing.T) {
	// docs/semantics.md §6: t < 0 is NaN (t·log t); t = 0 is 0 unless x = ±inf (0·inf).
	x := leaf(t, []float32{-1, -2, float32(ninf), -0.5, 0, -3, -1, 2}, 2, 4)
	y := leaf(t, []float32{0.5, 0, 0, 0.5, 0.2, 0.3, -0.1, 0.6}, 2, 4)
	out := ok(t)(functional.KLDiv(x, y, functional.None))
	expectValues(t, "loss", out, 0.1534264087677002, 0, nan, -0.0965735912322998, -0.3218875825405121, 0.5388081669807434, nan, -1.506495475769043)
	// The target gradient log t + 1 − x is NaN at t = 0 (0/0).
	gy := y.Grad().Values()
	for _, i := range []int{1, 2} {
		if !math.IsNaN(gy[i]) {
			t.Errorf("target gradient at t = 0: %v", gy)
		}
	}
	if math.IsNaN(gy[0]) {
		t.Errorf("target gradient at t = 0.5 is NaN: %v", gy)
	}
	// batchmean of an empty batch is 0/0.
	e := tensor.MustNew([]float32{}, 0, 3)
	expectValues(t, "empty batchmean", ok(t)(functional.KLDiv(e, e, functional.BatchMean)), nan)
}

func TestNaNInfSoftMargin(t *testing.T) {
	// log1p(exp(−t·x)) overflows: x = −100, t = 1 is inf in float32, and the
	// gradient (t·z)/(z+1) with z = inf is NaN (docs/semantics.md §3.4).
	x := leaf(t, []float32{-100, 0, 100})
	out := ok(t)(functional.SoftMarginLoss(x, f32s(1, 1, 1), functional.None))
	if v := out.Values(); !math.IsInf(v[0], 1) || math.IsInf(v[1], 0) || v[2] <= 0 || v[2] > 1e-40 {
		t.Errorf("loss %v, want +inf, finite, a float32 subnormal", v)
	}
	if g := x.Grad().Values(); !math.IsNaN(g[0]) || math.IsNaN(g[1]) || math.IsNaN(g[2]) {
		t.Errorf("gradient %v, want NaN only where exp overflows", g)
	}
	// multilabel_soft_margin_loss uses a stable log-sigmoid: finite.
	x2 := leaf(t, []float32{1e4, -1e4}, 1, 2)
	out = ok(t)(functional.MultilabelSoftMarginLoss(x2, tensor.MustNew([]float32{0, 1}, 1, 2)))
	expectValues(t, "multilabel", out, 10000)
	expectValues(t, "multilabel dx", x2.Grad(), 0.5, -0.5)
}

func TestNaNInfRegressionAndMargins(t *testing.T) {
	// Squares overflow to inf (and so does the gradient 2(x − y) past
	// float32's range); NaN inputs propagate.
	x := leaf(t, []float32{3e38, float32(nan)})
	out := ok(t)(functional.MSELoss(x, f32s(-3e38, 0), functional.None))
	expectValues(t, "mse", out, pinf, nan)
	expectValues(t, "mse dx", x.Grad(), pinf, nan)
	// multi_margin_loss with p = 2 squares the margin term.
	x2 := tensor.MustNew([]float32{1e20, 0}, 1, 2)
	expectValues(t, "multi_margin p=2", ok(t)(functional.MultiMarginLoss(x2, tensor.MustNew([]int64{1}), functional.P(2))), pinf)
	// Mean of empty is NaN for the elementwise losses; sum is 0.
	e := f32s()
	for name, f := range map[string]func(a, b *tensor.Tensor, o ...functional.Option) (*tensor.Tensor, error){
		"l1": functional.L1Loss, "mse": functional.MSELoss, "smooth_l1": functional.SmoothL1Loss,
		"huber": functional.HuberLoss, "soft_margin": functional.SoftMarginLoss, "hinge": functional.HingeEmbeddingLoss,
		"poisson": functional.PoissonNLLLoss, "kl_div": functional.KLDiv,
	} {
		expectValues(t, name+" empty mean", ok(t)(f(e, e)), nan)
		expectValues(t, name+" empty sum", ok(t)(f(e, e, functional.Sum)), 0)
	}
	expectValues(t, "margin_ranking empty mean", ok(t)(functional.MarginRankingLoss(e, e, e)), nan)
	// multi_margin_loss refuses an empty batch with a reduction (PyTorch
	// returns uninitialized memory).
	if _, err := functional.MultiMarginLoss(tensor.MustNew([]float32{}, 0, 3), tensor.MustNew([]int64{})); err == nil {
		t.Error("multi_margin_loss empty mean: no error")
	}
}

func TestNaNInfTriplet(t *testing.T) {
	// pairwise_distance adds eps to the difference, so identical anchor and
	// positive give a finite distance and a finite gradient.
	a := leaf(t, []float32{0, 0, 0, 0, 0, 0}, 2, 3)
	n := tensor.MustNew([]float32{1, 1, 1, 1, 1, 1}, 2, 3)
	ok(t)(functional.TripletMarginLoss(a, a, n))
	for _, g := range a.Grad().Values() {
		if math.IsNaN(g) || math.IsInf(g, 0) {
			t.Errorf("triplet gradient %v", a.Grad().Values())
			break
		}
	}
}
