package functional_test

import (
	"errors"
	"runtime"
	"testing"

	"github.com/torchloss/torchloss"
	"github.com/torchloss/torchloss/functional"
	"github.com/torchloss/torchloss/tensor"
)

// mustShaped is a zero float32 tensor of the given shape.
func mustShaped(t *testing.T, shape ...int) *tensor.Tensor {
	t.Helper()
	x, err := tensor.Zeros(tensor.Float32, shape...)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

func TestMaxElementsTensor(t *testing.T) {
	if tensor.MaxElements() != 1<<31 {
		t.Fatalf("MaxElements = %d, want 2^31", tensor.MaxElements())
	}
	for _, shape := range [][]int{{1 << 20, 1 << 20}, {1<<31 + 1}, {1 << 40, 1 << 40, 1 << 40}} {
		if _, err := tensor.Numel(shape); !errors.Is(err, torchloss.ErrLimit) {
			t.Errorf("Numel(%v): %v, want ErrLimit", shape, err)
		}
		if _, err := tensor.Zeros(tensor.Float64, shape...); !errors.Is(err, torchloss.ErrLimit) {
			t.Errorf("Zeros(%v): %v, want ErrLimit", shape, err)
		}
	}
	if n, err := tensor.Numel([]int{1 << 31}); err != nil || n != 1<<31 {
		t.Errorf("Numel at the limit: %d, %v", n, err)
	}
	if n, err := tensor.Numel([]int{1 << 40, 0}); err != nil || n != 0 {
		t.Errorf("Numel of an empty shape with a huge dimension: %d, %v", n, err)
	}
	if _, err := tensor.BroadcastShapes([]int{1000000, 1}, []int{1, 1000000}); !errors.Is(err, torchloss.ErrLimit) {
		t.Errorf("BroadcastShapes((1e6,1), (1,1e6)): %v, want ErrLimit", err)
	}
	x := mustShaped(t, 1000000, 1)
	if _, err := tensor.BroadcastTo(x, []int{1000000, 1000000}); !errors.Is(err, torchloss.ErrLimit) {
		t.Errorf("BroadcastTo (1e6, 1e6): %v, want ErrLimit", err)
	}
}

// TestHostileBroadcast calls every loss whose arguments broadcast with
// shapes that broadcast to 10^12 (or 2^32) elements: each must fail with
// ErrLimit, naming the loss, without allocating anything of that size.
func TestHostileBroadcast(t *testing.T) {
	col := mustShaped(t, 1000000, 1)
	row := mustShaped(t, 1, 1000000)
	wide := mustShaped(t, 1, 1<<16) // (1, D) against (N, 1): N·D = 2^32
	tall := mustShaped(t, 1<<16, 1)
	type call struct {
		op string
		f  func() (*tensor.Tensor, error)
	}
	calls := []call{
		{"binary_cross_entropy_with_logits", func() (*tensor.Tensor, error) {
			return functional.BinaryCrossEntropyWithLogits(col, col, functional.PosWeight(row))
		}},
		{"poisson_nll_loss", func() (*tensor.Tensor, error) { return functional.PoissonNLLLoss(col, row) }},
		{"gaussian_nll_loss", func() (*tensor.Tensor, error) {
			return functional.GaussianNLLLoss(col, row, mustShaped(t, 1, 1))
		}},
		{"gaussian_nll_loss", func() (*tensor.Tensor, error) { return functional.GaussianNLLLossScalarVar(col, row, 1) }},
		{"hinge_embedding_loss", func() (*tensor.Tensor, error) { return functional.HingeEmbeddingLoss(col, row) }},
		{"kl_div", func() (*tensor.Tensor, error) { return functional.KLDiv(col, row) }},
		{"l1_loss", func() (*tensor.Tensor, error) { return functional.L1Loss(col, row) }},
		{"mse_loss", func() (*tensor.Tensor, error) { return functional.MSELoss(col, row) }},
		{"smooth_l1_loss", func() (*tensor.Tensor, error) { return functional.SmoothL1Loss(col, row) }},
		{"huber_loss", func() (*tensor.Tensor, error) { return functional.HuberLoss(col, row) }},
		{"margin_ranking_loss", func() (*tensor.Tensor, error) { return functional.MarginRankingLoss(col, row, col) }},
		{"multilabel_soft_margin_loss", func() (*tensor.Tensor, error) {
			return functional.MultilabelSoftMarginLoss(row, col)
		}},
		{"cosine_embedding_loss", func() (*tensor.Tensor, error) {
			return functional.CosineEmbeddingLoss(wide, tall, mustShaped(t, 1<<16))
		}},
		{"triplet_margin_loss", func() (*tensor.Tensor, error) { return functional.TripletMarginLoss(wide, tall, tall) }},
		{"triplet_margin_with_distance_loss", func() (*tensor.Tensor, error) {
			return functional.TripletMarginWithDistanceLoss(wide, tall, tall)
		}},
		{"sub", func() (*tensor.Tensor, error) { return functional.Sub(col, row) }},
	}
	for _, c := range calls {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		out, err := c.f()
		runtime.ReadMemStats(&after)
		var te *torchloss.Error
		if !errors.Is(err, torchloss.ErrLimit) || !errors.As(err, &te) {
			t.Errorf("%s: got %v, %v; want ErrLimit", c.op, out, err)
			continue
		}
		if te.Op != c.op && c.op != "triplet_margin_with_distance_loss" && c.op != "triplet_margin_loss" {
			t.Errorf("%s: error op %q (%v)", c.op, te.Op, err)
		}
		if d := after.TotalAlloc - before.TotalAlloc; d > 64<<20 {
			t.Errorf("%s: allocated %d bytes before failing", c.op, d)
		}
	}
}

// TestHostileCTCTable: ctc_loss's alpha table is input_length x
// (2·target_length + 1) per sample: 2^16 frames with a 2^15-label target is
// 2^32 elements, refused before the recursion runs.
func TestHostileCTCTable(t *testing.T) {
	const steps, s = 1 << 16, 1 << 15
	lp := mustShaped(t, steps, 1, 3)
	labels := make([]int64, s)
	for i := range labels {
		labels[i] = 1 + int64(i%2)
	}
	tg := tensor.MustNew(labels, 1, s)
	for _, grad := range []bool{false, true} {
		if err := lp.SetRequiresGrad(grad); err != nil {
			t.Fatal(err)
		}
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		_, err := functional.CTCLossInts(lp, tg, []int64{steps}, []int64{s})
		runtime.ReadMemStats(&after)
		var te *torchloss.Error
		if !errors.Is(err, torchloss.ErrLimit) || !errors.As(err, &te) || te.Op != "ctc_loss" || te.Arg != "targets" {
			t.Fatalf("grad %v: %v, want ErrLimit on ctc_loss targets", grad, err)
		}
		if d := after.TotalAlloc - before.TotalAlloc; d > 64<<20 {
			t.Errorf("grad %v: allocated %d bytes before failing", grad, d)
		}
	}
	// The batch's tables together: two samples of 2^31 − 2^16 elements each
	// fit one at a time (forward only, one scratch table) but not together
	// (kept for the backward).
	const s2 = 1<<14 - 1
	lp2 := mustShaped(t, steps, 2, 3)
	labels2 := make([]int64, 2*s2)
	for i := range labels2 {
		labels2[i] = 1 + int64(i%2)
	}
	tg2 := tensor.MustNew(labels2, 2, s2)
	if err := lp2.SetRequiresGrad(true); err != nil {
		t.Fatal(err)
	}
	// 2·2^16·(2^15−1) > 2^31: refused with the backward's tables kept.
	if _, err := functional.CTCLossInts(lp2, tg2, []int64{steps, steps}, []int64{s2, s2}); !errors.Is(err, torchloss.ErrLimit) {
		t.Fatalf("batch tables: %v, want ErrLimit", err)
	}
}
