package tensor

import (
	"errors"
	"sync"
	"testing"

	"github.com/torchloss/torchloss"
)

// TestFreeCPU checks Free on a CPU tensor from the host buffer cache: the
// freed tensor and its views refuse every use with ErrValue (or return
// nil), a second Free does nothing, and the next Uninit of that dtype and
// size class gets the same storage back.
func TestFreeCPU(t *testing.T) {
	EmptyCache(CPU)
	a, err := Uninit[float32](3, 100)
	if err != nil {
		t.Fatal(err)
	}
	s := a.Float32s()
	for i := range s {
		s[i] = float32(i)
	}
	view, err := a.Reshape(300)
	if err != nil {
		t.Fatal(err)
	}
	det := a.Detach()
	alloc0, _ := MemoryStats(CPU)
	if a.Freed() || view.Freed() {
		t.Fatal("Freed before Free")
	}
	if err := a.Free(); err != nil {
		t.Fatal(err)
	}
	if err := a.Free(); err != nil { // twice: nothing
		t.Fatal(err)
	}
	alloc1, reserved1 := MemoryStats(CPU)
	if want := hostClass(1200); alloc0-alloc1 != want || reserved1 < want {
		t.Errorf("MemoryStats(CPU): allocated %d -> %d, reserved %d; want a drop of %d, that much reserved", alloc0, alloc1, reserved1, want)
	}
	for name, x := range map[string]*Tensor{"freed": a, "reshape view": view, "detached": det} {
		if !x.Freed() {
			t.Errorf("%s: Freed() = false", name)
		}
		if x.Float32s() != nil || Data[float32](x) != nil || x.Values() != nil {
			t.Errorf("%s: an accessor returned the freed storage", name)
		}
		if got := x.String(); got != "tensor(<freed>)" {
			t.Errorf("%s: String() = %q", name, got)
		}
		if _, err := x.Item(); !errors.Is(err, torchloss.ErrValue) {
			t.Errorf("%s: Item: %v, want ErrValue", name, err)
		}
		if _, err := x.CloneErr(); !errors.Is(err, torchloss.ErrValue) {
			t.Errorf("%s: CloneErr: %v, want ErrValue", name, err)
		}
		if c := x.Clone(); !c.Freed() {
			t.Errorf("%s: Clone of a freed tensor is not freed", name)
		}
		if _, err := x.To(Float64); !errors.Is(err, torchloss.ErrValue) {
			t.Errorf("%s: To: %v, want ErrValue", name, err)
		}
		if _, err := x.Reshape(-1); !errors.Is(err, torchloss.ErrValue) {
			t.Errorf("%s: Reshape: %v, want ErrValue", name, err)
		}
		if _, err := x.Transpose(0, -1); !errors.Is(err, torchloss.ErrValue) {
			t.Errorf("%s: Transpose: %v, want ErrValue", name, err)
		}
	}
	// Same dtype and class (1200 and 1180 bytes round to 1280): reused.
	b, err := Uninit[float32](295)
	if err != nil {
		t.Fatal(err)
	}
	if &b.Float32s()[:1][0] != &s[0] || b.Freed() {
		t.Error("Uninit after Free did not reuse the freed storage")
	}
	EmptyCache(CPU)
	if _, reserved := MemoryStats(CPU); reserved != hostClass(1180) {
		t.Errorf("after EmptyCache, reserved = %d, want %d (b's)", reserved, hostClass(1180))
	}
	_ = b.Free()
}

// TestFreeCallerStorage: Free on a tensor over the caller's slice marks it
// freed but never hands the slice to another tensor.
func TestFreeCallerStorage(t *testing.T) {
	EmptyCache(CPU)
	mine := make([]float64, 64)
	x := MustNew(mine, 64)
	if err := x.Free(); err != nil {
		t.Fatal(err)
	}
	if !x.Freed() || x.Float64s() != nil {
		t.Error("a freed tensor over the caller's slice is still usable")
	}
	y, err := Uninit[float64](64)
	if err != nil {
		t.Fatal(err)
	}
	if &y.Float64s()[0] == &mine[0] {
		t.Error("Uninit handed out the caller's slice")
	}
	_ = y.Free()
}

// TestBackwardFreedSaved: Backward through a graph that saved a tensor
// freed since (an input of a node, differentiable or not, or the root)
// fails with ErrValue before any node runs, with or without RetainGraph.
func TestBackwardFreedSaved(t *testing.T) {
	x := MustNew([]float64{1, 2, 3}, 3)
	_ = x.SetRequiresGrad(true)
	mid, _ := Uninit[float64](3)
	copy(mid.Float64s(), []float64{4, 5, 6})
	ran := false
	// out = Σ x·mid, with mid not requiring a gradient (saved only).
	out := Record(Scalar(32.0), "MulSumBackward", []*Tensor{x, mid}, func(g *Tensor) ([]*Tensor, error) {
		ran = true
		return []*Tensor{MustNew([]float64{4, 5, 6}, 3), nil}, nil
	})
	if err := out.Backward(RetainGraph(true)); err != nil {
		t.Fatal(err)
	}
	ran = false
	_ = mid.Free()
	if err := out.Backward(RetainGraph(true)); !errors.Is(err, torchloss.ErrValue) || ran {
		t.Errorf("Backward after freeing a saved tensor: %v (node ran: %v), want ErrValue", err, ran)
	}
	// A freed leaf that requires grad: allowed, but not backpropagated to.
	y := MustNew([]float64{1, 2}, 2)
	_ = y.SetRequiresGrad(true)
	out2 := Record(Scalar(3.0), "SumBackward0", []*Tensor{y}, func(g *Tensor) ([]*Tensor, error) {
		return []*Tensor{MustNew([]float64{1, 1}, 2)}, nil
	})
	_ = y.Free()
	if err := out2.Backward(); !errors.Is(err, torchloss.ErrValue) || y.Grad() != nil {
		t.Errorf("Backward into a freed leaf: %v, grad %v; want ErrValue and no grad", err, y.Grad())
	}
	// The root itself.
	_ = out2.Free()
	if err := out2.Backward(); !errors.Is(err, torchloss.ErrValue) {
		t.Errorf("Backward of a freed root: %v, want ErrValue", err)
	}
}

// TestHostCacheConcurrent takes, writes, checks and frees storage from
// several goroutines (run under -race by .ci): no storage is handed to two
// live tensors, and the accounting returns to where it started.
func TestHostCacheConcurrent(t *testing.T) {
	EmptyCache(CPU)
	alloc0, _ := MemoryStats(CPU)
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range 200 {
				n := 100 + (k%3)*7
				a, err := Uninit[float32](n)
				if err != nil {
					errs <- err.Error()
					return
				}
				s := a.Float32s()
				for i := range s {
					s[i] = float32(w*1000 + k)
				}
				for i := range s {
					if s[i] != float32(w*1000+k) {
						errs <- "storage shared by two live tensors"
						return
					}
				}
				_ = a.Free()
				if k%2 == 0 {
					_ = a.Free() // a double Free, concurrent with others' use
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Fatal(e)
	}
	if alloc, reserved := MemoryStats(CPU); alloc != alloc0 || reserved > alloc0+8*3*hostClass(4*114) {
		t.Errorf("after the goroutines: allocated %d (want %d), reserved %d", alloc, alloc0, reserved)
	}
}
