package functional_test

import (
	"errors"
	"testing"

	"github.com/torchloss/torchloss"
	F "github.com/torchloss/torchloss/functional"
	"github.com/torchloss/torchloss/tensor"
)

// TestRepeatedOptions: an option given twice is an ErrOption error naming
// it, whatever the values (issue 13 item 13: MSELoss(x, y, Sum, Mean) took
// the last reduction silently); nil options are skipped.
func TestRepeatedOptions(t *testing.T) {
	x := tensor.MustNew([]float32{1, 2, 3}, 3)
	y := tensor.MustNew([]float32{0, 2, 5}, 3)
	cls := tensor.MustNew([]int64{0, 2}, 2)
	logits := tensor.MustNew([]float32{1, 2, 3, 4, 5, 6}, 2, 3)
	w := tensor.MustNew([]float32{1, 1, 1}, 3)
	shard := func(s F.MeanShard, err error) error { return err }
	for _, tc := range []struct {
		name, arg string
		err       error
	}{
		{"mse Sum, Mean", "reduction", second(F.MSELoss(x, y, F.Sum, F.Mean))},
		{"mse Mean, Mean", "reduction", second(F.MSELoss(x, y, F.Mean, F.Mean))},
		{"hinge Margin twice", "margin", second(F.HingeEmbeddingLoss(x, y, F.Margin(1), F.Margin(2)))},
		{"cross_entropy Weight twice", "weight", second(F.CrossEntropy(logits, cls, F.Weight(w), F.Weight(w)))},
		{"cross_entropy shard Mean twice", "reduction", shard(F.CrossEntropyShard(logits, cls, F.Mean, F.Mean))},
		{"kl_div BatchMean, Sum", "reduction", second(F.KLDiv(x, y, F.BatchMean, F.Sum))},
	} {
		var te *torchloss.Error
		if !errors.Is(tc.err, torchloss.ErrOption) || !errors.As(tc.err, &te) || te.Arg != tc.arg {
			t.Errorf("%s: %v, want ErrOption for %s", tc.name, tc.err, tc.arg)
		}
	}
	got, err := F.MSELoss(x, y, nil, F.Sum, nil)
	if v, _ := got.Item(); err != nil || v != 5 {
		t.Errorf("MSELoss(nil, Sum, nil) = %v, %v; want 5", got, err)
	}
	if _, err := F.CrossEntropyShard(logits, cls, F.Mean); err != nil {
		t.Errorf("a shard with the Mean reduction: %v", err)
	}
}

func second(_ *tensor.Tensor, err error) error { return err }

// TestOptionValuesCheckedFirst: the checks of option values that need no
// argument come before the arguments' checks, so that they fail even with
// no arguments (how nn's constructors check their options).
func TestOptionValuesCheckedFirst(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
	}{
		{"cross_entropy label_smoothing 1.5", second(F.CrossEntropy(nil, nil, F.LabelSmoothing(1.5)))},
		{"smooth_l1 beta -1", second(F.SmoothL1Loss(nil, nil, F.Beta(-1)))},
		{"huber delta 0", second(F.HuberLoss(nil, nil, F.Delta(0)))},
		{"multi_margin p 3", second(F.MultiMarginLoss(nil, nil, F.P(3)))},
		{"triplet_margin_with_distance margin 0", second(F.TripletMarginWithDistanceLoss(nil, nil, nil, F.Margin(0)))},
		{"mse unknown option", second(F.MSELoss(nil, nil, F.Blank(1)))},
	} {
		if !errors.Is(tc.err, torchloss.ErrOption) {
			t.Errorf("%s: %v, want ErrOption", tc.name, tc.err)
		}
	}
}
