package functional

import (
	"errors"
	"testing"

	"github.com/torchloss/torchloss"
	"github.com/torchloss/torchloss/tensor"
)

// TestSigmoidFreeReuse checks the allocation-free idiom: Free on the
// previous step's sigmoid output hands its storage to the next Sigmoid,
// which overwrites every element (the values of a fresh output), and a
// loss given a freed tensor, as input, target or weight, is refused.
func TestSigmoidFreeReuse(t *testing.T) {
	tensor.EmptyCache(tensor.CPU)
	n := 3*sumGrain + 5 // several parallel chunks
	xs := make([]float32, n)
	for i := range xs {
		xs[i] = float32(i%13) - 6
	}
	x := tensor.MustNew(xs, n)
	ys := make([]float32, n)
	for i := range ys {
		ys[i] = float32(i%3) / 2
	}
	y := tensor.MustNew(ys, n)
	p1, err := Sigmoid(x)
	if err != nil {
		t.Fatal(err)
	}
	want := append([]float32{}, p1.Float32s()...)
	first := &p1.Float32s()[0]
	if err := p1.Free(); err != nil {
		t.Fatal(err)
	}
	x2 := tensor.MustNew(make([]float32, n), n) // sigmoid(0) = 0.5 everywhere
	p2, err := Sigmoid(x2)
	if err != nil {
		t.Fatal(err)
	}
	if &p2.Float32s()[0] != first {
		t.Fatal("Sigmoid after Free did not reuse the freed output's storage")
	}
	for i, v := range p2.Float32s() {
		if v != 0.5 {
			t.Fatalf("reused storage: sigmoid(0)[%d] = %v", i, v)
		}
	}
	_ = p2.Free()
	p3, _ := Sigmoid(x)
	for i, v := range p3.Float32s() {
		if v != want[i] {
			t.Fatalf("sigmoid[%d] = %v on reused storage, %v on fresh", i, v, want[i])
		}
	}
	for name, call := range map[string]func() error{
		"input":  func() error { _, err := BinaryCrossEntropy(p1, y); return err },
		"target": func() error { _, err := BinaryCrossEntropy(p3, p1); return err },
		"weight": func() error { _, err := BinaryCrossEntropy(p3, y, Weight(p1)); return err },
		"mse":    func() error { _, err := MSELoss(p1, y); return err },
		"op":     func() error { _, err := Sigmoid(p1); return err },
	} {
		if err := call(); !errors.Is(err, torchloss.ErrValue) {
			t.Errorf("%s freed: %v, want ErrValue", name, err)
		}
	}
}

// TestBackwardAfterFree: freeing the sigmoid output of a graph before its
// Backward (and letting another Sigmoid reuse the storage) makes Backward
// fail with ErrValue instead of computing ∂x from the other values; the
// documented order, Free after Backward, gives the gradient of a step that
// frees nothing.
func TestBackwardAfterFree(t *testing.T) {
	tensor.EmptyCache(tensor.CPU)
	n := 2*sumGrain + 3
	xs := make([]float32, n)
	for i := range xs {
		xs[i] = float32(i%7)/3 - 1
	}
	ys := make([]float32, n)
	for i := range ys {
		ys[i] = float32(i % 2)
	}
	y := tensor.MustNew(ys, n)
	run := func(freeBefore bool) ([]float32, error) {
		x := tensor.MustNew(append([]float32{}, xs...), n)
		_ = x.SetRequiresGrad(true)
		p, err := Sigmoid(x)
		if err != nil {
			return nil, err
		}
		loss, err := BinaryCrossEntropy(p, y)
		if err != nil {
			return nil, err
		}
		if freeBefore {
			_ = p.Free()
			other, _ := Sigmoid(tensor.MustNew(make([]float32, n), n)) // takes p's storage
			defer other.Free()
		}
		if err := loss.Backward(); err != nil {
			return nil, err
		}
		_ = p.Free()
		return append([]float32{}, x.Grad().Float32s()...), nil
	}
	want, err := run(false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := run(true); !errors.Is(err, torchloss.ErrValue) {
		t.Errorf("Backward after freeing the sigmoid output: %v, want ErrValue", err)
	}
	for th := 1; th <= 3; th++ {
		SetNumThreads(th)
		got, err := run(false)
		if err != nil {
			t.Fatal(err)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("%d threads: grad[%d] = %v, want %v", th, i, got[i], want[i])
			}
		}
	}
	SetNumThreads(0)
}
