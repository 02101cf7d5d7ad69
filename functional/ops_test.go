package functional

import (
	"errors"
	"math"
	"testing"

	"github.com/torchloss/torchloss"
	"github.com/torchloss/torchloss/tensor"
)

// opLeaf returns a float64 leaf of the given shape that requires a gradient.
func opLeaf(t *testing.T, data []float64, shape ...int) *tensor.Tensor {
	t.Helper()
	x := tensor.MustNew(append([]float64{}, data...), shape...)
	if err := x.SetRequiresGrad(true); err != nil {
		t.Fatal(err)
	}
	return x
}

// opScalarOf runs f and returns its output summed with weights 1, 2, 3, ...
// (so that a wrong per-element gradient shows), as a float64.
func opScalarOf(t *testing.T, f func() (*tensor.Tensor, error)) float64 {
	t.Helper()
	out, err := f()
	if err != nil {
		t.Fatal(err)
	}
	var s float64
	for i, v := range out.Values() {
		s += float64(i+1) * v
	}
	return s
}

// opCheckGrad compares the autograd gradient of sum(f(leaves)·w) (w = 1, 2,
// 3, ...) with respect to every leaf against central finite differences.
func opCheckGrad(t *testing.T, name string, leaves []*tensor.Tensor, f func() (*tensor.Tensor, error)) {
	t.Helper()
	for _, l := range leaves {
		l.ZeroGrad()
	}
	out, err := f()
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	w := make([]float64, out.Numel())
	for i := range w {
		w[i] = float64(i + 1)
	}
	if err := out.BackwardWith(tensor.MustNew(w, out.Shape()...)); err != nil {
		t.Fatalf("%s: backward: %v", name, err)
	}
	const h = 1e-6
	for li, l := range leaves {
		g := l.Grad()
		if g == nil {
			t.Fatalf("%s: leaf %d: no gradient", name, li)
		}
		data := l.Float64s()
		for i := range data {
			orig := data[i]
			data[i] = orig + h
			fp := opScalarOf(t, f)
			data[i] = orig - h
			fm := opScalarOf(t, f)
			data[i] = orig
			num := (fp - fm) / (2 * h)
			got := g.Float64s()[i]
			if math.Abs(got-num) > 1e-6*(1+math.Abs(num)) {
				t.Errorf("%s: leaf %d element %d: autograd %v, finite difference %v", name, li, i, got, num)
			}
		}
	}
}

func TestOpsGradients(t *testing.T) {
	a := opLeaf(t, []float64{0.5, -1.2, 2.0, 0.3, -0.7, 1.1}, 2, 3)
	b := opLeaf(t, []float64{1.5, 0.4, -2.5}, 3) // broadcast over rows
	pos := opLeaf(t, []float64{0.5, 1.2, 2.0, 0.3}, 4)
	tests := []struct {
		name   string
		leaves []*tensor.Tensor
		f      func() (*tensor.Tensor, error)
	}{
		{"add", []*tensor.Tensor{a, b}, func() (*tensor.Tensor, error) { return Add(a, b) }},
		{"sub", []*tensor.Tensor{a, b}, func() (*tensor.Tensor, error) { return Sub(a, b) }},
		{"mul", []*tensor.Tensor{a, b}, func() (*tensor.Tensor, error) { return Mul(a, b) }},
		{"div", []*tensor.Tensor{a, b}, func() (*tensor.Tensor, error) { return Div(a, b) }},
		{"minimum", []*tensor.Tensor{a, b}, func() (*tensor.Tensor, error) { return Minimum(a, b) }},
		{"neg", []*tensor.Tensor{a}, func() (*tensor.Tensor, error) { return Neg(a) }},
		{"abs", []*tensor.Tensor{a}, func() (*tensor.Tensor, error) { return Abs(a) }},
		{"sqrt", []*tensor.Tensor{pos}, func() (*tensor.Tensor, error) { return Sqrt(pos) }},
		{"pow 3", []*tensor.Tensor{a}, func() (*tensor.Tensor, error) { return Pow(a, 3) }},
		{"pow 1.7", []*tensor.Tensor{pos}, func() (*tensor.Tensor, error) { return Pow(pos, 1.7) }},
		{"pow -0.5", []*tensor.Tensor{pos}, func() (*tensor.Tensor, error) { return Pow(pos, -0.5) }},
		{"add scalar", []*tensor.Tensor{a}, func() (*tensor.Tensor, error) { return AddScalar(a, 0.25) }},
		{"mul scalar", []*tensor.Tensor{a}, func() (*tensor.Tensor, error) { return MulScalar(a, -3) }},
		{"clamp_min", []*tensor.Tensor{a}, func() (*tensor.Tensor, error) { return ClampMin(a, 0.1) }},
		{"sum all", []*tensor.Tensor{a}, func() (*tensor.Tensor, error) { return SumAll(a) }},
		{"mean all", []*tensor.Tensor{a}, func() (*tensor.Tensor, error) { return MeanAll(a) }},
		{"sum dim -1", []*tensor.Tensor{a}, func() (*tensor.Tensor, error) { return SumDim(a, -1) }},
		{"sum dim 0", []*tensor.Tensor{a}, func() (*tensor.Tensor, error) { return SumDim(a, 0) }},
	}
	for _, p := range []float64{1, 2, 3, 1.5, 0.5, -1, math.Inf(1), math.Inf(-1)} {
		tests = append(tests, struct {
			name   string
			leaves []*tensor.Tensor
			f      func() (*tensor.Tensor, error)
		}{"norm", []*tensor.Tensor{a}, func() (*tensor.Tensor, error) { return Norm(a, p, 1) }})
		tests = append(tests, struct {
			name   string
			leaves []*tensor.Tensor
			f      func() (*tensor.Tensor, error)
		}{"norm dim 0", []*tensor.Tensor{a}, func() (*tensor.Tensor, error) { return Norm(a, p, 0) }})
		tests = append(tests, struct {
			name   string
			leaves []*tensor.Tensor
			f      func() (*tensor.Tensor, error)
		}{"pairwise_distance", []*tensor.Tensor{a, b}, func() (*tensor.Tensor, error) { return PairwiseDistance(a, b, p, 1e-6) }})
	}
	for _, tc := range tests {
		opCheckGrad(t, tc.name, tc.leaves, tc.f)
	}
}

func TestOpsValuesAndKinks(t *testing.T) {
	// minimum: ties split the gradient, the smaller argument gets it all.
	a := opLeaf(t, []float64{1, 2, 3}, 3)
	b := opLeaf(t, []float64{1, 5, 0}, 3)
	m, err := Minimum(a, b)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.BackwardWith(tensor.MustNew([]float64{4, 4, 4}, 3)); err != nil {
		t.Fatal(err)
	}
	opEqual(t, "minimum", m.Float64s(), []float64{1, 2, 0})
	opEqual(t, "minimum grad a", a.Grad().Float64s(), []float64{2, 4, 0})
	opEqual(t, "minimum grad b", b.Grad().Float64s(), []float64{2, 0, 4})

	// clamp_min: the gradient passes at equality, not below.
	x := opLeaf(t, []float64{-1, 0, 2}, 3)
	c, err := ClampMin(x, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.BackwardWith(tensor.MustNew([]float64{1, 1, 1}, 3)); err != nil {
		t.Fatal(err)
	}
	opEqual(t, "clamp_min", c.Float64s(), []float64{0, 0, 2})
	opEqual(t, "clamp_min grad", x.Grad().Float64s(), []float64{0, 1, 1})

	// norm p = 2 of a zero row: 0 with gradient 0 (not NaN).
	z := opLeaf(t, []float64{0, 0, 3, 4}, 2, 2)
	n, err := Norm(z, 2, -1)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.BackwardWith(tensor.MustNew([]float64{1, 1}, 2)); err != nil {
		t.Fatal(err)
	}
	opEqual(t, "norm", n.Float64s(), []float64{0, 5})
	opEqual(t, "norm grad", z.Grad().Float64s(), []float64{0, 0, 0.6, 0.8})

	// p = inf: ties share the gradient.
	y := opLeaf(t, []float64{-2, 2, 1}, 3)
	ni, err := Norm(y, math.Inf(1), 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := ni.Backward(); err != nil {
		t.Fatal(err)
	}
	opEqual(t, "inf norm", ni.Float64s(), []float64{2})
	opEqual(t, "inf norm grad", y.Grad().Float64s(), []float64{-0.5, 0.5, 0})

	// pairwise_distance adds eps to the difference: d(x, x) = eps·√D.
	v := tensor.MustNew([]float64{1, 2}, 2)
	d, err := PairwiseDistance(v, v, 2, 1e-6)
	if err != nil {
		t.Fatal(err)
	}
	if got := d.Float64s()[0]; math.Abs(got-1e-6*math.Sqrt2) > 1e-18 || d.Dim() != 0 {
		t.Errorf("pairwise_distance(x, x) = %v (shape %v), want %v", got, d.Shape(), 1e-6*math.Sqrt2)
	}
	// Two int64 tensors subtract exactly and give float32.
	i1 := tensor.MustNew([]int64{3, 0}, 2)
	i2 := tensor.MustNew([]int64{0, 4}, 2)
	di, err := PairwiseDistance(i1, i2, 2, 0)
	if err != nil {
		t.Fatal(err)
	}
	if di.DType() != tensor.Float32 || di.Float32s()[0] != 5 {
		t.Errorf("int pairwise_distance = %v, want float32 5", di)
	}
}

func TestOpsErrors(t *testing.T) {
	f := tensor.MustNew([]float64{1, 2, 3}, 3)
	g := tensor.MustNew([]float64{1, 2}, 2)
	i := tensor.MustNew([]int64{1, 2, 3}, 3)
	empty := tensor.MustNew([]float64{}, 2, 0)
	tests := []struct {
		name string
		f    func() (*tensor.Tensor, error)
		kind *torchloss.Kind
	}{
		{"broadcast", func() (*tensor.Tensor, error) { return Add(f, g) }, torchloss.ErrShape},
		{"int", func() (*tensor.Tensor, error) { return Mul(f, i) }, torchloss.ErrDType},
		{"nil", func() (*tensor.Tensor, error) { return Abs(nil) }, torchloss.ErrValue},
		{"dim", func() (*tensor.Tensor, error) { return SumDim(f, 1) }, torchloss.ErrValue},
		{"empty -1 norm", func() (*tensor.Tensor, error) { return Norm(empty, -1, 1) }, torchloss.ErrValue},
		{"empty inf norm", func() (*tensor.Tensor, error) { return Norm(empty, math.Inf(1), -1) }, torchloss.ErrValue},
	}
	for _, tc := range tests {
		_, err := tc.f()
		if !errors.Is(err, tc.kind) {
			t.Errorf("%s: error %v, want kind %v", tc.name, err, tc.kind)
		}
	}
	// An empty dimension with p = 2 is 0.
	n, err := Norm(empty, 2, 1)
	if err != nil {
		t.Fatal(err)
	}
	opEqual(t, "empty norm", n.Float64s(), []float64{0, 0})
}

func opEqual(t *testing.T, name string, got, want []float64) {
	t.Helper()
	if !allClose(got, want, 1e-12, 1e-12) {
		t.Errorf("%s: got %v, want %v", name, got, want)
	}
}
