package functional

import (
	"math"
	"testing"

	"github.com/torchloss/torchloss/tensor"
)

// narrow copies the slice [lo, hi) of dimension dim of t.
func narrow(t *tensor.Tensor, dim, lo, hi int) *tensor.Tensor {
	shape := t.Shape()
	outer, inner := 1, 1
	for _, s := range shape[:dim] {
		outer *= s
	}
	for _, s := range shape[dim+1:] {
		inner *= s
	}
	n := shape[dim]
	shape[dim] = hi - lo
	pick := func(k func(i int)) {
		for o := 0; o < outer; o++ {
			for j := lo; j < hi; j++ {
				for i := 0; i < inner; i++ {
					k((o*n+j)*inner + i)
				}
			}
		}
	}
	if t.DType() == tensor.Int64 {
		var v []int64
		pick(func(i int) { v = append(v, t.Int64s()[i]) })
		return tensor.MustNew(v, shape...)
	}
	var v []float64
	pick(func(i int) { v = append(v, t.Float64s()[i]) })
	return tensor.MustNew(v, shape...)
}

// concat joins tensors along dim (the inverse of narrow).
func concat(ts []*tensor.Tensor, dim int) []float64 {
	shape := ts[0].Shape()
	outer := 1
	for _, s := range shape[:dim] {
		outer *= s
	}
	var out []float64
	for o := 0; o < outer; o++ {
		for _, t := range ts {
			block := t.Numel() / outer
			out = append(out, t.Values()[o*block:(o+1)*block]...)
		}
	}
	return out
}

// shardCase is a loss over a batch whose samples lie along batchDim of each
// argument (args[0] is the differentiated one).
type shardCase struct {
	name     string
	args     []*tensor.Tensor
	batchDim []int // per argument; -1: not split
	full     func(args []*tensor.Tensor) (*tensor.Tensor, error)
	shard    func(args []*tensor.Tensor) (MeanShard, error)
}

// TestMeanShardsCombine splits a batch of 14 samples into 1, 2, 3 and 7
// shards and checks that the shards combine to the single-machine mean and
// gradient, for every loss whose mean is not the element count of a shard.
func TestMeanShardsCombine(t *testing.T) {
	const n = 14
	g := tensor.NewGenerator(5)
	f64 := func(shape ...int) *tensor.Tensor {
		x, _ := g.Randn(shape...)
		x, _ = x.To(tensor.Float64)
		return x
	}
	classes, _ := g.RandInt(0, 5, n)
	classes.Int64s()[3], classes.Int64s()[9] = 0, 0 // ignored below
	w := tensor.MustNew([]float64{0.5, 1.5, 2, 0.25, 1}, 5)
	probs, _ := Softmax(f64(n, 5), 1)
	lp, _ := LogSoftmax(f64(12, n, 5), 2)
	ctcTargets, _ := g.RandInt(1, 5, n, 4)
	tl, _ := g.RandInt(0, 5, n)
	il, _ := tensor.Full(12, tensor.Int64, n)
	klIn, _ := LogSoftmax(f64(n, 5), 1)
	klT, _ := Softmax(f64(n, 5), 1)
	ew := f64(n, 3)
	for i, v := range ew.Float64s() {
		ew.Float64s()[i] = math.Abs(v)
	}
	cases := []shardCase{
		{"cross_entropy weight+ignore+smoothing", []*tensor.Tensor{f64(n, 5), classes}, []int{0, 0},
			func(a []*tensor.Tensor) (*tensor.Tensor, error) {
				return CrossEntropy(a[0], a[1], Weight(w), IgnoreIndex(0), LabelSmoothing(0.1))
			},
			func(a []*tensor.Tensor) (MeanShard, error) {
				return CrossEntropyShard(a[0], a[1], Weight(w), IgnoreIndex(0), LabelSmoothing(0.1))
			}},
		{"cross_entropy probabilities", []*tensor.Tensor{f64(n, 5), probs.Detach()}, []int{0, 0},
			func(a []*tensor.Tensor) (*tensor.Tensor, error) { return CrossEntropy(a[0], a[1], Weight(w)) },
			func(a []*tensor.Tensor) (MeanShard, error) { return CrossEntropyShard(a[0], a[1], Weight(w)) }},
		{"nll_loss weight+ignore", []*tensor.Tensor{f64(n, 5), classes}, []int{0, 0},
			func(a []*tensor.Tensor) (*tensor.Tensor, error) {
				return NLLLoss(a[0], a[1], Weight(w), IgnoreIndex(0))
			},
			func(a []*tensor.Tensor) (MeanShard, error) {
				return NLLLossShard(a[0], a[1], Weight(w), IgnoreIndex(0))
			}},
		{"ctc_loss target lengths", []*tensor.Tensor{lp.Detach(), ctcTargets, il, tl}, []int{1, 0, 0, 0},
			func(a []*tensor.Tensor) (*tensor.Tensor, error) {
				return CTCLoss(a[0], a[1], a[2], a[3], ZeroInfinity(true))
			},
			func(a []*tensor.Tensor) (MeanShard, error) {
				return CTCLossShard(a[0], a[1], a[2], a[3], ZeroInfinity(true))
			}},
		{"kl_div batchmean", []*tensor.Tensor{klIn.Detach(), klT.Detach()}, []int{0, 0},
			func(a []*tensor.Tensor) (*tensor.Tensor, error) { return KLDiv(a[0], a[1], BatchMean) },
			func(a []*tensor.Tensor) (MeanShard, error) { return KLDivShard(a[0], a[1], BatchMean) }},
		{"l1_loss weight", []*tensor.Tensor{f64(n, 3), f64(n, 3), ew}, []int{0, 0, 0},
			func(a []*tensor.Tensor) (*tensor.Tensor, error) { return L1Loss(a[0], a[1], Weight(a[2])) },
			func(a []*tensor.Tensor) (MeanShard, error) { return L1LossShard(a[0], a[1], Weight(a[2])) }},
		{"mse_loss weight", []*tensor.Tensor{f64(n, 3), f64(n, 3), ew}, []int{0, 0, 0},
			func(a []*tensor.Tensor) (*tensor.Tensor, error) { return MSELoss(a[0], a[1], Weight(a[2])) },
			func(a []*tensor.Tensor) (MeanShard, error) { return MSELossShard(a[0], a[1], Weight(a[2])) }},
	}
	for _, c := range cases {
		x := c.args[0].Detach()
		if err := x.SetRequiresGrad(true); err != nil {
			t.Fatal(err)
		}
		full, err := c.full(append([]*tensor.Tensor{x}, c.args[1:]...))
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if err := full.Backward(); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		want, _ := full.Item()
		wantGrad := x.Grad().Values()
		for _, k := range []int{1, 2, 3, 7} {
			var shards []MeanShard
			var leaves []*tensor.Tensor
			for s := 0; s < k; s++ {
				lo, hi := s*n/k, (s+1)*n/k
				args := make([]*tensor.Tensor, len(c.args))
				for i, a := range c.args {
					args[i] = narrow(a, c.batchDim[i], lo, hi)
				}
				if err := args[0].SetRequiresGrad(true); err != nil {
					t.Fatal(err)
				}
				sh, err := c.shard(args)
				if err != nil {
					t.Fatalf("%s, %d shards: %v", c.name, k, err)
				}
				shards = append(shards, sh)
				leaves = append(leaves, args[0])
			}
			var total float64
			for _, sh := range shards {
				total += sh.Denominator
			}
			var got float64
			for _, sh := range shards {
				l, err := sh.Scaled(total)
				if err != nil {
					t.Fatal(err)
				}
				v, _ := l.Item()
				got += v
				if err := l.Backward(); err != nil {
					t.Fatal(err)
				}
			}
			if math.Abs(got-want) > 1e-12*math.Abs(want) {
				t.Errorf("%s, %d shards: mean %.17g, single machine %.17g", c.name, k, got, want)
			}
			grads := make([]*tensor.Tensor, k)
			for i, l := range leaves {
				grads[i] = l.Grad()
			}
			gotGrad := concat(grads, c.batchDim[0])
			if !allClose(gotGrad, wantGrad, 1e-12, 1e-12) {
				t.Errorf("%s, %d shards: gradient differs from the single machine's", c.name, k)
			}
		}
	}
}
