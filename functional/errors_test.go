package functional_test

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/torchloss/torchloss"
	"github.com/torchloss/torchloss/functional"
	"github.com/torchloss/torchloss/tensor"
)

// TestErrorKinds is a table of bad calls across every loss: each error must
// be of its kind (errors.Is), a *torchloss.Error (errors.As) with the
// loss's Op and the offending argument's Arg, and its message must name the
// argument and show the offending value.
func TestErrorKinds(t *testing.T) {
	f32 := func(shape ...int) *tensor.Tensor { return mustShaped(t, shape...) }
	f64 := func(shape ...int) *tensor.Tensor {
		x, err := tensor.Zeros(tensor.Float64, shape...)
		if err != nil {
			t.Fatal(err)
		}
		return x
	}
	i64 := func(v ...int64) *tensor.Tensor { return tensor.MustNew(v) }
	ints := func(shape ...int) *tensor.Tensor {
		x, err := tensor.Zeros(tensor.Int64, shape...)
		if err != nil {
			t.Fatal(err)
		}
		return x
	}
	bools := func(shape ...int) *tensor.Tensor {
		x, err := tensor.Zeros(tensor.Bool, shape...)
		if err != nil {
			t.Fatal(err)
		}
		return x
	}
	grad := func(x *tensor.Tensor) *tensor.Tensor {
		if err := x.SetRequiresGrad(true); err != nil {
			t.Fatal(err)
		}
		return x
	}
	vals := func(v ...float32) *tensor.Tensor { return tensor.MustNew(v) }
	lp := func() *tensor.Tensor { return f32(4, 2, 3) } // ctc log_probs (T, N, C)
	huge := mustShaped(t, 1000000, 1)
	hugeRow := mustShaped(t, 1, 1000000)

	type row struct {
		name     string
		err      error
		kind     error
		op, arg  string
		contains []string // the argument and the offending value, in the message
	}
	e := func(_ *tensor.Tensor, err error) error { return err }
	rows := []row{
		// binary_cross_entropy
		{"bce target shape", e(functional.BinaryCrossEntropy(f32(2, 3), f32(3))), torchloss.ErrShape, "binary_cross_entropy", "target", []string{"[3]", "[2, 3]"}},
		{"bce input out of [0,1]", e(functional.BinaryCrossEntropy(vals(0.5, 1.5), vals(0, 1))), torchloss.ErrValue, "binary_cross_entropy", "input", []string{"input", "1.5"}},
		{"bce int input", e(functional.BinaryCrossEntropy(ints(2), f32(2))), torchloss.ErrDType, "binary_cross_entropy", "input", []string{"Long"}},
		{"bce bad reduction", e(functional.BinaryCrossEntropy(f32(2), f32(2), functional.Reduction("avg"))), torchloss.ErrOption, "binary_cross_entropy", "reduction", []string{"avg", "reduction"}},
		{"bce unexpected option", e(functional.BinaryCrossEntropy(f32(2), f32(2), functional.Margin(1))), torchloss.ErrOption, "binary_cross_entropy", "margin", []string{"margin"}},
		{"bce weight shape", e(functional.BinaryCrossEntropy(f32(2, 3), f32(2, 3), functional.Weight(f32(4)))), torchloss.ErrShape, "binary_cross_entropy", "weight", []string{"4"}},
		// binary_cross_entropy_with_logits
		{"bcel target shape", e(functional.BinaryCrossEntropyWithLogits(f32(2, 3), f32(3, 2))), torchloss.ErrShape, "binary_cross_entropy_with_logits", "target", []string{"[3, 2]", "[2, 3]"}},
		{"bcel pos_weight shape", e(functional.BinaryCrossEntropyWithLogits(f32(2, 3), f32(2, 3), functional.PosWeight(f32(4)))), torchloss.ErrShape, "binary_cross_entropy_with_logits", "pos_weight", []string{"4"}},
		{"bcel huge pos_weight", e(functional.BinaryCrossEntropyWithLogits(huge, huge, functional.PosWeight(hugeRow))), torchloss.ErrLimit, "binary_cross_entropy_with_logits", "pos_weight", []string{"1000000", "MaxElements"}},
		{"bcel bool input", e(functional.BinaryCrossEntropyWithLogits(bools(2), f32(2))), torchloss.ErrDType, "binary_cross_entropy_with_logits", "input", []string{"ool"}},
		// poisson_nll_loss
		{"poisson broadcast", e(functional.PoissonNLLLoss(f32(2, 3), f32(4))), torchloss.ErrShape, "poisson_nll_loss", "target", []string{"(3)", "(4)"}},
		{"poisson huge", e(functional.PoissonNLLLoss(huge, hugeRow)), torchloss.ErrLimit, "poisson_nll_loss", "target", []string{"1000000", "MaxElements"}},
		{"poisson batchmean", e(functional.PoissonNLLLoss(f32(2), f32(2), functional.BatchMean)), torchloss.ErrOption, "poisson_nll_loss", "reduction", []string{"batchmean"}},
		// cosine_embedding_loss
		{"cosine 2-D target", e(functional.CosineEmbeddingLoss(f32(2, 3), f32(2, 3), f32(2, 1))), torchloss.ErrShape, "cosine_embedding_loss", "target", []string{"target"}},
		{"cosine input2 size", e(functional.CosineEmbeddingLoss(f32(2, 3), f32(2, 4), f32(2))), torchloss.ErrShape, "cosine_embedding_loss", "input2", []string{"3", "4"}},
		{"cosine int input", e(functional.CosineEmbeddingLoss(ints(2, 3), f32(2, 3), f32(2))), torchloss.ErrDType, "cosine_embedding_loss", "input1", []string{"int64"}},
		// cross_entropy
		{"ce class out of range", e(functional.CrossEntropy(f32(2, 3), i64(0, 3))), torchloss.ErrValue, "cross_entropy", "target", []string{"3"}},
		{"ce negative class", e(functional.CrossEntropy(f32(2, 3), i64(-1, 0))), torchloss.ErrValue, "cross_entropy", "target", []string{"-1"}},
		{"ce batch mismatch", e(functional.CrossEntropy(f32(2, 3), i64(0, 1, 2))), torchloss.ErrShape, "cross_entropy", "target", []string{"3", "2"}},
		{"ce label_smoothing", e(functional.CrossEntropy(f32(2, 3), i64(0, 1), functional.LabelSmoothing(1.5))), torchloss.ErrOption, "cross_entropy", "label_smoothing", []string{"1.5"}},
		{"ce weight size", e(functional.CrossEntropy(f32(2, 3), i64(0, 1), functional.Weight(f32(4)))), torchloss.ErrShape, "cross_entropy", "weight", []string{"4", "3"}},
		{"ce 0-d input", e(functional.CrossEntropy(tensor.Scalar(float32(1)), i64(0))), torchloss.ErrShape, "cross_entropy", "input", []string{"0"}},
		{"ce float target shape", e(functional.CrossEntropy(f32(2, 3), f32(2, 4))), torchloss.ErrShape, "cross_entropy", "target", []string{"[2 4]"}},
		// nll_loss
		{"nll class out of range", e(functional.NLLLoss(f32(2, 3), i64(0, 7))), torchloss.ErrValue, "nll_loss", "target", []string{"7"}},
		{"nll float target", e(functional.NLLLoss(f32(2, 3), f32(2))), torchloss.ErrDType, "nll_loss", "target", []string{"Float"}},
		{"nll weight dtype", e(functional.NLLLoss(f32(2, 3), i64(0, 1), functional.Weight(f64(3)))), torchloss.ErrDType, "nll_loss", "weight", []string{"Double"}},
		{"nll weight grad", e(functional.NLLLoss(f32(2, 3), i64(0, 1), functional.Weight(grad(f32(3))))), torchloss.ErrGrad, "nll_loss", "weight", []string{"weight"}},
		{"nll batch mismatch", e(functional.NLLLoss(f32(2, 3), i64(0))), torchloss.ErrShape, "nll_loss", "target", []string{"1", "2"}},
		// ctc_loss
		{"ctc input length too long", e(functional.CTCLossInts(lp(), i64(1, 2), []int64{5, 4}, []int64{1, 1})), torchloss.ErrValue, "ctc_loss", "input_lengths", []string{"5", "4"}},
		{"ctc negative target length", e(functional.CTCLossInts(lp(), i64(1, 2), []int64{4, 4}, []int64{-1, 1})), torchloss.ErrValue, "ctc_loss", "target_lengths", []string{"-1"}},
		{"ctc blank out of range", e(functional.CTCLossInts(lp(), i64(1, 2), []int64{4, 4}, []int64{1, 1}, functional.Blank(3))), torchloss.ErrOption, "ctc_loss", "blank", []string{"3"}},
		{"ctc label out of range", e(functional.CTCLossInts(lp(), i64(1, 9), []int64{4, 4}, []int64{1, 1})), torchloss.ErrValue, "ctc_loss", "targets", []string{"9"}},
		{"ctc lengths count", e(functional.CTCLossInts(lp(), i64(1, 2), []int64{4}, []int64{1, 1})), torchloss.ErrShape, "ctc_loss", "input_lengths", []string{"1", "2"}},
		{"ctc float lengths", e(functional.CTCLoss(lp(), i64(1, 2), f32(2), i64(1, 1))), torchloss.ErrDType, "ctc_loss", "input_lengths", []string{"float32"}},
		{"ctc int log_probs", e(functional.CTCLossInts(ints(4, 2, 3), i64(1, 2), []int64{4, 4}, []int64{1, 1})), torchloss.ErrDType, "ctc_loss", "log_probs", []string{"int64"}},
		{"ctc targets size", e(functional.CTCLossInts(lp(), i64(1, 2, 1), []int64{4, 4}, []int64{1, 1})), torchloss.ErrShape, "ctc_loss", "targets", []string{"2", "3"}},
		// gaussian_nll_loss
		{"gaussian negative var", e(functional.GaussianNLLLoss(f32(2), f32(2), vals(1, -1))), torchloss.ErrValue, "gaussian_nll_loss", "var", []string{"var"}},
		{"gaussian var size", e(functional.GaussianNLLLoss(f32(2, 3), f32(2, 3), f32(4))), torchloss.ErrShape, "gaussian_nll_loss", "var", []string{"var"}},
		{"gaussian scalar negative var", e(functional.GaussianNLLLossScalarVar(f32(2), f32(2), -0.5)), torchloss.ErrValue, "gaussian_nll_loss", "var", []string{"-0.5"}},
		{"gaussian bad reduction", e(functional.GaussianNLLLoss(f32(2), f32(2), f32(2), functional.Reduction("max"))), torchloss.ErrOption, "gaussian_nll_loss", "reduction", []string{"max"}},
		// hinge_embedding_loss
		{"hinge broadcast", e(functional.HingeEmbeddingLoss(f32(2, 3), f32(4))), torchloss.ErrShape, "hinge_embedding_loss", "target", []string{"3", "4"}},
		{"hinge unexpected option", e(functional.HingeEmbeddingLoss(f32(2), f32(2), functional.P(2))), torchloss.ErrOption, "hinge_embedding_loss", "p", []string{"p"}},
		// kl_div
		{"kl_div broadcast", e(functional.KLDiv(f32(2, 3), f32(2, 4))), torchloss.ErrShape, "kl_div", "target", []string{"3", "4"}},
		{"kl_div bad reduction", e(functional.KLDiv(f32(2), f32(2), functional.Reduction("batch"))), torchloss.ErrOption, "kl_div", "reduction", []string{"batch"}},
		{"kl_div int input", e(functional.KLDiv(ints(2), f32(2))), torchloss.ErrDType, "kl_div", "input", []string{"int64"}},
		// l1, mse, smooth_l1, huber
		{"l1 broadcast", e(functional.L1Loss(f32(2, 3), f32(5))), torchloss.ErrShape, "l1_loss", "target", []string{"3", "5"}},
		{"l1 huge", e(functional.L1Loss(huge, hugeRow)), torchloss.ErrLimit, "l1_loss", "target", []string{"1000000"}},
		{"mse weight size", e(functional.MSELoss(f32(2, 3), f32(2, 3), functional.Weight(f32(7)))), torchloss.ErrShape, "mse_loss", "weight", []string{"7"}},
		{"mse nil input", e(functional.MSELoss(nil, f32(2))), torchloss.ErrValue, "mse_loss", "input", []string{"nil"}},
		{"smooth_l1 negative beta", e(functional.SmoothL1Loss(f32(2), f32(2), functional.Beta(-1))), torchloss.ErrOption, "smooth_l1_loss", "beta", []string{"-1"}},
		{"smooth_l1 nan beta", e(functional.SmoothL1Loss(f32(2), f32(2), functional.Beta(math.NaN()))), torchloss.ErrOption, "smooth_l1_loss", "beta", []string{"NaN"}},
		{"huber zero delta", e(functional.HuberLoss(f32(2), f32(2), functional.Delta(0))), torchloss.ErrOption, "huber_loss", "delta", []string{"0"}},
		{"huber weight size", e(functional.HuberLoss(f32(2), f32(2), functional.Weight(f32(3)))), torchloss.ErrShape, "huber_loss", "weight", []string{"3"}},
		// soft_margin, multilabel_soft_margin, margin_ranking
		{"soft_margin target larger", e(functional.SoftMarginLoss(f32(3), f32(2, 3))), torchloss.ErrShape, "soft_margin_loss", "target", []string{"[2, 3]"}},
		{"soft_margin target grad", e(functional.SoftMarginLoss(f32(3), grad(f32(3)))), torchloss.ErrGrad, "soft_margin_loss", "target", []string{"target"}},
		{"multilabel_soft_margin 0-d", e(functional.MultilabelSoftMarginLoss(tensor.Scalar(float32(1)), f32())), torchloss.ErrShape, "multilabel_soft_margin_loss", "input", []string{"no dimensions"}},
		{"multilabel_soft_margin bool target", e(functional.MultilabelSoftMarginLoss(f32(2, 3), bools(2, 3))), torchloss.ErrDType, "multilabel_soft_margin_loss", "target", []string{"bool"}},
		{"margin_ranking dims", e(functional.MarginRankingLoss(f32(3), f32(3), f32(1, 3))), torchloss.ErrShape, "margin_ranking_loss", "target", []string{"[1, 3]"}},
		{"margin_ranking broadcast", e(functional.MarginRankingLoss(f32(3), f32(4), f32(3))), torchloss.ErrShape, "margin_ranking_loss", "input2", []string{"3", "4"}},
		// multi_margin, multilabel_margin
		{"multi_margin p", e(functional.MultiMarginLoss(f32(2, 3), i64(0, 1), functional.P(3))), torchloss.ErrOption, "multi_margin_loss", "p", []string{"3"}},
		{"multi_margin class", e(functional.MultiMarginLoss(f32(2, 3), i64(0, 5))), torchloss.ErrValue, "multi_margin_loss", "target", []string{"5"}},
		{"multi_margin weight", e(functional.MultiMarginLoss(f32(2, 3), i64(0, 1), functional.Weight(f32(2)))), torchloss.ErrShape, "multi_margin_loss", "weight", []string{"2", "3"}},
		{"multi_margin target shape", e(functional.MultiMarginLoss(f32(2, 3), i64(0, 1, 2))), torchloss.ErrShape, "multi_margin_loss", "target", []string{"3"}},
		{"multilabel_margin class", e(functional.MultilabelMarginLoss(f32(2, 3), tensor.MustNew([]int64{0, 4, -1, 1, -1, 0}, 2, 3))), torchloss.ErrValue, "multilabel_margin_loss", "target", []string{"4"}},
		{"multilabel_margin shape", e(functional.MultilabelMarginLoss(f32(2, 3), ints(2, 4))), torchloss.ErrShape, "multilabel_margin_loss", "target", []string{"[2, 4]"}},
		{"multilabel_margin float target", e(functional.MultilabelMarginLoss(f32(2, 3), f32(2, 3))), torchloss.ErrDType, "multilabel_margin_loss", "target", []string{"Float"}},
		{"multi_margin 2-D weight", e(functional.MultiMarginLoss(f32(2, 3), i64(0, 1), functional.Weight(f32(1, 3)))), torchloss.ErrShape, "multi_margin_loss", "weight", []string{"[1, 3]"}},
		{"nll spatial weight count", e(functional.NLLLoss(f32(2, 3, 4), ints(2, 4), functional.Weight(f32(5)))), torchloss.ErrShape, "nll_loss", "weight", []string{"5", "3"}},
		{"ctc empty log_probs", e(functional.CTCLossInts(f32(0, 2, 3), i64(1, 2), []int64{0, 0}, []int64{1, 1})), torchloss.ErrShape, "ctc_loss", "log_probs", []string{"[0, 2, 3]"}},
		// triplet
		{"triplet dims", e(functional.TripletMarginLoss(f32(2, 3), f32(2, 3), f32(3))), torchloss.ErrShape, "triplet_margin_loss", "negative", []string{"negative 1D"}},
		{"triplet margin", e(functional.TripletMarginLoss(f32(2, 3), f32(2, 3), f32(2, 3), functional.Margin(-1))), torchloss.ErrOption, "triplet_margin_loss", "margin", []string{"-1"}},
		{"triplet nil anchor", e(functional.TripletMarginLoss(nil, f32(2, 3), f32(2, 3))), torchloss.ErrValue, "triplet_margin_loss", "anchor", []string{"nil"}},
		{"triplet distance dims", e(functional.TripletMarginWithDistanceLoss(f32(2, 3), f32(3), f32(2, 3))), torchloss.ErrShape, "triplet_margin_with_distance_loss", "positive", []string{"positive 1D"}},
		{"triplet distance margin", e(functional.TripletMarginWithDistanceLoss(f32(2, 3), f32(2, 3), f32(2, 3), functional.Margin(-0.5))), torchloss.ErrOption, "triplet_margin_with_distance_loss", "margin", []string{"-0.5"}},
	}
	if len(rows) < 50 {
		t.Fatalf("%d rows", len(rows))
	}
	for _, r := range rows {
		if r.err == nil {
			t.Errorf("%s: no error", r.name)
			continue
		}
		if !errors.Is(r.err, r.kind) {
			t.Errorf("%s: kind of %q is not %v", r.name, r.err, r.kind)
		}
		var te *torchloss.Error
		if !errors.As(r.err, &te) {
			t.Errorf("%s: %v is not a *torchloss.Error", r.name, r.err)
			continue
		}
		if te.Op != r.op || te.Arg != r.arg {
			t.Errorf("%s: Op %q Arg %q, want %q %q (%v)", r.name, te.Op, te.Arg, r.op, r.arg, r.err)
		}
		msg := r.err.Error()
		for _, s := range append([]string{r.arg}, r.contains...) {
			if !strings.Contains(msg, s) {
				t.Errorf("%s: message %q lacks %q", r.name, msg, s)
			}
		}
	}
}

// TestNilArguments passes nil in each tensor position of every loss: an
// ErrValue error naming the argument, never a panic.
func TestNilArguments(t *testing.T) {
	x := mustShaped(t, 2, 3)
	cls := tensor.MustNew([]int64{0, 1})
	lp := mustShaped(t, 4, 2, 3)
	lens := tensor.MustNew([]int64{1, 1})
	labels := tensor.MustNew([]int64{1, 2})
	type loss struct {
		op    string
		names []string
		args  []*tensor.Tensor
		call  func(a []*tensor.Tensor) (*tensor.Tensor, error)
	}
	two := func(f func(a, b *tensor.Tensor, o ...functional.Option) (*tensor.Tensor, error)) func([]*tensor.Tensor) (*tensor.Tensor, error) {
		return func(a []*tensor.Tensor) (*tensor.Tensor, error) { return f(a[0], a[1]) }
	}
	three := func(f func(a, b, c *tensor.Tensor, o ...functional.Option) (*tensor.Tensor, error)) func([]*tensor.Tensor) (*tensor.Tensor, error) {
		return func(a []*tensor.Tensor) (*tensor.Tensor, error) { return f(a[0], a[1], a[2]) }
	}
	in2 := []string{"input", "target"}
	losses := []loss{
		{"binary_cross_entropy", in2, []*tensor.Tensor{x, x}, two(functional.BinaryCrossEntropy)},
		{"binary_cross_entropy_with_logits", in2, []*tensor.Tensor{x, x}, two(functional.BinaryCrossEntropyWithLogits)},
		{"poisson_nll_loss", in2, []*tensor.Tensor{x, x}, two(functional.PoissonNLLLoss)},
		{"cosine_embedding_loss", []string{"input1", "input2", "target"}, []*tensor.Tensor{x, x, mustShaped(t, 2)}, three(functional.CosineEmbeddingLoss)},
		{"cross_entropy", in2, []*tensor.Tensor{x, cls}, two(functional.CrossEntropy)},
		{"nll_loss", in2, []*tensor.Tensor{x, cls}, two(functional.NLLLoss)},
		{"ctc_loss", []string{"log_probs", "targets", "input_lengths", "target_lengths"}, []*tensor.Tensor{lp, labels, lens, lens}, func(a []*tensor.Tensor) (*tensor.Tensor, error) {
			return functional.CTCLoss(a[0], a[1], a[2], a[3])
		}},
		{"ctc_loss", []string{"log_probs", "targets"}, []*tensor.Tensor{lp, labels}, func(a []*tensor.Tensor) (*tensor.Tensor, error) {
			return functional.CTCLossInts(a[0], a[1], []int64{1, 1}, []int64{1, 1})
		}},
		{"gaussian_nll_loss", []string{"input", "target", "var"}, []*tensor.Tensor{x, x, x}, three(functional.GaussianNLLLoss)},
		{"gaussian_nll_loss", in2, []*tensor.Tensor{x, x}, func(a []*tensor.Tensor) (*tensor.Tensor, error) {
			return functional.GaussianNLLLossScalarVar(a[0], a[1], 1)
		}},
		{"hinge_embedding_loss", in2, []*tensor.Tensor{x, x}, two(functional.HingeEmbeddingLoss)},
		{"kl_div", in2, []*tensor.Tensor{x, x}, two(functional.KLDiv)},
		{"l1_loss", in2, []*tensor.Tensor{x, x}, two(functional.L1Loss)},
		{"mse_loss", in2, []*tensor.Tensor{x, x}, two(functional.MSELoss)},
		{"smooth_l1_loss", in2, []*tensor.Tensor{x, x}, two(functional.SmoothL1Loss)},
		{"huber_loss", in2, []*tensor.Tensor{x, x}, two(functional.HuberLoss)},
		{"soft_margin_loss", in2, []*tensor.Tensor{x, x}, two(functional.SoftMarginLoss)},
		{"multilabel_soft_margin_loss", in2, []*tensor.Tensor{x, x}, two(functional.MultilabelSoftMarginLoss)},
		{"margin_ranking_loss", []string{"input1", "input2", "target"}, []*tensor.Tensor{x, x, x}, three(functional.MarginRankingLoss)},
		{"multi_margin_loss", in2, []*tensor.Tensor{x, cls}, two(functional.MultiMarginLoss)},
		{"multilabel_margin_loss", in2, []*tensor.Tensor{x, tensor.MustNew([]int64{0, -1, 0, 1, -1, 0}, 2, 3)}, two(functional.MultilabelMarginLoss)},
		{"triplet_margin_loss", []string{"anchor", "positive", "negative"}, []*tensor.Tensor{x, x, x}, three(functional.TripletMarginLoss)},
		{"triplet_margin_with_distance_loss", []string{"anchor", "positive", "negative"}, []*tensor.Tensor{x, x, x}, three(functional.TripletMarginWithDistanceLoss)},
	}
	for _, l := range losses {
		if _, err := l.call(l.args); err != nil {
			t.Errorf("%s: the valid call fails: %v", l.op, err)
		}
		for i, name := range l.names {
			a := append([]*tensor.Tensor{}, l.args...)
			a[i] = nil
			_, err := l.call(a)
			var te *torchloss.Error
			if !errors.Is(err, torchloss.ErrValue) || !errors.As(err, &te) || te.Op != l.op || te.Arg != name {
				t.Errorf("%s with a nil %s: %v", l.op, name, err)
			}
		}
	}
}
