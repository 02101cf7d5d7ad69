package functional

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/torchloss/torchloss"
	"github.com/torchloss/torchloss/tensor"
)

// The CTC vector of docs/semantics.md §6 (float32, T=4, N=1, C=3).
var ctcSpecLP = []float32{
	-0.6041306257247925, -1.1041306257247925, -2.104130506515503,
	-2.2395448684692383, -0.23954476416110992, -2.2395448684692383,
	-1.4643688201904297, -1.9643688201904297, -0.4643687903881073,
	-0.40760597586631775, -2.4076058864593506, -1.4076060056686401,
}

var ctcSpecGrad = []float64{
	-0.018788635730743408, -0.1031629741191864, 0.12195166200399399,
	0.058876216411590576, -0.11492663621902466, 0.05605044588446617,
	0.1396007090806961, 0.08961032330989838, -0.22921103239059448,
	0.02748692035675049, 0.09003058075904846, -0.11751745641231537,
}

func ints(v ...int64) *tensor.Tensor { return tensor.MustNew(v) }

func TestCTCSpecVector(t *testing.T) {
	for _, tc := range []struct {
		red  Reduction
		want float64
	}{{Sum, 0.6775621771812439}, {Mean, 0.33878108859062195}} {
		lp := tensor.MustNew(append([]float32{}, ctcSpecLP...), 4, 1, 3)
		if err := lp.SetRequiresGrad(true); err != nil {
			t.Fatal(err)
		}
		out, err := CTCLoss(lp, ints(1, 2), ints(4), ints(2), tc.red)
		if err != nil {
			t.Fatal(err)
		}
		if out.DType() != tensor.Float32 || out.Dim() != 0 {
			t.Fatalf("%s: got %v %v, want a float32 scalar", tc.red, out.DType(), out.Shape())
		}
		assertClose(t, string(tc.red), out.Values(), []float64{tc.want}, 1e-6, 1e-7)
		if err := out.Backward(); err != nil {
			t.Fatal(err)
		}
		want := ctcSpecGrad
		if tc.red == Mean { // g = 1/N / max(S, 1) = 1/2
			want = make([]float64, len(ctcSpecGrad))
			for i, v := range ctcSpecGrad {
				want[i] = v / 2
			}
		}
		assertClose(t, string(tc.red)+" grad", lp.Grad().Values(), want, 1e-5, 1e-7)
	}
}

func TestCTCSpecRepeatedLabels(t *testing.T) {
	// targets [1, 1] need a blank between the two 1s: 3 frames at least.
	lp := tensor.MustNew(append([]float32{}, ctcSpecLP...), 4, 1, 3)
	for _, tc := range []struct {
		L    int64
		want float64
	}{{4, 3.9707260131835938}, {3, 5.30804443359375}, {2, math.Inf(1)}} {
		out, err := CTCLossInts(lp, ints(1, 1), []int64{tc.L}, []int64{2}, None)
		if err != nil {
			t.Fatal(err)
		}
		assertClose(t, "loss", out.Values(), []float64{tc.want}, 1e-6, 1e-7)
	}
}

// ctcLP64 returns a (T, N, C) float64 tensor of normalized log-probabilities
// built from a fixed pseudo-random sequence.
func ctcLP64(T, N, C int) *tensor.Tensor {
	v := make([]float64, T*N*C)
	x := uint32(12345)
	for i := 0; i < T*N; i++ {
		row := v[i*C : i*C+C]
		sum := 0.0
		for c := range row {
			x = x*1664525 + 1013904223
			row[c] = float64(x>>8)/float64(1<<24)*4 - 2
			sum += math.Exp(row[c])
		}
		for c := range row {
			row[c] -= math.Log(sum)
		}
	}
	return tensor.MustNew(v, T, N, C)
}

func TestCTCClosedForms(t *testing.T) {
	lp := ctcLP64(5, 2, 4)
	d := lp.Float64s()
	at := func(t, b, c int) float64 { return d[t*8+b*4+c] }
	// One frame, one label: the only path is the label itself. An empty
	// target: the only path is all blanks.
	out, err := CTCLossInts(lp, ints(3), []int64{1, 5}, []int64{1, 0}, None, Blank(2))
	if err != nil {
		t.Fatal(err)
	}
	blanks := 0.0
	for ti := range 5 {
		blanks -= at(ti, 1, 2)
	}
	assertClose(t, "loss", out.Values(), []float64{-at(0, 0, 3), blanks}, 1e-12, 1e-12)
	// Mean: the empty target's length counts as 1.
	mean, err := CTCLossInts(lp, ints(3), []int64{1, 5}, []int64{1, 0}, Blank(2))
	if err != nil {
		t.Fatal(err)
	}
	assertClose(t, "mean", mean.Values(), []float64{(-at(0, 0, 3)/1 + blanks/1) / 2}, 1e-12, 1e-12)
	// Two frames, target [1]: paths 1-, -1, 11 (blank 0).
	out, err = CTCLossInts(lp, ints(1), []int64{2, 0}, []int64{1, 0}, None)
	if err != nil {
		t.Fatal(err)
	}
	p := math.Exp(at(0, 0, 1)+at(1, 0, 0)) + math.Exp(at(0, 0, 0)+at(1, 0, 1)) + math.Exp(at(0, 0, 1)+at(1, 0, 1))
	assertClose(t, "two frames", out.Values(), []float64{-math.Log(p), 0}, 1e-12, 0)
	if !math.Signbit(out.Values()[1]) {
		t.Errorf("L = 0, S = 0: loss %v, want -0.0", out.Values()[1])
	}
}

func TestCTCShapeForms(t *testing.T) {
	lp := ctcLP64(6, 2, 5)
	padded := tensor.MustNew([]int64{1, 2, 2, 3, 4, 9}, 2, 3)
	concat := ints(1, 2, 3, 4)
	a, err := CTCLoss(lp, padded, ints(6, 5), ints(2, 2), None)
	if err != nil {
		t.Fatal(err)
	}
	// Float targets are truncated; lengths as a (1, N) tensor are read flat.
	b, err := CTCLoss(lp, tensor.MustNew([]float32{1.9, 2.5, 3.2, 4.99}), tensor.MustNew([]int64{6, 5}, 1, 2), ints(2, 2), None)
	if err != nil {
		t.Fatal(err)
	}
	c, err := CTCLossInts(lp, concat, []int64{6, 5}, []int64{2, 2}, None)
	if err != nil {
		t.Fatal(err)
	}
	assertClose(t, "float targets", b.Values(), a.Values(), 0, 0)
	assertClose(t, "concatenated", c.Values(), a.Values(), 0, 0)

	// Unbatched (T, C): the second sequence alone, 0-d lengths, 0-d 'none'.
	d := lp.Float64s()
	one := make([]float64, 0, 6*5)
	for ti := range 6 {
		one = append(one, d[ti*10+5:ti*10+10]...)
	}
	u, err := CTCLoss(tensor.MustNew(one, 6, 5), ints(3, 4), tensor.Scalar[int64](5), tensor.Scalar[int64](2), None)
	if err != nil {
		t.Fatal(err)
	}
	if u.Dim() != 0 {
		t.Fatalf("unbatched 'none' has shape %v, want 0-d", u.Shape())
	}
	assertClose(t, "unbatched", u.Values(), a.Values()[1:], 0, 0)
}

func TestCTCInfeasibleAndEmpty(t *testing.T) {
	lp := ctcLP64(4, 2, 3)
	if err := lp.SetRequiresGrad(true); err != nil {
		t.Fatal(err)
	}
	// Sample 0: [1, 1] in 2 frames is impossible. Sample 1: L = 0, S = 1.
	out, err := CTCLossInts(lp, ints(1, 1, 2), []int64{2, 0}, []int64{2, 1}, None)
	if err != nil {
		t.Fatal(err)
	}
	assertClose(t, "loss", out.Values(), []float64{math.Inf(1), math.Inf(1)}, 0, 0)
	if err := out.BackwardWith(tensor.MustNew([]float64{1, 1})); err != nil {
		t.Fatal(err)
	}
	g := lp.Grad().Values()
	for i, v := range g {
		ti, b := i/6, i%6/3
		nan := b == 0 && ti < 2 // the [0, L) block of the impossible sample
		if nan != math.IsNaN(v) || (!nan && v != 0) {
			t.Errorf("grad[%d] (t=%d, b=%d) = %v", i, ti, b, v)
		}
	}
	// zero_infinity: losses and gradients 0.
	lp.ZeroGrad()
	out, err = CTCLossInts(lp, ints(1, 1, 2), []int64{2, 0}, []int64{2, 1}, Sum, ZeroInfinity(true))
	if err != nil {
		t.Fatal(err)
	}
	assertClose(t, "zero_infinity", out.Values(), []float64{0}, 0, 0)
	if err := out.Backward(); err != nil {
		t.Fatal(err)
	}
	for i, v := range lp.Grad().Values() {
		if v != 0 {
			t.Errorf("zero_infinity grad[%d] = %v", i, v)
		}
	}
}

// TestCTCGradient checks the gradient numerically through a log_softmax,
// where PyTorch's exp(lp) − posterior is the true derivative with respect to
// the logits; and checks the quirk itself: for normalized log_probs each
// frame t < L of the lp-gradient sums to Σ exp(lp) − 1 = 0.
func TestCTCGradient(t *testing.T) {
	const T, N, C = 6, 3, 4
	logits := ctcLP64(T, N, C) // any values serve as logits
	targets := tensor.MustNew([]int64{1, 2, 1, 3, 3, 0, 2, 0, 0}, N, 3)
	il, tl := []int64{6, 5, 4}, []int64{3, 2, 1}
	lossOf := func(x *tensor.Tensor, red Reduction) *tensor.Tensor {
		lp, err := LogSoftmax(x, 2)
		if err != nil {
			t.Fatal(err)
		}
		out, err := CTCLossInts(lp, targets, il, tl, red, Blank(0))
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	for _, red := range []Reduction{Mean, Sum} {
		x := logits.Clone()
		if err := x.SetRequiresGrad(true); err != nil {
			t.Fatal(err)
		}
		if err := lossOf(x, red).Backward(); err != nil {
			t.Fatal(err)
		}
		got := x.Grad().Values()
		base := logits.Float64s()
		want := make([]float64, len(base))
		const h = 1e-6
		for i := range base {
			f := func(d float64) float64 {
				v := append([]float64{}, base...)
				v[i] += d
				return lossOf(tensor.MustNew(v, T, N, C), red).Values()[0]
			}
			want[i] = (f(h) - f(-h)) / (2 * h)
		}
		assertClose(t, string(red)+" d/dlogits", got, want, 1e-6, 1e-8)
	}
	// The quirk: rows of the lp-gradient sum to 0 for normalized lp.
	lp, err := LogSoftmax(logits, 2)
	if err != nil {
		t.Fatal(err)
	}
	lp = lp.Detach()
	if err := lp.SetRequiresGrad(true); err != nil {
		t.Fatal(err)
	}
	out, err := CTCLossInts(lp, targets, il, tl, Sum)
	if err != nil {
		t.Fatal(err)
	}
	if err := out.Backward(); err != nil {
		t.Fatal(err)
	}
	g := lp.Grad().Float64s()
	for ti := range T {
		for b := range N {
			row := g[(ti*N+b)*C : (ti*N+b)*C+C]
			s, nonzero := 0.0, false
			for _, v := range row {
				s += v
				nonzero = nonzero || v != 0
			}
			if math.Abs(s) > 1e-12 || nonzero != (int64(ti) < il[b]) {
				t.Errorf("t=%d b=%d: row %v", ti, b, row)
			}
		}
	}
}

func TestCTCErrors(t *testing.T) {
	lp := ctcLP64(5, 2, 4)
	lp32 := tensor.MustNew(make([]float32, 5*2*4), 5, 2, 4)
	pad := tensor.MustNew([]int64{1, 2, 1, 3}, 2, 2)
	type call func() (*tensor.Tensor, error)
	withInts := func(x, tg *tensor.Tensor, il, tl []int64, opts ...Option) call {
		return func() (*tensor.Tensor, error) { return CTCLossInts(x, tg, il, tl, opts...) }
	}
	withTensors := func(x, tg, il, tl *tensor.Tensor, opts ...Option) call {
		return func() (*tensor.Tensor, error) { return CTCLoss(x, tg, il, tl, opts...) }
	}
	for _, tc := range []struct {
		name string
		f    call
		kind *torchloss.Kind
	}{
		{"label out of range", withInts(lp32, tensor.MustNew([]int64{1, 2, 1, 4}, 2, 2), []int64{5, 5}, []int64{2, 2}), torchloss.ErrValue},
		{"negative label", withInts(lp, tensor.MustNew([]int64{1, 2, -1, 3}, 2, 2), []int64{5, 5}, []int64{2, 2}), torchloss.ErrValue},
		{"blank label", withInts(lp32, tensor.MustNew([]int64{1, 2, 0, 3}, 2, 2), []int64{5, 5}, []int64{2, 2}), torchloss.ErrValue},
		{"blank label (blank=3)", withInts(lp, pad, []int64{5, 5}, []int64{2, 2}, Blank(3)), torchloss.ErrValue},
		{"input length > T", withInts(lp, pad, []int64{6, 5}, []int64{2, 2}), torchloss.ErrValue},
		{"negative input length", withInts(lp, pad, []int64{-1, 5}, []int64{2, 2}), torchloss.ErrValue},
		{"negative target length", withInts(lp, pad, []int64{5, 5}, []int64{-1, 2}), torchloss.ErrValue},
		{"target length > padded width", withInts(lp, pad, []int64{5, 5}, []int64{2, 3}), torchloss.ErrShape},
		{"padded batch mismatch", withInts(lp, tensor.MustNew([]int64{1, 2, 1}, 3, 1), []int64{5, 5}, []int64{1, 1}), torchloss.ErrShape},
		{"concatenated size", withInts(lp, ints(1, 2, 3), []int64{5, 5}, []int64{2, 2}), torchloss.ErrShape},
		{"input_lengths size", withInts(lp, pad, []int64{5}, []int64{2, 2}), torchloss.ErrShape},
		{"target_lengths size", withInts(lp, pad, []int64{5, 5}, []int64{2, 2, 2}), torchloss.ErrShape},
		{"0-d lengths, N = 2", withTensors(lp, pad, tensor.Scalar[int64](5), ints(2, 2)), torchloss.ErrShape},
		{"blank out of range", withInts(lp, pad, []int64{5, 5}, []int64{2, 2}, Blank(4)), torchloss.ErrOption},
		{"negative blank", withInts(lp, pad, []int64{5, 5}, []int64{2, 2}, Blank(-1)), torchloss.ErrOption},
		{"4-d log_probs", withInts(tensor.MustNew(make([]float64, 8), 1, 2, 2, 2), pad, []int64{1, 1}, []int64{2, 2}), torchloss.ErrShape},
		{"1-d log_probs", withInts(tensor.MustNew(make([]float64, 4), 4), ints(1), []int64{1}, []int64{1}), torchloss.ErrShape},
		{"0-d log_probs", withInts(tensor.Scalar(1.0), ints(1), []int64{1}, []int64{1}), torchloss.ErrShape},
		{"empty log_probs", withInts(tensor.MustNew([]float64{}, 5, 0, 4), ints(), []int64{}, []int64{}), torchloss.ErrShape},
		{"3-d targets", withInts(lp, tensor.MustNew([]int64{1, 2, 1, 3}, 2, 2, 1), []int64{5, 5}, []int64{2, 2}), torchloss.ErrShape},
		{"0-d targets", withInts(lp, tensor.Scalar[int64](1), []int64{5, 5}, []int64{1, 0}), torchloss.ErrShape},
		{"int64 log_probs", withInts(tensor.MustNew(make([]int64, 40), 5, 2, 4), pad, []int64{5, 5}, []int64{2, 2}), torchloss.ErrDType},
		{"float lengths", withTensors(lp, pad, tensor.MustNew([]float64{5, 5}), ints(2, 2)), torchloss.ErrDType},
		{"bool lengths", withTensors(lp, pad, ints(5, 5), tensor.MustNew([]bool{true, true})), torchloss.ErrDType},
		{"NaN target", withInts(lp, tensor.MustNew([]float64{1, math.NaN(), 1, 3}, 2, 2), []int64{5, 5}, []int64{2, 2}), torchloss.ErrValue},
		{"nil lengths tensor", withTensors(lp, pad, nil, ints(2, 2)), torchloss.ErrValue},
		{"bad reduction", withInts(lp, pad, []int64{5, 5}, []int64{2, 2}, BatchMean), torchloss.ErrOption},
		{"foreign option", withInts(lp, pad, []int64{5, 5}, []int64{2, 2}, Margin(1)), torchloss.ErrOption},
		{"concatenated length overflow", withInts(lp, ints(1, 2), []int64{5, 5}, []int64{math.MaxInt64, 2}), torchloss.ErrLimit},
	} {
		out, err := tc.f()
		if !errors.Is(err, tc.kind) {
			t.Errorf("%s: got (%v, %v), want a %v", tc.name, out, err, tc.kind)
		}
	}
	// Padding beyond target_lengths is not read: a blank there is fine.
	if _, err := CTCLossInts(lp, tensor.MustNew([]int64{1, 0, 0, 0}, 2, 2), []int64{5, 5}, []int64{1, 0}); err != nil {
		t.Errorf("padding equal to blank: %v", err)
	}
}

// ctcRandCase builds a random ctc_loss call: log-softmax log_probs (T, N,
// C) of the given dtype requiring a gradient, padded targets of lengths up
// to maxS and input lengths up to T; run computes the loss with the
// reduction (None: BackwardWith a fixed output gradient) and returns the
// bits of the loss values and of the gradient.
func ctcRandCase(seed uint64, T, N, C, maxS int, dt tensor.DType, red Reduction) func() ([]uint64, error) {
	r := rand.New(rand.NewPCG(seed, 11))
	v := make([]float64, T*N*C)
	for i := range v {
		v[i] = r.NormFloat64() * 2
	}
	base := tensor.MustNew(v, T, N, C)
	lsm, err := LogSoftmax(base, 2)
	if err != nil {
		panic(err)
	}
	tg := make([]int64, N*maxS)
	for i := range tg {
		tg[i] = 1 + r.Int64N(int64(C-1))
	}
	il, tl := make([]int64, N), make([]int64, N)
	for b := range N {
		il[b] = int64(T - r.IntN(T/3+1))
		tl[b] = r.Int64N(int64(maxS) + 1)
	}
	og := make([]float64, N)
	for b := range og {
		og[b] = r.Float64() - 0.25
	}
	return func() ([]uint64, error) {
		lp, err := lsm.Detach().To(dt)
		if err != nil {
			return nil, err
		}
		lp = lp.Clone()
		if err := lp.SetRequiresGrad(true); err != nil {
			return nil, err
		}
		out, err := CTCLoss(lp, tensor.MustNew(tg, N, maxS), tensor.MustNew(il, N), tensor.MustNew(tl, N), red)
		if err != nil {
			return nil, err
		}
		if red == None {
			g, gerr := tensor.MustNew(og, N).To(dt)
			if gerr != nil {
				return nil, gerr
			}
			err = out.BackwardWith(g)
		} else {
			err = out.Backward()
		}
		if err != nil {
			return nil, err
		}
		var bits []uint64
		for _, x := range append(out.Values(), lp.Grad().Values()...) {
			bits = append(bits, math.Float64bits(x))
		}
		return bits, nil
	}
}

// Concurrent ctc_loss calls of different sizes and dtypes (sharing the
// kernels' workspaces) give bitwise the results of sequential calls, for
// 1 and 2 threads each.
func TestCTCConcurrentWorkspaces(t *testing.T) {
	defer SetNumThreads(0)
	dts := []tensor.DType{tensor.Float32, tensor.Float64}
	reds := []Reduction{Mean, Sum, None}
	var runs []func() ([]uint64, error)
	for i := range 8 {
		T := 20 + 17*i
		runs = append(runs, ctcRandCase(uint64(i), T, 1+i%3, 3+5*i, 2+(T/2)*(i%4)/4, dts[i%2], reds[i%3]))
	}
	SetNumThreads(1)
	want := make([][]uint64, len(runs))
	for i, run := range runs {
		var err error
		if want[i], err = run(); err != nil {
			t.Fatal(err)
		}
	}
	for _, th := range []int{1, 2} {
		SetNumThreads(th)
		var wg sync.WaitGroup
		errs := make([]error, len(runs))
		for i, run := range runs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 3 {
					got, err := run()
					if err == nil && !slices.Equal(got, want[i]) {
						err = fmt.Errorf("case %d, %d threads: results differ from the sequential ones", i, th)
					}
					if err != nil {
						errs[i] = err
						return
					}
				}
			}()
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
	}
}
