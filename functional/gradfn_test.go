package functional_test

import (
	"testing"

	F "github.com/torchloss/torchloss/functional"
	"github.com/torchloss/torchloss/tensor"
)

// TestGradFnNames: the grad_fn a loss's result shows is the node PyTorch
// shows, the last operation of its composite formula where it has one
// (printed by PyTorch for the same calls; cross_entropy with label
// smoothing ends in an add, with probability targets in a negation or a
// division by the sample count, l1_loss in abs/mean/sum, a weighted
// l1/mse in mul/sum/div).
func TestGradFnNames(t *testing.T) {
	x := tensor.MustNew([]float32{0.1, -0.2, 0.3, 0.4, 0.5, -0.6, 0.7, 0.8, -0.9, 1.0, 1.1, 1.2}, 3, 4)
	if err := x.SetRequiresGrad(true); err != nil {
		t.Fatal(err)
	}
	y := tensor.MustNew([]float32{0.2, 0.1, 0.4, 0.3, 0.6, 0.5, 0.8, 0.7, 1.0, 0.9, 1.2, 1.1}, 3, 4)
	p := tensor.MustNew([]float32{0.25, 0.25, 0.25, 0.25, 0.1, 0.2, 0.3, 0.4, 0.4, 0.3, 0.2, 0.1}, 3, 4)
	w := tensor.MustNew([]float32{1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2}, 3, 4)
	tg := tensor.MustNew([]int64{1, 0, 3})
	for _, tc := range []struct {
		name string
		f    func(r F.Reduction) (*tensor.Tensor, error)
		want [3]string // mean, sum, none
	}{
		{"cross_entropy", func(r F.Reduction) (*tensor.Tensor, error) { return F.CrossEntropy(x, tg, r) },
			[3]string{"NllLossBackward0", "NllLossBackward0", "NllLossBackward0"}},
		{"cross_entropy label_smoothing", func(r F.Reduction) (*tensor.Tensor, error) { return F.CrossEntropy(x, tg, r, F.LabelSmoothing(0.1)) },
			[3]string{"AddBackward0", "AddBackward0", "AddBackward0"}},
		{"cross_entropy probabilities", func(r F.Reduction) (*tensor.Tensor, error) { return F.CrossEntropy(x, p, r) },
			[3]string{"DivBackward1", "NegBackward0", "NegBackward0"}},
		{"cross_entropy probabilities label_smoothing", func(r F.Reduction) (*tensor.Tensor, error) { return F.CrossEntropy(x, p, r, F.LabelSmoothing(0.1)) },
			[3]string{"DivBackward1", "NegBackward0", "NegBackward0"}},
		{"l1_loss", func(r F.Reduction) (*tensor.Tensor, error) { return F.L1Loss(x, y, r) },
			[3]string{"MeanBackward0", "SumBackward0", "AbsBackward0"}},
		{"l1_loss weight", func(r F.Reduction) (*tensor.Tensor, error) { return F.L1Loss(x, y, r, F.Weight(w)) },
			[3]string{"DivBackward0", "SumBackward0", "MulBackward0"}},
		{"mse_loss weight", func(r F.Reduction) (*tensor.Tensor, error) { return F.MSELoss(x, y, r, F.Weight(w)) },
			[3]string{"DivBackward0", "SumBackward0", "MulBackward0"}},
		{"mse_loss", func(r F.Reduction) (*tensor.Tensor, error) { return F.MSELoss(x, y, r) },
			[3]string{"MseLossBackward0", "MseLossBackward0", "MseLossBackward0"}},
	} {
		for i, r := range []F.Reduction{F.Mean, F.Sum, F.None} {
			out, err := tc.f(r)
			if err != nil {
				t.Fatalf("%s %s: %v", tc.name, r, err)
			}
			if got := out.GradFn().Name; got != tc.want[i] {
				t.Errorf("%s reduction=%s: grad_fn %s, want %s", tc.name, r, got, tc.want[i])
			}
		}
	}
}
