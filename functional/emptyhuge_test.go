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

// TestZeroValueTensor: a tensor.Tensor{} (new(tensor.Tensor)) is no tensor
// at all (no dtype, no data); as an argument it is an error like nil, not a
// silent 0 (MSELoss(new(tensor.Tensor), y) returned tensor(0.)).
func TestZeroValueTensor(t *testing.T) {
	y, err := tensor.New([]float64{1, 2})
	if err != nil {
		t.Fatal(err)
	}
	z := new(tensor.Tensor)
	losses := map[string]func(a, b *tensor.Tensor, opts ...F.Option) (*tensor.Tensor, error){
		"mse_loss": F.MSELoss, "l1_loss": F.L1Loss, "smooth_l1_loss": F.SmoothL1Loss, "huber_loss": F.HuberLoss,
		"binary_cross_entropy": F.BinaryCrossEntropy, "binary_cross_entropy_with_logits": F.BinaryCrossEntropyWithLogits,
		"poisson_nll_loss": F.PoissonNLLLoss, "kl_div": F.KLDiv, "soft_margin_loss": F.SoftMarginLoss,
		"hinge_embedding_loss": F.HingeEmbeddingLoss, "multilabel_soft_margin_loss": F.MultilabelSoftMarginLoss,
		"cross_entropy": F.CrossEntropy, "nll_loss": F.NLLLoss, "multi_margin_loss": F.MultiMarginLoss,
		"multilabel_margin_loss": F.MultilabelMarginLoss,
	}
	for name, loss := range losses {
		for i, args := range [][2]*tensor.Tensor{{z, y}, {y, z}, {z, z}} {
			if out, err := loss(args[0], args[1]); err == nil {
				t.Errorf("%s with a zero tensor.Tensor as argument %d: %v, want an error", name, i, out)
			}
		}
	}
	losses3 := map[string]func(a, b, c *tensor.Tensor, opts ...F.Option) (*tensor.Tensor, error){
		"cosine_embedding_loss": F.CosineEmbeddingLoss, "margin_ranking_loss": F.MarginRankingLoss,
		"triplet_margin_loss": F.TripletMarginLoss, "triplet_margin_with_distance_loss": F.TripletMarginWithDistanceLoss,
		"gaussian_nll_loss": F.GaussianNLLLoss,
	}
	for name, loss := range losses3 {
		for i, args := range [][3]*tensor.Tensor{{z, y, y}, {y, z, y}, {y, y, z}} {
			if out, err := loss(args[0], args[1], args[2]); err == nil {
				t.Errorf("%s with a zero tensor.Tensor as argument %d: %v, want an error", name, i, out)
			}
		}
	}
	if out, err := F.MSELoss(y, y, F.Weight(z)); err == nil {
		t.Errorf("a zero tensor.Tensor as weight: %v, want an error", out)
	}
}
