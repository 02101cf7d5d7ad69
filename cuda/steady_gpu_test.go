package cuda_test

import (
	"errors"
	"runtime"
	"testing"
	"time"

	"github.com/torchloss/torchloss"
	F "github.com/torchloss/torchloss/functional"
	"github.com/torchloss/torchloss/internal/bench"
	drv "github.com/torchloss/torchloss/internal/cuda"
	"github.com/torchloss/torchloss/tensor"
)

// gpuExtraCopies are the copies per step that the CUDA path still makes
// beyond the loss value, by workload, with the reason:
//   - ctc_loss: the head of the kernels' layout, computed on the host from
//     the lengths (given on the host, as PyTorch reads them there), is
//     uploaded: 6N int64, one copy. The targets stay on the device
//     (ctc_layout reads them).
//
// The counting test on the fake device (internal/bench) expects none: its
// kernels compute on host views of its memory and upload nothing, so it
// does not see this copy; it must be the only difference between the two.
var gpuExtraCopies = map[string]struct{ dtoh, htod int64 }{
	"ctc_loss": {0, 1},
}

// TestSteadyStateOnGPU runs each benchmark workload's training step on the
// GPU with the driver's operations counted: after warm-up a step makes no
// device allocation (the caching allocator), and copies only the loss
// value to the host, except for the workloads of gpuExtraCopies.
func TestSteadyStateOnGPU(t *testing.T) {
	needGPU(t)
	bench.SetDevice(tensor.CUDA)
	defer bench.SetDevice(tensor.CPU)
	const steps = 3
	for _, w := range bench.Workloads() {
		t.Run(w.Name, func(t *testing.T) {
			step, _, err := w.Setup(1)
			if err != nil {
				t.Fatal(err)
			}
			for range 2 {
				if err := step(); err != nil {
					t.Fatal(err)
				}
				collect(t)
			}
			before := drv.Counted()
			for range steps {
				if err := step(); err != nil {
					t.Fatal(err)
				}
				collect(t)
			}
			c := drv.Counted()
			allocs, frees := c.Allocs-before.Allocs, c.Frees-before.Frees
			dtoh, htod := (c.DtoH-before.DtoH)/steps, (c.HtoD-before.HtoD)/steps
			t.Logf("per step: %d D2H, %d H2D, %d launches, %d syncs; %d allocations and %d frees in %d steps",
				dtoh, htod, (c.Launches-before.Launches)/steps, (c.Syncs-before.Syncs)/steps, allocs, frees, steps)
			if allocs != 0 || frees != 0 {
				t.Errorf("%d driver allocations and %d frees after warm-up, want none", allocs, frees)
			}
			extra := gpuExtraCopies[w.Name]
			if extra.dtoh >= 0 && (dtoh != 1+extra.dtoh || htod != extra.htod) {
				t.Errorf("per step %d D2H and %d H2D copies, want %d and %d", dtoh, htod, 1+extra.dtoh, extra.htod)
			}
		})
	}
}

// collect runs the garbage collector and waits for its cleanups (the
// device blocks of unreachable tensors go back to the caching allocator).
func collect(t *testing.T) {
	for range 2 {
		done := make(chan struct{})
		runtime.AddCleanup(new([16]byte), func(c chan struct{}) { close(c) }, done)
		runtime.GC()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("cleanups did not run")
		}
	}
	time.Sleep(10 * time.Millisecond)
}

// TestDeferredCheckOnGPU: binary_cross_entropy of an input outside [0, 1]
// on the GPU returns an output at once; the CPU's ErrValue comes at the
// copy to the host (the end of Backward for a graph), and the GPU keeps
// working.
func TestDeferredCheckOnGPU(t *testing.T) {
	needGPU(t)
	x := tensor.MustNew([]float32{0.2, 1.5, 0.7, 0.1})
	y := tensor.MustNew([]float32{0, 1, 1, 0})
	_, want := F.BinaryCrossEntropy(x, y)
	if !errors.Is(want, torchloss.ErrValue) {
		t.Fatalf("CPU: %v", want)
	}
	dx, _ := x.ToCUDA()
	dy, _ := y.ToCUDA()
	before := drv.Counted()
	out, err := F.BinaryCrossEntropy(dx, dy)
	if err != nil {
		t.Fatalf("the call: %v (the check is deferred)", err)
	}
	if c := drv.Counted(); c.DtoH != before.DtoH || c.Syncs != before.Syncs {
		t.Errorf("the call copied to the host or synchronized: %+v -> %+v", before, c)
	}
	if _, err := out.ToCPU(); err == nil || err.Error() != want.Error() {
		t.Fatalf("ToCPU: %v, want %v", err, want)
	}
	good := tensor.MustNew([]float32{0.2, 0.5, 0.7, 0.1})
	wantOut, _ := F.BinaryCrossEntropy(good, y)
	dg, _ := good.ToCUDA()
	_ = dg.SetRequiresGrad(true)
	out, err = F.BinaryCrossEntropy(dg, dy)
	if err != nil {
		t.Fatal(err)
	}
	if err := out.Backward(); err != nil {
		t.Fatal(err)
	}
	h, err := out.ToCPU()
	if err != nil {
		t.Fatalf("after the error: %v", err)
	}
	if g, w := h.Values()[0], wantOut.Values()[0]; g != w {
		t.Errorf("after the error: loss %v, want %v", g, w)
	}
	bad, _ := x.ToCUDA()
	_ = bad.SetRequiresGrad(true)
	out, err = F.BinaryCrossEntropy(bad, dy)
	if err != nil {
		t.Fatal(err)
	}
	_ = drv.Synchronize() // the kernel is done: the end of Backward sees its flag
	if err := out.Backward(); err == nil || err.Error() != want.Error() {
		t.Fatalf("Backward: %v, want %v", err, want)
	}
}
