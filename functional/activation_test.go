package functional

import (
	"testing"

	"github.com/torchloss/torchloss/tensor"
)

// TestActivations checks values and gradients against PyTorch (float64):
// x = [[1, 2, 0.5], [-1, 0, 3]], upstream g = [[0.5, -1, 2], [1.5, 0.25, -0.75]].
func TestActivations(t *testing.T) {
	tests := []struct {
		name       string
		f          func(*tensor.Tensor) (*tensor.Tensor, error)
		out, gradx []float64
	}{
		{"sigmoid", Sigmoid,
			[]float64{0.7310585786300049, 0.8807970779778823, 0.6224593312018546, 0.2689414213699951, 0.5, 0.9525741268224334},
			[]float64{0.09830596662074093, -0.10499358540350662, 0.470007424403189, 0.2949178998622228, 0.0625, -0.033882494798184004}},
		{"softmax(0)", func(x *tensor.Tensor) (*tensor.Tensor, error) { return Softmax(x, 0) },
			[]float64{0.8807970779778823, 0.8807970779778823, 0.07585818002124356, 0.11920292202211755, 0.11920292202211755, 0.9241418199787566},
			[]float64{-0.10499358540350642, -0.1312419817543832, 0.19278522049904745, 0.10499358540350652, 0.13124198175438312, -0.1927852204990474}},
		{"softmax(1)", func(x *tensor.Tensor) (*tensor.Tensor, error) { return Softmax(x, 1) },
			[]float64{0.23122389762214907, 0.6285317192117624, 0.14024438316608848, 0.017147825545520388, 0.0466126225779739, 0.9362395518765058},
			[]float64{0.1693555515000252, -0.4824414606264651, 0.31308590912643985, 0.037121694535120486, 0.04264144947395812, -0.07976314400907861}},
		{"log_softmax(-1)", func(x *tensor.Tensor) (*tensor.Tensor, error) { return LogSoftmax(x, -1) },
			[]float64{-1.464368784107945, -0.4643687841079449, -1.964368784107945, -4.065883903757429, -3.0658839037574293, -0.06588390375742911},
			[]float64{0.15316415356677643, -1.9427975788176437, 1.7896334252508672, 1.4828521744544796, 0.20338737742202612, -1.6862395518765059}},
		{"log_softmax(0)", func(x *tensor.Tensor) (*tensor.Tensor, error) { return LogSoftmax(x, 0) },
			[]float64{-0.1269280110429726, -0.1269280110429726, -2.5788897342925496, -2.1269280110429727, -2.1269280110429727, -0.07888973429254957},
			[]float64{-1.2615941559557646, -0.33940219151658824, 1.9051772749734455, 1.2615941559557649, 0.3394021915165881, -1.9051772749734457}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x := tensor.MustNew([]float64{1, 2, 0.5, -1, 0, 3}, 2, 3)
			if err := x.SetRequiresGrad(true); err != nil {
				t.Fatal(err)
			}
			y, err := tt.f(x)
			if err != nil {
				t.Fatal(err)
			}
			if !allClose(y.Values(), tt.out, 1e-14, 1e-12) {
				t.Errorf("output %v, want %v", y.Values(), tt.out)
			}
			g := tensor.MustNew([]float64{0.5, -1, 2, 1.5, 0.25, -0.75}, 2, 3)
			if err := y.BackwardWith(g); err != nil {
				t.Fatal(err)
			}
			if !allClose(x.Grad().Values(), tt.gradx, 1e-13, 1e-12) {
				t.Errorf("grad %v, want %v", x.Grad().Values(), tt.gradx)
			}
		})
	}
}

func TestSoftmaxDimOutOfRange(t *testing.T) {
	x := tensor.MustNew([]float32{1, 2, 3}, 3)
	if _, err := LogSoftmax(x, 1); err == nil {
		t.Error("LogSoftmax(x, 1) of a 1-D tensor: want an error")
	}
	if _, err := Softmax(x, -2); err == nil {
		t.Error("Softmax(x, -2) of a 1-D tensor: want an error")
	}
}
