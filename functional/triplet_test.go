package functional

import (
	"errors"
	"math"
	"testing"

	"github.com/torchloss/torchloss"
	"github.com/torchloss/torchloss/tensor"
)

func TestTripletMarginLossValues(t *testing.T) {
	// a = 0, p = (3, 4), n = (0, 1), eps = 0: d_pos = 5, d_neg = 1,
	// loss = max(1 + 5 − 1, 0) = 5; with the swap, d(p, n) = √(9+9) > 1.
	a := tensor.MustNew([]float64{0, 0}, 2)
	p := tensor.MustNew([]float64{3, 4}, 2)
	n := tensor.MustNew([]float64{0, 1}, 2)
	out, err := TripletMarginLoss(a, p, n, Eps(0))
	if err != nil {
		t.Fatal(err)
	}
	if out.Dim() != 0 {
		t.Errorf("unbatched: shape %v, want 0-d", out.Shape())
	}
	opEqual(t, "eps 0", out.Values(), []float64{5})

	// The default eps is added to the difference: d_pos = ‖(−3+ε, −4+ε)‖,
	// d_neg = ‖(ε, −1+ε)‖.
	eps := 1e-6
	want := 1 + math.Hypot(-3+eps, -4+eps) - math.Hypot(eps, -1+eps)
	out, err = TripletMarginLoss(a, p, n)
	if err != nil {
		t.Fatal(err)
	}
	opEqual(t, "default eps", out.Values(), []float64{want})

	// Swap picks d(p, n) when it is smaller: n close to p.
	n2 := tensor.MustNew([]float64{3, 4.5}, 2)
	out, err = TripletMarginLoss(a, p, n2, Eps(0), Swap(true), Margin(0.5), None)
	if err != nil {
		t.Fatal(err)
	}
	opEqual(t, "swap", out.Values(), []float64{0.5 + 5 - 0.5})

	// p = 1, batch of two, sum; the second triplet is satisfied (loss 0).
	ab := tensor.MustNew([]float64{0, 0, 0, 0}, 2, 2)
	pb := tensor.MustNew([]float64{1, 1, 0, 1}, 2, 2)
	nb := tensor.MustNew([]float64{2, 0, 5, 5}, 2, 2)
	out, err = TripletMarginLoss(ab, pb, nb, P(1), Eps(0), Sum)
	if err != nil {
		t.Fatal(err)
	}
	opEqual(t, "p=1 sum", out.Values(), []float64{1 + 2 - 2})
}

// tripletInputs returns three float64 (4, 3) leaves.
func tripletInputs(t *testing.T) (a, p, n *tensor.Tensor) {
	a = opLeaf(t, []float64{0.1, -0.4, 0.9, 1.2, 0.3, -0.8, -0.5, 0.7, 0.2, 0.0, 0.6, -1.1}, 4, 3)
	p = opLeaf(t, []float64{0.3, -0.1, 0.5, 0.9, 0.8, -0.2, -0.1, 0.4, 1.0, 0.7, 0.25, -0.3}, 4, 3)
	n = opLeaf(t, []float64{0.2, 0.1, 0.6, -0.4, 0.5, 0.3, 0.8, -0.6, 0.1, 0.1, 0.5, -0.9}, 4, 3)
	return a, p, n
}

func TestTripletWithDistanceDefaultEqualsTriplet(t *testing.T) {
	for _, opts := range [][]Option{
		nil,
		{Swap(true)},
		{Margin(0.2), None},
		{Margin(2), Sum, Swap(true)},
	} {
		a1, p1, n1 := tripletInputs(t)
		a2, p2, n2 := tripletInputs(t)
		want, err := TripletMarginLoss(a1, p1, n1, opts...)
		if err != nil {
			t.Fatal(err)
		}
		got, err := TripletMarginWithDistanceLoss(a2, p2, n2, opts...)
		if err != nil {
			t.Fatal(err)
		}
		opEqual(t, "value", got.Values(), want.Values())
		g := make([]float64, want.Numel())
		for i := range g {
			g[i] = 0.5 + float64(i)
		}
		if err := want.BackwardWith(tensor.MustNew(g, want.Shape()...)); err != nil {
			t.Fatal(err)
		}
		if err := got.BackwardWith(tensor.MustNew(g, got.Shape()...)); err != nil {
			t.Fatal(err)
		}
		for i, pair := range [][2]*tensor.Tensor{{a1, a2}, {p1, p2}, {n1, n2}} {
			w, gg := pair[0].Grad().Float64s(), pair[1].Grad().Float64s()
			for j := range w {
				if w[j] != gg[j] {
					t.Errorf("input %d element %d: with-distance gradient %v, triplet_margin_loss %v", i, j, gg[j], w[j])
				}
			}
		}
	}
}

func TestTripletGradientsNumerical(t *testing.T) {
	// L1 distance built from Sub, Abs and SumDim.
	l1 := func(x1, x2 *tensor.Tensor) (*tensor.Tensor, error) {
		d, err := Sub(x1, x2)
		if err != nil {
			return nil, err
		}
		if d, err = Abs(d); err != nil {
			return nil, err
		}
		return SumDim(d, -1)
	}
	// Cosine distance 1 − x1·x2/(‖x1‖‖x2‖) built from Mul, SumDim, Norm,
	// Div and AddScalar.
	cosine := func(x1, x2 *tensor.Tensor) (*tensor.Tensor, error) {
		prod, err := Mul(x1, x2)
		if err != nil {
			return nil, err
		}
		dot, err := SumDim(prod, -1)
		if err != nil {
			return nil, err
		}
		n1, err := Norm(x1, 2, -1)
		if err != nil {
			return nil, err
		}
		n2, err := Norm(x2, 2, -1)
		if err != nil {
			return nil, err
		}
		den, err := Mul(n1, n2)
		if err != nil {
			return nil, err
		}
		sim, err := Div(dot, den)
		if err != nil {
			return nil, err
		}
		if sim, err = MulScalar(sim, -1); err != nil {
			return nil, err
		}
		return AddScalar(sim, 1)
	}
	a, p, n := tripletInputs(t)
	leaves := []*tensor.Tensor{a, p, n}
	for _, tc := range []struct {
		name string
		f    func() (*tensor.Tensor, error)
	}{
		{"l1 distance", func() (*tensor.Tensor, error) {
			return TripletMarginWithDistanceLoss(a, p, n, DistanceFunction(l1), Margin(1.3), None)
		}},
		{"l1 distance swap mean", func() (*tensor.Tensor, error) {
			return TripletMarginWithDistanceLoss(a, p, n, DistanceFunction(l1), Margin(1.3), Swap(true))
		}},
		{"cosine distance", func() (*tensor.Tensor, error) {
			return TripletMarginWithDistanceLoss(a, p, n, DistanceFunction(cosine), Margin(0.8), None)
		}},
		{"triplet p=2 swap", func() (*tensor.Tensor, error) {
			return TripletMarginLoss(a, p, n, Swap(true), Margin(0.9), None)
		}},
		{"triplet p=3", func() (*tensor.Tensor, error) { return TripletMarginLoss(a, p, n, P(3), Sum) }},
		{"triplet p=1.5", func() (*tensor.Tensor, error) { return TripletMarginLoss(a, p, n, P(1.5), Margin(2)) }},
	} {
		out, err := tc.f()
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		// Make sure the check is not vacuous: some loss is active.
		active := false
		for _, v := range out.Values() {
			active = active || v > 0
		}
		if !active {
			t.Fatalf("%s: every loss is 0: %v", tc.name, out)
		}
		opCheckGrad(t, tc.name, leaves, tc.f)
	}
}

func TestTripletErrors(t *testing.T) {
	a := tensor.MustNew([]float64{1, 2, 3, 4}, 2, 2)
	v := tensor.MustNew([]float64{1, 2}, 2)
	b3 := tensor.MustNew([]float64{1, 2, 3, 4, 5, 6}, 2, 3)
	failing := func(x1, x2 *tensor.Tensor) (*tensor.Tensor, error) {
		return nil, torchloss.Errorf(torchloss.ErrValue, "custom", "", "boom")
	}
	tests := []struct {
		name string
		f    func() (*tensor.Tensor, error)
		kind *torchloss.Kind
	}{
		{"rank", func() (*tensor.Tensor, error) { return TripletMarginLoss(a, v, a) }, torchloss.ErrShape},
		{"margin 0", func() (*tensor.Tensor, error) { return TripletMarginLoss(a, a, a, Margin(0)) }, torchloss.ErrOption},
		{"margin < 0", func() (*tensor.Tensor, error) { return TripletMarginLoss(a, a, a, Margin(-1)) }, torchloss.ErrOption},
		{"sizes", func() (*tensor.Tensor, error) { return TripletMarginLoss(a, b3, a) }, torchloss.ErrShape},
		{"bad reduction", func() (*tensor.Tensor, error) { return TripletMarginLoss(a, a, a, Reduction("x")) }, torchloss.ErrOption},
		{"no weight", func() (*tensor.Tensor, error) { return TripletMarginLoss(a, a, a, Weight(v)) }, torchloss.ErrOption},
		{"nil", func() (*tensor.Tensor, error) { return TripletMarginLoss(a, nil, a) }, torchloss.ErrValue},
		{"empty dim, p = -1", func() (*tensor.Tensor, error) {
			e := tensor.MustNew([]float64{}, 2, 0)
			return TripletMarginLoss(e, e, e, P(-1))
		}, torchloss.ErrValue},
		{"with distance: rank", func() (*tensor.Tensor, error) { return TripletMarginWithDistanceLoss(a, v, a) }, torchloss.ErrShape},
		{"with distance: margin", func() (*tensor.Tensor, error) { return TripletMarginWithDistanceLoss(a, a, a, Margin(0)) }, torchloss.ErrOption},
		{"with distance: elementwise_mean", func() (*tensor.Tensor, error) {
			return TripletMarginWithDistanceLoss(a, a, a, Reduction("elementwise_mean"))
		}, torchloss.ErrOption},
		{"with distance: p", func() (*tensor.Tensor, error) { return TripletMarginWithDistanceLoss(a, a, a, P(1)) }, torchloss.ErrOption},
		{"with distance: failing distance", func() (*tensor.Tensor, error) {
			return TripletMarginWithDistanceLoss(a, a, a, DistanceFunction(failing))
		}, torchloss.ErrValue},
	}
	for _, tc := range tests {
		_, err := tc.f()
		if !errors.Is(err, tc.kind) {
			t.Errorf("%s: error %v, want kind %v", tc.name, err, tc.kind)
		}
	}
	// Empty batch: mean is NaN, sum 0.
	e := tensor.MustNew([]float64{}, 0, 3)
	m, err := TripletMarginLoss(e, e, e)
	if err != nil || !math.IsNaN(m.Values()[0]) {
		t.Errorf("empty mean = %v, %v; want NaN", m, err)
	}
}
