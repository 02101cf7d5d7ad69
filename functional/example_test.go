package functional_test

import (
	"fmt"

	F "github.com/torchloss/torchloss/functional"
	"github.com/torchloss/torchloss/tensor"
)

// The tutorial's ten examples, line by line. Each comment is the PyTorch
// line; the random tensors come from torchloss's seeded generator, so the
// numbers differ from PyTorch's (its generator differs) but are fixed.

func ExampleBinaryCrossEntropy() {
	g := tensor.NewGenerator(1)
	input, _ := g.Randn(3, 2) // input = torch.randn(3, 2, requires_grad=True)
	_ = input.SetRequiresGrad(true)
	target, _ := g.Rand(3, 2)                    // target = torch.rand(3, 2, requires_grad=False)
	p, _ := F.Sigmoid(input)                     // torch.sigmoid(input)
	loss, err := F.BinaryCrossEntropy(p, target) // loss = F.binary_cross_entropy(torch.sigmoid(input), target)
	if err != nil {
		fmt.Println(err)
		return
	}
	_ = loss.Backward() // loss.backward()
	fmt.Println(loss)
	fmt.Println(input.Grad())
	// Output:
	// tensor(1.0000, grad_fn=<BinaryCrossEntropyBackward0>)
	// tensor([[-0.1438, -0.0643],
	//         [-0.0158, -0.0010],
	//         [ 0.0729, -0.0450]])
}

func ExampleBinaryCrossEntropyWithLogits() {
	g := tensor.NewGenerator(2)
	input, _ := g.Randn(3) // input = torch.randn(3, requires_grad=True)
	_ = input.SetRequiresGrad(true)
	target, _ := g.Random(2, 3)                              // target = torch.empty(3).random_(2)
	loss, _ := F.BinaryCrossEntropyWithLogits(input, target) // loss = F.binary_cross_entropy_with_logits(input, target)
	_ = loss.Backward()                                      // loss.backward()
	fmt.Println(loss)
	fmt.Println(input.Grad())
	// Output:
	// tensor(1.2198, grad_fn=<BinaryCrossEntropyWithLogitsBackward0>)
	// tensor([0.2200, 0.2121, 0.2639])
}

func ExamplePoissonNLLLoss() {
	g := tensor.NewGenerator(3)
	input, _ := g.Randn(3) // input = torch.randn(3, requires_grad=True)
	_ = input.SetRequiresGrad(true)
	target, _ := g.Random(2, 3)                // target = torch.empty(3).random_(2)
	loss, _ := F.PoissonNLLLoss(input, target) // loss = F.poisson_nll_loss(input, target)
	_ = loss.Backward()                        // loss.backward()
	fmt.Println(loss)
	fmt.Println(input.Grad())
	// Output:
	// tensor(1.0043, grad_fn=<MeanBackward0>)
	// tensor([ 0.0852,  0.2909, -0.2345])
}

func ExampleCosineEmbeddingLoss() {
	g := tensor.NewGenerator(4)
	input1, _ := g.Randn(3, 128) // input1 = torch.randn(3, 128, requires_grad=True)
	input2, _ := g.Randn(3, 128) // input2 = torch.randn(3, 128, requires_grad=True)
	_ = input1.SetRequiresGrad(true)
	_ = input2.SetRequiresGrad(true)
	target := tensor.MustNew([]int64{1, -1, 1}, 3)           // target = torch.tensor([1, -1, 1])
	loss, _ := F.CosineEmbeddingLoss(input1, input2, target) // loss = F.cosine_embedding_loss(input1, input2, target)
	_ = loss.Backward()                                      // loss.backward()
	fmt.Println(loss)
	fmt.Printf("%.4f\n", input1.Grad().Float32s()[:4])
	// Output:
	// tensor(0.6207, grad_fn=<MeanBackward0>)
	// [-0.0003 0.0038 -0.0001 -0.0027]
}

func ExampleCrossEntropy() {
	g := tensor.NewGenerator(5)
	// Class indices.
	input, _ := g.Randn(3, 5) // input = torch.randn(3, 5, requires_grad=True)
	_ = input.SetRequiresGrad(true)
	target, _ := g.RandInt(0, 5, 3)          // target = torch.randint(5, (3,), dtype=torch.int64)
	loss, _ := F.CrossEntropy(input, target) // loss = F.cross_entropy(input, target)
	_ = loss.Backward()                      // loss.backward()
	fmt.Println(loss)
	fmt.Println(input.Grad())

	// Class probabilities.
	input, _ = g.Randn(3, 5) // input = torch.randn(3, 5, requires_grad=True)
	_ = input.SetRequiresGrad(true)
	logits, _ := g.Randn(3, 5)
	target, _ = F.Softmax(logits, 1)        // target = torch.randn(3, 5).softmax(dim=1)
	loss, _ = F.CrossEntropy(input, target) // loss = F.cross_entropy(input, target)
	_ = loss.Backward()                     // loss.backward()
	fmt.Println(loss)
	// Output:
	// tensor(1.4103, grad_fn=<NllLossBackward0>)
	// tensor([[-0.2764,  0.1227,  0.0405,  0.0387,  0.0745],
	//         [ 0.0226,  0.0124,  0.1290,  0.0192, -0.1831],
	//         [ 0.0347,  0.0928, -0.2704,  0.0575,  0.0854]])
	// tensor(1.8422, grad_fn=<DivBackward1>)
}

func ExampleCTCLoss() {
	g := tensor.NewGenerator(6)
	x, _ := g.Randn(50, 16, 20)
	lp, _ := F.LogSoftmax(x, 2) // log_probs = torch.randn(50, 16, 20).log_softmax(2).detach().requires_grad_()
	logProbs := lp.Detach()
	_ = logProbs.SetRequiresGrad(true)
	targets, _ := g.RandInt(1, 20, 16, 30)               // targets = torch.randint(1, 20, (16, 30), dtype=torch.long)
	inputLengths, _ := tensor.Full(50, tensor.Int64, 16) // input_lengths = torch.full((16,), 50, dtype=torch.long)
	targetLengths, _ := g.RandInt(10, 30, 16)            // target_lengths = torch.randint(10, 30, (16,), dtype=torch.long)
	loss, _ := F.CTCLoss(logProbs, targets, inputLengths, targetLengths)
	_ = loss.Backward() // loss.backward()
	fmt.Println(loss)
	fmt.Printf("%.4f\n", logProbs.Grad().Float32s()[:5])
	// Output:
	// tensor(6.4840, grad_fn=<CtcLossBackward0>)
	// [-0.0019 0.0001 0.0003 -0.0003 0.0001]
}

func ExampleGaussianNLLLoss() {
	g := tensor.NewGenerator(7)
	input, _ := g.Randn(3) // input = torch.randn(3, requires_grad=True)
	_ = input.SetRequiresGrad(true)
	target, _ := g.Randn(3)                            // target = torch.randn(3)
	variance, _ := tensor.Full(0.5, tensor.Float32, 3) // var = torch.ones(3, requires_grad=True) * 0.5
	_ = variance.SetRequiresGrad(true)
	loss, _ := F.GaussianNLLLoss(input, target, variance) // loss = F.gaussian_nll_loss(input, target, var)
	_ = loss.Backward()                                   // loss.backward()
	fmt.Println(loss)
	fmt.Println(input.Grad())
	fmt.Println(variance.Grad())
	// Output:
	// tensor(0.5735, grad_fn=<MeanBackward0>)
	// tensor([0.4827, 0.0629, 0.9949])
	// tensor([-0.0162,  0.3274, -1.1514])
}

func ExampleHingeEmbeddingLoss() {
	g := tensor.NewGenerator(8)
	input, _ := g.Randn(10) // input = torch.randn(10, requires_grad=True)
	_ = input.SetRequiresGrad(true)
	target := tensor.MustNew([]float32{1, -1, 1, 1, -1, -1, 1, 1, -1, -1}, 10) // target = torch.tensor([1, -1, 1, 1, -1, -1, 1, 1, -1, -1], dtype=torch.float)
	loss, _ := F.HingeEmbeddingLoss(input, target)                             // loss = F.hinge_embedding_loss(input, target)
	_ = loss.Backward()                                                        // loss.backward()
	fmt.Println(loss)
	fmt.Println(input.Grad())
	// Output:
	// tensor(0.4763, grad_fn=<MeanBackward0>)
	// tensor([ 0.1000, -0.1000,  0.1000,  0.1000, -0.1000, -0.1000,  0.1000,  0.1000,
	//         -0.1000, -0.1000])
}

func ExampleKLDiv() {
	g := tensor.NewGenerator(9)
	x, _ := g.Randn(3, 5)
	_ = x.SetRequiresGrad(true)
	input, _ := F.LogSoftmax(x, 1) // input = F.log_softmax(torch.randn(3, 5, requires_grad=True), dim=1)
	y, _ := g.Randn(3, 5)
	target, _ := F.Softmax(y, 1)                   // target = F.softmax(torch.randn(3, 5), dim=1)
	loss, _ := F.KLDiv(input, target, F.BatchMean) // loss = F.kl_div(input, target, reduction='batchmean')
	_ = loss.Backward()                            // loss.backward()
	fmt.Println(loss)
	fmt.Println(x.Grad())
	// Output:
	// tensor(0.6806, grad_fn=<DivBackward0>)
	// tensor([[-0.0407, -0.0707,  0.1115, -0.0077,  0.0076],
	//         [-0.0051, -0.0013,  0.2090, -0.2033,  0.0007],
	//         [-0.0679, -0.0365,  0.0887, -0.0103,  0.0260]])
}

func ExampleL1Loss() {
	g := tensor.NewGenerator(10)
	input, _ := g.Randn(3, 2) // input = torch.randn(3, 2, requires_grad=True)
	_ = input.SetRequiresGrad(true)
	target, _ := g.Randn(3, 2)         // target = torch.randn(3, 2)
	loss, _ := F.L1Loss(input, target) // loss = F.l1_loss(input, target)
	_ = loss.Backward()                // loss.backward()
	fmt.Println(loss)
	fmt.Println(input.Grad())
	// Output:
	// tensor(1.2131, grad_fn=<MeanBackward0>)
	// tensor([[-0.1667, -0.1667],
	//         [ 0.1667, -0.1667],
	//         [ 0.1667,  0.1667]])
}
