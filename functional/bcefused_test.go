package functional

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/torchloss/torchloss/tensor"
)

// bceFirstBad is the reference range check of binary_cross_entropy: the
// first index whose input, then target, is outside [0, 1] (NaN included).
func bceFirstBad(x, y []float64) (int, string, float64) {
	for i := range x {
		if !(x[i] >= 0 && x[i] <= 1) {
			return i, "input", x[i]
		}
		if !(y[i] >= 0 && y[i] <= 1) {
			return i, "target", y[i]
		}
	}
	return -1, "", 0
}

// TestBCERangeCheckFused checks the range check of the fused
// binary_cross_entropy (each chunk checks its own elements in the forward
// pass): the error names the first bad element, input before target at one
// index, whichever chunk found it first, with the message of the serial
// check (the weighted path); valid inputs with 0, 1 and subnormals (blocks
// that the vector kernel hands to the scalar loop) give no error.
func TestBCERangeCheckFused(t *testing.T) {
	defer SetNumThreads(0)
	r := rand.New(rand.NewPCG(41, 42))
	bad := []float64{-1e-8, 1.0000001, math.NaN(), math.Inf(1), math.Inf(-1), -0.5, 2}
	for _, f64 := range []bool{false, true} {
		for _, n := range []int{1, 13, 1000, 3*sumGrain + 5, 5 * sumGrain} {
			for it := 0; it < 15; it++ {
				x, y := make([]float64, n), make([]float64, n)
				for i := range x {
					x[i], y[i] = r.Float64(), r.Float64()
					switch r.IntN(20000) {
					case 0:
						x[i] = 0
					case 1:
						x[i] = 1
					case 2:
						x[i] = 1e-40
					case 3:
						y[i] = 0
					case 4:
						y[i] = 1
					}
				}
				// it%5: 0 valid, 1 one bad input, 2 one bad target, 3 the
				// input and target of one index bad, 4 two or three bad
				// elements anywhere.
				put := func(inX bool) {
					p := r.IntN(n)
					if inX {
						x[p] = bad[r.IntN(len(bad))]
					} else {
						y[p] = bad[r.IntN(len(bad))]
					}
				}
				switch it % 5 {
				case 1, 2:
					put(it%5 == 1)
				case 3:
					p := r.IntN(n)
					x[p], y[p] = bad[r.IntN(len(bad))], bad[r.IntN(len(bad))]
				case 4:
					for k := 0; k < 2+r.IntN(2); k++ {
						put(r.IntN(2) == 0)
					}
				}
				mk := func(v []float64) *tensor.Tensor {
					if f64 {
						return tensor.MustNew(append([]float64(nil), v...), n)
					}
					s := make([]float32, n)
					for i := range v {
						s[i] = float32(v[i])
					}
					return tensor.MustNew(s, n)
				}
				xt, yt := mk(x), mk(y)
				xv, yv := xt.Values(), yt.Values()
				i, name, v := bceFirstBad(xv, yv)
				want := ""
				if i >= 0 {
					var vs string
					if f64 {
						vs = fmt.Sprint(v)
					} else {
						vs = fmt.Sprint(float32(v))
					}
					want = fmt.Sprintf("all elements of %s should be between 0 and 1 (got %s at index %d)", name, vs, i)
				}
				ones, _ := tensor.Full(1, xt.DType(), n)
				_, werr := BinaryCrossEntropy(xt, yt, Weight(ones))
				for _, grad := range []bool{false, true} {
					_ = xt.SetRequiresGrad(grad)
					for _, red := range []Reduction{Mean, Sum, None} {
						for _, th := range []int{1, 2, 8} {
							SetNumThreads(th)
							out, err := BinaryCrossEntropy(xt, yt, red)
							what := fmt.Sprintf("f64=%v n=%d it=%d grad=%v %v threads=%d", f64, n, it, grad, red, th)
							if i < 0 {
								if err != nil || werr != nil {
									t.Fatalf("%s: valid input: %v (weighted: %v)", what, err, werr)
								}
								if out == nil {
									t.Fatalf("%s: nil output", what)
								}
								continue
							}
							if err == nil || werr == nil {
								t.Fatalf("%s: no error (weighted: %v), want %q", what, werr, want)
							}
							if err.Error() != werr.Error() {
								t.Fatalf("%s: error %q, the serial check's %q", what, err, werr)
							}
							if got := err.Error(); len(got) < len(want) || got[len(got)-len(want):] != want {
								t.Fatalf("%s: error %q, want it to end in %q", what, got, want)
							}
						}
					}
				}
			}
		}
	}
}

// sigBCE is one sigmoid → binary_cross_entropy graph over its own leaves
// x (logits) and y (targets, requiring a gradient when ty), with the
// sigmoid node's backward counted.
type sigBCE struct {
	x, y, p, loss *tensor.Tensor
	sigCalls      int
}

func newSigBCE(t *testing.T, xs, ys []float64, f64, ty bool, r Reduction) *sigBCE {
	t.Helper()
	mk := func(v []float64) *tensor.Tensor {
		if f64 {
			return tensor.MustNew(append([]float64(nil), v...), len(v))
		}
		s := make([]float32, len(v))
		for i := range v {
			s[i] = float32(v[i])
		}
		return tensor.MustNew(s, len(v))
	}
	g := &sigBCE{x: mk(xs), y: mk(ys)}
	_ = g.x.SetRequiresGrad(true)
	_ = g.y.SetRequiresGrad(ty)
	var err error
	if g.p, err = Sigmoid(g.x); err != nil {
		t.Fatal(err)
	}
	nd := g.p.GradFn()
	back := nd.Backward
	nd.Backward = func(gr *tensor.Tensor) ([]*tensor.Tensor, error) {
		g.sigCalls++
		return back(gr)
	}
	if g.loss, err = BinaryCrossEntropy(g.p, g.y, r); err != nil {
		t.Fatal(err)
	}
	return g
}

// unfused returns the gradients of x and y for the output gradient up the
// unfused way: binary_cross_entropy's backward (∂p, ∂y), then the
// sigmoid's on ∂p.
func (g *sigBCE) unfused(t *testing.T, up float64) (gx, gy []uint64) {
	t.Helper()
	u, _ := tensor.Full(up, g.loss.DType(), g.loss.Shape()...)
	ins, err := g.loss.GradFn().Backward(u)
	if err != nil {
		t.Fatal(err)
	}
	gs, err := g.p.GradFn().Backward(ins[0])
	if err != nil {
		t.Fatal(err)
	}
	return bitsOf(gs[0]), bitsOf(ins[1])
}

func sameBits(t *testing.T, what string, got, want []uint64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("%s: [%d] = %v, unfused %v", what, i, math.Float64frombits(got[i]), math.Float64frombits(want[i]))
		}
	}
}

// TestBCESigmoidThrough checks binary_cross_entropy(sigmoid(x), y)'s
// gradient, which the loss computes for ∂x directly (Node.Through, the
// sigmoid's backward skipped) when the sigmoid's output has no other
// consumer and the output gradient is 1: bitwise the unfused two steps, in
// float32 and float64, sizes that are not multiples of the vector width
// and span several chunks, 1, 2 and 8 threads, Mean and Sum, with and
// without a target requiring a gradient. Also the cases that must not
// fuse: the sigmoid's output used by a second (zero-weight) term, an
// output gradient of 2.5, a second backward of the same graph.
func TestBCESigmoidThrough(t *testing.T) {
	defer SetNumThreads(0)
	r := rand.New(rand.NewPCG(43, 44))
	for _, f64 := range []bool{false, true} {
		for _, n := range []int{1, 7, 8, 9, 15, 16, 17, 1000, sumGrain + 3, 3*sumGrain + 5} {
			xs, ys := make([]float64, n), make([]float64, n)
			for i := range xs {
				xs[i], ys[i] = 3*r.NormFloat64(), r.Float64()
				switch r.IntN(50) {
				case 0:
					xs[i] = 40 // σ = 1
				case 1:
					xs[i] = -120 // σ = 0 (float32) or tiny
				case 2:
					ys[i] = float64(r.IntN(2))
				}
			}
			for _, red := range []Reduction{Mean, Sum} {
				for _, ty := range []bool{false, true} {
					for _, th := range []int{1, 2, 8} {
						SetNumThreads(th)
						what := fmt.Sprintf("f64=%v n=%d %v target grad=%v threads=%d", f64, n, red, ty, th)
						ref := newSigBCE(t, xs, ys, f64, ty, red)
						wx, wy := ref.unfused(t, 1)

						// Fused: the sigmoid's backward does not run.
						g := newSigBCE(t, xs, ys, f64, ty, red)
						if err := g.loss.Backward(tensor.RetainGraph(true)); err != nil {
							t.Fatal(err)
						}
						if g.sigCalls != 0 {
							t.Fatalf("%s: the sigmoid's backward ran %d times: not fused", what, g.sigCalls)
						}
						if !slicesEqualBits(bitsOf(g.loss), bitsOf(ref.loss)) {
							t.Fatalf("%s: loss differs", what)
						}
						sameBits(t, what+" fused x.Grad", bitsOf(g.x.Grad()), wx)
						if ty {
							sameBits(t, what+" fused y.Grad", bitsOf(g.y.Grad()), wy)
						}
						// A second backward of the same graph: unfused,
						// the same gradient again (x.Grad doubles exactly).
						if err := g.loss.Backward(); err != nil {
							t.Fatal(err)
						}
						if g.sigCalls != 1 {
							t.Fatalf("%s: second backward: the sigmoid's backward ran %d times, want 1", what, g.sigCalls)
						}
						two := g.x.Grad().Values()
						for i, v := range bitsOf(g.x.Grad()) {
							if w := 2 * math.Float64frombits(wx[i]); v != math.Float64bits(w) {
								t.Fatalf("%s: second backward: x.Grad[%d] = %v, want %v", what, i, two[i], w)
							}
						}

						// The sigmoid's output also feeds a zero-weight
						// second term: not fused, today's values.
						m := newSigBCE(t, xs, ys, f64, ty, red)
						s, err := SumAll(m.p)
						if err != nil {
							t.Fatal(err)
						}
						z, err := MulScalar(s, 0)
						if err != nil {
							t.Fatal(err)
						}
						tot, err := Add(m.loss, z)
						if err != nil {
							t.Fatal(err)
						}
						if err := tot.Backward(); err != nil {
							t.Fatal(err)
						}
						if m.sigCalls != 1 {
							t.Fatalf("%s: two consumers: the sigmoid's backward ran %d times, want 1", what, m.sigCalls)
						}
						sameBits(t, what+" two consumers x.Grad", bitsOf(m.x.Grad()), wx)
						if ty {
							sameBits(t, what+" two consumers y.Grad", bitsOf(m.y.Grad()), wy)
						}

						// An output gradient of 2.5: not fused.
						ref2 := newSigBCE(t, xs, ys, f64, ty, red)
						wx2, wy2 := ref2.unfused(t, 2.5)
						b := newSigBCE(t, xs, ys, f64, ty, red)
						u, _ := tensor.Full(2.5, b.loss.DType())
						if err := b.loss.BackwardWith(u); err != nil {
							t.Fatal(err)
						}
						if b.sigCalls != 1 {
							t.Fatalf("%s: BackwardWith(2.5): the sigmoid's backward ran %d times, want 1", what, b.sigCalls)
						}
						sameBits(t, what+" BackwardWith(2.5) x.Grad", bitsOf(b.x.Grad()), wx2)
						if ty {
							sameBits(t, what+" BackwardWith(2.5) y.Grad", bitsOf(b.y.Grad()), wy2)
						}
					}
				}
			}
		}
	}
}

func slicesEqualBits(a, b []uint64) bool {
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
