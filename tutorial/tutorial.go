// Package tutorial holds the ten examples of the torch.nn.functional loss
// tutorial that torchloss grew from, translated line by line into Go: each
// builds the tutorial's tensors, computes the loss, calls Backward and prints
// the loss and the gradient it produced. `torchloss demo` runs them.
//
// The random tensors come from a seeded tensor.Generator, so the numbers are
// reproducible (but not PyTorch's: its generator differs).
package tutorial

import (
	"fmt"
	"io"
	"sort"

	F "github.com/torchloss/torchloss/functional"
	"github.com/torchloss/torchloss/tensor"
)

// An Example is one tutorial entry.
type Example struct {
	Name    string // PyTorch's function name
	PyTorch string // the tutorial's PyTorch code
	Run     func(w io.Writer, g *tensor.Generator) error
}

// Examples lists the ten examples in the tutorial's order.
var Examples = []Example{
	{"binary_cross_entropy", `input = torch.randn(3, 2, requires_grad=True)
target = torch.rand(3, 2, requires_grad=False)
loss = F.binary_cross_entropy(torch.sigmoid(input), target)
loss.backward()`, BinaryCrossEntropy},
	{"binary_cross_entropy_with_logits", `input = torch.randn(3, requires_grad=True)
target = torch.empty(3).random_(2)
loss = F.binary_cross_entropy_with_logits(input, target)
loss.backward()`, BinaryCrossEntropyWithLogits},
	{"poisson_nll_loss", `input = torch.randn(3, requires_grad=True)
target = torch.empty(3).random_(2)
loss = F.poisson_nll_loss(input, target)
loss.backward()`, PoissonNLLLoss},
	{"cosine_embedding_loss", `input1 = torch.randn(3, 128, requires_grad=True)
input2 = torch.randn(3, 128, requires_grad=True)
target = torch.tensor([1, -1, 1])
loss = F.cosine_embedding_loss(input1, input2, target)
loss.backward()`, CosineEmbeddingLoss},
	{"cross_entropy", `input = torch.randn(3, 5, requires_grad=True)
target = torch.randint(5, (3,), dtype=torch.int64)
loss = F.cross_entropy(input, target)
loss.backward()
input = torch.randn(3, 5, requires_grad=True)
target = torch.randn(3, 5).softmax(dim=1)
loss = F.cross_entropy(input, target)
loss.backward()`, CrossEntropy},
	{"ctc_loss", `log_probs = torch.randn(50, 16, 20).log_softmax(2).detach().requires_grad_()
targets = torch.randint(1, 20, (16, 30), dtype=torch.long)
input_lengths = torch.full((16,), 50, dtype=torch.long)
target_lengths = torch.randint(10, 30, (16,), dtype=torch.long)
loss = F.ctc_loss(log_probs, targets, input_lengths, target_lengths)
loss.backward()`, CTCLoss},
	{"gaussian_nll_loss", `input = torch.randn(3, requires_grad=True)
target = torch.randn(3)
var = torch.ones(3, requires_grad=True) * 0.5
loss = F.gaussian_nll_loss(input, target, var)
loss.backward()`, GaussianNLLLoss},
	{"hinge_embedding_loss", `input = torch.randn(10, requires_grad=True)
target = torch.tensor([1, -1, 1, 1, -1, -1, 1, 1, -1, -1], dtype=torch.float)
loss = F.hinge_embedding_loss(input, target)
loss.backward()`, HingeEmbeddingLoss},
	{"kl_div", `input = F.log_softmax(torch.randn(3, 5, requires_grad=True), dim=1)
target = F.softmax(torch.randn(3, 5), dim=1)
loss = F.kl_div(input, target, reduction='batchmean')
loss.backward()`, KLDiv},
	{"l1_loss", `input = torch.randn(3, 2, requires_grad=True)
target = torch.randn(3, 2)
loss = F.l1_loss(input, target)
loss.backward()`, L1Loss},
}

// Names lists the examples' names, sorted.
func Names() []string {
	var names []string
	for _, e := range Examples {
		names = append(names, e.Name)
	}
	sort.Strings(names)
	return names
}

// Find returns the example of the given name.
func Find(name string) (Example, bool) {
	for _, e := range Examples {
		if e.Name == name {
			return e, true
		}
	}
	return Example{}, false
}

// leaf marks t as requiring a gradient.
func leaf(t *tensor.Tensor, err error) (*tensor.Tensor, error) {
	if err != nil {
		return nil, err
	}
	return t, t.SetRequiresGrad(true)
}

// report prints the loss and the gradients of the leaves.
func report(w io.Writer, loss *tensor.Tensor, grads ...any) {
	fmt.Fprintf(w, "loss: %v\n", loss)
	for i := 0; i+1 < len(grads); i += 2 {
		fmt.Fprintf(w, "%s.grad: %v\n", grads[i], grads[i+1].(*tensor.Tensor).Grad())
	}
}

// BinaryCrossEntropy: BCE of sigmoid(randn(3, 2)) against rand(3, 2).
func BinaryCrossEntropy(w io.Writer, g *tensor.Generator) error {
	input, err := leaf(g.Randn(3, 2))
	if err != nil {
		return err
	}
	target, err := g.Rand(3, 2)
	if err != nil {
		return err
	}
	p, err := F.Sigmoid(input)
	if err != nil {
		return err
	}
	loss, err := F.BinaryCrossEntropy(p, target)
	if err != nil {
		return err
	}
	if err := loss.Backward(); err != nil {
		return err
	}
	report(w, loss, "input", input)
	return nil
}

// BinaryCrossEntropyWithLogits: BCE with logits of randn(3) against
// empty(3).random_(2).
func BinaryCrossEntropyWithLogits(w io.Writer, g *tensor.Generator) error {
	input, err := leaf(g.Randn(3))
	if err != nil {
		return err
	}
	target, err := g.Random(2, 3)
	if err != nil {
		return err
	}
	loss, err := F.BinaryCrossEntropyWithLogits(input, target)
	if err != nil {
		return err
	}
	if err := loss.Backward(); err != nil {
		return err
	}
	report(w, loss, "input", input)
	return nil
}

// PoissonNLLLoss: poisson_nll_loss of randn(3) (log rates) against
// empty(3).random_(2).
func PoissonNLLLoss(w io.Writer, g *tensor.Generator) error {
	input, err := leaf(g.Randn(3))
	if err != nil {
		return err
	}
	target, err := g.Random(2, 3)
	if err != nil {
		return err
	}
	loss, err := F.PoissonNLLLoss(input, target)
	if err != nil {
		return err
	}
	if err := loss.Backward(); err != nil {
		return err
	}
	report(w, loss, "input", input)
	return nil
}

// CosineEmbeddingLoss: two randn(3, 128) with targets [1, -1, 1].
func CosineEmbeddingLoss(w io.Writer, g *tensor.Generator) error {
	input1, err := leaf(g.Randn(3, 128))
	if err != nil {
		return err
	}
	input2, err := leaf(g.Randn(3, 128))
	if err != nil {
		return err
	}
	target := tensor.MustNew([]int64{1, -1, 1}, 3)
	loss, err := F.CosineEmbeddingLoss(input1, input2, target)
	if err != nil {
		return err
	}
	if err := loss.Backward(); err != nil {
		return err
	}
	fmt.Fprintf(w, "loss: %v\n", loss)
	g1 := input1.Grad().Float32s()
	fmt.Fprintf(w, "input1.grad[0, :4]: %.4f\n", g1[:4])
	return nil
}

// CrossEntropy: class indices randn(3, 5) / randint(5, (3,)), then class
// probabilities randn(3, 5).softmax(1).
func CrossEntropy(w io.Writer, g *tensor.Generator) error {
	input, err := leaf(g.Randn(3, 5))
	if err != nil {
		return err
	}
	target, err := g.RandInt(0, 5, 3)
	if err != nil {
		return err
	}
	loss, err := F.CrossEntropy(input, target)
	if err != nil {
		return err
	}
	if err := loss.Backward(); err != nil {
		return err
	}
	fmt.Fprintln(w, "class indices:")
	report(w, loss, "input", input)

	input, err = leaf(g.Randn(3, 5))
	if err != nil {
		return err
	}
	logits, err := g.Randn(3, 5)
	if err != nil {
		return err
	}
	probs, err := F.Softmax(logits, 1)
	if err != nil {
		return err
	}
	loss, err = F.CrossEntropy(input, probs)
	if err != nil {
		return err
	}
	if err := loss.Backward(); err != nil {
		return err
	}
	fmt.Fprintln(w, "class probabilities:")
	report(w, loss, "input", input)
	return nil
}

// CTCLoss: log_probs randn(50, 16, 20).log_softmax(2), targets
// randint(1, 20, (16, 30)), input lengths 50, target lengths
// randint(10, 30, (16,)).
func CTCLoss(w io.Writer, g *tensor.Generator) error {
	x, err := g.Randn(50, 16, 20)
	if err != nil {
		return err
	}
	lp, err := F.LogSoftmax(x, 2)
	if err != nil {
		return err
	}
	logProbs, err := leaf(lp.Detach(), nil)
	if err != nil {
		return err
	}
	targets, err := g.RandInt(1, 20, 16, 30)
	if err != nil {
		return err
	}
	inputLengths, err := tensor.Full(50, tensor.Int64, 16)
	if err != nil {
		return err
	}
	targetLengths, err := g.RandInt(10, 30, 16)
	if err != nil {
		return err
	}
	loss, err := F.CTCLoss(logProbs, targets, inputLengths, targetLengths)
	if err != nil {
		return err
	}
	if err := loss.Backward(); err != nil {
		return err
	}
	fmt.Fprintf(w, "loss: %v\n", loss)
	fmt.Fprintf(w, "log_probs.grad[0, 0, :5]: %.4f\n", logProbs.Grad().Float32s()[:5])
	return nil
}

// GaussianNLLLoss: randn(3) against randn(3) with var ones(3)·0.5.
func GaussianNLLLoss(w io.Writer, g *tensor.Generator) error {
	input, err := leaf(g.Randn(3))
	if err != nil {
		return err
	}
	target, err := g.Randn(3)
	if err != nil {
		return err
	}
	variance, err := leaf(tensor.Full(0.5, tensor.Float32, 3))
	if err != nil {
		return err
	}
	loss, err := F.GaussianNLLLoss(input, target, variance)
	if err != nil {
		return err
	}
	if err := loss.Backward(); err != nil {
		return err
	}
	report(w, loss, "input", input, "var", variance)
	return nil
}

// HingeEmbeddingLoss: randn(10) with targets [1, -1, 1, 1, -1, -1, 1, 1, -1, -1].
func HingeEmbeddingLoss(w io.Writer, g *tensor.Generator) error {
	input, err := leaf(g.Randn(10))
	if err != nil {
		return err
	}
	target := tensor.MustNew([]float32{1, -1, 1, 1, -1, -1, 1, 1, -1, -1}, 10)
	loss, err := F.HingeEmbeddingLoss(input, target)
	if err != nil {
		return err
	}
	if err := loss.Backward(); err != nil {
		return err
	}
	report(w, loss, "input", input)
	return nil
}

// KLDiv: batchmean KL divergence of log_softmax(randn(3, 5)) from
// softmax(randn(3, 5)).
func KLDiv(w io.Writer, g *tensor.Generator) error {
	x, err := leaf(g.Randn(3, 5))
	if err != nil {
		return err
	}
	input, err := F.LogSoftmax(x, 1)
	if err != nil {
		return err
	}
	y, err := g.Randn(3, 5)
	if err != nil {
		return err
	}
	target, err := F.Softmax(y, 1)
	if err != nil {
		return err
	}
	loss, err := F.KLDiv(input, target, F.BatchMean)
	if err != nil {
		return err
	}
	if err := loss.Backward(); err != nil {
		return err
	}
	report(w, loss, "x", x)
	return nil
}

// L1Loss: randn(3, 2) against randn(3, 2).
func L1Loss(w io.Writer, g *tensor.Generator) error {
	input, err := leaf(g.Randn(3, 2))
	if err != nil {
		return err
	}
	target, err := g.Randn(3, 2)
	if err != nil {
		return err
	}
	loss, err := F.L1Loss(input, target)
	if err != nil {
		return err
	}
	if err := loss.Backward(); err != nil {
		return err
	}
	report(w, loss, "input", input)
	return nil
}
