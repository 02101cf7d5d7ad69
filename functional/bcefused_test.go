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
