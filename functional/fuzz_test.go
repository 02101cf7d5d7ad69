package functional_test

// Fuzz targets, one (or more) per loss: the fuzzer's bytes choose shapes
// (empty, 0-d, up to rank 6), dtypes (float32, float64, int64, bool),
// options (every reduction, invalid ones included, margins, eps,
// ignore_index, label_smoothing, blank, p, options the loss does not take)
// and values (NaN, ±inf, subnormals, huge magnitudes, out-of-range classes
// and lengths). Each call must not panic and must return either a
// *torchloss.Error or an output of the documented shape and a float dtype;
// after backward, every leaf that requires a gradient has one of its shape
// and dtype.
//
//	go test ./functional -run '^$' -fuzz '^FuzzCrossEntropy$' -fuzztime 60s

import (
	"encoding/binary"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/torchloss/torchloss"
	"github.com/torchloss/torchloss/functional"
	"github.com/torchloss/torchloss/tensor"
)

// fz reads decisions from the fuzzer's bytes; past the end it reads zeros.
type fz struct {
	b      []byte
	leaves []*tensor.Tensor // tensors that require a gradient
}

const fzMaxElems = 2048 // bound on the elements of one generated tensor

func (f *fz) byte() byte {
	if len(f.b) == 0 {
		return 0
	}
	v := f.b[0]
	f.b = f.b[1:]
	return v
}

func (f *fz) intn(n int) int {
	if n <= 1 {
		return 0
	}
	return int(f.byte()) % n
}

func (f *fz) bool() bool { return f.byte()&1 == 1 }

// special are the values the fuzzer picks most often.
var special = []float64{
	0, math.Copysign(0, -1), 1, -1, 0.5, -0.5, 2, 3, 1e-8,
	math.NaN(), math.Inf(1), math.Inf(-1),
	5e-324, 1e-310, 1e-45, 1e-40, // float64 and float32 subnormals
	1e300, -1e300, 3e38, -3.4e38, math.MaxFloat64, 88.7, -88.7, 710, -745, 1e-30,
}

func (f *fz) float() float64 {
	switch c := f.byte(); {
	case c < 128:
		return special[int(c)%len(special)]
	case c < 200:
		return float64(int(f.byte())-128) / 16
	default:
		var w [8]byte
		for i := range w {
			w[i] = f.byte()
		}
		return math.Float64frombits(binary.LittleEndian.Uint64(w[:]))
	}
}

func (f *fz) class(c int) int64 {
	switch v := f.byte(); {
	case v < 200:
		if c <= 0 {
			return 0
		}
		return int64(int(v) % c)
	case v < 210:
		return -100
	case v < 220:
		return -1
	case v < 230:
		return int64(c)
	case v < 240:
		return math.MaxInt64
	default:
		return math.MinInt64
	}
}

// floatDType is mostly a float dtype, sometimes an invalid one.
func (f *fz) floatDType() tensor.DType {
	switch v := f.byte(); {
	case v < 120:
		return tensor.Float32
	case v < 240:
		return tensor.Float64
	case v < 248:
		return tensor.Int64
	default:
		return tensor.Bool
	}
}

// indexDType is mostly int64.
func (f *fz) indexDType() tensor.DType {
	switch v := f.byte(); {
	case v < 232:
		return tensor.Int64
	case v < 240:
		return tensor.Float32
	case v < 248:
		return tensor.Bool
	default:
		return tensor.Float64
	}
}

func (f *fz) dim() int {
	switch v := f.byte(); {
	case v < 16:
		return 0
	case v < 64:
		return 1
	default:
		return 1 + int(v)%5
	}
}

// shape is a random shape of rank up to maxRank, with at most fzMaxElems
// elements.
func (f *fz) shape(maxRank int) []int {
	r := f.intn(maxRank + 1)
	s := make([]int, r)
	n := 1
	for i := range s {
		d := f.dim()
		if n*d > fzMaxElems {
			d = 1
		}
		s[i] = d
		n *= d
	}
	return s
}

// like derives a shape from s: mostly s itself, else a broadcast variant (some
// dimensions 1, leading ones dropped) or a fresh shape.
func (f *fz) like(s []int) []int {
	switch v := f.byte(); {
	case v < 170:
		return slices.Clone(s)
	case v < 210:
		o := slices.Clone(s)
		for i := range o {
			if f.intn(3) == 0 {
				o[i] = 1
			}
		}
		return o[f.intn(len(o)+1):]
	case v < 230:
		return append([]int{1}, s...)
	default:
		return f.shape(4)
	}
}

func numel(s []int) int {
	n := 1
	for _, d := range s {
		n *= d
	}
	return n
}

// tensorOf builds a tensor of dtype and shape from gen; a float tensor
// requires a gradient when grad (and the fuzzer agrees).
func (f *fz) tensorOf(dt tensor.DType, shape []int, grad bool, gen func() float64) *tensor.Tensor {
	n := numel(shape)
	var t *tensor.Tensor
	switch dt {
	case tensor.Float32:
		d := make([]float32, n)
		for i := range d {
			d[i] = float32(gen())
		}
		t = tensor.MustNew(d, shape...)
	case tensor.Float64:
		d := make([]float64, n)
		for i := range d {
			d[i] = gen()
		}
		t = tensor.MustNew(d, shape...)
	case tensor.Int64:
		d := make([]int64, n)
		for i := range d {
			v := gen()
			switch {
			case math.IsNaN(v):
				d[i] = 0
			case v >= math.MaxInt64:
				d[i] = math.MaxInt64
			case v <= math.MinInt64:
				d[i] = math.MinInt64
			default:
				d[i] = int64(v)
			}
		}
		t = tensor.MustNew(d, shape...)
	default:
		d := make([]bool, n)
		for i := range d {
			d[i] = gen() != 0
		}
		t = tensor.MustNew(d, shape...)
	}
	if grad && dt.IsFloat() && f.byte() < 200 {
		if err := t.SetRequiresGrad(true); err == nil {
			f.leaves = append(f.leaves, t)
		}
	}
	return t
}

// floats is a float-valued tensor (of a mostly float dtype).
func (f *fz) floats(shape []int, grad bool) *tensor.Tensor {
	return f.tensorOf(f.floatDType(), shape, grad, f.float)
}

// labels is a ±1 (or other) valued tensor, for margin-style targets.
func (f *fz) labels(dt tensor.DType, shape []int, grad bool) *tensor.Tensor {
	return f.tensorOf(dt, shape, grad, func() float64 {
		switch f.intn(8) {
		case 0:
			return f.float()
		case 1:
			return 0
		case 2, 3, 4:
			return -1
		default:
			return 1
		}
	})
}

// probs is a tensor of values mostly in [0, 1].
func (f *fz) probs(dt tensor.DType, shape []int, grad bool) *tensor.Tensor {
	return f.tensorOf(dt, shape, grad, func() float64 {
		if f.intn(6) == 0 {
			return f.float()
		}
		return float64(f.byte()) / 255
	})
}

// classes is an index tensor with values mostly in [0, c).
func (f *fz) classes(shape []int, c int) *tensor.Tensor {
	return f.tensorOf(f.indexDType(), shape, false, func() float64 { return float64(f.class(c)) })
}

func (f *fz) reduction() functional.Reduction {
	switch v := f.byte(); {
	case v < 80:
		return functional.Mean
	case v < 160:
		return functional.Sum
	case v < 240:
		return functional.None
	case v < 244:
		return functional.BatchMean
	case v < 248:
		return ""
	case v < 252:
		return "elementwise_mean"
	default:
		return "avg"
	}
}

// extra is, rarely, an option the loss may not accept.
func (f *fz) extra() []functional.Option {
	if f.byte() < 248 {
		return nil
	}
	all := []functional.Option{
		functional.Weight(nil), functional.PosWeight(nil), functional.IgnoreIndex(1),
		functional.LabelSmoothing(0.1), functional.LogInput(false), functional.Full(true),
		functional.Eps(1e-3), functional.Margin(0.5), functional.Blank(1), functional.ZeroInfinity(true),
		functional.LogTarget(true), functional.Beta(0.5), functional.Delta(2), functional.P(1),
		functional.Swap(true), nil,
	}
	return []functional.Option{all[f.intn(len(all))]}
}

// scalarOpt is a float option value: mostly ordinary, sometimes hostile.
func (f *fz) scalarOpt(ordinary ...float64) float64 {
	if f.byte() < 200 {
		return ordinary[f.intn(len(ordinary))]
	}
	return f.float()
}

// bshape is the broadcast shape of the arguments (nil entries skipped).
func bshape(ts ...*tensor.Tensor) []int {
	var s []int
	for _, t := range ts {
		if t == nil {
			continue
		}
		if s == nil {
			s = t.Shape()
			continue
		}
		b, err := tensor.BroadcastShapes(s, t.Shape())
		if err != nil {
			return nil
		}
		s = b
	}
	return s
}

// check asserts the contract of one call: a typed error, or an output of
// the right shape whose backward gives each leaf a gradient of its shape and
// dtype. want is the documented shape for None (nil: not checked).
func check(t *testing.T, f *fz, out *tensor.Tensor, err error, r functional.Reduction, want []int) {
	t.Helper()
	if err != nil {
		var te *torchloss.Error
		if !errors.As(err, &te) {
			t.Fatalf("error %v (%T) is not a *torchloss.Error", err, err)
		}
		if te.Kind == nil || !errors.Is(err, te.Kind) || te.Op == "" || te.Msg == "" {
			t.Fatalf("malformed error %#v", te)
		}
		if strings.Contains(te.Msg, "internal") {
			t.Fatalf("internal error: %v", err)
		}
		return
	}
	if out == nil {
		t.Fatal("nil output without an error")
	}
	if !out.DType().IsFloat() {
		t.Fatalf("output dtype %v", out.DType())
	}
	if r != functional.None {
		if out.Dim() != 0 {
			t.Fatalf("reduction %q: output shape %v, want 0-d", r, out.Shape())
		}
	} else if want != nil && !slices.Equal(out.Shape(), want) {
		t.Fatalf("reduction none: output shape %v, want %v", out.Shape(), want)
	}
	if len(f.leaves) == 0 {
		if out.RequiresGrad() {
			t.Fatal("output requires a gradient without a leaf that does")
		}
		return
	}
	if !out.RequiresGrad() {
		// A leaf that the loss does not differentiate (a target) is fine.
		return
	}
	if out.Numel() == 1 && f.bool() {
		err = out.Backward()
	} else {
		ones, _ := tensor.Ones(out.DType(), out.Shape()...)
		err = out.BackwardWith(ones)
	}
	if err != nil {
		var te *torchloss.Error
		if !errors.As(err, &te) || strings.Contains(te.Msg, "internal") {
			t.Fatalf("backward: %v", err)
		}
		return
	}
	for i, l := range f.leaves {
		g := l.Grad()
		if g == nil {
			continue // the loss does not reach this leaf
		}
		if !slices.Equal(g.Shape(), l.Shape()) || g.DType() != l.DType() {
			t.Fatalf("leaf %d (%v %v): gradient %v %v", i, l.Shape(), l.DType(), g.Shape(), g.DType())
		}
	}
}

// seeds adds a few corpus entries shared by every target.
func seeds(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{2, 70, 70, 0, 0, 0, 0, 0, 0, 0})
	f.Add([]byte{3, 80, 80, 80, 130, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120, 0, 1, 2, 3, 4, 5})
	f.Add([]byte{1, 0, 200, 9, 10, 11, 160, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10})
	f.Add([]byte{6, 64, 64, 64, 64, 64, 64, 250, 250, 250, 250, 250, 250, 250, 250, 250, 250})
	f.Add([]byte("\x02\x44\x45\x00\xff\xfe\xfd\xfc\x09\x0a\x0b\x0c\x0d\x0e\x0f"))
}

// elementwise fuzzes a loss of two broadcastable arguments whose None
// output has their broadcast shape.
func elementwise(f *testing.F, call func(z *fz, x, y *tensor.Tensor, r functional.Reduction) (*tensor.Tensor, error, []int)) {
	seeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		z := &fz{b: data}
		s := z.shape(6)
		x := z.floats(s, true)
		y := z.floats(z.like(s), true)
		r := z.reduction()
		out, err, want := call(z, x, y, r)
		check(t, z, out, err, r, want)
	})
}

func FuzzBinaryCrossEntropy(f *testing.F) {
	elementwise(f, func(z *fz, x, y *tensor.Tensor, r functional.Reduction) (*tensor.Tensor, error, []int) {
		x = z.probs(x.DType(), x.Shape(), true)
		opts := append([]functional.Option{r}, z.extra()...)
		var w *tensor.Tensor
		if z.bool() {
			w = z.floats(z.like(x.Shape()), true)
			opts = append(opts, functional.Weight(w))
		}
		out, err := functional.BinaryCrossEntropy(x, y, opts...)
		return out, err, bshape(x, y, w)
	})
}

func FuzzBinaryCrossEntropyWithLogits(f *testing.F) {
	elementwise(f, func(z *fz, x, y *tensor.Tensor, r functional.Reduction) (*tensor.Tensor, error, []int) {
		opts := append([]functional.Option{r}, z.extra()...)
		if z.bool() {
			opts = append(opts, functional.Weight(z.floats(z.like(x.Shape()), true)))
		}
		if z.bool() {
			opts = append(opts, functional.PosWeight(z.floats(z.like(x.Shape()), true)))
		}
		out, err := functional.BinaryCrossEntropyWithLogits(x, y, opts...)
		return out, err, x.Shape()
	})
}

func FuzzPoissonNLLLoss(f *testing.F) {
	elementwise(f, func(z *fz, x, y *tensor.Tensor, r functional.Reduction) (*tensor.Tensor, error, []int) {
		opts := append([]functional.Option{r, functional.LogInput(z.bool()), functional.Full(z.bool())}, z.extra()...)
		if z.bool() {
			opts = append(opts, functional.Eps(z.scalarOpt(1e-8, 0, 1)))
		}
		out, err := functional.PoissonNLLLoss(x, y, opts...)
		return out, err, bshape(x, y)
	})
}

func FuzzGaussianNLLLoss(f *testing.F) {
	elementwise(f, func(z *fz, x, y *tensor.Tensor, r functional.Reduction) (*tensor.Tensor, error, []int) {
		vs := x.Shape()
		switch z.intn(4) {
		case 1:
			if len(vs) > 0 {
				vs = vs[:len(vs)-1]
			}
		case 2:
			vs = z.like(vs)
		}
		v := z.tensorOf(z.floatDType(), vs, true, func() float64 {
			if z.intn(4) == 0 {
				return z.float()
			}
			return float64(z.byte()) / 64
		})
		opts := append([]functional.Option{r, functional.Full(z.bool())}, z.extra()...)
		if z.bool() {
			opts = append(opts, functional.Eps(z.scalarOpt(1e-6, 0, 1)))
		}
		out, err := functional.GaussianNLLLoss(x, y, v, opts...)
		return out, err, nil
	})
}

func FuzzGaussianNLLLossScalarVar(f *testing.F) {
	elementwise(f, func(z *fz, x, y *tensor.Tensor, r functional.Reduction) (*tensor.Tensor, error, []int) {
		opts := append([]functional.Option{r, functional.Full(z.bool())}, z.extra()...)
		if z.bool() {
			opts = append(opts, functional.Eps(z.scalarOpt(1e-6, 0, 1)))
		}
		out, err := functional.GaussianNLLLossScalarVar(x, y, z.scalarOpt(1, 0.5, 0, -1, 1e-9), opts...)
		return out, err, bshape(x, y)
	})
}

func FuzzHingeEmbeddingLoss(f *testing.F) {
	elementwise(f, func(z *fz, x, y *tensor.Tensor, r functional.Reduction) (*tensor.Tensor, error, []int) {
		y = z.labels(z.floatDType(), y.Shape(), true)
		opts := append([]functional.Option{r}, z.extra()...)
		if z.bool() {
			opts = append(opts, functional.Margin(z.scalarOpt(1, 0, 2, -1)))
		}
		out, err := functional.HingeEmbeddingLoss(x, y, opts...)
		return out, err, bshape(x, y)
	})
}

func FuzzKLDiv(f *testing.F) {
	elementwise(f, func(z *fz, x, y *tensor.Tensor, r functional.Reduction) (*tensor.Tensor, error, []int) {
		lt := z.bool()
		if !lt && z.bool() {
			y = z.probs(y.DType(), y.Shape(), true)
		}
		opts := append([]functional.Option{r, functional.LogTarget(lt)}, z.extra()...)
		out, err := functional.KLDiv(x, y, opts...)
		return out, err, bshape(x, y)
	})
}

func FuzzL1Loss(f *testing.F) {
	elementwise(f, func(z *fz, x, y *tensor.Tensor, r functional.Reduction) (*tensor.Tensor, error, []int) {
		opts := append([]functional.Option{r}, z.extra()...)
		var w *tensor.Tensor
		if z.intn(4) == 0 {
			w = z.floats(z.like(x.Shape()), true)
			opts = append(opts, functional.Weight(w))
		}
		out, err := functional.L1Loss(x, y, opts...)
		return out, err, bshape(x, y, w)
	})
}

func FuzzMSELoss(f *testing.F) {
	elementwise(f, func(z *fz, x, y *tensor.Tensor, r functional.Reduction) (*tensor.Tensor, error, []int) {
		opts := append([]functional.Option{r}, z.extra()...)
		var w *tensor.Tensor
		if z.intn(4) == 0 {
			w = z.floats(z.like(x.Shape()), true)
			opts = append(opts, functional.Weight(w))
		}
		out, err := functional.MSELoss(x, y, opts...)
		return out, err, bshape(x, y, w)
	})
}

func FuzzSmoothL1Loss(f *testing.F) {
	elementwise(f, func(z *fz, x, y *tensor.Tensor, r functional.Reduction) (*tensor.Tensor, error, []int) {
		opts := append([]functional.Option{r}, z.extra()...)
		if z.bool() {
			opts = append(opts, functional.Beta(z.scalarOpt(1, 0, 0.5, -1)))
		}
		out, err := functional.SmoothL1Loss(x, y, opts...)
		return out, err, bshape(x, y)
	})
}

func FuzzHuberLoss(f *testing.F) {
	elementwise(f, func(z *fz, x, y *tensor.Tensor, r functional.Reduction) (*tensor.Tensor, error, []int) {
		opts := append([]functional.Option{r}, z.extra()...)
		if z.bool() {
			opts = append(opts, functional.Delta(z.scalarOpt(1, 0, 0.5, -1)))
		}
		var w *tensor.Tensor
		if z.intn(4) == 0 {
			w = z.floats(z.like(x.Shape()), true)
			opts = append(opts, functional.Weight(w))
		}
		out, err := functional.HuberLoss(x, y, opts...)
		return out, err, bshape(x, y, w)
	})
}

func FuzzSoftMarginLoss(f *testing.F) {
	elementwise(f, func(z *fz, x, y *tensor.Tensor, r functional.Reduction) (*tensor.Tensor, error, []int) {
		// The target is not differentiable: ask for its gradient rarely.
		y = z.labels(z.floatDType(), y.Shape(), z.intn(16) == 15)
		out, err := functional.SoftMarginLoss(x, y, append([]functional.Option{r}, z.extra()...)...)
		return out, err, x.Shape()
	})
}

func FuzzMarginRankingLoss(f *testing.F) {
	elementwise(f, func(z *fz, x, y *tensor.Tensor, r functional.Reduction) (*tensor.Tensor, error, []int) {
		tg := z.labels(z.floatDType(), z.like(x.Shape()), true)
		opts := append([]functional.Option{r}, z.extra()...)
		if z.bool() {
			opts = append(opts, functional.Margin(z.scalarOpt(0, 1, 0.5, -1)))
		}
		out, err := functional.MarginRankingLoss(x, y, tg, opts...)
		return out, err, bshape(x, y, tg)
	})
}

func FuzzMultilabelSoftMarginLoss(f *testing.F) {
	elementwise(f, func(z *fz, x, y *tensor.Tensor, r functional.Reduction) (*tensor.Tensor, error, []int) {
		if z.bool() {
			y = z.probs(z.floatDType(), y.Shape(), true)
		}
		opts := append([]functional.Option{r}, z.extra()...)
		var w *tensor.Tensor
		if z.bool() {
			w = z.floats(z.like(x.Shape()[min(1, x.Dim()):]), true)
			opts = append(opts, functional.Weight(w))
		}
		out, err := functional.MultilabelSoftMarginLoss(x, y, opts...)
		var want []int
		if s := bshape(x, y, w); s != nil && x.Dim() >= 1 && x.Dim() <= 2 && len(s) == x.Dim() {
			want = s[:len(s)-1]
		}
		return out, err, want
	})
}

// classProblem is an (N, C, d...) input with an index target.
func classProblem(z *fz) (x, tg *tensor.Tensor, c int) {
	var xs []int
	switch z.intn(6) {
	case 0:
		xs = []int{z.dim()} // (C)
	case 1:
		xs = z.shape(6)
	default:
		xs = []int{z.dim(), z.dim()}
		if z.bool() {
			xs = append(xs, z.dim(), z.dim())
		}
	}
	x = z.floats(xs, true)
	if len(xs) > 1 {
		c = xs[1]
	} else if len(xs) == 1 {
		c = xs[0]
	}
	var ts []int
	if len(xs) > 1 {
		ts = append([]int{xs[0]}, xs[2:]...)
	} else {
		ts = []int{}
	}
	if z.intn(8) == 0 {
		ts = z.like(ts)
	}
	return x, z.classes(ts, c), c
}

func FuzzNLLLoss(f *testing.F) {
	seeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		z := &fz{b: data}
		x, tg, c := classProblem(z)
		r := z.reduction()
		opts := append([]functional.Option{r}, z.extra()...)
		if z.bool() {
			opts = append(opts, functional.IgnoreIndex(z.class(c)))
		}
		if z.bool() {
			opts = append(opts, functional.Weight(z.tensorOf(z.floatDType(), z.like([]int{c}), z.intn(8) == 0, z.float)))
		}
		out, err := functional.NLLLoss(x, tg, opts...)
		var want []int
		if x.Dim() > 1 {
			want = tg.Shape()
		}
		check(t, z, out, err, r, want)
	})
}

func FuzzCrossEntropy(f *testing.F) {
	seeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		z := &fz{b: data}
		x, tg, c := classProblem(z)
		prob := z.intn(3) == 0
		if prob {
			tg = z.probs(z.floatDType(), z.like(x.Shape()), true)
		}
		r := z.reduction()
		opts := append([]functional.Option{r}, z.extra()...)
		if z.bool() {
			opts = append(opts, functional.IgnoreIndex(z.class(c)))
		}
		if z.bool() {
			opts = append(opts, functional.LabelSmoothing(z.scalarOpt(0.1, 0, 1, 0.5, -0.1, 1.5)))
		}
		if z.bool() {
			opts = append(opts, functional.Weight(z.tensorOf(z.floatDType(), z.like([]int{c}), z.intn(4) == 0, z.float)))
		}
		out, err := functional.CrossEntropy(x, tg, opts...)
		var want []int
		if x.Dim() > 1 {
			if tg.DType().IsFloat() { // class probabilities
				want = append([]int{x.Size(0)}, x.Shape()[2:]...)
			} else {
				want = tg.Shape()
			}
		} else {
			want = []int{}
		}
		check(t, z, out, err, r, want)
	})
}

// ctcProblem draws a ctc_loss call: log_probs (T, N, C) or (T, C), padded
// or concatenated targets, lengths mostly in range.
func ctcProblem(z *fz) (lp, tg *tensor.Tensor, il, tl []int64, batched bool) {
	// Zero bytes (past the end of the input) give an ordinary call.
	steps, n, c := (z.intn(9)+2)%9, 1+z.intn(4), (z.intn(7)+3)%7
	if z.intn(10) == 9 {
		n = 0
	}
	batched = n != 1 || z.bool()
	var ls []int
	if batched {
		ls = []int{steps, n, c}
	} else {
		ls = []int{steps, c}
	}
	if z.intn(12) == 11 {
		ls = z.shape(4)
	}
	lp = z.tensorOf(z.floatDType(), ls, true, func() float64 {
		if z.intn(6) == 0 {
			return z.float()
		}
		return -float64(z.byte()) / 32
	})
	length := func(limit int, top bool) int64 {
		switch v := z.byte(); {
		case v < 230:
			if top {
				return int64(limit - int(v)%(limit+1))
			}
			return int64(int(v) % (limit + 1))
		case v < 238:
			return -1
		case v < 246:
			return int64(limit + 1)
		default:
			return math.MaxInt64
		}
	}
	il = make([]int64, n)
	tl = make([]int64, n)
	for b := range n {
		il[b] = length(steps, true)
		tl[b] = length(max(steps, 1), false)
	}
	if z.intn(12) == 11 {
		il = append(il, 1)
	}
	if z.intn(2) == 0 { // padded (N, S)
		s := 0
		for _, v := range tl {
			if v >= 0 && v < 64 {
				s = max(s, int(v))
			}
		}
		ts := []int{n, s}
		if !batched {
			ts = []int{s}
		}
		tg = z.tensorOf(z.indexDType(), ts, false, func() float64 { return float64(1 + z.class(max(c-1, 1))) })
	} else { // concatenated
		s := 0
		for _, v := range tl {
			if v >= 0 && v < 64 {
				s += int(v)
			}
		}
		tg = z.tensorOf(z.indexDType(), []int{s}, false, func() float64 { return float64(1 + z.class(max(c-1, 1))) })
	}
	return lp, tg, il, tl, batched
}

func ctcOpts(z *fz, r functional.Reduction) []functional.Option {
	opts := append([]functional.Option{r, functional.ZeroInfinity(z.bool())}, z.extra()...)
	if z.intn(4) == 0 {
		opts = append(opts, functional.Blank(z.class(8)))
	}
	return opts
}

func ctcWant(lp *tensor.Tensor, batched bool, n int) []int {
	if lp.Dim() == 3 {
		return []int{n}
	}
	return []int{}
}

func FuzzCTCLoss(f *testing.F) {
	seeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		z := &fz{b: data}
		lp, tg, il, tl, batched := ctcProblem(z)
		ilt := z.tensorOf(z.indexDType(), []int{len(il)}, false, func() float64 { return 0 })
		tlt := tensor.MustNew(slices.Clone(tl), len(tl))
		if ilt.DType() == tensor.Int64 {
			ilt = tensor.MustNew(slices.Clone(il), len(il))
		}
		if !batched && len(tl) == 1 && z.bool() {
			tlt = tensor.Scalar(tl[0])
		}
		r := z.reduction()
		out, err := functional.CTCLoss(lp, tg, ilt, tlt, ctcOpts(z, r)...)
		check(t, z, out, err, r, ctcWant(lp, batched, len(il)))
	})
}

func FuzzCTCLossInts(f *testing.F) {
	seeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		z := &fz{b: data}
		lp, tg, il, tl, batched := ctcProblem(z)
		r := z.reduction()
		out, err := functional.CTCLossInts(lp, tg, il, tl, ctcOpts(z, r)...)
		check(t, z, out, err, r, ctcWant(lp, batched, len(il)))
	})
}

// pairProblem is an (N, D) or (D) pair of inputs with a target of (N) or 0-d.
func pairShapes(z *fz) (xs, ts []int) {
	switch z.intn(6) {
	case 0:
		xs, ts = []int{z.dim()}, []int{}
	case 1:
		xs = z.shape(4)
		ts = z.like(xs[:max(len(xs)-1, 0)])
	default:
		xs = []int{z.dim(), z.dim()}
		ts = xs[:1]
	}
	return xs, ts
}

func FuzzCosineEmbeddingLoss(f *testing.F) {
	seeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		z := &fz{b: data}
		xs, ts := pairShapes(z)
		x1 := z.floats(xs, true)
		x2 := z.floats(z.like(xs), true)
		tg := z.labels(z.floatDType(), z.like(ts), false)
		r := z.reduction()
		opts := append([]functional.Option{r}, z.extra()...)
		if z.bool() {
			opts = append(opts, functional.Margin(z.scalarOpt(0, 0.5, -1, 1)))
		}
		out, err := functional.CosineEmbeddingLoss(x1, x2, tg, opts...)
		var want []int // (N) for (N, D) inputs with a (N) target
		if x1.Dim() == 2 && x2.Dim() == 2 && tg.Dim() == 1 {
			n1, _ := tensor.Zeros(tensor.Float32, x1.Size(0))
			n2, _ := tensor.Zeros(tensor.Float32, x2.Size(0))
			want = bshape(n1, n2, tg)
		}
		check(t, z, out, err, r, want)
	})
}

func FuzzMultiMarginLoss(f *testing.F) {
	seeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		z := &fz{b: data}
		xs, ts := pairShapes(z)
		c := 0
		if len(xs) > 0 {
			c = xs[len(xs)-1]
		}
		x := z.floats(xs, true)
		tg := z.classes(ts, c)
		r := z.reduction()
		opts := append([]functional.Option{r}, z.extra()...)
		if z.bool() {
			opts = append(opts, functional.P(z.scalarOpt(1, 2, 3, 0)))
		}
		if z.bool() {
			opts = append(opts, functional.Margin(z.scalarOpt(1, 0, 0.5, -1)))
		}
		if z.bool() {
			opts = append(opts, functional.Weight(z.tensorOf(z.floatDType(), z.like([]int{c}), z.intn(8) == 0, z.float)))
		}
		out, err := functional.MultiMarginLoss(x, tg, opts...)
		var want []int
		if x.Dim() == 2 { // (N), or 0-d for a 0-d target
			want = x.Shape()[:min(1, tg.Dim())]
		}
		check(t, z, out, err, r, want)
	})
}

func FuzzMultilabelMarginLoss(f *testing.F) {
	seeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		z := &fz{b: data}
		xs, _ := pairShapes(z)
		c := 0
		if len(xs) > 0 {
			c = xs[len(xs)-1]
		}
		x := z.floats(xs, true)
		tg := z.tensorOf(z.indexDType(), z.like(xs), false, func() float64 {
			if z.intn(4) == 0 {
				return -1
			}
			return float64(z.class(c))
		})
		r := z.reduction()
		out, err := functional.MultilabelMarginLoss(x, tg, append([]functional.Option{r}, z.extra()...)...)
		var want []int
		if x.Dim() == 2 {
			want = x.Shape()[:1]
		}
		check(t, z, out, err, r, want)
	})
}

func tripletArgs(z *fz) (a, p, n *tensor.Tensor) {
	xs, _ := pairShapes(z)
	return z.floats(xs, true), z.floats(z.like(xs), true), z.floats(z.like(xs), true)
}

// tripletWant is the documented None shape: (N) for (N, D) triplets, 0-d
// for (D) ones (nil: not checked).
func tripletWant(a, p, n *tensor.Tensor) []int {
	switch {
	case a.Dim() == 1 && p.Dim() == 1 && n.Dim() == 1:
		return []int{}
	case a.Dim() == 2 && p.Dim() == 2 && n.Dim() == 2:
		s := bshape(a, p, n)
		if s == nil {
			return nil
		}
		return s[:1]
	}
	return nil
}

func FuzzTripletMarginLoss(f *testing.F) {
	seeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		z := &fz{b: data}
		a, p, n := tripletArgs(z)
		r := z.reduction()
		opts := append([]functional.Option{r, functional.Swap(z.bool())}, z.extra()...)
		if z.bool() {
			opts = append(opts, functional.Margin(z.scalarOpt(1, 0, 0.5, -1)))
		}
		if z.bool() {
			opts = append(opts, functional.P(z.scalarOpt(2, 1, 3, 0, 0.5, math.Inf(1))))
		}
		if z.bool() {
			opts = append(opts, functional.Eps(z.scalarOpt(1e-6, 0, 1)))
		}
		out, err := functional.TripletMarginLoss(a, p, n, opts...)
		check(t, z, out, err, r, tripletWant(a, p, n))
	})
}

func FuzzTripletMarginWithDistanceLoss(f *testing.F) {
	seeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		z := &fz{b: data}
		a, p, n := tripletArgs(z)
		r := z.reduction()
		opts := append([]functional.Option{r, functional.Swap(z.bool())}, z.extra()...)
		if z.bool() {
			opts = append(opts, functional.Margin(z.scalarOpt(1, 0, 0.5, -1)))
		}
		switch z.intn(4) {
		case 1:
			pp, eps := z.scalarOpt(2, 1, 3), z.scalarOpt(1e-6, 0)
			opts = append(opts, functional.DistanceFunction(func(x1, x2 *tensor.Tensor) (*tensor.Tensor, error) {
				return functional.PairwiseDistance(x1, x2, pp, eps)
			}))
		case 2:
			opts = append(opts, functional.DistanceFunction(func(x1, x2 *tensor.Tensor) (*tensor.Tensor, error) {
				d, err := functional.Sub(x1, x2)
				if err != nil {
					return nil, err
				}
				return functional.Norm(d, 1, -1)
			}))
		case 3:
			opts = append(opts, functional.DistanceFunction(nil))
		}
		out, err := functional.TripletMarginWithDistanceLoss(a, p, n, opts...)
		check(t, z, out, err, r, tripletWant(a, p, n))
	})
}
