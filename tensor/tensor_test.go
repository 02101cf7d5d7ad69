package tensor

import (
	"errors"
	"reflect"
	"testing"

	"github.com/torchloss/torchloss"
)

func TestBroadcastShapes(t *testing.T) {
	tests := []struct {
		a, b, want []int
		err        bool
	}{
		{[]int{2, 3}, []int{3}, []int{2, 3}, false},
		{[]int{2, 1}, []int{1, 4}, []int{2, 4}, false},
		{[]int{}, []int{5}, []int{5}, false},
		{[]int{3, 1, 2}, []int{4, 1}, []int{3, 4, 2}, false},
		{[]int{0, 3}, []int{1, 3}, []int{0, 3}, false},
		{[]int{3, 2}, []int{4, 2}, nil, true},
		{[]int{2, 3}, []int{2}, nil, true},
	}
	for _, tt := range tests {
		got, err := BroadcastShapes(tt.a, tt.b)
		if tt.err {
			if !errors.Is(err, torchloss.ErrShape) {
				t.Errorf("BroadcastShapes(%v, %v): err %v, want ErrShape", tt.a, tt.b, err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("BroadcastShapes(%v, %v) = %v, %v; want %v", tt.a, tt.b, got, err, tt.want)
		}
	}
}

func TestBroadcastToAndSumTo(t *testing.T) {
	x := MustNew([]float64{1, 2, 3}, 3, 1)
	b, err := BroadcastTo(x, []int{2, 3, 2})
	if err != nil {
		t.Fatal(err)
	}
	want := []float64{1, 1, 2, 2, 3, 3, 1, 1, 2, 2, 3, 3}
	if !reflect.DeepEqual(b.Float64s(), want) {
		t.Errorf("BroadcastTo = %v, want %v", b.Float64s(), want)
	}
	s, err := SumTo(b, []int{3, 1})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(s.Float64s(), []float64{4, 8, 12}) {
		t.Errorf("SumTo = %v, want [4 8 12]", s.Float64s())
	}
	if _, err := BroadcastTo(x, []int{2, 2}); !errors.Is(err, torchloss.ErrShape) {
		t.Errorf("BroadcastTo (3,1)->(2,2): err %v, want ErrShape", err)
	}
}

func TestNewChecksShape(t *testing.T) {
	if _, err := New([]float32{1, 2, 3}, 2, 2); !errors.Is(err, torchloss.ErrShape) {
		t.Errorf("New with 3 values for (2,2): err %v, want ErrShape", err)
	}
	if _, err := New([]float32{}, -1); !errors.Is(err, torchloss.ErrShape) {
		t.Errorf("New with a negative dimension: err %v, want ErrShape", err)
	}
	if _, err := Zeros(Float32, 1<<40, 1<<40); !errors.Is(err, torchloss.ErrLimit) {
		t.Errorf("Zeros with an overflowing shape: err %v, want ErrLimit", err)
	}
	s := Scalar(2.5)
	if s.Dim() != 0 || s.Numel() != 1 {
		t.Errorf("Scalar: dim %d numel %d", s.Dim(), s.Numel())
	}
}

// TestFromDataChecksShape: FromData validates like New (issue 13 item 8:
// three values for a shape of five made a tensor whose losses were silently
// wrong, and [1<<32, 1<<32] had one element).
func TestFromDataChecksShape(t *testing.T) {
	for _, tc := range []struct {
		data  []float32
		shape []int
		kind  error
	}{
		{[]float32{1, 2, 3}, []int{5}, torchloss.ErrShape},
		{[]float32{1, 2, 3}, []int{4, 3}, torchloss.ErrShape},
		{[]float32{1}, []int{1 << 32, 1 << 32}, torchloss.ErrLimit},
		{[]float32{}, []int{-1}, torchloss.ErrShape},
		{[]float32{1, 2}, nil, torchloss.ErrShape}, // nil shape: 0-d, one value
	} {
		if x, err := FromData(tc.data, tc.shape); !errors.Is(err, tc.kind) {
			t.Errorf("FromData(%d values, %v) = %v, %v; want %v", len(tc.data), tc.shape, x, err, tc.kind)
		}
	}
	x, err := FromData([]int64{7}, nil)
	if err != nil || x.Dim() != 0 || x.Numel() != 1 {
		t.Errorf("FromData(1 value, nil) = %v, %v; want a 0-d tensor", x, err)
	}
	x, err = FromData([]float64{1, 2, 3, 4, 5, 6}, []int{2, 3})
	if err != nil || !reflect.DeepEqual(x.Shape(), []int{2, 3}) {
		t.Errorf("FromData(6 values, (2,3)) = %v, %v", x, err)
	}
}

// TestBackwardAccumulates builds y = f(x) with a node whose gradient is 2·g
// and checks that two backward passes accumulate into the leaf, and that a
// tensor used twice receives the sum of both gradients.
func TestBackwardAccumulates(t *testing.T) {
	x := MustNew([]float64{1, 2}, 2)
	if err := x.SetRequiresGrad(true); err != nil {
		t.Fatal(err)
	}
	double := func(in *Tensor) *Tensor {
		out := MustNew([]float64{2 * in.Float64s()[0], 2 * in.Float64s()[1]}, 2)
		return Record(out, "DoubleBackward", []*Tensor{in}, func(g *Tensor) ([]*Tensor, error) {
			v := g.Float64s()
			return []*Tensor{MustNew([]float64{2 * v[0], 2 * v[1]}, 2)}, nil
		})
	}
	// z uses x twice: z = (2x, 2x) summed by a node with two inputs.
	a, b := double(x), double(x)
	z := Record(Scalar(0.0), "SumBackward", []*Tensor{a, b}, func(g *Tensor) ([]*Tensor, error) {
		v := g.Float64s()[0]
		return []*Tensor{MustNew([]float64{v, v}, 2), MustNew([]float64{v, v}, 2)}, nil
	})
	if err := z.Backward(RetainGraph(true)); err != nil {
		t.Fatal(err)
	}
	if got := x.Grad().Float64s(); !reflect.DeepEqual(got, []float64{4, 4}) {
		t.Errorf("grad after one backward = %v, want [4 4]", got)
	}
	if err := z.Backward(); err != nil {
		t.Fatal(err)
	}
	if got := x.Grad().Float64s(); !reflect.DeepEqual(got, []float64{8, 8}) {
		t.Errorf("grad after two backwards = %v, want [8 8]", got)
	}
	if err := a.Backward(); !errors.Is(err, torchloss.ErrGrad) {
		t.Errorf("Backward of a non-scalar: err %v, want ErrGrad", err)
	}
	if err := MustNew([]int64{1}, 1).SetRequiresGrad(true); !errors.Is(err, torchloss.ErrDType) {
		t.Errorf("SetRequiresGrad on int64: err %v, want ErrDType", err)
	}
}
