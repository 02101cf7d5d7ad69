package functional

import (
	"testing"

	"github.com/torchloss/torchloss/tensor"
)

// TestL1WeightedBroadcast checks the weighted mean Σ(|x−t|·w)/Σw with input
// (4,1), target (1,3) and weight (4,1), and the gradients of all three,
// against PyTorch's autograd of that composite (float64).
func TestL1WeightedBroadcast(t *testing.T) {
	x := tensor.MustNew([]float64{0.5, -1, 2, 0}, 4, 1)
	y := tensor.MustNew([]float64{0, 1, -0.5}, 1, 3)
	w := tensor.MustNew([]float64{1, 2, 0.5, 3}, 4, 1)
	for _, a := range []*tensor.Tensor{x, y, w} {
		if err := a.SetRequiresGrad(true); err != nil {
			t.Fatal(err)
		}
	}
	loss, err := L1Loss(x, y, Weight(w))
	if err != nil {
		t.Fatal(err)
	}
	if err := loss.Backward(); err != nil {
		t.Fatal(err)
	}
	if v, _ := loss.Item(); v != 2.5 {
		t.Errorf("loss %v, want 2.5", v)
	}
	for _, c := range []struct {
		name string
		got  *tensor.Tensor
		want []float64
	}{
		{"input", x.Grad(), []float64{0.15384615384615385, -0.9230769230769231, 0.23076923076923078, 0}},
		{"target", y.Grad(), []float64{0.07692307692307693, 0.8461538461538463, -0.38461538461538464}},
		{"weight", w.Grad(), []float64{-0.07692307692307693, 0.1538461538461539, 0.4615384615384616, -0.15384615384615385}},
	} {
		if !allClose(c.got.Values(), c.want, 1e-14, 1e-12) {
			t.Errorf("grad %s = %v, want %v", c.name, c.got.Values(), c.want)
		}
	}
}
