package functional_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/torchloss/torchloss/functional"
	"github.com/torchloss/torchloss/tensor"
)

// The concurrency test: 64 goroutines compute every loss over SHARED input
// tensors, forward only, with leaves of their own (Backward), and with one
// leaf shared by all of them (concurrent Backward accumulating into the same
// Grad); every result must equal the single-goroutine result bit for bit.
// A fourth pass runs Backward on one shared output from every goroutine.
// Run it under the race detector: go test -race ./functional.

const goroutines = 64

// ccCase is one loss call: args builds its arguments (deterministically;
// the arguments listed in diff require a gradient when grad is true) and
// call computes the loss.
type ccCase struct {
	name string
	args func(grad bool) []*tensor.Tensor
	diff []int
	call func(a []*tensor.Tensor, r functional.Reduction) (*tensor.Tensor, error)
}

func ccRand(seed uint64, lo, hi float64, shape ...int) *tensor.Tensor {
	r := rand.New(rand.NewPCG(seed, 7))
	n := 1
	for _, d := range shape {
		n *= d
	}
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(lo + (hi-lo)*r.Float64())
	}
	return tensor.MustNew(v, shape...)
}

func ccInts(seed uint64, lo, hi int64, shape ...int) *tensor.Tensor {
	r := rand.New(rand.NewPCG(seed, 9))
	n := 1
	for _, d := range shape {
		n *= d
	}
	v := make([]int64, n)
	for i := range v {
		v[i] = lo + r.Int64N(hi-lo)
	}
	return tensor.MustNew(v, shape...)
}

func ccSigns(seed uint64, shape ...int) *tensor.Tensor {
	t := ccRand(seed, -1, 1, shape...)
	for i, v := range t.Float32s() {
		t.Float32s()[i] = float32(math.Copysign(1, float64(v)))
	}
	return t
}

// ccBuild wraps an argument builder, marking the diff arguments.
func ccBuild(diff []int, build func() []*tensor.Tensor) func(bool) []*tensor.Tensor {
	return func(grad bool) []*tensor.Tensor {
		a := build()
		if grad {
			for _, i := range diff {
				if err := a[i].SetRequiresGrad(true); err != nil {
					panic(err)
				}
			}
		}
		return a
	}
}

func ccCases() []ccCase {
	const n, c = 8, 5
	two := func(f func(x, y *tensor.Tensor, o ...functional.Option) (*tensor.Tensor, error), o ...functional.Option) func([]*tensor.Tensor, functional.Reduction) (*tensor.Tensor, error) {
		return func(a []*tensor.Tensor, r functional.Reduction) (*tensor.Tensor, error) {
			return f(a[0], a[1], append([]functional.Option{r}, o...)...)
		}
	}
	three := func(f func(x, y, z *tensor.Tensor, o ...functional.Option) (*tensor.Tensor, error), o ...functional.Option) func([]*tensor.Tensor, functional.Reduction) (*tensor.Tensor, error) {
		return func(a []*tensor.Tensor, r functional.Reduction) (*tensor.Tensor, error) {
			return f(a[0], a[1], a[2], append([]functional.Option{r}, o...)...)
		}
	}
	mk := func(name string, diff []int, build func() []*tensor.Tensor, call func([]*tensor.Tensor, functional.Reduction) (*tensor.Tensor, error)) ccCase {
		return ccCase{name, ccBuild(diff, build), diff, call}
	}
	return []ccCase{
		mk("binary_cross_entropy", []int{0, 1}, func() []*tensor.Tensor {
			return []*tensor.Tensor{ccRand(1, 0.01, 0.99, n, c), ccRand(2, 0, 1, n, c)}
		}, two(functional.BinaryCrossEntropy)),
		// The sigmoid's backward folded into the loss's (Node.Through):
		// concurrent backwards of one graph race for the fused gradient.
		mk("sigmoid_binary_cross_entropy", []int{0, 1}, func() []*tensor.Tensor {
			return []*tensor.Tensor{ccRand(53, -4, 4, n, c), ccRand(54, 0, 1, n, c)}
		}, func(a []*tensor.Tensor, r functional.Reduction) (*tensor.Tensor, error) {
			p, err := functional.Sigmoid(a[0])
			if err != nil {
				return nil, err
			}
			return functional.BinaryCrossEntropy(p, a[1], r)
		}),
		mk("binary_cross_entropy_with_logits", []int{0, 1}, func() []*tensor.Tensor {
			return []*tensor.Tensor{ccRand(3, -3, 3, n, c), ccRand(4, 0, 1, n, c)}
		}, two(functional.BinaryCrossEntropyWithLogits, functional.PosWeight(ccRand(5, 0.5, 2, c)))),
		mk("poisson_nll_loss", []int{0, 1}, func() []*tensor.Tensor {
			return []*tensor.Tensor{ccRand(6, -2, 2, n, c), ccRand(7, 0, 4, n, c)}
		}, two(functional.PoissonNLLLoss, functional.Full(true))),
		mk("cosine_embedding_loss", []int{0, 1}, func() []*tensor.Tensor {
			return []*tensor.Tensor{ccRand(8, -1, 1, n, c), ccRand(9, -1, 1, n, c), ccSigns(10, n)}
		}, three(functional.CosineEmbeddingLoss, functional.Margin(0.2))),
		mk("cross_entropy", []int{0}, func() []*tensor.Tensor {
			return []*tensor.Tensor{ccRand(11, -3, 3, n, c), ccInts(12, 0, c, n)}
		}, two(functional.CrossEntropy, functional.LabelSmoothing(0.1))),
		mk("nll_loss", []int{0}, func() []*tensor.Tensor {
			return []*tensor.Tensor{ccRand(13, -3, 0, n, c), ccInts(14, 0, c, n)}
		}, two(functional.NLLLoss)),
		mk("ctc_loss", []int{0}, func() []*tensor.Tensor {
			lp, _ := functional.LogSoftmax(ccRand(15, -2, 2, 12, 3, c), -1)
			return []*tensor.Tensor{lp.Detach().Clone(), ccInts(16, 1, c, 3, 4), tensor.MustNew([]int64{12, 10, 9}), tensor.MustNew([]int64{4, 3, 2})}
		}, func(a []*tensor.Tensor, r functional.Reduction) (*tensor.Tensor, error) {
			return functional.CTCLoss(a[0], a[1], a[2], a[3], r)
		}),
		mk("ctc_loss_ints", []int{0}, func() []*tensor.Tensor {
			lp, _ := functional.LogSoftmax(ccRand(17, -2, 2, 12, 3, c), -1)
			return []*tensor.Tensor{lp.Detach().Clone(), ccInts(18, 1, c, 9)}
		}, func(a []*tensor.Tensor, r functional.Reduction) (*tensor.Tensor, error) {
			return functional.CTCLossInts(a[0], a[1], []int64{12, 11, 10}, []int64{4, 3, 2}, r)
		}),
		mk("gaussian_nll_loss", []int{0, 1, 2}, func() []*tensor.Tensor {
			return []*tensor.Tensor{ccRand(19, -2, 2, n, c), ccRand(20, -2, 2, n, c), ccRand(21, 0.1, 2, n, c)}
		}, three(functional.GaussianNLLLoss, functional.Full(true))),
		mk("gaussian_nll_loss_scalar_var", []int{0, 1}, func() []*tensor.Tensor {
			return []*tensor.Tensor{ccRand(22, -2, 2, n, c), ccRand(23, -2, 2, n, c)}
		}, func(a []*tensor.Tensor, r functional.Reduction) (*tensor.Tensor, error) {
			return functional.GaussianNLLLossScalarVar(a[0], a[1], 0.7, r)
		}),
		mk("hinge_embedding_loss", []int{0}, func() []*tensor.Tensor {
			return []*tensor.Tensor{ccRand(24, -2, 2, n, c), ccSigns(25, n, c)}
		}, two(functional.HingeEmbeddingLoss)),
		mk("kl_div", []int{0, 1}, func() []*tensor.Tensor {
			return []*tensor.Tensor{ccRand(26, -3, 0, n, c), ccRand(27, 0, 1, n, c)}
		}, func(a []*tensor.Tensor, r functional.Reduction) (*tensor.Tensor, error) {
			if r == functional.Mean {
				r = functional.BatchMean
			}
			return functional.KLDiv(a[0], a[1], r)
		}),
		mk("l1_loss", []int{0, 1}, func() []*tensor.Tensor {
			return []*tensor.Tensor{ccRand(28, -2, 2, n, c), ccRand(29, -2, 2, n, c)}
		}, two(functional.L1Loss)),
		mk("mse_loss", []int{0, 1}, func() []*tensor.Tensor {
			return []*tensor.Tensor{ccRand(30, -2, 2, n, c), ccRand(31, -2, 2, n, c)}
		}, two(functional.MSELoss)),
		mk("smooth_l1_loss", []int{0, 1}, func() []*tensor.Tensor {
			return []*tensor.Tensor{ccRand(32, -2, 2, n, c), ccRand(33, -2, 2, n, c)}
		}, two(functional.SmoothL1Loss, functional.Beta(0.5))),
		mk("huber_loss", []int{0, 1}, func() []*tensor.Tensor {
			return []*tensor.Tensor{ccRand(34, -2, 2, n, c), ccRand(35, -2, 2, n, c)}
		}, two(functional.HuberLoss, functional.Delta(0.7))),
		mk("soft_margin_loss", []int{0}, func() []*tensor.Tensor {
			return []*tensor.Tensor{ccRand(36, -2, 2, n, c), ccSigns(37, n, c)}
		}, two(functional.SoftMarginLoss)),
		mk("multilabel_soft_margin_loss", []int{0, 1}, func() []*tensor.Tensor {
			return []*tensor.Tensor{ccRand(38, -2, 2, n, c), ccRand(39, 0, 1, n, c)}
		}, two(functional.MultilabelSoftMarginLoss)),
		mk("margin_ranking_loss", []int{0, 1}, func() []*tensor.Tensor {
			return []*tensor.Tensor{ccRand(40, -2, 2, n), ccRand(41, -2, 2, n), ccSigns(42, n)}
		}, three(functional.MarginRankingLoss, functional.Margin(0.1))),
		mk("multi_margin_loss", []int{0}, func() []*tensor.Tensor {
			return []*tensor.Tensor{ccRand(43, -2, 2, n, c), ccInts(44, 0, c, n)}
		}, two(functional.MultiMarginLoss, functional.P(2))),
		mk("multilabel_margin_loss", []int{0}, func() []*tensor.Tensor {
			return []*tensor.Tensor{ccRand(45, -2, 2, n, c), ccInts(46, -1, c, n, c)}
		}, two(functional.MultilabelMarginLoss)),
		mk("triplet_margin_loss", []int{0, 1, 2}, func() []*tensor.Tensor {
			return []*tensor.Tensor{ccRand(47, -2, 2, n, c), ccRand(48, -2, 2, n, c), ccRand(49, -2, 2, n, c)}
		}, three(functional.TripletMarginLoss, functional.Swap(true))),
		mk("triplet_margin_with_distance_loss", []int{0, 1, 2}, func() []*tensor.Tensor {
			return []*tensor.Tensor{ccRand(50, -2, 2, n, c), ccRand(51, -2, 2, n, c), ccRand(52, -2, 2, n, c)}
		}, three(functional.TripletMarginWithDistanceLoss)),
	}
}

// ccResult is a loss and the gradients of its diff arguments, as bits.
type ccResult struct {
	out   []uint64
	grads [][]uint64
}

func bits(t *tensor.Tensor) []uint64 {
	if t == nil {
		return nil
	}
	v := t.Values()
	b := make([]uint64, len(v))
	for i, x := range v {
		b[i] = math.Float64bits(x)
	}
	return b
}

func (r ccResult) equal(o ccResult) bool {
	if !slices.Equal(r.out, o.out) || len(r.grads) != len(o.grads) {
		return false
	}
	for i := range r.grads {
		if !slices.Equal(r.grads[i], o.grads[i]) {
			return false
		}
	}
	return true
}

// ccRun computes the loss over a, and with grad its backward (an upstream of
// ones for None), returning the output and the gradients of a's diff
// arguments.
func ccRun(c ccCase, a []*tensor.Tensor, r functional.Reduction, grad bool) (ccResult, error) {
	out, err := c.call(a, r)
	if err != nil {
		return ccResult{}, err
	}
	res := ccResult{out: bits(out)}
	if !grad {
		return res, nil
	}
	ones, err := tensor.Ones(out.DType(), out.Shape()...)
	if err != nil {
		return ccResult{}, err
	}
	if err := out.BackwardWith(ones); err != nil {
		return ccResult{}, err
	}
	for _, i := range c.diff {
		res.grads = append(res.grads, bits(a[i].Grad()))
	}
	return res, nil
}

func TestConcurrentLosses(t *testing.T) {
	cases := ccCases()
	if len(cases) < 21 {
		t.Fatalf("%d cases", len(cases))
	}
	reductions := []functional.Reduction{functional.Mean, functional.None}
	// Single-goroutine references.
	type key struct {
		c    int
		r    functional.Reduction
		grad bool
	}
	want := map[key]ccResult{}
	for ci, c := range cases {
		for _, r := range reductions {
			for _, grad := range []bool{false, true} {
				res, err := ccRun(c, c.args(grad), r, grad)
				if err != nil {
					t.Fatalf("%s %s: %v", c.name, r, err)
				}
				want[key{ci, r, grad}] = res
			}
		}
	}
	// Shared inputs: read by every goroutine's forward-only calls.
	shared := make([][]*tensor.Tensor, len(cases))
	// Shared leaves: every goroutine differentiates through them at once.
	sharedLeaves := make([][]*tensor.Tensor, len(cases))
	// Shared graphs: every goroutine runs Backward on the same output, so
	// each node's backward closure runs concurrently with itself.
	sharedGraphs := make([][]*tensor.Tensor, len(cases))
	sharedOuts := make([]*tensor.Tensor, len(cases))
	for ci, c := range cases {
		shared[ci] = c.args(false)
		sharedLeaves[ci] = c.args(true)
		sharedGraphs[ci] = c.args(true)
		out, err := c.call(sharedGraphs[ci], functional.Sum)
		if err != nil {
			t.Fatal(err)
		}
		sharedOuts[ci] = out
	}
	var wg sync.WaitGroup
	errs := make(chan error, goroutines*len(cases)*8)
	for g := range goroutines {
		wg.Go(func() {
			for k := range cases {
				ci := (k + g) % len(cases) // goroutines start on different losses
				c := cases[ci]
				for _, r := range reductions {
					// Forward only, on the shared tensors.
					if res, err := ccRun(c, shared[ci], r, false); err != nil || !res.equal(want[key{ci, r, false}]) {
						errs <- fmt.Errorf("goroutine %d: %s %s forward on shared inputs differs (%v)", g, c.name, r, err)
					}
					// Own leaves, shared non-differentiable arguments.
					own := c.args(true)
					mixed := slices.Clone(shared[ci])
					for _, i := range c.diff {
						mixed[i] = own[i]
					}
					if res, err := ccRun(c, mixed, r, true); err != nil || !res.equal(want[key{ci, r, true}]) {
						errs <- fmt.Errorf("goroutine %d: %s %s with own leaves differs (%v)", g, c.name, r, err)
					}
				}
				// Shared leaves: the output is the same; the gradients
				// accumulate, checked after all goroutines finish.
				out, err := c.call(sharedLeaves[ci], functional.Sum)
				if err == nil {
					err = out.Backward()
				}
				if err != nil {
					errs <- fmt.Errorf("goroutine %d: %s backward on shared leaves: %v", g, c.name, err)
				}
				if err := sharedOuts[ci].Backward(tensor.RetainGraph(true)); err != nil {
					errs <- fmt.Errorf("goroutine %d: %s backward of a shared graph: %v", g, c.name, err)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	// The shared leaves hold the sum of 64 identical gradients, whose
	// value does not depend on the order they were added in.
	for ci, c := range cases {
		ref := c.args(true)
		for range goroutines {
			out, err := c.call(ref, functional.Sum)
			if err != nil {
				t.Fatal(err)
			}
			if err := out.Backward(); err != nil {
				t.Fatal(err)
			}
		}
		for _, i := range c.diff {
			if got, w := bits(sharedLeaves[ci][i].Grad()), bits(ref[i].Grad()); !slices.Equal(got, w) {
				t.Errorf("%s: argument %d's gradient accumulated by %d goroutines differs from sequential accumulation", c.name, i, goroutines)
			}
			if got, w := bits(sharedGraphs[ci][i].Grad()), bits(ref[i].Grad()); !slices.Equal(got, w) {
				t.Errorf("%s: argument %d's gradient from %d concurrent backwards of one graph differs from sequential accumulation", c.name, i, goroutines)
			}
		}
	}
}
