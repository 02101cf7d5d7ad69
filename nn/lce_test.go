package nn

import (
	"errors"
	"math"
	"sync"
	"testing"

	"github.com/torchloss/torchloss"
	"github.com/torchloss/torchloss/functional"
	"github.com/torchloss/torchloss/tensor"
)

func TestLinearCrossEntropyLoss(t *testing.T) {
	cfg := LinearCrossEntropyConfig{Bias: true, Generator: tensor.NewGenerator(7)}
	m, err := NewLinearCrossEntropyLoss(16, 50, cfg, functional.LabelSmoothing(0.1))
	if err != nil {
		t.Fatal(err)
	}
	w, b := m.Weight(), m.Bias()
	if s := w.Shape(); len(s) != 2 || s[0] != 50 || s[1] != 16 || !w.RequiresGrad() {
		t.Fatalf("weight %v", s)
	}
	if s := b.Shape(); len(s) != 1 || s[0] != 50 || !b.RequiresGrad() {
		t.Fatalf("bias %v", s)
	}
	// nn.Linear's initialization: uniform on ±1/√16, spread over the range.
	lo, hi := 1.0, -1.0
	for _, v := range append(w.Values(), b.Values()...) {
		if math.Abs(v) > 0.25 {
			t.Fatalf("parameter %v outside ±0.25", v)
		}
		lo, hi = min(lo, v), max(hi, v)
	}
	if lo > -0.24 || hi < 0.24 {
		t.Fatalf("parameters span [%v, %v], want about ±0.25", lo, hi)
	}
	// The same seed, the same parameters.
	m2, _ := NewLinearCrossEntropyLoss(16, 50, LinearCrossEntropyConfig{Bias: true, Generator: tensor.NewGenerator(7)})
	for i, v := range m2.Weight().Values() {
		if v != w.Values()[i] {
			t.Fatal("seeded initialization differs")
		}
	}
	// K-dim out_features.
	mk, err := NewLinearCrossEntropyLoss(4, 3, LinearCrossEntropyConfig{OutFeatures: []int{2}, Bias: true, DType: tensor.Float64})
	if err != nil {
		t.Fatal(err)
	}
	if s := mk.Weight().Shape(); len(s) != 3 || s[1] != 2 || mk.Weight().DType() != tensor.Float64 {
		t.Fatalf("K-dim weight %v %v", s, mk.Weight().DType())
	}
	// Forward is functional.LinearCrossEntropy with the held parameters,
	// from any number of goroutines.
	g := tensor.NewGenerator(8)
	x, _ := g.Randn(9, 16)
	tg, _ := g.RandInt(0, 50, 9)
	want, err := functional.LinearCrossEntropy(x, w, tg, functional.LinearBias(b), functional.LabelSmoothing(0.1))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, err := m.Forward(x, tg)
			if err != nil {
				t.Error(err)
				return
			}
			if got.Values()[0] != want.Values()[0] {
				t.Errorf("Forward %v, want %v", got.Values()[0], want.Values()[0])
			}
			if err := got.Backward(); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if w.Grad() == nil || b.Grad() == nil {
		t.Fatal("no gradient reached the parameters")
	}
	for _, bad := range [][2]int{{0, 5}, {3, 0}} {
		if _, err := NewLinearCrossEntropyLoss(bad[0], bad[1], LinearCrossEntropyConfig{}); !errors.Is(err, torchloss.ErrValue) {
			t.Errorf("%v: %v", bad, err)
		}
	}
	for _, o := range []functional.Option{functional.LabelSmoothing(1.5), functional.Margin(1), functional.LinearBias(nil)} {
		if _, err := NewLinearCrossEntropyLoss(3, 3, LinearCrossEntropyConfig{}, o); !errors.Is(err, torchloss.ErrOption) {
			t.Errorf("option %v: %v", o, err)
		}
	}
	if _, err := NewLinearCrossEntropyLoss(3, 3, LinearCrossEntropyConfig{DType: tensor.Int64}); !errors.Is(err, torchloss.ErrDType) {
		t.Errorf("int64 dtype: %v", err)
	}
}
