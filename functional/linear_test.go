package functional

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/torchloss/torchloss"
	"github.com/torchloss/torchloss/tensor"
)

// f64 returns t's values as float64.
func f64(t *tensor.Tensor) []float64 { return t.Values() }

// mm64 is the float64 product of an m×k and a k×n row-major matrix, and
// Σ|a·b| per element (for the error bound of a float32 product).
func mm64(a, b []float64, m, k, n int) (c, mag []float64) {
	c, mag = make([]float64, m*n), make([]float64, m*n)
	for i := range m {
		for j := range n {
			for p := range k {
				v := a[i*k+p] * b[p*n+j]
				c[i*n+j] += v
				mag[i*n+j] += math.Abs(v)
			}
		}
	}
	return c, mag
}

func transpose64(a []float64, m, n int) []float64 {
	t := make([]float64, m*n)
	for i := range m {
		for j := range n {
			t[j*m+i] = a[i*n+j]
		}
	}
	return t
}

// near checks got against a float64 reference within k·u·mag (a k-term
// sum in float32, u = 2^-24) plus a few ULP of the value.
func near(t *testing.T, what string, got, want, mag []float64, k int) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	for i := range want {
		bound := float64(k+2)*0x1p-24*mag[i] + 4*0x1p-24*math.Abs(want[i])
		if d := math.Abs(got[i] - want[i]); !(d <= bound) {
			t.Fatalf("%s[%d] = %v, want %v (|diff| %g > %g)", what, i, got[i], want[i], d, bound)
		}
	}
}

// TestLinearMatchesFloat64 checks Linear's output and gradients (float32,
// a 3-D input, a bias) against float64 products of the same values.
func TestLinearMatchesFloat64(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	b1, b2, in, out := 3, 5, 37, 23
	rows := b1 * b2
	x := randLeaf(r, true, r.NormFloat64, b1, b2, in)
	w := randLeaf(r, true, r.NormFloat64, out, in)
	bias := randLeaf(r, true, r.NormFloat64, out)
	y, err := Linear(x, w, bias)
	if err != nil {
		t.Fatal(err)
	}
	if s := y.Shape(); len(s) != 3 || s[2] != out {
		t.Fatalf("shape %v", s)
	}
	want, mag := mm64(f64(x), transpose64(f64(w), out, in), rows, in, out)
	for i := range want {
		bv := f64(bias)[i%out]
		want[i] += bv
		mag[i] += math.Abs(bv)
	}
	near(t, "linear", f64(y), want, mag, in+1)
	g := randLeaf(r, false, r.NormFloat64, b1, b2, out)
	if err := y.BackwardWith(g); err != nil {
		t.Fatal(err)
	}
	gx, gmx := mm64(f64(g), f64(w), rows, out, in)
	near(t, "∂input", f64(x.Grad()), gx, gmx, out)
	gw, gmw := mm64(transpose64(f64(g), rows, out), f64(x), out, rows, in)
	near(t, "∂weight", f64(w.Grad()), gw, gmw, rows)
	gb, gmb := mm64(transpose64(f64(g), rows, out), onesF64(rows), out, rows, 1)
	near(t, "∂bias", f64(bias.Grad()), gb, gmb, rows)
}

func onesF64(n int) []float64 {
	s := make([]float64, n)
	for i := range s {
		s[i] = 1
	}
	return s
}

// TestMatMulShapes checks MatMul's vector, matrix and broadcast batched
// products and their gradients against float64 products.
func TestMatMulShapes(t *testing.T) {
	r := rand.New(rand.NewPCG(23, 24))
	for _, tc := range []struct {
		a, b, out []int
	}{
		{[]int{7}, []int{7}, []int{}},
		{[]int{4, 7}, []int{7}, []int{4}},
		{[]int{7}, []int{7, 5}, []int{5}},
		{[]int{9, 7}, []int{7, 20}, []int{9, 20}},
		{[]int{2, 1, 3, 7}, []int{4, 7, 5}, []int{2, 4, 3, 5}},
		{[]int{3, 0}, []int{0, 4}, []int{3, 4}}, // k = 0: zeros
		{[]int{0, 5}, []int{5, 2}, []int{0, 2}},
	} {
		a := randLeaf(r, true, r.NormFloat64, tc.a...)
		b := randLeaf(r, true, r.NormFloat64, tc.b...)
		c, err := MatMul(a, b)
		if err != nil {
			t.Fatal(err)
		}
		if !equalInts(c.Shape(), tc.out) {
			t.Fatalf("%v·%v: shape %v, want %v", tc.a, tc.b, c.Shape(), tc.out)
		}
		g := randLeaf(r, false, r.NormFloat64, tc.out...)
		if err := c.BackwardWith(g); err != nil {
			t.Fatal(err)
		}
		// The reference: each batch entry by index arithmetic.
		as, bs := tc.a, tc.b
		if len(as) == 1 {
			as = []int{1, as[0]}
		}
		if len(bs) == 1 {
			bs = []int{bs[0], 1}
		}
		m, k, n := as[len(as)-2], as[len(as)-1], bs[len(bs)-1]
		batch, _ := tensor.BroadcastShapes(as[:len(as)-2], bs[:len(bs)-2])
		aOff := batchOffsets(batch, as[:len(as)-2], m*k)
		bOff := batchOffsets(batch, bs[:len(bs)-2], k*n)
		av, bv, gv := f64(a), f64(b), f64(g)
		want, mag := make([]float64, len(aOff)*m*n), make([]float64, len(aOff)*m*n)
		ga, gb := make([]float64, len(av)), make([]float64, len(bv))
		gam, gbm := make([]float64, len(av)), make([]float64, len(bv))
		for e := range aOff {
			for i := range m {
				for j := range n {
					o := e*m*n + i*n + j
					for p := range k {
						x, y := av[aOff[e]+i*k+p], bv[bOff[e]+p*n+j]
						want[o] += x * y
						mag[o] += math.Abs(x * y)
						ga[aOff[e]+i*k+p] += gv[o] * y
						gam[aOff[e]+i*k+p] += math.Abs(gv[o] * y)
						gb[bOff[e]+p*n+j] += gv[o] * x
						gbm[bOff[e]+p*n+j] += math.Abs(gv[o] * x)
					}
				}
			}
		}
		near(t, "matmul", f64(c), want, mag, k)
		near(t, "∂a", f64(a.Grad()), ga, gam, n*len(aOff))
		near(t, "∂b", f64(b.Grad()), gb, gbm, m*len(aOff))
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestLinearMatMulErrors(t *testing.T) {
	r := rand.New(rand.NewPCG(25, 26))
	x := randLeaf(r, false, r.NormFloat64, 3, 4)
	w := randLeaf(r, false, r.NormFloat64, 5, 6)
	x64 := tensor.MustNew(make([]float64, 12), 3, 4)
	for _, tc := range []struct {
		name string
		f    func() (*tensor.Tensor, error)
		kind *torchloss.Kind
	}{
		{"in_features", func() (*tensor.Tensor, error) { return Linear(x, w, nil) }, torchloss.ErrShape},
		{"bias size", func() (*tensor.Tensor, error) {
			return Linear(x, randLeaf(r, false, r.NormFloat64, 5, 4), randLeaf(r, false, r.NormFloat64, 4))
		}, torchloss.ErrShape},
		{"dtype", func() (*tensor.Tensor, error) { return Linear(x64, randLeaf(r, false, r.NormFloat64, 5, 4), nil) }, torchloss.ErrDType},
		{"0-d", func() (*tensor.Tensor, error) { return MatMul(tensor.Scalar(float32(1)), x) }, torchloss.ErrShape},
		{"inner", func() (*tensor.Tensor, error) { return MatMul(x, x) }, torchloss.ErrShape},
		{"batch", func() (*tensor.Tensor, error) {
			return MatMul(randLeaf(r, false, r.NormFloat64, 2, 3, 4), randLeaf(r, false, r.NormFloat64, 3, 4, 5))
		}, torchloss.ErrShape},
		{"lce weight 1-D", func() (*tensor.Tensor, error) {
			return LinearCrossEntropy(x, randLeaf(r, false, r.NormFloat64, 4), tensor.MustNew([]int64{0, 1, 2}, 3))
		}, torchloss.ErrShape},
	} {
		_, err := tc.f()
		if !errors.Is(err, tc.kind) {
			t.Errorf("%s: error %v, want kind %v", tc.name, err, tc.kind)
		}
	}
}

// lceArgs are random linear_cross_entropy arguments: input (n, h),
// linear_weight (c, h), a bias, class weights and targets with ignored
// entries (index 3).
func lceArgs(r *rand.Rand, n, h, c int, f64 bool) (x, w, b, cw, tgt *tensor.Tensor) {
	mk := func(grad bool, scale float64, shape ...int) *tensor.Tensor {
		t := randLeaf(r, grad, func() float64 { return scale * r.NormFloat64() }, shape...)
		if f64 {
			d, _ := t.Detach().To(tensor.Float64)
			t = tensor.MustNew(append([]float64{}, d.Float64s()...), shape...)
			_ = t.SetRequiresGrad(grad)
		}
		return t
	}
	x, w, b = mk(true, 1, n, h), mk(true, 0.3, c, h), mk(true, 1, c)
	cw = mk(false, 0.2, c)
	for i, v := range cw.Values() {
		if f64 {
			cw.Float64s()[i] = 1 + v
		} else {
			cw.Float32s()[i] = float32(1 + v)
		}
	}
	tg := make([]int64, n)
	for i := range tg {
		tg[i] = r.Int64N(int64(c))
		if i%7 == 2 {
			tg[i] = 3 // ignored when IgnoreIndex(3)
		}
	}
	return x, w, b, cw, tensor.MustNew(tg, n)
}

// TestLCEFusedMatchesReference checks the fused path against the
// reference implementation (Linear, a reshape, CrossEntropy) over the
// options, the reductions and an output gradient other than 1, with sizes
// that span several row blocks and vocabulary chunks.
func TestLCEFusedMatchesReference(t *testing.T) {
	defer func(m int) { lceMaxRows = m }(lceMaxRows)
	lceMaxRows = 24 // three row blocks
	r := rand.New(rand.NewPCG(27, 28))
	for _, is64 := range []bool{false, true} {
		n, h, c := 60, 11, 1100 // three chunks of the vocabulary
		x, w, b, cw, tgt := lceArgs(r, n, h, c, is64)
		for _, red := range []Reduction{Mean, Sum, None} {
			for _, opts := range [][]Option{
				{red},
				{red, LinearBias(b)},
				{red, LinearBias(b), Weight(cw), IgnoreIndex(3), LabelSmoothing(0.2)},
				{red, IgnoreIndex(3), LabelSmoothing(0.1)},
			} {
				cfg, err := lossOptions("linear_cross_entropy", opts)
				if err != nil {
					t.Fatal(err)
				}
				if !lceFusable(x, w, tgt, cfg) {
					t.Fatalf("not fused: %v", opts)
				}
				run := func(fused bool, scaled bool) [][]float64 {
					for _, l := range []*tensor.Tensor{x, w, b} {
						l.ZeroGrad()
					}
					var out *tensor.Tensor
					var err error
					if fused {
						out, err = LinearCrossEntropy(x, w, tgt, opts...)
					} else {
						out, err = lceReference("linear_cross_entropy", x, w, tgt, cfg)
					}
					if err != nil {
						t.Fatal(err)
					}
					g, _ := tensor.Full(1, out.DType(), out.Shape()...)
					if scaled || red == None {
						gr := rand.New(rand.NewPCG(1, 2))
						g = randLeaf(gr, false, gr.NormFloat64, out.Shape()...)
						g, _ = g.To(out.DType())
					}
					if err := out.BackwardWith(g); err != nil {
						t.Fatal(err)
					}
					res := [][]float64{f64(out)}
					for _, l := range []*tensor.Tensor{x, w, b} {
						if l.Grad() != nil {
							res = append(res, f64(l.Grad()))
						}
					}
					return res
				}
				for _, scaled := range []bool{false, true} {
					if scaled && red == None {
						continue // None always has a random output gradient
					}
					got, want := run(true, scaled), run(false, scaled)
					if len(got) != len(want) {
						t.Fatalf("%v: %d tensors, want %d", opts, len(got), len(want))
					}
					// Per element rtol, and atol relative to the tensor's
					// largest value: a gradient element sums C or N
					// products with cancellation.
					rtol, atol := 2e-5, 4e-6
					if is64 {
						rtol, atol = 1e-12, 1e-14
					}
					for k := range want {
						var scale float64
						for _, v := range want[k] {
							scale = max(scale, math.Abs(v))
						}
						for i := range want[k] {
							if d := math.Abs(got[k][i] - want[k][i]); !(d <= atol*scale+rtol*math.Abs(want[k][i])) {
								t.Fatalf("float64 %v, %v, scaled %v: tensor %d value %d = %v, reference %v", is64, opts, scaled, k, i, got[k][i], want[k][i])
							}
						}
					}
				}
			}
		}
	}
}

// TestLCEFusedGradientMatchesBackward checks that the gradient computed
// during the forward (Backward() of a Mean loss) is bitwise the one a
// second backward recomputes.
func TestLCEFusedGradientMatchesBackward(t *testing.T) {
	r := rand.New(rand.NewPCG(29, 30))
	x, w, b, cw, tgt := lceArgs(r, 70, 24, 600, false)
	out, err := LinearCrossEntropy(x, w, tgt, LinearBias(b), Weight(cw), LabelSmoothing(0.1))
	if err != nil {
		t.Fatal(err)
	}
	if err := out.Backward(tensor.RetainGraph(true)); err != nil {
		t.Fatal(err)
	}
	first := bitsOf(x.Grad(), w.Grad(), b.Grad())
	for _, l := range []*tensor.Tensor{x, w, b} {
		l.ZeroGrad()
	}
	if err := out.Backward(); err != nil {
		t.Fatal(err)
	}
	second := bitsOf(x.Grad(), w.Grad(), b.Grad())
	for i := range first {
		if first[i] != second[i] {
			t.Fatalf("value %d: eager %v, recomputed %v", i, math.Float64frombits(first[i]), math.Float64frombits(second[i]))
		}
	}
}

// TestLinearMatMulDeterministic checks that Linear and MatMul (outputs and
// gradients) are bitwise the same for 1, 2 and 5 threads, on sizes that
// span several tiles of the parallel GEMMs.
func TestLinearMatMulDeterministic(t *testing.T) {
	defer SetNumThreads(0)
	r := rand.New(rand.NewPCG(31, 32))
	x := randLeaf(r, true, r.NormFloat64, 400, 70)
	w := randLeaf(r, true, r.NormFloat64, 600, 70)
	b := randLeaf(r, true, r.NormFloat64, 600)
	m := randLeaf(r, true, r.NormFloat64, 2, 70, 530)
	run := func(th int) []uint64 {
		SetNumThreads(th)
		for _, l := range []*tensor.Tensor{x, w, b, m} {
			l.ZeroGrad()
		}
		y, err := Linear(x, w, b)
		if err != nil {
			t.Fatal(err)
		}
		z, err := MatMul(x, m)
		if err != nil {
			t.Fatal(err)
		}
		gy := randLeaf(rand.New(rand.NewPCG(1, 1)), false, func() float64 { return 0.5 }, y.Shape()...)
		gz := randLeaf(rand.New(rand.NewPCG(1, 1)), false, func() float64 { return -0.25 }, z.Shape()...)
		if err := y.BackwardWith(gy); err != nil {
			t.Fatal(err)
		}
		if err := z.BackwardWith(gz); err != nil {
			t.Fatal(err)
		}
		return bitsOf(y, z, x.Grad(), w.Grad(), b.Grad(), m.Grad())
	}
	want := run(1)
	for _, th := range []int{2, 5} {
		got := run(th)
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("%d threads: value %d differs", th, i)
			}
		}
	}
}
