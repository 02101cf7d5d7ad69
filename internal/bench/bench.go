// Package bench defines torchloss's benchmark workloads (the training steps
// of bench/WORKLOADS.md, mirrored by bench/torch_bench.py) and
// times them: `torchloss bench` and the testing.B benchmarks of this package
// both run them.
//
// A workload's step is what a user's training step does in its steady
// state, PyTorch's loop with optimizer.zero_grad(set_to_none=False): ZeroGrad
// on the leaves (their gradient buffers kept and zeroed in place), the
// loss, Backward (binary_cross_entropy then frees sigmoid's output,
// tensor.Tensor.Free, as PyTorch drops it). Inputs are created once, before timing; Run times the
// steps after three warm-up steps (the first allocates the gradients) and
// reports what a steady-state step allocates.
package bench

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"time"

	"github.com/torchloss/torchloss/functional"
	"github.com/torchloss/torchloss/internal/parallel"
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

// peakExtra are the workloads whose peak extra memory Run reports.
var peakExtra = map[string]bool{"linear_cross_entropy": true}

// Workloads returns the 15 CPU workloads in bench/WORKLOADS.md's order.
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

// shrink divides the batch dimension of every workload (tests: the same
// steps on smaller inputs); 1 in `torchloss bench`.
var shrink = 1

// batch is a workload's batch dimension: base·scale / shrink, at least 1.
func batch(base, scale int) int { return max(1, base*scale/shrink) }

// device is where the workloads' tensors live (SetDevice).
var device = tensor.CPU

// SetDevice makes the workloads set up afterwards place their inputs on d
// (tensor.CUDA: `torchloss bench --device cuda`). Each step then ends by
// copying the 0-d loss to the host, which waits for the device's work, and
// frees the step's device outputs and gradients.
func SetDevice(d tensor.Device) { device = d }

// setupBytes counts, while a workload is set up, the bytes of its inputs
// (place) and of the gradients of its leaves (leaf): see Result.MustMove.
var setupBytes struct{ inputs, grads, extra int64 }

// place moves t to the workloads' device (a leaf stays a leaf: t does not
// require a gradient yet).
func place(t *tensor.Tensor) *tensor.Tensor {
	setupBytes.inputs += int64(t.Numel()) * dtypeSize(t.DType())
	if device == tensor.CPU {
		return t
	}
	d, err := t.ToDevice(device)
	if err != nil {
		panic(err) // Run recovers it as the workload's error
	}
	return d
}

// dtypeSize is the bytes of one element of dt.
func dtypeSize(dt tensor.DType) int64 {
	switch dt {
	case tensor.Float64, tensor.Int64:
		return 8
	case tensor.Bool:
		return 1
	}
	return 4
}

// leaf wraps data as a tensor of shape on the workloads' device; grad marks
// it as requiring a gradient.
func leaf(data []float32, grad bool, shape ...int) *tensor.Tensor {
	t := place(tensor.MustNew(data, shape...))
	if grad {
		setupBytes.grads += int64(len(data)) * 4
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

// step returns the training step: ZeroGrad on the leaves (on the CPU their
// gradient buffers are kept and zeroed in place; on a device freed), loss(),
// then Backward.
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
		g, n := newGen(1), batch(M, s)
		x := leaf(g.normal(n), true, n)
		y := leaf(g.uniform(n, 0, 1), false, n)
		setupBytes.extra = int64(n) * 4 * 2 // sigmoid's output, written and read
		var p *tensor.Tensor
		run := step([]*tensor.Tensor{x}, func() (*tensor.Tensor, error) {
			var err error
			if p, err = functional.Sigmoid(x); err != nil {
				return nil, err
			}
			return functional.BinaryCrossEntropy(p, y)
		})
		return func() error {
			err := run()
			// The step drops sigmoid's output after Backward: Free hands
			// its storage to the next step's Sigmoid, as PyTorch's
			// allocator reuses a dropped tensor's memory.
			if p != nil {
				_ = p.Free()
				p = nil
			}
			return err
		}, n, nil
	}},
	{"binary_cross_entropy_direct", func(s int) (func() error, int, error) {
		g, n := newGen(2), batch(M, s)
		p := leaf(g.uniform(n, 0.01, 0.99), true, n)
		y := leaf(g.uniform(n, 0, 1), false, n)
		return step([]*tensor.Tensor{p}, func() (*tensor.Tensor, error) {
			return functional.BinaryCrossEntropy(p, y)
		}), n, nil
	}},
	{"binary_cross_entropy_with_logits", func(s int) (func() error, int, error) {
		g, r := newGen(3), batch(M/64, s)
		x := leaf(g.normal(r*64), true, r, 64)
		y := leaf(g.uniform(r*64, 0, 1), false, r, 64)
		pw := leaf(g.uniform(64, 0.5, 1.5), false, 64)
		return step([]*tensor.Tensor{x}, func() (*tensor.Tensor, error) {
			return functional.BinaryCrossEntropyWithLogits(x, y, functional.PosWeight(pw))
		}), r * 64, nil
	}},
	{"poisson_nll_loss", func(s int) (func() error, int, error) {
		g, n := newGen(4), batch(M, s)
		x := leaf(g.normal(n), true, n)
		y := leaf(g.poisson(n, 0, 4), false, n)
		return step([]*tensor.Tensor{x}, func() (*tensor.Tensor, error) {
			return functional.PoissonNLLLoss(x, y, functional.LogInput(true), functional.Full(true))
		}), n, nil
	}},
	{"cosine_embedding_loss", func(s int) (func() error, int, error) {
		g, b, d := newGen(5), batch(16384, s), 256
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
		g, t, b, c, l := newGen(9), 400, batch(32, s), 40, 100
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
		g, n := newGen(10), batch(M, s)
		x := leaf(g.normal(n), true, n)
		y := leaf(g.normal(n), false, n)
		v := leaf(g.uniform(n, 0.1, 1.1), true, n)
		return step([]*tensor.Tensor{x, v}, func() (*tensor.Tensor, error) {
			return functional.GaussianNLLLoss(x, y, v)
		}), n, nil
	}},
	{"hinge_embedding_loss", func(s int) (func() error, int, error) {
		g, n := newGen(11), batch(M, s)
		x := leaf(g.normal(n), true, n)
		y := leaf(g.sign(n), false, n)
		return step([]*tensor.Tensor{x}, func() (*tensor.Tensor, error) {
			return functional.HingeEmbeddingLoss(x, y, functional.Margin(1.0))
		}), n, nil
	}},
	{"kl_div", func(s int) (func() error, int, error) {
		g, b, c := newGen(12), batch(8192, s), 1000
		in := leaf(rowsSoftmax(g.normal(b*c), c, true), true, b, c)
		tg := leaf(rowsSoftmax(g.normal(b*c), c, false), false, b, c)
		return step([]*tensor.Tensor{in}, func() (*tensor.Tensor, error) {
			return functional.KLDiv(in, tg, functional.BatchMean)
		}), b * c, nil
	}},
	{"l1_loss", func(s int) (func() error, int, error) {
		g, n := newGen(13), batch(M, s)
		x := leaf(g.normal(n), true, n)
		y := leaf(g.normal(n), false, n)
		return step([]*tensor.Tensor{x}, func() (*tensor.Tensor, error) {
			return functional.L1Loss(x, y)
		}), n, nil
	}},
	{"mse_loss", func(s int) (func() error, int, error) {
		g, n := newGen(14), batch(M, s)
		x := leaf(g.normal(n), true, n)
		y := leaf(g.normal(n), false, n)
		return step([]*tensor.Tensor{x}, func() (*tensor.Tensor, error) {
			return functional.MSELoss(x, y)
		}), n, nil
	}},
	{"linear_cross_entropy", func(s int) (func() error, int, error) {
		g, n, h, v := newGen(15), batch(lceN, s), lceH, lceV
		x := leaf(g.normal(n*h), true, n, h)
		w := leaf(g.fill(v*h, func() float64 { return 0.05 * g.r.NormFloat64() }), true, v, h)
		t := place(tensor.MustNew(g.ints(n, 0, int64(v)), n))
		return step([]*tensor.Tensor{x, w}, func() (*tensor.Tensor, error) {
			return functional.LinearCrossEntropy(x, w, t)
		}), n * v, nil
	}},
}

// The linear_cross_entropy workload: N = lceN·scale tokens of lceH
// features, a vocabulary of lceV; elems counts the N×V logits it never
// holds.
const lceN, lceH, lceV = 1024, 256, 32000

func ce(seed uint64, rows, classes int, smooth bool) func(int) (func() error, int, error) {
	return func(s int) (func() error, int, error) {
		g, b := newGen(seed), batch(rows, s)
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
	MedianS   float64 `json:"median_s"`
	MinS      float64 `json:"min_s"`
	ElemsPerS float64 `json:"elems_per_s"`
	// AllocsPerStep and BytesPerStep are what a steady-state step
	// allocates (runtime.MemStats deltas over the timed steps, which
	// follow three warm-up steps); FirstStepBytes what the first step
	// allocated (the gradients, among others).
	AllocsPerStep  float64 `json:"allocs_per_step"`
	BytesPerStep   float64 `json:"bytes_per_step"`
	FirstStepBytes int64   `json:"first_step_bytes"`
	// MustMove is the bytes a step must move to or from memory, counted
	// as: every input tensor read once, every gradient written twice
	// (ZeroGrad's zeros, then the gradient), and an intermediate the step
	// returns to the user written and read once (binary_cross_entropy's
	// sigmoid output); no scratch, no re-reads. MovedPerS is MustMove /
	// MedianS; CopyFraction that over the copy bandwidth of the same run
	// (0 when not measured).
	MustMove     int64   `json:"must_move_bytes"`
	MovedPerS    float64 `json:"moved_bytes_per_s"`
	CopyFraction float64 `json:"copy_fraction,omitempty"`
	Reps         int     `json:"reps"`
	Loop         string  `json:"loop"`
	// PeakExtraBytes (the workloads of peakExtra) bounds the memory a
	// step needs beyond its inputs and gradients: all the first step
	// allocates less the gradients (its scratch, which later steps take
	// back from free lists), as if nothing were freed before the step
	// ends. Run the workload alone (`torchloss bench --workload NAME`) so
	// that no earlier workload's free lists serve it.
	PeakExtraBytes float64 `json:"peak_extra_bytes,omitempty"`
}

// Loop describes the timed step, for the reports; LoopDevice on a device,
// where ZeroGrad drops the gradients (the step frees them first).
const (
	Loop       = "steady state: ZeroGrad (gradients kept, zeroed in place), loss, Backward, intermediate outputs freed (Tensor.Free: sigmoid's); 3 warm-up steps"
	LoopDevice = "ZeroGrad (gradients freed and dropped), loss, Backward, loss copied to the host; 3 warm-up steps"
)

// LoopOf is Loop or LoopDevice, for workloads on d.
func LoopOf(d tensor.Device) string {
	if d != tensor.CPU {
		return LoopDevice
	}
	return Loop
}

// Run sets up w at scale, runs three warm-up steps (the first allocates the
// gradients, the later ones are steady-state steps), then reps timed
// steps, and returns the median and minimum step time and the allocations
// per steady-state step (runtime.MemStats deltas over the timed steps).
func Run(w Workload, scale, reps int) (res Result, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%s: %v", w.Name, p)
		}
	}()
	setupBytes.inputs, setupBytes.grads, setupBytes.extra = 0, 0, 0
	// A workload starts from an empty host buffer cache: its first step
	// allocates what a fresh process's does (FirstStepBytes).
	if device == tensor.CPU {
		tensor.EmptyCache(tensor.CPU)
	}
	stepFn, elems, err := w.Setup(scale)
	if err != nil {
		return Result{}, err
	}
	mustMove := setupBytes.inputs + 2*setupBytes.grads + setupBytes.extra
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	if err := stepFn(); err != nil {
		return Result{}, fmt.Errorf("%s: %w", w.Name, err)
	}
	runtime.ReadMemStats(&m1)
	first := int64(m1.TotalAlloc - m0.TotalAlloc)
	if err := stepFn(); err != nil {
		return Result{}, fmt.Errorf("%s: %w", w.Name, err)
	}
	// More warm-up: the scratch free lists settle (CTC workspaces grow
	// to their samples' sizes).
	if err := stepFn(); err != nil {
		return Result{}, fmt.Errorf("%s: %w", w.Name, err)
	}
	reps = max(reps, 1)
	times := make([]float64, reps)
	runtime.GC()
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
	var extra float64
	if peakExtra[w.Name] {
		extra = max(0, float64(first-setupBytes.grads))
	}
	return Result{
		PeakExtraBytes: extra,
		MedianS:        med,
		MinS:           times[0],
		ElemsPerS:      float64(elems) / med,
		AllocsPerStep:  float64(m1.Mallocs-m0.Mallocs) / float64(reps),
		BytesPerStep:   float64(m1.TotalAlloc-m0.TotalAlloc) / float64(reps),
		FirstStepBytes: first,
		MustMove:       mustMove,
		MovedPerS:      float64(mustMove) / med,
		Reps:           reps,
		Loop:           LoopOf(device),
	}, nil
}

// CopyBandwidth measures a plain parallel copy between two buffers of
// bytes bytes each (float32, in chunks of 2^16 elements on the functional
// package's thread count, like the fused kernels' passes): the bytes read
// plus the bytes written (2·bytes) per second of the fastest of reps
// copies, after one that touches the pages (the fastest: what the machine
// can give, so that a copy slowed by other load does not flatter the
// fractions). It is the yardstick of Result.CopyFraction.
func CopyBandwidth(bytes, reps int) float64 {
	n := bytes / 4
	src, dst := make([]float32, n), make([]float32, n)
	const grain = 1 << 16
	parallel.For(n, grain, func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			src[i] = float32(i)
		}
	})
	copyAll := func() { parallel.For(n, grain, func(_, lo, hi int) { copy(dst[lo:hi], src[lo:hi]) }) }
	copyAll()
	reps = max(reps, 1)
	times := make([]float64, reps)
	for i := range times {
		t0 := time.Now()
		copyAll()
		times[i] = time.Since(t0).Seconds()
	}
	return 2 * float64(n) * 4 / slices.Min(times)
}
