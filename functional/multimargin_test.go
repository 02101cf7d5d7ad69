package functional

import (
	"errors"
	"testing"

	"github.com/torchloss/torchloss"
	"github.com/torchloss/torchloss/tensor"
)

func TestMultiMarginLossValues(t *testing.T) {
	// PyTorch's documentation example: x = [[0.1, 0.2, 0.4, 0.8]], y = [3]:
	// (1−0.8+0.1 + 1−0.8+0.2 + 1−0.8+0.4)/4 = 1.3/4 = 0.325.
	x := []float64{0.1, 0.2, 0.4, 0.8}
	tests := []struct {
		name  string
		input *tensor.Tensor
		tgt   *tensor.Tensor
		opts  []Option
		want  []float64
		shape []int
	}{
		{"doc example", tensor.MustNew(x, 1, 4), tensor.MustNew([]int64{3}, 1), nil, []float64{0.325}, []int{}},
		// p = 2: (0.09 + 0.16 + 0.36)/4.
		{"p=2", tensor.MustNew(x, 1, 4), tensor.MustNew([]int64{3}, 1), []Option{P(2)}, []float64{0.61 / 4}, []int{}},
		// weight w_y = 2 scales the sample.
		{"weight", tensor.MustNew(x, 1, 4), tensor.MustNew([]int64{3}, 1), []Option{Weight(tensor.MustNew([]float64{5, 5, 5, 2}, 4))}, []float64{0.65}, []int{}},
		// margin 0.3: only x_d − 0.8 + 0.3 > 0 counts, strictly: z = −0.4, −0.3, −0.1 → 0.
		{"margin", tensor.MustNew(x, 1, 4), tensor.MustNew([]int64{3}, 1), []Option{Margin(0.3)}, []float64{0}, []int{}},
		// none: one value per sample; target 0 of row 2: z = 1−0.1+x_d.
		{"none", tensor.MustNew(append(append([]float64{}, x...), x...), 2, 4), tensor.MustNew([]int64{3, 0}, 2), []Option{None}, []float64{0.325, (1.1 + 1.3 + 1.7) / 4}, []int{2}},
		// sum.
		{"sum", tensor.MustNew(append(append([]float64{}, x...), x...), 2, 4), tensor.MustNew([]int64{3, 0}, 2), []Option{Sum}, []float64{0.325 + 4.1/4}, []int{}},
		// 1-D input with a 0-d target gives a 0-d result even for none;
		// with a (1) target, a (1) result.
		{"1-D, 0-d target", tensor.MustNew(x, 4), tensor.Scalar(int64(3)), []Option{None}, []float64{0.325}, []int{}},
		{"1-D, (1) target", tensor.MustNew(x, 4), tensor.MustNew([]int64{3}, 1), []Option{None}, []float64{0.325}, []int{1}},
		// 0-d input: one class, no other class, loss 0.
		{"0-d", tensor.Scalar(0.5), tensor.Scalar(int64(0)), nil, []float64{0}, []int{}},
		// empty batch with none: an empty result.
		{"empty none", tensor.MustNew([]float64{}, 0, 4), tensor.MustNew([]int64{}, 0), []Option{None}, []float64{}, []int{0}},
	}
	for _, tc := range tests {
		out, err := MultiMarginLoss(tc.input, tc.tgt, tc.opts...)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if !sameShape(out, tensor.MustNew(make([]float64, len(tc.want)), tc.shape...)) {
			t.Errorf("%s: shape %v, want %v", tc.name, out.Shape(), tc.shape)
		}
		opEqual(t, tc.name, out.Values(), tc.want)
	}
}

func TestMultiMarginLossGradient(t *testing.T) {
	// x = [0.1, 0.2, 0.4, 0.8], y = 3, sum reduction, grad_output 2:
	// each violating class gets g = 1/C = 0.25, the target −0.75; × 2.
	x := opLeaf(t, []float64{0.1, 0.2, 0.4, 0.8}, 1, 4)
	out, err := MultiMarginLoss(x, tensor.MustNew([]int64{3}, 1), Sum)
	if err != nil {
		t.Fatal(err)
	}
	if err := out.BackwardWith(tensor.Scalar(2.0)); err != nil {
		t.Fatal(err)
	}
	opEqual(t, "p=1 grad", x.Grad().Float64s(), []float64{0.5, 0.5, 0.5, -1.5})

	// p = 2, mean over 2 samples, weight: h = 2·g·z·w_y with g = 1/8, and a
	// z == 0 class (x_d = x_y − margin) that gets 0.
	x2 := opLeaf(t, []float64{0.1, 0.2, 1.0, 0.8, 0, 0, 0, 0}, 2, 4)
	w := tensor.MustNew([]float64{1, 1, 1, 3}, 4)
	out, err = MultiMarginLoss(x2, tensor.MustNew([]int64{2, 3}, 2), P(2), Weight(w))
	if err != nil {
		t.Fatal(err)
	}
	if err := out.Backward(); err != nil {
		t.Fatal(err)
	}
	// Row 0 (y=2, w=1): z = 0.1, 0.2, 0.8 → h = z/4. Row 1 (y=3, w=3):
	// z = 1 for each d → h = 2·(1/8)·1·3 = 0.75.
	opEqual(t, "p=2 grad", x2.Grad().Float64s(), []float64{0.025, 0.05, -0.275, 0.2, 0.75, 0.75, 0.75, -2.25})

	// The zero-margin kink: z == 0 gives no loss and no gradient.
	x3 := opLeaf(t, []float64{0, 1}, 2)
	out, err = MultiMarginLoss(x3, tensor.Scalar(int64(1)))
	if err != nil {
		t.Fatal(err)
	}
	if err := out.Backward(); err != nil {
		t.Fatal(err)
	}
	opEqual(t, "kink", append(out.Values(), x3.Grad().Float64s()...), []float64{0, 0, 0})
}

func TestMultilabelMarginLoss(t *testing.T) {
	// PyTorch's documentation example: x = [[0.1, 0.2, 0.4, 0.8]],
	// y = [[3, 0, -1, 1]] (labels 3 and 0): 0.85.
	x := []float64{0.1, 0.2, 0.4, 0.8}
	in := tensor.MustNew(x, 1, 4)
	out, err := MultilabelMarginLoss(in, tensor.MustNew([]int64{3, 0, -1, 1}, 1, 4))
	if err != nil {
		t.Fatal(err)
	}
	opEqual(t, "doc example", out.Values(), []float64{0.85})

	// A duplicated label counts twice: labels [3, 3] → 2·(0.4 + 0.6)/4; and
	// the gradient of each active pair is ∓1/C per occurrence.
	xl := opLeaf(t, x, 4)
	out, err = MultilabelMarginLoss(xl, tensor.MustNew([]int64{3, 3, -1, 0}, 4), None)
	if err != nil {
		t.Fatal(err)
	}
	if out.Dim() != 0 {
		t.Errorf("1-D none: shape %v, want 0-d", out.Shape())
	}
	// z = 1 − 0.8 + x_d for d = 0, 1, 2: 0.3, 0.4, 0.6 → 1.3 twice → 2.6/4.
	opEqual(t, "duplicates", out.Values(), []float64{0.65})
	if err := out.Backward(); err != nil {
		t.Fatal(err)
	}
	opEqual(t, "duplicates grad", xl.Grad().Float64s(), []float64{0.5, 0.5, 0.5, -1.5})

	// none over a batch: one value per row; an all −1 row is 0.
	out, err = MultilabelMarginLoss(tensor.MustNew(append(append([]float64{}, x...), x...), 2, 4), tensor.MustNew([]int64{3, 0, -1, 1, -1, 2, 2, 2}, 2, 4), None)
	if err != nil {
		t.Fatal(err)
	}
	opEqual(t, "none", out.Values(), []float64{0.85, 0})
}

func TestMultiMarginErrors(t *testing.T) {
	x := tensor.MustNew([]float64{1, 2, 3, 4, 5, 6}, 2, 3)
	y := tensor.MustNew([]int64{0, 2}, 2)
	wReq := tensor.MustNew([]float64{1, 1, 1}, 3)
	if err := wReq.SetRequiresGrad(true); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		f    func() (*tensor.Tensor, error)
		kind *torchloss.Kind
	}{
		{"p=3", func() (*tensor.Tensor, error) { return MultiMarginLoss(x, y, P(3)) }, torchloss.ErrOption},
		{"weight 2-D", func() (*tensor.Tensor, error) {
			return MultiMarginLoss(x, y, Weight(tensor.MustNew([]float64{1, 1, 1}, 3, 1)))
		}, torchloss.ErrShape},
		{"weight size", func() (*tensor.Tensor, error) {
			return MultiMarginLoss(x, y, Weight(tensor.MustNew([]float64{1, 1}, 2)))
		}, torchloss.ErrShape},
		{"weight dtype", func() (*tensor.Tensor, error) {
			return MultiMarginLoss(x, y, Weight(tensor.MustNew([]float32{1, 1, 1}, 3)))
		}, torchloss.ErrDType},
		{"weight requires grad", func() (*tensor.Tensor, error) { return MultiMarginLoss(x, y, Weight(wReq)) }, torchloss.ErrGrad},
		{"target size", func() (*tensor.Tensor, error) { return MultiMarginLoss(x, tensor.MustNew([]int64{0}, 1)) }, torchloss.ErrShape},
		{"target range", func() (*tensor.Tensor, error) { return MultiMarginLoss(x, tensor.MustNew([]int64{0, 3}, 2)) }, torchloss.ErrValue},
		{"target negative", func() (*tensor.Tensor, error) { return MultiMarginLoss(x, tensor.MustNew([]int64{-1, 0}, 2)) }, torchloss.ErrValue},
		{"target dtype", func() (*tensor.Tensor, error) { return MultiMarginLoss(x, tensor.MustNew([]float64{0, 1}, 2)) }, torchloss.ErrDType},
		{"empty classes", func() (*tensor.Tensor, error) {
			return MultiMarginLoss(tensor.MustNew([]float64{}, 5, 0), tensor.MustNew(make([]int64, 5), 5))
		}, torchloss.ErrShape},
		{"3-D", func() (*tensor.Tensor, error) {
			return MultiMarginLoss(tensor.MustNew(make([]float64, 8), 2, 2, 2), y)
		}, torchloss.ErrShape},
		{"empty batch mean", func() (*tensor.Tensor, error) {
			return MultiMarginLoss(tensor.MustNew([]float64{}, 0, 3), tensor.MustNew([]int64{}, 0))
		}, torchloss.ErrValue},
		{"bad reduction", func() (*tensor.Tensor, error) { return MultiMarginLoss(x, y, Reduction("avg")) }, torchloss.ErrOption},
		{"unknown option", func() (*tensor.Tensor, error) { return MultiMarginLoss(x, y, Swap(true)) }, torchloss.ErrOption},
		{"multilabel target range", func() (*tensor.Tensor, error) {
			return MultilabelMarginLoss(x, tensor.MustNew([]int64{0, -1, 5, 0, 0, 0}, 2, 3))
		}, torchloss.ErrValue},
		{"multilabel target < -1", func() (*tensor.Tensor, error) {
			return MultilabelMarginLoss(x, tensor.MustNew([]int64{0, -1, -2, 0, 0, 0}, 2, 3))
		}, torchloss.ErrValue},
		{"multilabel target shape", func() (*tensor.Tensor, error) {
			return MultilabelMarginLoss(x, tensor.MustNew([]int64{0, -1, 1, 0}, 2, 2))
		}, torchloss.ErrShape},
		{"multilabel 1-D target for 2-D input", func() (*tensor.Tensor, error) {
			return MultilabelMarginLoss(x, tensor.MustNew([]int64{0, -1, 1, 0, 1, 2}, 6))
		}, torchloss.ErrShape},
		{"multilabel target dtype", func() (*tensor.Tensor, error) {
			return MultilabelMarginLoss(x, tensor.MustNew(make([]float64, 6), 2, 3))
		}, torchloss.ErrDType},
		{"multilabel empty batch sum", func() (*tensor.Tensor, error) {
			return MultilabelMarginLoss(tensor.MustNew([]float64{}, 0, 3), tensor.MustNew([]int64{}, 0, 3), Sum)
		}, torchloss.ErrValue},
	}
	for _, tc := range tests {
		_, err := tc.f()
		if !errors.Is(err, tc.kind) {
			t.Errorf("%s: error %v, want kind %v", tc.name, err, tc.kind)
		}
	}
}
