package functional_test

import (
	"errors"
	"testing"

	"github.com/torchloss/torchloss"
	F "github.com/torchloss/torchloss/functional"
	"github.com/torchloss/torchloss/tensor"
)

// emptyOf is a float32 tensor with no elements whose shape holds a huge
// dimension: a 128-byte .npy file can declare it.
func emptyOf(t *testing.T, dtype tensor.DType, shape ...int) *tensor.Tensor {
	t.Helper()
	var x *tensor.Tensor
	var err error
	switch dtype {
	case tensor.Int64:
		x, err = tensor.FromData([]int64{}, shape)
	default:
		x, err = tensor.FromData([]float32{}, shape)
	}
	if err != nil {
		t.Fatal(err)
	}
	return x
}

// TestEmptyWithHugeDimension: reducing an empty dimension of an empty tensor
// whose other dimensions are huge ((2^40, 0), (2^30, 0, 2^30), (2^62, 0,
// 2^62)) leaves a result of that huge size. PyTorch fails to allocate it;
// torchloss must fail with ErrLimit before allocating (before the fix: a
// fatal out-of-memory crash, or hours of empty loops), not crash or spin.
func TestEmptyWithHugeDimension(t *testing.T) {
	for _, shape := range [][]int{{1 << 40, 0}, {1 << 30, 0, 1 << 30}, {1 << 62, 0, 1 << 62}} {
		x := emptyOf(t, tensor.Float32, shape...)
		calls := map[string]func() (*tensor.Tensor, error){
			"multilabel_soft_margin_loss": func() (*tensor.Tensor, error) { return F.MultilabelSoftMarginLoss(x, x, F.None) },
			"triplet_margin_loss":         func() (*tensor.Tensor, error) { return F.TripletMarginLoss(x, x, x, F.None) },
			"pairwise_distance":           func() (*tensor.Tensor, error) { return F.PairwiseDistance(x, x, 2, 1e-6) },
			"norm":                        func() (*tensor.Tensor, error) { return F.Norm(x, 2, 1) },
			"cross_entropy":               func() (*tensor.Tensor, error) { return F.CrossEntropy(x, x, F.Sum) },
			"log_softmax":                 func() (*tensor.Tensor, error) { return F.LogSoftmax(x, 1) },
		}
		lastEmpty := shape[len(shape)-1] == 0
		for name, call := range calls {
			out, err := call()
			switch name {
			case "multilabel_soft_margin_loss", "triplet_margin_loss", "pairwise_distance":
				// These reduce the last dimension: when it is not the empty
				// one, the result is empty too.
				if !lastEmpty {
					if err != nil || out.Numel() != 0 {
						t.Errorf("%s on %v: %v, %v; want an empty result", name, shape, out, err)
					}
					continue
				}
			}
			if !errors.Is(err, torchloss.ErrLimit) {
				t.Errorf("%s on %v: %v, want ErrLimit", name, shape, err)
			}
		}
	}
}

// TestMultilabelMarginEmptyBatchWideRows: an empty batch of 2^40 classes
// allocates nothing per class; PyTorch returns an empty loss.
func TestMultilabelMarginEmptyBatchWideRows(t *testing.T) {
	x := emptyOf(t, tensor.Float32, 0, 1<<40)
	y := emptyOf(t, tensor.Int64, 0, 1<<40)
	if err := x.SetRequiresGrad(true); err != nil {
		t.Fatal(err)
	}
	out, err := F.MultilabelMarginLoss(x, y, F.None)
	if err != nil {
		t.Fatal(err)
	}
	if s := out.Shape(); len(s) != 1 || s[0] != 0 {
		t.Fatalf("shape %v, want [0]", s)
	}
	if err := out.BackwardWith(emptyOf(t, tensor.Float32, 0)); err != nil {
		t.Fatal(err)
	}
	if g := x.Grad(); g == nil || g.Numel() != 0 {
		t.Fatalf("grad %v, want an empty gradient", g)
	}
}
