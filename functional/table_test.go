package functional

import (
	"slices"
	"testing"

	"github.com/torchloss/torchloss/internal/losses"
	"github.com/torchloss/torchloss/tensor"
)

// tableCall calls one loss of the table on small float64 leaves under a
// reduction; cond is one of the table's conditions ("" for none) and the
// call arranges it (a true bool option, a weight, a spatial input, ...).
type tableCall func(r Reduction, cond string) (*tensor.Tensor, error)

func grads(shape []int, v ...float64) *tensor.Tensor {
	t := tensor.MustNew(v, shape...)
	_ = t.SetRequiresGrad(true)
	return t
}

// tableCalls has a call for every loss of the table (TestTableNodes fails
// on one without).
var tableCalls = map[string]tableCall{
	"binary_cross_entropy": func(r Reduction, _ string) (*tensor.Tensor, error) {
		return BinaryCrossEntropy(grads([]int{2}, 0.3, 0.8), tensor.MustNew([]float64{0, 1}, 2), r)
	},
	"binary_cross_entropy_with_logits": func(r Reduction, _ string) (*tensor.Tensor, error) {
		return BinaryCrossEntropyWithLogits(grads([]int{2}, 0.3, -0.8), tensor.MustNew([]float64{0, 1}, 2), r)
	},
	"poisson_nll_loss": func(r Reduction, c string) (*tensor.Tensor, error) {
		return PoissonNLLLoss(grads([]int{2}, 0.3, 0.8), tensor.MustNew([]float64{2, 3}, 2), r, Full(c == "full"))
	},
	"gaussian_nll_loss": func(r Reduction, c string) (*tensor.Tensor, error) {
		return GaussianNLLLoss(grads([]int{2}, 0.3, 0.8), tensor.MustNew([]float64{0, 1}, 2), tensor.MustNew([]float64{1, 2}, 2), r, Full(c == "full"))
	},
	"cosine_embedding_loss": func(r Reduction, _ string) (*tensor.Tensor, error) {
		return CosineEmbeddingLoss(grads([]int{1, 2}, 0.3, 0.8), grads([]int{1, 2}, 1, 0), tensor.MustNew([]float64{-1}, 1), r)
	},
	"cross_entropy": func(r Reduction, c string) (*tensor.Tensor, error) {
		switch c {
		case losses.Spatial:
			return CrossEntropy(grads([]int{1, 2, 1}, 0.3, 0.8), tensor.MustNew([]int64{1}, 1, 1), r)
		case losses.Probabilities:
			return CrossEntropy(grads([]int{1, 2}, 0.3, 0.8), tensor.MustNew([]float64{0.25, 0.75}, 1, 2), r)
		case "label_smoothing":
			return CrossEntropy(grads([]int{2, 2}, 0.3, 0.8, 0.1, 0.5), tensor.MustNew([]int64{1, 0}, 2), r, LabelSmoothing(0.1))
		}
		return CrossEntropy(grads([]int{1, 2}, 0.3, 0.8), tensor.MustNew([]int64{1}, 1), r)
	},
	"nll_loss": func(r Reduction, c string) (*tensor.Tensor, error) {
		if c == losses.Spatial {
			return NLLLoss(grads([]int{1, 2, 1}, -0.3, -0.8), tensor.MustNew([]int64{1}, 1, 1), r)
		}
		return NLLLoss(grads([]int{1, 2}, -0.3, -0.8), tensor.MustNew([]int64{1}, 1), r)
	},
	"ctc_loss": func(r Reduction, _ string) (*tensor.Tensor, error) {
		return CTCLossInts(grads([]int{2, 1, 2}, -0.3, -1.35, -0.5, -0.94), tensor.MustNew([]int64{1}, 1, 1), []int64{2}, []int64{1}, r)
	},
	"hinge_embedding_loss": func(r Reduction, _ string) (*tensor.Tensor, error) {
		return HingeEmbeddingLoss(grads([]int{2}, 0.3, 0.8), tensor.MustNew([]float64{-1, 1}, 2), r)
	},
	"kl_div": func(r Reduction, c string) (*tensor.Tensor, error) {
		if c == losses.Scalar {
			x := tensor.Scalar(-0.3)
			_ = x.SetRequiresGrad(true)
			return KLDiv(x, tensor.Scalar(0.5), r)
		}
		return KLDiv(grads([]int{2}, -0.3, -0.8), tensor.MustNew([]float64{0.5, 0.25}, 2), r, LogTarget(c == "log_target"))
	},
	"l1_loss": func(r Reduction, c string) (*tensor.Tensor, error) {
		return L1Loss(grads([]int{2}, 0.3, 0.8), tensor.MustNew([]float64{0, 1}, 2), r, weightIf(c))
	},
	"mse_loss": func(r Reduction, c string) (*tensor.Tensor, error) {
		return MSELoss(grads([]int{2}, 0.3, 0.8), tensor.MustNew([]float64{0, 1}, 2), r, weightIf(c))
	},
	"smooth_l1_loss": func(r Reduction, _ string) (*tensor.Tensor, error) {
		return SmoothL1Loss(grads([]int{2}, 0.3, 0.8), tensor.MustNew([]float64{0, 1}, 2), r)
	},
	"huber_loss": func(r Reduction, c string) (*tensor.Tensor, error) {
		return HuberLoss(grads([]int{2}, 0.3, 0.8), tensor.MustNew([]float64{0, 1}, 2), r, weightIf(c))
	},
	"soft_margin_loss": func(r Reduction, _ string) (*tensor.Tensor, error) {
		return SoftMarginLoss(grads([]int{2}, 0.3, 0.8), tensor.MustNew([]float64{-1, 1}, 2), r)
	},
	"multilabel_soft_margin_loss": func(r Reduction, _ string) (*tensor.Tensor, error) {
		return MultilabelSoftMarginLoss(grads([]int{1, 2}, 0.3, 0.8), tensor.MustNew([]float64{0, 1}, 1, 2), r)
	},
	"margin_ranking_loss": func(r Reduction, _ string) (*tensor.Tensor, error) {
		return MarginRankingLoss(grads([]int{2}, 0.3, 0.8), grads([]int{2}, 0.5, 0.1), tensor.MustNew([]float64{1, -1}, 2), r)
	},
	"multi_margin_loss": func(r Reduction, _ string) (*tensor.Tensor, error) {
		return MultiMarginLoss(grads([]int{1, 2}, 0.3, 0.8), tensor.MustNew([]int64{1}, 1), r)
	},
	"multilabel_margin_loss": func(r Reduction, _ string) (*tensor.Tensor, error) {
		return MultilabelMarginLoss(grads([]int{1, 2}, 0.3, 0.8), tensor.MustNew([]int64{1, -1}, 1, 2), r)
	},
	"triplet_margin_loss": func(r Reduction, _ string) (*tensor.Tensor, error) {
		return TripletMarginLoss(grads([]int{1, 2}, 0.3, 0.8), grads([]int{1, 2}, 0.5, 0.1), grads([]int{1, 2}, 0.2, 0.9), r)
	},
	"triplet_margin_with_distance_loss": func(r Reduction, _ string) (*tensor.Tensor, error) {
		return TripletMarginWithDistanceLoss(grads([]int{1, 2}, 0.3, 0.8), grads([]int{1, 2}, 0.5, 0.1), grads([]int{1, 2}, 0.2, 0.9), r)
	},
}

func weightIf(cond string) Option {
	if cond == "weight" {
		return Weight(tensor.MustNew([]float64{0.5, 2}, 2))
	}
	return nil
}

// TestTableNodes checks every loss's backward-node names, per reduction
// and condition, against the table (what the CPU implementation records,
// PyTorch's grad_fn).
func TestTableNodes(t *testing.T) {
	for _, row := range losses.Table {
		call := tableCalls[row.Name]
		if call == nil {
			t.Errorf("%s: no call in tableCalls", row.Name)
			continue
		}
		reductions := []Reduction{Mean, Sum, None}
		if row.BatchMean {
			reductions = append(reductions, BatchMean)
		}
		conds := []string{""}
		for _, v := range row.Variants {
			conds = append(conds, v.When)
		}
		for _, cond := range conds {
			for _, r := range reductions {
				out, err := call(r, cond)
				if err != nil {
					t.Errorf("%s %s %q: %v", row.Name, r, cond, err)
					continue
				}
				want := row.Node(string(r), cond)
				if got := out.GradFn(); got == nil || got.Name != want {
					t.Errorf("%s reduction %s, condition %q: grad_fn %v, table says %s", row.Name, r, cond, got, want)
				}
			}
		}
	}
}

// TestTableDefaults checks that every option of the table is known to
// option parsing and that a call without options takes the table's
// defaults.
func TestTableDefaults(t *testing.T) {
	for _, row := range losses.Table {
		s := lossSpecs[row.Name]
		if s == nil {
			t.Fatalf("%s: no spec", row.Name)
		}
		for i, n := range optNames {
			want := n == "reduction" || slices.ContainsFunc(row.Options, func(o losses.Option) bool { return o.Name == n })
			if got := (s.accepted|optReduction)&(1<<i) != 0; got != want {
				t.Errorf("%s: option %s accepted %v, table says %v", row.Name, n, got, want)
			}
		}
		cfg, err := lossOptions(row.Name, nil)
		if err != nil {
			t.Fatalf("%s: %v", row.Name, err)
		}
		for _, o := range row.Options {
			got := map[string]any{
				"label_smoothing": cfg.labelSmoothing, "eps": cfg.eps, "margin": cfg.margin, "beta": cfg.beta,
				"delta": cfg.delta, "p": cfg.p, "ignore_index": cfg.ignoreIndex, "blank": cfg.blank,
				"log_input": cfg.logInput, "full": cfg.full, "zero_infinity": cfg.zeroInfinity,
				"log_target": cfg.logTarget, "swap": cfg.swap,
			}[o.Name]
			if o.Default != nil && got != o.Default {
				t.Errorf("%s: default of %s is %v, table says %v", row.Name, o.Name, got, o.Default)
			}
		}
		if cfg.reduction != Mean {
			t.Errorf("%s: default reduction %q", row.Name, cfg.reduction)
		}
	}
}
