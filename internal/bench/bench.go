// Package bench defines torchloss's benchmark workloads (the training steps
// of bench/WORKLOADS.md, mirrored by bench/torch_bench.py) and
// times them: `torchloss bench` and the testing.B benchmarks of this package
// both run them.
//
// A workload's step is what a user's training step does: call the loss on
// leaves that require a gradient, then Backward. Inputs are created once,
// before timing; each step clears the leaves' gradients first.
package bench

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"time"

	"github.com/torchloss/torchloss/functional"
	"github.com/torchloss/torchloss/tensor"
)

// M is the element count of the elementwise workloads, 2^22.
const M = 1 << 22

// Workload is one benchmark: a name from bench/WORKLOADS.md and a constructor of
// its step at a batch scale.
type Workload struct {
	Name string
	// Setup builds the inputs for scale (which multiplies the batch
	// dimension) and returns the step and its element count (the elements
	// of the main input, for elements per second).
	Setup func(scale int) (step func() error, elems int, err error)
}

// Workloads returns the 14 CPU workloads in bench/WORKLOADS.md's order.
func Workloads() []Workload { return workloads }

// Find returns the workload called name.
func Find(name string) (Workload, bool) {
	for _, w := range workloads {
		if w.Name == name {
			return w, true
		}
	}
	return Workload{}, false
}

type gen struct{ r *rand.Rand }

func newGen(seed uint64) *gen { return &gen{rand.New(rand.NewPCG(seed, 42))} }

func (g *gen) fill(n int, f func() float64) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(f())
	}
	return s
}
func (g *gen) normal(n int) []float32 { return g.fill(n, g.r.NormFloat64) }
func (g *gen) uniform(n int, lo, hi float64) []float32 {
	return g.fill(n, func() float64 { return lo + (hi-lo)*g.r.Float64() })
}
func (g *gen) sign(n int) []float32 {
	return g.fill(n, func() float64 { return float64(2*g.r.IntN(2) - 1) })
}
func (g *gen) poisson(n int, lo, hi float64) []float32 {
	return g.fill(n, func() float64 {
		lam := lo + (hi-lo)*g.r.Float64()
		l, k, p := math.Exp(-lam), 0, 1.0
		for {
			p *= g.r.Float64()
			if p <= l {
				return float64(k)
			}
			k++
		}
	})
}
func (g *gen) ints(n int, lo, hi int64) []int64 {
	s := make([]int64, n)
	for i := range s {
		s[i] = lo + g.r.Int64N(hi-lo)
	}
	return s
}

// device is where the workloads' tensors live (SetDevice).
var device = tensor.CPU

// SetDevice makes the workloads set up afterwards place their inputs on d
// (tensor.CUDA: `torchloss bench --device cuda`). Each step then ends by
// copying the 0-d loss to the host, which waits for the device's work, and
// frees the step's device outputs and gradients.
func SetDevice(d tensor.Device) { device = d }

// place moves t to the workloads' device (a leaf stays a leaf: t does not
// require a gradient yet).
func place(t *tensor.Tensor) *tensor.Tensor {
	if device == tensor.CPU {
		return t
	}
	d, err := t.ToDevice(device)
	if err != nil {
		panic(err) // Run recovers it as the workload's error
	}
	return d
}

// leaf wraps data as a tensor of shape on the workloads' device; grad marks
// it as requiring a gradient.
func leaf(data []float32, grad bool, shape ...int) *tensor.Tensor {
	t := place(tensor.MustNew(data, shape...))
	if grad {
		if err := t.SetRequiresGrad(true); err != nil {
			panic(err)
		}
	}
	return t
}

// rowsLogSoftmax (or softmax) of rows of length c, in float64, rounded.
func rowsSoftmax(x []float32, c int, log bool) []float32 {
	out := make([]float32, len(x))
	for r := 0; r+c <= len(x); r += c {
		row := x[r : r+c]
		m := math.Inf(-1)
		for _, v := range row {
			m = max(m, float64(v))
		}
		var s float64
		for _, v := range row {
			s += math.Exp(float64(v) - m)
		}
		ls := math.Log(s)
		for i, v := range row {
			if log {
				out[r+i] = float32(float64(v) - m - ls)
			} else {
				out[r+i] = float32(math.Exp(float64(v)-m) / s)
			}
		}
	}
	return out
}

// step returns the training step: loss(), then Backward, after clearing the
// leaves' gradients.
func step(leaves []*tensor.Tensor, loss func() (*tensor.Tensor, error)) func() error {
	return func() error {
		for _, l := range leaves {
			if g := l.Grad(); g != nil && device != tensor.CPU {
				_ = g.Free()
			}
			l.ZeroGrad()
		}
		out, err := loss()
		if err != nil {
			return err
		}
		if err := out.Backward(); err != nil {
			return err
		}
		if device != tensor.CPU {
			// The copy of the loss waits for every kernel of the step.
			host, err := out.ToCPU()
			if err != nil {
				return err
			}
			_ = host
			_ = out.Free()
		}
		return nil
	}
}

var workloads = []Workload{
	{"binary_cross_entropy", func(s int) (func() error, int, error) {
		g, n := newGen(1), M*s
		x := leaf(g.normal(n), true, n)
		y := leaf(g.uniform(n, 0, 1), false, n)
		return step([]*tensor.Tensor{x}, func() (*tensor.Tensor, error) {
			p, err := functional.Sigmoid(x)
			if err != nil {
				return nil, err
			}
			return functional.BinaryCrossEntropy(p, y)
		}), n, nil
	}},
	{"binary_cross_entropy_direct", func(s int) (func() error, int, error) {
		g, n := newGen(2), M*s
		p := leaf(g.uniform(n, 0.01, 0.99), true, n)
		y := leaf(g.uniform(n, 0, 1), false, n)
		return step([]*tensor.Tensor{p}, func() (*tensor.Tensor, error) {
			return functional.BinaryCrossEntropy(p, y)
		}), n, nil
	}},
	{"binary_cross_entropy_with_logits", func(s int) (func() error, int, error) {
		g, r := newGen(3), M/64*s
		x := leaf(g.normal(r*64), true, r, 64)
		y := leaf(g.uniform(r*64, 0, 1), false, r, 64)
		pw := leaf(g.uniform(64, 0.5, 1.5), false, 64)
		return step([]*tensor.Tensor{x}, func() (*tensor.Tensor, error) {
			return functional.BinaryCrossEntropyWithLogits(x, y, functional.PosWeight(pw))
		}), r * 64, nil
	}},
	{"poisson_nll_loss", func(s int) (func() error, int, error) {
		g, n := newGen(4), M*s
		x := leaf(g.normal(n), true, n)
		y := leaf(g.poisson(n, 0, 4), false, n)
		return step([]*tensor.Tensor{x}, func() (*tensor.Tensor, error) {
			return functional.PoissonNLLLoss(x, y, functional.LogInput(true), functional.Full(true))
		}), n, nil
	}},
	{"cosine_embedding_loss", func(s int) (func() error, int, error) {
		g, b, d := newGen(5), 16384*s, 256
		x1 := leaf(g.normal(b*d), true, b, d)
		x2 := leaf(g.normal(b*d), true, b, d)
		y := leaf(g.sign(b), false, b)
		return step([]*tensor.Tensor{x1, x2}, func() (*tensor.Tensor, error) {
			return functional.CosineEmbeddingLoss(x1, x2, y, functional.Margin(0.2))
		}), b * d, nil
	}},
	{"cross_entropy", ce(6, 8192, 1000, false)},
	{"cross_entropy_smooth_ignore", ce(7, 8192, 1000, true)},
	{"cross_entropy_vocab32k", ce(8, 2048, 32000, false)},
	{"ctc_loss", func(s int) (func() error, int, error) {
		g, t, b, c, l := newGen(9), 400, 32*s, 40, 100
		lp := leaf(rowsSoftmax(g.normal(t*b*c), c, true), true, t, b, c)
		tg := place(tensor.MustNew(g.ints(b*l, 1, int64(c)), b, l))
		il := make([]int64, b)
		for i := range il {
			il[i] = int64(t)
		}
		inl := tensor.MustNew(il, b)
		tl := tensor.MustNew(g.ints(b, 50, 101), b)
		return step([]*tensor.Tensor{lp}, func() (*tensor.Tensor, error) {
			return functional.CTCLoss(lp, tg, inl, tl)
		}), t * b * c, nil
	}},
	{"gaussian_nll_loss", func(s int) (func() error, int, error) {
		g, n := newGen(10), M*s
		x := leaf(g.normal(n), true, n)
		y := leaf(g.normal(n), false, n)
		v := leaf(g.uniform(n, 0.1, 1.1), true, n)
		return step([]*tensor.Tensor{x, v}, func() (*tensor.Tensor, error) {
			return functional.GaussianNLLLoss(x, y, v)
		}), n, nil
	}},
	{"hinge_embedding_loss", func(s int) (func() error, int, error) {
		g, n := newGen(11), M*s
		x := leaf(g.normal(n), true, n)
		y := leaf(g.sign(n), false, n)
		return step([]*tensor.Tensor{x}, func() (*tensor.Tensor, error) {
			return functional.HingeEmbeddingLoss(x, y, functional.Margin(1.0))
		}), n, nil
	}},
	{"kl_div", func(s int) (func() error, int, error) {
		g, b, c := newGen(12), 8192*s, 1000
		in := leaf(rowsSoftmax(g.normal(b*c), c, true), true, b, c)
		tg := leaf(rowsSoftmax(g.normal(b*c), c, false), false, b, c)
		return step([]*tensor.Tensor{in}, func() (*tensor.Tensor, error) {
			return functional.KLDiv(in, tg, functional.BatchMean)
		}), b * c, nil
	}},
	{"l1_loss", func(s int) (func() error, int, error) {
		g, n := newGen(13), M*s
		x := leaf(g.normal(n), true, n)
		y := leaf(g.normal(n), false, n)
		return step([]*tensor.Tensor{x}, func() (*tensor.Tensor, error) {
			return functional.L1Loss(x, y)
		}), n, nil
	}},
	{"mse_loss", func(s int) (func() error, int, error) {
		g, n := newGen(14), M*s
		x := leaf(g.normal(n), true, n)
		y := leaf(g.normal(n), false, n)
		return step([]*tensor.Tensor{x}, func() (*tensor.Tensor, error) {
			return functional.MSELoss(x, y)
		}), n, nil
	}},
}

func ce(seed uint64, rows, classes int, smooth bool) func(int) (func() error, int, error) {
	return func(s int) (func() error, int, error) {
		g, b := newGen(seed), rows*s
		x := leaf(g.normal(b*classes), true, b, classes)
		t := place(tensor.MustNew(g.ints(b, 0, int64(classes)), b))
		var opts []functional.Option
		if smooth {
			w := leaf(g.uniform(classes, 0.5, 1.5), false, classes)
			opts = append(opts, functional.Weight(w), functional.IgnoreIndex(0), functional.LabelSmoothing(0.1))
		}
		return step([]*tensor.Tensor{x}, func() (*tensor.Tensor, error) {
			return functional.CrossEntropy(x, t, opts...)
		}), b * classes, nil
	}
}

// Result is the timing of one workload.
type Result struct {
	MedianS       float64 `json:"median_s"`
	MinS          float64 `json:"min_s"`
	ElemsPerS     float64 `json:"elems_per_s"`
	AllocsPerStep float64 `json:"allocs_per_step"`
	BytesPerStep  float64 `json:"bytes_per_step"`
	Reps          int     `json:"reps"`
}

// Run sets up w at scale, runs one warm-up step, then reps timed steps, and
// returns the median and minimum step time and the allocations per step
// (runtime.MemStats deltas over the timed steps).
func Run(w Workload, scale, reps int) (res Result, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%s: %v", w.Name, p)
		}
	}()
	stepFn, elems, err := w.Setup(scale)
	if err != nil {
		return Result{}, err
	}
	if err := stepFn(); err != nil {
		return Result{}, fmt.Errorf("%s: %w", w.Name, err)
	}
	reps = max(reps, 1)
	times := make([]float64, reps)
	runtime.GC()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	for i := range times {
		t0 := time.Now()
		if err := stepFn(); err != nil {
			return Result{}, fmt.Errorf("%s: %w", w.Name, err)
		}
		times[i] = time.Since(t0).Seconds()
	}
	runtime.ReadMemStats(&m1)
	slices.Sort(times)
	med := times[reps/2]
	if reps%2 == 0 {
		med = (times[reps/2-1] + times[reps/2]) / 2
	}
	return Result{
		MedianS:       med,
		MinS:          times[0],
		ElemsPerS:     float64(elems) / med,
		AllocsPerStep: float64(m1.Mallocs-m0.Mallocs) / float64(reps),
		BytesPerStep:  float64(m1.TotalAlloc-m0.TotalAlloc) / float64(reps),
		Reps:          reps,
	}, nil
}
