package tensor

import (
	"errors"
	"slices"
	"testing"

	"github.com/torchloss/torchloss"
)

// arange is a float64 tensor of shape holding 0, 1, 2, ... (+ base).
func arange(base float64, shape ...int) *Tensor {
	n, _ := Numel(shape)
	v := make([]float64, n)
	for i := range v {
		v[i] = base + float64(i)
	}
	return MustNew(v, shape...)
}

func leaf(t *testing.T, x *Tensor) *Tensor {
	t.Helper()
	if err := x.SetRequiresGrad(true); err != nil {
		t.Fatal(err)
	}
	return x
}

// TestViewOps checks each view operation's values, shape and grad_fn
// (PyTorch's names), and its gradient: for y = op(x), backward with an
// upstream g gives x.Grad = op⁻¹(g), which for the shape-only views is g's
// data in x's shape and for a permutation the inverse permutation of g.
func TestViewOps(t *testing.T) {
	for _, tc := range []struct {
		name     string
		in       []int
		op       func(x *Tensor) (*Tensor, error)
		shape    []int
		vals     []float64 // y's values for x = 0, 1, 2, ...
		gradFn   string
		gradVals []float64 // x.Grad for g = 100, 101, ... of y's shape
	}{
		{"reshape", []int{2, 3}, func(x *Tensor) (*Tensor, error) { return x.Reshape(3, 2) }, []int{3, 2},
			[]float64{0, 1, 2, 3, 4, 5}, "ViewBackward0", []float64{100, 101, 102, 103, 104, 105}},
		{"reshape -1", []int{2, 3}, func(x *Tensor) (*Tensor, error) { return x.Reshape(-1) }, []int{6},
			[]float64{0, 1, 2, 3, 4, 5}, "ViewBackward0", []float64{100, 101, 102, 103, 104, 105}},
		{"view", []int{2, 3}, func(x *Tensor) (*Tensor, error) { return x.View(1, -1, 2) }, []int{1, 3, 2},
			[]float64{0, 1, 2, 3, 4, 5}, "ViewBackward0", []float64{100, 101, 102, 103, 104, 105}},
		{"flatten", []int{2, 1, 3}, func(x *Tensor) (*Tensor, error) { return x.Flatten(1, -1) }, []int{2, 3},
			[]float64{0, 1, 2, 3, 4, 5}, "ViewBackward0", []float64{100, 101, 102, 103, 104, 105}},
		{"flatten 0-d", []int{}, func(x *Tensor) (*Tensor, error) { return x.Flatten(0, -1) }, []int{1},
			[]float64{0}, "ViewBackward0", []float64{100}},
		{"unsqueeze", []int{2, 3}, func(x *Tensor) (*Tensor, error) { return x.Unsqueeze(-1) }, []int{2, 3, 1},
			[]float64{0, 1, 2, 3, 4, 5}, "UnsqueezeBackward0", []float64{100, 101, 102, 103, 104, 105}},
		{"squeeze all", []int{1, 3, 1}, func(x *Tensor) (*Tensor, error) { return x.Squeeze() }, []int{3},
			[]float64{0, 1, 2}, "SqueezeBackward0", []float64{100, 101, 102}},
		{"squeeze dim", []int{1, 3, 1}, func(x *Tensor) (*Tensor, error) { return x.Squeeze(0) }, []int{3, 1},
			[]float64{0, 1, 2}, "SqueezeBackward1", []float64{100, 101, 102}},
		{"squeeze dim of size 3 stays", []int{1, 3, 1}, func(x *Tensor) (*Tensor, error) { return x.Squeeze(1, 2) }, []int{1, 3},
			[]float64{0, 1, 2}, "SqueezeBackward2", []float64{100, 101, 102}},
		{"transpose", []int{2, 3}, func(x *Tensor) (*Tensor, error) { return x.Transpose(0, 1) }, []int{3, 2},
			[]float64{0, 3, 1, 4, 2, 5}, "TransposeBackward0", []float64{100, 102, 104, 101, 103, 105}},
		// x (2,3,2) -> y[i,j,k] = x[j,k,i]: y (2,2,3).
		{"permute", []int{2, 3, 2}, func(x *Tensor) (*Tensor, error) { return x.Permute(2, 0, 1) }, []int{2, 2, 3},
			[]float64{0, 2, 4, 6, 8, 10, 1, 3, 5, 7, 9, 11}, "PermuteBackward0",
			[]float64{100, 106, 101, 107, 102, 108, 103, 109, 104, 110, 105, 111}},
	} {
		x := leaf(t, arange(0, tc.in...))
		y, err := tc.op(x)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if !slices.Equal(y.Shape(), tc.shape) || !slices.Equal(y.Values(), tc.vals) {
			t.Errorf("%s: %v %v, want %v %v", tc.name, y.Shape(), y.Values(), tc.shape, tc.vals)
		}
		if y.GradFn() == nil || y.GradFn().Name != tc.gradFn {
			t.Errorf("%s: grad_fn %v, want %s", tc.name, y.GradFn(), tc.gradFn)
			continue
		}
		if err := y.BackwardWith(arange(100, tc.shape...)); err != nil {
			t.Fatalf("%s backward: %v", tc.name, err)
		}
		if g := x.Grad(); g == nil || !slices.Equal(g.Shape(), tc.in) || !slices.Equal(g.Values(), tc.gradVals) {
			t.Errorf("%s: x.Grad %v, want %v of shape %v", tc.name, g, tc.gradVals, tc.in)
		}
	}
}

func TestViewErrors(t *testing.T) {
	x := arange(0, 2, 3)
	for _, tc := range []struct {
		name string
		f    func() (*Tensor, error)
	}{
		{"reshape size", func() (*Tensor, error) { return x.Reshape(4, 2) }},
		{"reshape two -1", func() (*Tensor, error) { return x.Reshape(-1, -1) }},
		{"reshape -1 not dividing", func() (*Tensor, error) { return x.Reshape(-1, 4) }},
		{"reshape -2", func() (*Tensor, error) { return x.Reshape(-2, -3) }},
		{"reshape overflow", func() (*Tensor, error) { return x.Reshape(1<<32, 1<<32, 0, -1) }},
		{"flatten start after end", func() (*Tensor, error) { return x.Flatten(1, 0) }},
		{"flatten dim", func() (*Tensor, error) { return x.Flatten(0, 2) }},
		{"unsqueeze dim", func() (*Tensor, error) { return x.Unsqueeze(3) }},
		{"squeeze dim", func() (*Tensor, error) { return x.Squeeze(-3) }},
		{"transpose dim", func() (*Tensor, error) { return x.Transpose(0, 2) }},
		{"permute length", func() (*Tensor, error) { return x.Permute(0) }},
		{"permute repeated", func() (*Tensor, error) { return x.Permute(1, -1) }},
	} {
		if y, err := tc.f(); !errors.Is(err, torchloss.ErrShape) && !errors.Is(err, torchloss.ErrLimit) {
			t.Errorf("%s: %v, %v; want an ErrShape error", tc.name, y, err)
		}
	}
	var nilT *Tensor
	if _, err := nilT.Reshape(1); !errors.Is(err, torchloss.ErrValue) {
		t.Errorf("Reshape of nil: %v", err)
	}
	// A view shares the data; a view of a tensor that needs no gradient
	// records nothing.
	y, err := x.Reshape(6)
	if err != nil || &y.Float64s()[0] != &x.Float64s()[0] || y.GradFn() != nil || y.RequiresGrad() {
		t.Errorf("Reshape: %v, shares data %v, grad_fn %v", err, err == nil && &y.Float64s()[0] == &x.Float64s()[0], y.GradFn())
	}
	if f, _ := x.Flatten(1, 1); f != x {
		t.Error("Flatten of one dimension must return the tensor itself")
	}
}

// TestBackwardTwice: a second backward pass through a freed graph is an
// ErrGrad error, as in PyTorch, that leaves the gradients alone; with
// RetainGraph(true) the second pass adds the gradient again; nodes that
// keep nothing of the forward (views) can be run again regardless.
func TestBackwardTwice(t *testing.T) {
	x := leaf(t, MustNew([]float64{1, 2}, 2))
	square := func() *Tensor {
		v := x.Float64s()
		out := Scalar(v[0]*v[0] + v[1]*v[1])
		return Record(out, "SquareSumBackward", []*Tensor{x}, func(g *Tensor) ([]*Tensor, error) {
			s := g.Float64s()[0]
			return []*Tensor{MustNew([]float64{2 * v[0] * s, 2 * v[1] * s}, 2)}, nil
		})
	}
	y := square()
	if err := y.Backward(); err != nil {
		t.Fatal(err)
	}
	if err := y.Backward(); !errors.Is(err, torchloss.ErrGrad) {
		t.Fatalf("second Backward: %v, want ErrGrad", err)
	}
	if got := x.Grad().Float64s(); !slices.Equal(got, []float64{2, 4}) {
		t.Errorf("grad after a refused second pass = %v, want [2 4]", got)
	}
	x.ZeroGrad()
	y = square()
	if err := y.Backward(RetainGraph(true)); err != nil {
		t.Fatal(err)
	}
	if err := y.Backward(); err != nil {
		t.Fatalf("Backward after RetainGraph(true): %v", err)
	}
	if got := x.Grad().Float64s(); !slices.Equal(got, []float64{4, 8}) {
		t.Errorf("grad after two passes = %v, want [4 8]", got)
	}
	if err := y.Backward(); !errors.Is(err, torchloss.ErrGrad) {
		t.Errorf("third Backward (the second freed the graph): %v, want ErrGrad", err)
	}
	if err := square().Backward(RetainGraph(true), RetainGraph(false)); !errors.Is(err, torchloss.ErrOption) {
		t.Errorf("RetainGraph twice: %v, want ErrOption", err)
	}
	// Views keep nothing: backward through one twice works, as in PyTorch.
	x.ZeroGrad()
	v, err := x.Reshape(2, 1)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := v.BackwardWith(MustNew([]float64{1, 1}, 2, 1)); err != nil {
			t.Fatalf("view backward: %v", err)
		}
	}
	if got := x.Grad().Float64s(); !slices.Equal(got, []float64{2, 2}) {
		t.Errorf("grad after two view passes = %v, want [2 2]", got)
	}
}
