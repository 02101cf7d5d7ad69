package functional

import (
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/torchloss/torchloss/tensor"
)

// fusedCase builds the inputs of one loss call over sizes that span several
// chunks (sumGrain) and returns the step: the output and the gradients of
// the leaves, as float64 bit patterns.
type fusedCase struct {
	name string
	run  func() ([]uint64, error)
}

func bitsOf(ts ...*tensor.Tensor) []uint64 {
	var out []uint64
	for _, t := range ts {
		if t == nil {
			continue
		}
		for _, v := range t.Values() {
			out = append(out, math.Float64bits(v))
		}
	}
	return out
}

func randLeaf(r *rand.Rand, grad bool, f func() float64, shape ...int) *tensor.Tensor {
	n := 1
	for _, d := range shape {
		n *= d
	}
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(f())
	}
	t := tensor.MustNew(s, shape...)
	if grad {
		_ = t.SetRequiresGrad(true)
	}
	return t
}

// fusedStepBytes is what the last step of a fused case allocated (ZeroGrad,
// loss, Backward).
var fusedStepBytes int64

func fusedCases() []fusedCase {
	r := rand.New(rand.NewPCG(7, 8))
	n := 3*sumGrain + 17
	norm := r.NormFloat64
	unif := func(lo, hi float64) func() float64 { return func() float64 { return lo + (hi-lo)*r.Float64() } }
	step := func(loss func() (*tensor.Tensor, error), leaves ...*tensor.Tensor) func() ([]uint64, error) {
		return func() ([]uint64, error) {
			var m0, m1 runtime.MemStats
			runtime.ReadMemStats(&m0)
			for _, l := range leaves {
				l.ZeroGrad()
			}
			out, err := loss()
			if err != nil {
				return nil, err
			}
			if err := out.Backward(); err != nil {
				return nil, err
			}
			runtime.ReadMemStats(&m1)
			fusedStepBytes = int64(m1.TotalAlloc - m0.TotalAlloc)
			res := bitsOf(out)
			for _, l := range leaves {
				res = append(res, bitsOf(l.Grad())...)
			}
			return res, nil
		}
	}
	x := randLeaf(r, true, norm, n)
	var sig *tensor.Tensor // bce_sigmoid's sigmoid output
	y := randLeaf(r, false, norm, n)
	p := randLeaf(r, true, unif(0.01, 0.99), n)
	u := randLeaf(r, false, unif(0, 1), n)
	sgn := randLeaf(r, false, func() float64 { return float64(2*r.IntN(2) - 1) }, n)
	c1 := randLeaf(r, true, norm, 700, 100)
	c2 := randLeaf(r, true, norm, 700, 100)
	csg := randLeaf(r, false, func() float64 { return float64(2*r.IntN(2) - 1) }, 700)
	// ctc: T=30, N=6, C=5, targets of length ≤ 8.
	ctcLP := randLeaf(r, true, norm, 30, 6, 5)
	if lsm, err := LogSoftmax(ctcLP.Detach(), 2); err == nil {
		ctcLP = tensor.MustNew(append([]float32{}, lsm.Float32s()...), 30, 6, 5)
		_ = ctcLP.SetRequiresGrad(true)
	}
	ctcTg := make([]int64, 6*8)
	for i := range ctcTg {
		ctcTg[i] = 1 + r.Int64N(4)
	}
	ctcT := tensor.MustNew(ctcTg, 6, 8)
	ctcIL := []int64{30, 30, 25, 30, 20, 30}
	ctcTL := []int64{8, 5, 3, 7, 8, 0}
	vr := randLeaf(r, true, unif(0.1, 1.1), n)
	cnt := randLeaf(r, false, func() float64 { return float64(r.IntN(5)) }, n)
	xl := randLeaf(r, true, norm, n/64+1, 64)
	yl := randLeaf(r, false, unif(0, 1), n/64+1, 64)
	pw := randLeaf(r, false, unif(0.5, 1.5), 64)
	b, c := 300, 500
	logits := randLeaf(r, true, norm, b, c)
	tg := make([]int64, b)
	for i := range tg {
		tg[i] = r.Int64N(int64(c))
	}
	tgt := tensor.MustNew(tg, b)
	cw := randLeaf(r, false, unif(0.5, 1.5), c)
	// linear_cross_entropy: two row blocks, three vocabulary chunks.
	lh, lc := 40, 1200
	lb := lceBlockRows(1<<20, lc, 4)
	lx := randLeaf(r, true, norm, lb+7, lh)
	lw := randLeaf(r, true, norm, lc, lh)
	lbias := randLeaf(r, true, norm, lc)
	ltg := make([]int64, lb+7)
	for i := range ltg {
		ltg[i] = r.Int64N(int64(lc))
	}
	ltgt := tensor.MustNew(ltg, lb+7)
	lcw := randLeaf(r, false, unif(0.5, 1.5), lc)
	return []fusedCase{
		{"linear_cross_entropy", step(func() (*tensor.Tensor, error) {
			return LinearCrossEntropy(lx, lw, ltgt, LinearBias(lbias), Weight(lcw), IgnoreIndex(5), LabelSmoothing(0.1))
		}, lx, lw, lbias)},
		{"mse", step(func() (*tensor.Tensor, error) { return MSELoss(x, y) }, x)},
		{"l1_sum", step(func() (*tensor.Tensor, error) { return L1Loss(x, y, Sum) }, x)},
		{"hinge", step(func() (*tensor.Tensor, error) { return HingeEmbeddingLoss(x, sgn) }, x)},
		{"bce", step(func() (*tensor.Tensor, error) { return BinaryCrossEntropy(p, u) }, p)},
		{"bce_sigmoid", step(func() (*tensor.Tensor, error) {
			// The previous step's sigmoid output is dropped (its
			// Backward has run): its storage serves this step's.
			if sig != nil {
				_ = sig.Free()
			}
			var err error
			if sig, err = Sigmoid(x); err != nil {
				return nil, err
			}
			return BinaryCrossEntropy(sig, u)
		}, x)},
		{"bce_logits", step(func() (*tensor.Tensor, error) { return BinaryCrossEntropyWithLogits(xl, yl, PosWeight(pw)) }, xl)},
		{"poisson", step(func() (*tensor.Tensor, error) { return PoissonNLLLoss(x, cnt, LogInput(true), Full(true)) }, x)},
		{"gaussian", step(func() (*tensor.Tensor, error) { return GaussianNLLLoss(x, y, vr) }, x, vr)},
		{"kl_div", step(func() (*tensor.Tensor, error) { return KLDiv(x, u, BatchMean) }, x)},
		{"cosine", step(func() (*tensor.Tensor, error) { return CosineEmbeddingLoss(c1, c2, csg, Margin(0.2)) }, c1, c2)},
		{"ctc", step(func() (*tensor.Tensor, error) { return CTCLossInts(ctcLP, ctcT, ctcIL, ctcTL) }, ctcLP)},
		{"ce", step(func() (*tensor.Tensor, error) { return CrossEntropy(logits, tgt) }, logits)},
		{"ce_smooth", step(func() (*tensor.Tensor, error) {
			return CrossEntropy(logits, tgt, Weight(cw), IgnoreIndex(3), LabelSmoothing(0.1))
		}, logits)},
	}
}

// TestFusedDeterministic checks that the fused, parallel losses give
// bitwise identical outputs and gradients for 1, 2 and 8 threads, and for 4
// threads with slow late allocations (gradients deferred, lateAlloc).
func TestFusedDeterministic(t *testing.T) {
	defer SetNumThreads(0)
	defer func() { lateAllocHook = nil }()
	for _, fc := range fusedCases() {
		var want []uint64
		for k, th := range []int{1, 2, 8, 4} {
			SetNumThreads(th)
			// The last run's late allocations are slow: the chunks of
			// the other workers take the deferred-gradient path.
			if k == 3 {
				lateAllocHook = func() { time.Sleep(5 * time.Millisecond) }
			}
			got, err := fc.run()
			lateAllocHook = nil
			if err != nil {
				t.Fatalf("%s: %v", fc.name, err)
			}
			if want == nil {
				want = got
				continue
			}
			if len(got) != len(want) {
				t.Fatalf("%s: %d threads: %d values, want %d", fc.name, th, len(got), len(want))
			}
			for i := range got {
				if got[i] != want[i] {
					t.Fatalf("%s: %d threads: value %d differs: %v vs %v", fc.name, th, i, math.Float64frombits(got[i]), math.Float64frombits(want[i]))
				}
			}
		}
	}
}

// TestFusedGradientMatchesBackward checks that cross_entropy's fused
// gradient (computed in the forward pass, handed out by the first backward)
// is bitwise the gradient a second backward recomputes (the same row pass;
// concurrent backwards of one graph rely on it). TestFusedMatchesGeneral
// compares the fused path with the general one.
func TestFusedGradientMatchesBackward(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	b, c := 70, 300
	logits := randLeaf(r, true, r.NormFloat64, b, c)
	tg := make([]int64, b)
	for i := range tg {
		tg[i] = r.Int64N(int64(c))
	}
	tgt := tensor.MustNew(tg, b)
	cw := randLeaf(r, false, func() float64 { return 0.5 + r.Float64() }, c)
	for _, opts := range [][]Option{nil, {Sum}, {Weight(cw)}, {Weight(cw), IgnoreIndex(tg[0]), LabelSmoothing(0.2)}, {IgnoreIndex(tg[1]), LabelSmoothing(0.3), Sum}} {
		out, err := CrossEntropy(logits, tgt, opts...)
		if err != nil {
			t.Fatal(err)
		}
		g1, err := out.GradFn().Backward(tensor.Scalar(float32(1)))
		if err != nil {
			t.Fatal(err)
		}
		g2, err := out.GradFn().Backward(tensor.Scalar(float32(1)))
		if err != nil {
			t.Fatal(err)
		}
		a, bb := g1[0].Float32s(), g2[0].Float32s()
		for i := range a {
			if math.Float32bits(a[i]) != math.Float32bits(bb[i]) {
				t.Fatalf("opts %v: eager gradient [%d] = %v, recomputed %v", opts, i, a[i], bb[i])
			}
		}
	}
}

// TestFusedMatchesGeneral compares cross_entropy's fused path (a reduced
// loss, one exponential per logit, softmax as e/s) with the general path
// (reduction None: log_softmax materialized, then nll, the smoothing term
// and g − exp(lp)·S), in float32 and float64, for the loss, for the
// gradient of the summed loss and for an output gradient of 2.5. The two
// are no longer bitwise equal (the fused path's softmax is exp(x − m)/s
// with Expf, the general path's exp(log_softmax) with Exp32); each is
// within a few ULP of the exact value, so they must agree within a small
// multiple of the dtype's epsilon: relative 2e-5 (float32) / 1e-13
// (float64) of each value plus the same fraction of the row's largest
// gradient, for the cancellation at the target (1 − p_t). Both are
// checked against PyTorch by the conformance cases.
func TestFusedMatchesGeneral(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	b, c := 61, 333
	tg := make([]int64, b)
	for i := range tg {
		tg[i] = r.Int64N(int64(c))
	}
	tgt := tensor.MustNew(tg, b)
	for _, dt := range []tensor.DType{tensor.Float32, tensor.Float64} {
		rtol := 2e-5
		if dt == tensor.Float64 {
			rtol = 1e-13
		}
		x0 := randLeaf(r, false, func() float64 { return 3 * r.NormFloat64() }, b, c)
		cw0 := randLeaf(r, false, func() float64 { return 0.5 + r.Float64() }, c)
		x1, _ := x0.To(dt)
		cw, _ := cw0.To(dt)
		for _, opts := range [][]Option{nil, {Weight(cw)}, {Weight(cw), IgnoreIndex(tg[0]), LabelSmoothing(0.2)}, {IgnoreIndex(tg[1]), LabelSmoothing(0.3)}} {
			grads := func(red Reduction, G float64) (float64, []float64) {
				x := x1.Clone()
				_ = x.SetRequiresGrad(true)
				out, err := CrossEntropy(x, tgt, append([]Option{red}, opts...)...)
				if err != nil {
					t.Fatal(err)
				}
				ones := make([]float64, out.Numel())
				for i := range ones {
					ones[i] = G
				}
				gr, _ := tensor.MustNew(ones, out.Shape()...).To(dt)
				g, err := out.GradFn().Backward(gr)
				if err != nil {
					t.Fatal(err)
				}
				var sum float64
				for _, v := range out.Values() {
					sum += v
				}
				return sum, g[0].Values()
			}
			for _, G := range []float64{1, 2.5} {
				lf, gf := grads(Sum, G)
				ls, gs := grads(None, G)
				if math.Abs(lf-ls) > 1e-5*math.Abs(ls) {
					t.Errorf("%v %v: fused loss %v, general %v", dt, opts, lf, ls)
				}
				for i := 0; i < b; i++ {
					var big float64
					for _, v := range gs[i*c : i*c+c] {
						big = max(big, math.Abs(v))
					}
					for k := i * c; k < i*c+c; k++ {
						if d := math.Abs(gf[k] - gs[k]); d > rtol*(math.Abs(gs[k])+big) {
							t.Fatalf("%v %v G=%v: fused gradient [%d] = %v, general %v", dt, opts, G, k, gf[k], gs[k])
						}
					}
				}
			}
		}
	}
}

// TestCosineFusedMatchesGraph checks that cosine_embedding_loss's fused
// gradient is bitwise the general path's (a second backward recomputes it).
func TestCosineFusedMatchesGraph(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	c1 := randLeaf(r, true, r.NormFloat64, 50, 37)
	c2 := randLeaf(r, true, r.NormFloat64, 50, 37)
	y := randLeaf(r, false, func() float64 { return float64(2*r.IntN(2) - 1) }, 50)
	for _, red := range []Reduction{Mean, Sum} {
		out, err := CosineEmbeddingLoss(c1, c2, y, Margin(0.1), red)
		if err != nil {
			t.Fatal(err)
		}
		g1, err := out.GradFn().Backward(tensor.Scalar(float32(1)))
		if err != nil {
			t.Fatal(err)
		}
		g2, err := out.GradFn().Backward(tensor.Scalar(float32(1)))
		if err != nil {
			t.Fatal(err)
		}
		for k := range g1 {
			a, b := g1[k].Float32s(), g2[k].Float32s()
			for i := range a {
				if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
					t.Fatalf("%s input%d [%d]: fused %v, graph %v", red, k+1, i, a[i], b[i])
				}
			}
		}
	}
}

// TestLateAlloc checks runFused's late allocation (lateAlloc): every
// element's gradient is written exactly once, after the allocation,
// whether its chunk ran before, during (left for gradLate) or after it;
// with one worker no chunk is deferred, with four and a slow allocation
// some are; the loss does not change.
func TestLateAlloc(t *testing.T) {
	defer SetNumThreads(0)
	n := 64*sumGrain + 5
	for _, th := range []int{1, 4} {
		SetNumThreads(th)
		var buf []int32
		var deferred atomic.Int32
		grad := func(lo, hi int) {
			for i := lo; i < hi; i++ {
				buf[i]++
			}
		}
		out, ran := runFused(fusedElementwise[float64]{n: n, shape: []int{n}, r: Sum,
			fwd: func(lo, hi int, loss []float64) {
				for i := range loss {
					loss[i] = 0.5
				}
			},
			alloc: func() {
				time.Sleep(20 * time.Millisecond)
				buf = make([]int32, n)
			},
			grad:     grad,
			gradLate: func(lo, hi int) { deferred.Add(1); grad(lo, hi) },
		})
		if v := out.Values()[0]; v != float64(n)/2 || !ran {
			t.Fatalf("threads=%d: loss %v ran %v, want %v true", th, v, ran, float64(n)/2)
		}
		for i, v := range buf {
			if v != 1 {
				t.Fatalf("threads=%d: element %d written %d times", th, i, v)
			}
		}
		if d := deferred.Load(); th == 1 && d != 0 || th > 1 && d == 0 {
			t.Errorf("threads=%d: %d chunks deferred", th, d)
		}
	}
}

// TestFusedSteadyState runs each fused case three times on fresh leaves:
// the first step allocates the gradients, the later ones (ZeroGrad keeps
// the buffers, the losses claim them: tensor.ClaimGrad) must give the same
// bits and allocate nothing of the size of a gradient (bce_sigmoid frees
// the previous step's sigmoid output, whose storage the next Sigmoid
// reuses: tensor.Tensor.Free).
func TestFusedSteadyState(t *testing.T) {
	defer SetNumThreads(0)
	SetNumThreads(2)
	for i := range fusedCases() {
		fc := fusedCases()[i] // fresh leaves: the first step allocates
		want, err := fc.run()
		if err != nil {
			t.Fatalf("%s: %v", fc.name, err)
		}
		for k := 0; k < 2; k++ {
			got, err := fc.run()
			if err != nil {
				t.Fatalf("%s: %v", fc.name, err)
			}
			if !slices.Equal(got, want) {
				t.Fatalf("%s: steady-state step %d differs from the first", fc.name, k+2)
			}
			bytes := fusedStepBytes
			limit := int64(64 << 10)
			if bytes > limit {
				t.Errorf("%s: steady-state step %d allocated %d bytes, want <= %d", fc.name, k+2, bytes, limit)
			}
		}
	}
}

// TestSteadyStateConcurrent runs mse_loss steps on one shared leaf from
// several goroutines after a ZeroGrad: one forward pass claims the
// leaf's buffer while the others' Backward store or add into the leaf's
// gradient (the claim's buffer is left to its writer until it is done).
// The gradients are small multiples of powers of two, so every order of
// accumulation gives the exact sum, compared bit for bit (.ci/run runs it
// under the race detector too).
func TestSteadyStateConcurrent(t *testing.T) {
	const n, workers = 4 * sumGrain, 6
	xs := make([]float32, n)
	for i := range xs {
		xs[i] = float32(i % 7)
	}
	x := tensor.MustNew(xs, n)
	_ = x.SetRequiresGrad(true)
	ys := make([]*tensor.Tensor, workers)
	for k := range ys {
		y := make([]float32, n)
		for i := range y {
			y[i] = float32((i + k) % 5)
		}
		ys[k] = tensor.MustNew(y, n)
	}
	want := make([]float32, n)
	for k := range ys {
		for i := range want {
			// ∂/∂x of mean((x − y)²): 2(x − y)/n, exact in float32.
			want[i] += 2 * (xs[i] - ys[k].Float32s()[i]) / n
		}
	}
	for round := 0; round < 5; round++ {
		// A first step gives x a buffer; ZeroGrad makes it claimable.
		out, err := MSELoss(x, ys[0])
		if err != nil {
			t.Fatal(err)
		}
		if err := out.Backward(); err != nil {
			t.Fatal(err)
		}
		x.ZeroGrad()
		errs := make(chan error, workers)
		for k := range workers {
			go func() {
				out, err := MSELoss(x, ys[k])
				if err == nil {
					err = out.Backward()
				}
				errs <- err
			}()
		}
		for range workers {
			if err := <-errs; err != nil {
				t.Fatal(err)
			}
		}
		got := x.Grad().Float32s()
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("round %d: grad[%d] = %v, want %v", round, i, got[i], want[i])
			}
		}
	}
}
