package functional_test

import (
	"math"
	"testing"

	F "github.com/torchloss/torchloss/functional"
	"github.com/torchloss/torchloss/tensor"
)

// linear is a bias-free linear layer built from differentiable ops and a
// view: sum over D of x (N, 1, D) · w (H, D), giving (N, H).
func linear(x, w *tensor.Tensor) (*tensor.Tensor, error) {
	xu, err := x.Unsqueeze(1)
	if err != nil {
		return nil, err
	}
	p, err := F.Mul(xu, w)
	if err != nil {
		return nil, err
	}
	return F.SumDim(p, -1)
}

// twoLayer is the model of issue 13 item 10: layer 1 (4 → 6), a Reshape
// (N, 6) → (2N, 3) between the layers, layer 2 (3 → 1), and a Reshape
// back to (N, 2) for the loss.
func twoLayer(x, w1, w2, y *tensor.Tensor) (*tensor.Tensor, error) {
	h, err := linear(x, w1)
	if err != nil {
		return nil, err
	}
	if h, err = h.Reshape(-1, 3); err != nil {
		return nil, err
	}
	o, err := linear(h, w2)
	if err != nil {
		return nil, err
	}
	if o, err = o.Reshape(x.Size(0), 2); err != nil {
		return nil, err
	}
	return F.MSELoss(o, y)
}

// TestReshapeBetweenLayersTrainsBoth: the gradient reaches the first layer
// through the Reshape (it equals central finite differences of the loss),
// and plain gradient descent trains both layers.
func TestReshapeBetweenLayersTrainsBoth(t *testing.T) {
	g := tensor.NewGenerator(7)
	randn := func(shape ...int) *tensor.Tensor {
		r, err := g.Randn(shape...)
		if err != nil {
			t.Fatal(err)
		}
		d, err := r.To(tensor.Float64)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	x, y := randn(5, 4), randn(5, 2)
	w1, w2 := randn(6, 4), randn(1, 3)
	for _, w := range []*tensor.Tensor{w1, w2} {
		if err := w.SetRequiresGrad(true); err != nil {
			t.Fatal(err)
		}
	}
	lossAt := func() float64 {
		l, err := twoLayer(x, w1, w2, y)
		if err != nil {
			t.Fatal(err)
		}
		v, _ := l.Item()
		return v
	}
	l, err := twoLayer(x, w1, w2, y)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Backward(); err != nil {
		t.Fatal(err)
	}
	for name, w := range map[string]*tensor.Tensor{"w1": w1, "w2": w2} {
		if w.Grad() == nil {
			t.Fatalf("%s has no gradient: the graph is cut", name)
		}
		const h = 1e-6
		wv, gv := w.Float64s(), w.Grad().Float64s()
		for i := range wv {
			orig := wv[i]
			wv[i] = orig + h
			up := lossAt()
			wv[i] = orig - h
			down := lossAt()
			wv[i] = orig
			if fd := (up - down) / (2 * h); math.Abs(fd-gv[i]) > 1e-6*max(1, math.Abs(fd)) {
				t.Errorf("%s[%d]: gradient %v, finite difference %v", name, i, gv[i], fd)
			}
		}
	}
	start := lossAt()
	w1Start := w1.Clone().Float64s()
	for range 200 {
		w1.ZeroGrad()
		w2.ZeroGrad()
		l, err := twoLayer(x, w1, w2, y)
		if err != nil {
			t.Fatal(err)
		}
		if err := l.Backward(); err != nil {
			t.Fatal(err)
		}
		for _, w := range []*tensor.Tensor{w1, w2} {
			wv, gv := w.Float64s(), w.Grad().Float64s()
			for i := range wv {
				wv[i] -= 0.05 * gv[i]
			}
		}
	}
	moved := 0.0
	for i, v := range w1.Float64s() {
		moved += math.Abs(v - w1Start[i])
	}
	if end := lossAt(); !(end < 0.5*start) || moved == 0 {
		t.Errorf("training: loss %v -> %v, first layer moved by %v", start, end, moved)
	}
}
