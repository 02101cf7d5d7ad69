package functional_test

import (
	"fmt"

	F "github.com/torchloss/torchloss/functional"
	"github.com/torchloss/torchloss/tensor"
)

// Examples of the losses beyond the tutorial's ten, on small literal
// tensors; each printed value agrees with PyTorch's.

func ExampleNLLLoss() {
	logProbs := tensor.MustNew([]float32{-0.5, -1.2, -2.3, -1.9, -0.3, -1.6}, 2, 3)
	_ = logProbs.SetRequiresGrad(true)
	target := tensor.MustNew([]int64{0, 2}, 2)
	w := tensor.MustNew([]float32{1, 1, 2}, 3)
	loss, _ := F.NLLLoss(logProbs, target, F.Weight(w)) // F.nll_loss(log_probs, target, weight=w)
	_ = loss.Backward()
	fmt.Println(loss)
	fmt.Println(logProbs.Grad())
	// Output:
	// tensor(1.2333, grad_fn=<NllLossBackward0>)
	// tensor([[-0.3333,  0.0000,  0.0000],
	//         [ 0.0000,  0.0000, -0.6667]])
}

func ExampleMSELoss() {
	input := tensor.MustNew([]float32{0.5, -1, 2, 0}, 4)
	_ = input.SetRequiresGrad(true)
	target := tensor.MustNew([]float32{0, 0, 1, 1}, 4)
	loss, _ := F.MSELoss(input, target) // F.mse_loss(input, target)
	_ = loss.Backward()
	fmt.Println(loss)
	fmt.Println(input.Grad())
	// Output:
	// tensor(0.8125, grad_fn=<MseLossBackward0>)
	// tensor([ 0.2500, -0.5000,  0.5000, -0.5000])
}

func ExampleSmoothL1Loss() {
	input := tensor.MustNew([]float32{0.2, -1, 3, 0.5}, 4)
	_ = input.SetRequiresGrad(true)
	target := tensor.MustNew([]float32{0, 0, 0, 0}, 4)
	loss, _ := F.SmoothL1Loss(input, target, F.Beta(0.5), F.None) // F.smooth_l1_loss(input, target, beta=0.5, reduction='none')
	fmt.Println(loss)
	// Output:
	// tensor([0.0400, 0.7500, 2.7500, 0.2500], grad_fn=<SmoothL1LossBackward0>)
}

func ExampleHuberLoss() {
	input := tensor.MustNew([]float32{0.2, -1, 3, 0.5}, 4)
	target := tensor.MustNew([]float32{0, 0, 0, 0}, 4)
	loss, _ := F.HuberLoss(input, target, F.Delta(0.5), F.None) // F.huber_loss(input, target, delta=0.5, reduction='none')
	fmt.Println(loss)
	// Output:
	// tensor([0.0200, 0.3750, 1.3750, 0.1250])
}

func ExampleSoftMarginLoss() {
	input := tensor.MustNew([]float32{2, -0.5, 0.3}, 3)
	_ = input.SetRequiresGrad(true)
	target := tensor.MustNew([]float32{1, 1, -1}, 3)
	loss, _ := F.SoftMarginLoss(input, target) // F.soft_margin_loss(input, target)
	_ = loss.Backward()
	fmt.Println(loss)
	fmt.Println(input.Grad())
	// Output:
	// tensor(0.6518, grad_fn=<SoftMarginLossBackward0>)
	// tensor([-0.0397, -0.2075,  0.1915])
}

func ExampleMultilabelSoftMarginLoss() {
	input := tensor.MustNew([]float32{1.5, -0.5, 0.2, -2, 0.7, 1}, 2, 3)
	_ = input.SetRequiresGrad(true)
	target := tensor.MustNew([]float32{1, 0, 1, 0, 0, 1}, 2, 3)
	loss, _ := F.MultilabelSoftMarginLoss(input, target) // F.multilabel_soft_margin_loss(input, target)
	_ = loss.Backward()
	fmt.Println(loss)
	fmt.Println(input.Grad())
	// Output:
	// tensor(0.4695, grad_fn=<MeanBackward0>)
	// tensor([[-0.0304,  0.0629, -0.0750],
	//         [ 0.0199,  0.1114, -0.0448]])
}

func ExampleMarginRankingLoss() {
	input1 := tensor.MustNew([]float32{0.8, 0.1, 0.5}, 3)
	input2 := tensor.MustNew([]float32{0.3, 0.6, 0.5}, 3)
	_ = input1.SetRequiresGrad(true)
	target := tensor.MustNew([]float32{1, 1, -1}, 3)
	loss, _ := F.MarginRankingLoss(input1, input2, target, F.Margin(0.2)) // F.margin_ranking_loss(x1, x2, y, margin=0.2)
	_ = loss.Backward()
	fmt.Println(loss)
	fmt.Println(input1.Grad())
	// Output:
	// tensor(0.3000, grad_fn=<MeanBackward0>)
	// tensor([-0.0000, -0.3333,  0.3333])
}

func ExampleMultiMarginLoss() {
	input := tensor.MustNew([]float32{0.1, 0.2, 0.4, 0.8, 0.9, 0.1, 0.3, 0.2}, 2, 4)
	_ = input.SetRequiresGrad(true)
	target := tensor.MustNew([]int64{3, 0}, 2)
	loss, _ := F.MultiMarginLoss(input, target) // F.multi_margin_loss(input, target)
	_ = loss.Backward()
	fmt.Println(loss)
	fmt.Println(input.Grad())
	// Output:
	// tensor(0.2750, grad_fn=<MultiMarginLossBackward0>)
	// tensor([[ 0.1250,  0.1250,  0.1250, -0.3750],
	//         [-0.3750,  0.1250,  0.1250,  0.1250]])
}

func ExampleMultilabelMarginLoss() {
	input := tensor.MustNew([]float32{0.1, 0.2, 0.4, 0.8}, 1, 4)
	_ = input.SetRequiresGrad(true)
	target := tensor.MustNew([]int64{3, 0, -1, 1}, 1, 4) // labels 3 and 0; -1 ends the list
	loss, _ := F.MultilabelMarginLoss(input, target)     // F.multilabel_margin_loss(input, target)
	_ = loss.Backward()
	fmt.Println(loss)
	fmt.Println(input.Grad())
	// Output:
	// tensor(0.8500, grad_fn=<MultilabelMarginLossBackward0>)
	// tensor([[-0.5000,  0.5000,  0.5000, -0.5000]])
}

func ExampleTripletMarginLoss() {
	anchor := tensor.MustNew([]float32{0, 0, 1, 1}, 2, 2)
	positive := tensor.MustNew([]float32{0.1, 0, 1, 0.8}, 2, 2)
	negative := tensor.MustNew([]float32{0.5, 0.5, 3, 1}, 2, 2)
	_ = anchor.SetRequiresGrad(true)
	loss, _ := F.TripletMarginLoss(anchor, positive, negative) // F.triplet_margin_loss(a, p, n)
	_ = loss.Backward()
	fmt.Println(loss)
	fmt.Println(anchor.Grad())
	// Output:
	// tensor(0.1964, grad_fn=<MeanBackward0>)
	// tensor([[-0.1464,  0.3536],
	//         [ 0.0000,  0.0000]])
}

func ExampleTripletMarginWithDistanceLoss() {
	anchor := tensor.MustNew([]float32{0, 0, 1, 1}, 2, 2)
	positive := tensor.MustNew([]float32{0.1, 0, 1, 0.8}, 2, 2)
	negative := tensor.MustNew([]float32{0.5, 0.5, 3, 1}, 2, 2)
	// An L1 distance built from differentiable ops:
	// distance_function=lambda x, y: (x - y).abs().sum(-1)
	l1 := func(x, y *tensor.Tensor) (*tensor.Tensor, error) {
		d, err := F.Sub(x, y)
		if err != nil {
			return nil, err
		}
		if d, err = F.Abs(d); err != nil {
			return nil, err
		}
		return F.SumDim(d, -1)
	}
	loss, _ := F.TripletMarginWithDistanceLoss(anchor, positive, negative, F.DistanceFunction(l1), F.Margin(0.5))
	fmt.Println(loss)
	// Output:
	// tensor(0.)
}
