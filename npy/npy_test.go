package npy

import (
	"bytes"
	"reflect"
	"strings"
	"testing"

	"github.com/torchloss/torchloss/tensor"
)

// The fixtures in testdata were written by numpy.save (numpy 1.24).
func TestReadFixtures(t *testing.T) {
	tests := []struct {
		file  string
		dtype tensor.DType
		shape []int
		want  []float64
	}{
		{"f32.npy", tensor.Float32, []int{2, 3}, []float64{1.5, -2, 3, 4, float64(float32(5e-8)), -6.25}},
		{"f64_scalar.npy", tensor.Float64, []int{}, []float64{2.718281828459045}},
		{"i64.npy", tensor.Int64, []int{4}, []float64{3, -1, 0, 7}},
		{"i32.npy", tensor.Int64, []int{2, 2}, []float64{1, 2, 3, 4}},
		{"bool.npy", tensor.Bool, []int{3}, []float64{1, 0, 1}},
		{"f4_big.npy", tensor.Float32, []int{3}, []float64{1.5, -2, 3}},
		{"f64_fortran.npy", tensor.Float64, []int{2, 3}, []float64{1, 2, 3, 4, 5, 6}},
		{"empty.npy", tensor.Float32, []int{0, 3}, []float64{}},
	}
	for _, tt := range tests {
		got, err := ReadFile("testdata/" + tt.file)
		if err != nil {
			t.Errorf("%s: %v", tt.file, err)
			continue
		}
		if got.DType() != tt.dtype || !reflect.DeepEqual(got.Shape(), tt.shape) || !reflect.DeepEqual(got.Values(), tt.want) {
			t.Errorf("%s: %v %v %v, want %v %v %v", tt.file, got.DType(), got.Shape(), got.Values(), tt.dtype, tt.shape, tt.want)
		}
	}
}

func TestReadRejects(t *testing.T) {
	for file, want := range map[string]string{
		"complex.npy":   "unsupported dtype",
		"truncated.npy": "truncated",
	} {
		_, err := ReadFile("testdata/" + file)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err %v, want one containing %q", file, err, want)
		}
	}
	if _, err := Read(strings.NewReader("not a numpy file at all")); err == nil {
		t.Error("garbage: want an error")
	}
}

func TestWriteRoundTrip(t *testing.T) {
	for _, x := range []*tensor.Tensor{
		tensor.MustNew([]float32{1, -2.5, 3, 4, 5, 6}, 3, 2),
		tensor.Scalar(0.1),
		tensor.MustNew([]int64{5, -7}, 2),
		tensor.MustNew([]bool{true, false}, 1, 2),
	} {
		var b bytes.Buffer
		if err := Write(&b, x); err != nil {
			t.Fatal(err)
		}
		if b.Len()%64 != int(x.Numel()*map[tensor.DType]int{tensor.Float32: 4, tensor.Float64: 8, tensor.Int64: 8, tensor.Bool: 1}[x.DType()])%64 {
			t.Errorf("%v: data does not start on a 64-byte boundary", x)
		}
		y, err := Read(&b)
		if err != nil {
			t.Fatal(err)
		}
		if y.DType() != x.DType() || !reflect.DeepEqual(y.Shape(), x.Shape()) || !reflect.DeepEqual(y.Values(), x.Values()) {
			t.Errorf("round trip of %v gave %v", x, y)
		}
	}
}
