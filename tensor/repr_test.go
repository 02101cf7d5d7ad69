package tensor

import (
	"errors"
	"math"
	"testing"

	"github.com/torchloss/torchloss"
)

// reprTensor builds a tensor of dtype and shape from float64 values (or
// from gen(i) for each flat index).
func reprTensor(t *testing.T, vals []float64, gen func(int) float64, shape []int, dtype DType) *Tensor {
	t.Helper()
	if vals == nil {
		n, _ := Numel(shape)
		vals = make([]float64, n)
		for i := range vals {
			vals[i] = gen(i)
		}
	}
	x, err := Zeros(dtype, shape...)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range vals {
		switch s := x.data.(type) {
		case []float32:
			s[i] = float32(v)
		case []float64:
			s[i] = v
		case []int64:
			s[i] = int64(v)
		case []bool:
			s[i] = v != 0
		}
	}
	return x
}

// TestStringMatchesPyTorch compares String with repr() of the same tensors
// printed by PyTorch (1.13's torch/_tensor_str.py, whose rules 2.11 keeps):
// the notation per tensor, widths, wrapping, summarization and suffixes.
func TestStringMatchesPyTorch(t *testing.T) {
	inf, nan, negZero := math.Inf(1), math.NaN(), math.Copysign(0, -1)
	for _, tc := range []struct {
		name  string
		vals  []float64
		gen   func(int) float64
		shape []int
		dtype DType
		rg    bool
		want  string
	}{
		{"sci small large", []float64{1e-05, 123456}, nil, []int{2}, Float32, false, "tensor([1.0000e-05, 1.2346e+05])"},
		{"integers", []float64{1, 2}, nil, []int{2}, Float32, false, "tensor([1., 2.])"},
		{"nonfinite", []float64{inf, -inf, nan, 1.5}, nil, []int{4}, Float32, false, "tensor([   inf,   -inf,    nan, 1.5000])"},
		{"nonfinite int mode", []float64{inf, -inf, nan, 3}, nil, []int{4}, Float32, false, "tensor([inf, -inf, nan, 3.])"},
		{"fixed", []float64{0.5, -1.25, 3.14159}, nil, []int{3}, Float32, false, "tensor([ 0.5000, -1.2500,  3.1416])"},
		{"float64", []float64{1, 2.5}, nil, []int{2}, Float64, false, "tensor([1.0000, 2.5000], dtype=torch.float64)"},
		{"int64", []float64{1, -10, 100}, nil, []int{3}, Int64, false, "tensor([  1, -10, 100])"},
		{"bool", []float64{1, 0}, nil, []int{2}, Bool, false, "tensor([ True, False])"},
		{"0-d float", []float64{3.5}, nil, []int{}, Float32, false, "tensor(3.5000)"},
		{"0-d float64", []float64{3.5}, nil, []int{}, Float64, false, "tensor(3.5000, dtype=torch.float64)"},
		{"0-d int", []float64{-7}, nil, []int{}, Int64, false, "tensor(-7)"},
		{"0-d nan", []float64{nan}, nil, []int{}, Float32, false, "tensor(nan)"},
		{"empty", []float64{}, nil, []int{0}, Float32, false, "tensor([])"},
		{"empty int64", []float64{}, nil, []int{0}, Int64, false, "tensor([], dtype=torch.int64)"},
		{"empty 2-d", []float64{}, nil, []int{2, 0}, Float32, false, "tensor([], size=(2, 0))"},
		{"empty float64 2-d", []float64{}, nil, []int{0, 3}, Float64, false, "tensor([], size=(0, 3), dtype=torch.float64)"},
		{"2-d", []float64{0.1, -2.5, 3, 4.75, -5, 6.125}, nil, []int{2, 3}, Float32, false, "tensor([[ 0.1000, -2.5000,  3.0000],\n        [ 4.7500, -5.0000,  6.1250]])"},
		{"3-d", []float64{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, nil, []int{2, 2, 3}, Float32, false, "tensor([[[ 0.,  1.,  2.],\n         [ 3.,  4.,  5.]],\n\n        [[ 6.,  7.,  8.],\n         [ 9., 10., 11.]]])"},
		{"int sci", []float64{1, 1000000000.0}, nil, []int{2}, Float32, false, "tensor([1.0000e+00, 1.0000e+09])"},
		{"int ratio", []float64{1, 2000}, nil, []int{2}, Float32, false, "tensor([1.0000e+00, 2.0000e+03])"},
		{"tiny", []float64{1e-05, 2e-05}, nil, []int{2}, Float32, false, "tensor([1.0000e-05, 2.0000e-05])"},
		{"zeros", []float64{0, 0}, nil, []int{2}, Float32, false, "tensor([0., 0.])"},
		{"zero nan", []float64{0, nan}, nil, []int{2}, Float32, false, "tensor([0., nan])"},
		{"negative zero", []float64{negZero, 1.0}, nil, []int{2}, Float32, false, "tensor([-0., 1.])"},
		{"float32 widening", []float64{0.1, 0.2, 0.3}, nil, []int{3}, Float32, false, "tensor([0.1000, 0.2000, 0.3000])"},
		{"ties", []float64{0.03125, 1.0, 0.15625}, nil, []int{3}, Float32, false, "tensor([0.0312, 1.0000, 0.1562])"},
		{"wrap", []float64{0.1234, 0.2468, 0.3702, 0.4936, 0.617, 0.7404, 0.8638, 0.9872, 1.1106, 1.234, 1.3574, 1.4808, 1.6041999999999998, 1.7276, 1.851, 1.9744, 2.0978, 2.2212, 2.3446, 2.468, 2.5913999999999997, 2.7148, 2.8382, 2.9616, 3.085, 3.2083999999999997, 3.3318, 3.4552, 3.5786, 3.702}, nil, []int{30}, Float32, false, "tensor([0.1234, 0.2468, 0.3702, 0.4936, 0.6170, 0.7404, 0.8638, 0.9872, 1.1106,\n        1.2340, 1.3574, 1.4808, 1.6042, 1.7276, 1.8510, 1.9744, 2.0978, 2.2212,\n        2.3446, 2.4680, 2.5914, 2.7148, 2.8382, 2.9616, 3.0850, 3.2084, 3.3318,\n        3.4552, 3.5786, 3.7020])"},
		{"wrap 2-d", []float64{0.0, 1.5, 3.0, 4.5, 6.0, 7.5, 9.0, 10.5, 12.0, 13.5, 15.0, 16.5, 18.0, 19.5, 21.0, 22.5, 24.0, 25.5, 27.0, 28.5, 30.0, 31.5, 33.0, 34.5, 36.0, 37.5, 39.0, 40.5, 42.0, 43.5, 45.0, 46.5, 48.0, 49.5, 51.0, 52.5, 54.0, 55.5, 57.0, 58.5}, nil, []int{2, 20}, Float32, false, "tensor([[ 0.0000,  1.5000,  3.0000,  4.5000,  6.0000,  7.5000,  9.0000, 10.5000,\n         12.0000, 13.5000, 15.0000, 16.5000, 18.0000, 19.5000, 21.0000, 22.5000,\n         24.0000, 25.5000, 27.0000, 28.5000],\n        [30.0000, 31.5000, 33.0000, 34.5000, 36.0000, 37.5000, 39.0000, 40.5000,\n         42.0000, 43.5000, 45.0000, 46.5000, 48.0000, 49.5000, 51.0000, 52.5000,\n         54.0000, 55.5000, 57.0000, 58.5000]])"},
		{"requires grad", []float64{1, 2}, nil, []int{2}, Float32, true, "tensor([1., 2.], requires_grad=True)"},
		{"float64 requires grad wrap", []float64{0.0, 0.123456, 0.246912, 0.370368, 0.493824, 0.6172799999999999, 0.740736, 0.864192, 0.987648, 1.1111039999999999, 1.2345599999999999, 1.358016, 1.481472}, nil, []int{13}, Float64, true, "tensor([0.0000, 0.1235, 0.2469, 0.3704, 0.4938, 0.6173, 0.7407, 0.8642, 0.9876,\n        1.1111, 1.2346, 1.3580, 1.4815], dtype=torch.float64,\n       requires_grad=True)"},
		{"sci wrap", []float64{1e-06, 1e-05, 0.0001, 0.001, 0.01, 0.1, 1.0, 10.0, 100.0, 1000.0, 10000.0, 100000.0, 1000000.0, 10000000.0, 100000000.0, 1000000000.0}, nil, []int{16}, Float32, false, "tensor([1.0000e-06, 1.0000e-05, 1.0000e-04, 1.0000e-03, 1.0000e-02, 1.0000e-01,\n        1.0000e+00, 1.0000e+01, 1.0000e+02, 1.0000e+03, 1.0000e+04, 1.0000e+05,\n        1.0000e+06, 1.0000e+07, 1.0000e+08, 1.0000e+09])"},
		{"int64 wide", []float64{1, 1099511627776, -3}, nil, []int{3}, Int64, false, "tensor([            1, 1099511627776,            -3])"},
		{"summarized 1-d", nil, func(i int) float64 { return float64(i) * 0.5 }, []int{2000}, Float32, false, "tensor([0.0000e+00, 5.0000e-01, 1.0000e+00,  ..., 9.9850e+02, 9.9900e+02,\n        9.9950e+02])"},
		{"summarized 2-d", nil, func(i int) float64 { return float64(i) - 1250 }, []int{50, 50}, Float32, false, "tensor([[-1250., -1249., -1248.,  ..., -1203., -1202., -1201.],\n        [-1200., -1199., -1198.,  ..., -1153., -1152., -1151.],\n        [-1150., -1149., -1148.,  ..., -1103., -1102., -1101.],\n        ...,\n        [ 1100.,  1101.,  1102.,  ...,  1147.,  1148.,  1149.],\n        [ 1150.,  1151.,  1152.,  ...,  1197.,  1198.,  1199.],\n        [ 1200.,  1201.,  1202.,  ...,  1247.,  1248.,  1249.]])"},
		{"summarized int", nil, func(i int) float64 { return float64(i) }, []int{1001}, Int64, false, "tensor([   0,    1,    2,  ...,  998,  999, 1000])"},
		{"summarized 3-d", nil, func(i int) float64 { return float64(i%7) * 0.25 }, []int{10, 10, 12}, Float32, false, "tensor([[[0.0000, 0.2500, 0.5000,  ..., 0.5000, 0.7500, 1.0000],\n         [1.2500, 1.5000, 0.0000,  ..., 0.0000, 0.2500, 0.5000],\n         [0.7500, 1.0000, 1.2500,  ..., 1.2500, 1.5000, 0.0000],\n         ...,\n         [0.0000, 0.2500, 0.5000,  ..., 0.5000, 0.7500, 1.0000],\n         [1.2500, 1.5000, 0.0000,  ..., 0.0000, 0.2500, 0.5000],\n         [0.7500, 1.0000, 1.2500,  ..., 1.2500, 1.5000, 0.0000]],\n\n        [[0.2500, 0.5000, 0.7500,  ..., 0.7500, 1.0000, 1.2500],\n         [1.5000, 0.0000, 0.2500,  ..., 0.2500, 0.5000, 0.7500],\n         [1.0000, 1.2500, 1.5000,  ..., 1.5000, 0.0000, 0.2500],\n         ...,\n         [0.2500, 0.5000, 0.7500,  ..., 0.7500, 1.0000, 1.2500],\n         [1.5000, 0.0000, 0.2500,  ..., 0.2500, 0.5000, 0.7500],\n         [1.0000, 1.2500, 1.5000,  ..., 1.5000, 0.0000, 0.2500]],\n\n        [[0.5000, 0.7500, 1.0000,  ..., 1.0000, 1.2500, 1.5000],\n         [0.0000, 0.2500, 0.5000,  ..., 0.5000, 0.7500, 1.0000],\n         [1.2500, 1.5000, 0.0000,  ..., 0.0000, 0.2500, 0.5000],\n         ...,\n         [0.5000, 0.7500, 1.0000,  ..., 1.0000, 1.2500, 1.5000],\n         [0.0000, 0.2500, 0.5000,  ..., 0.5000, 0.7500, 1.0000],\n         [1.2500, 1.5000, 0.0000,  ..., 0.0000, 0.2500, 0.5000]],\n\n        ...,\n\n        [[0.0000, 0.2500, 0.5000,  ..., 0.5000, 0.7500, 1.0000],\n         [1.2500, 1.5000, 0.0000,  ..., 0.0000, 0.2500, 0.5000],\n         [0.7500, 1.0000, 1.2500,  ..., 1.2500, 1.5000, 0.0000],\n         ...,\n         [0.0000, 0.2500, 0.5000,  ..., 0.5000, 0.7500, 1.0000],\n         [1.2500, 1.5000, 0.0000,  ..., 0.0000, 0.2500, 0.5000],\n         [0.7500, 1.0000, 1.2500,  ..., 1.2500, 1.5000, 0.0000]],\n\n        [[0.2500, 0.5000, 0.7500,  ..., 0.7500, 1.0000, 1.2500],\n         [1.5000, 0.0000, 0.2500,  ..., 0.2500, 0.5000, 0.7500],\n         [1.0000, 1.2500, 1.5000,  ..., 1.5000, 0.0000, 0.2500],\n         ...,\n         [0.2500, 0.5000, 0.7500,  ..., 0.7500, 1.0000, 1.2500],\n         [1.5000, 0.0000, 0.2500,  ..., 0.2500, 0.5000, 0.7500],\n         [1.0000, 1.2500, 1.5000,  ..., 1.5000, 0.0000, 0.2500]],\n\n        [[0.5000, 0.7500, 1.0000,  ..., 1.0000, 1.2500, 1.5000],\n         [0.0000, 0.2500, 0.5000,  ..., 0.5000, 0.7500, 1.0000],\n         [1.2500, 1.5000, 0.0000,  ..., 0.0000, 0.2500, 0.5000],\n         ...,\n         [0.5000, 0.7500, 1.0000,  ..., 1.0000, 1.2500, 1.5000],\n         [0.0000, 0.2500, 0.5000,  ..., 0.5000, 0.7500, 1.0000],\n         [1.2500, 1.5000, 0.0000,  ..., 0.0000, 0.2500, 0.5000]]])"},
		{"summarized inner only", nil, func(i int) float64 { return float64(i) }, []int{2, 505}, Float32, false, "tensor([[0.0000e+00, 1.0000e+00, 2.0000e+00,  ..., 5.0200e+02, 5.0300e+02,\n         5.0400e+02],\n        [5.0500e+02, 5.0600e+02, 5.0700e+02,  ..., 1.0070e+03, 1.0080e+03,\n         1.0090e+03]])"},
		{"summarized sci", nil, func(i int) float64 { return 1e-6 * float64(i+1) }, []int{2000}, Float64, false, "tensor([1.0000e-06, 2.0000e-06, 3.0000e-06,  ..., 1.9980e-03, 1.9990e-03,\n        2.0000e-03], dtype=torch.float64)"},
	} {
		x := reprTensor(t, tc.vals, tc.gen, tc.shape, tc.dtype)
		if tc.rg {
			if err := x.SetRequiresGrad(true); err != nil {
				t.Fatal(err)
			}
		}
		if got := x.String(); got != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.name, got, tc.want)
		}
	}
}

// TestNilAndZeroTensors: a nil *Tensor and the zero Tensor neither panic
// nor pass for a tensor.
func TestNilAndZeroTensors(t *testing.T) {
	var nilT *Tensor
	if s := nilT.String(); s != "<nil>" {
		t.Errorf("nil String = %q", s)
	}
	if s := new(Tensor).String(); s == "" {
		t.Error("zero Tensor String is empty")
	}
	if err := nilT.Backward(); !errors.Is(err, torchloss.ErrValue) {
		t.Errorf("nil Backward: %v, want ErrValue", err)
	}
	if err := new(Tensor).Backward(); !errors.Is(err, torchloss.ErrGrad) {
		t.Errorf("zero Tensor Backward: %v, want ErrGrad", err)
	}
	x := MustNew([]float32{1})
	if err := x.SetRequiresGrad(true); err != nil {
		t.Fatal(err)
	}
	if err := x.BackwardWith(nil); !errors.Is(err, torchloss.ErrValue) {
		t.Errorf("BackwardWith(nil): %v, want ErrValue", err)
	}
	if err := nilT.BackwardWith(x); !errors.Is(err, torchloss.ErrValue) {
		t.Errorf("nil BackwardWith: %v, want ErrValue", err)
	}
}
