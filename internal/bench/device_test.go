package bench

import (
	"runtime"
	"testing"
	"time"

	"github.com/torchloss/torchloss/internal/fakedevice"
	"github.com/torchloss/torchloss/tensor"
)

// releaseGarbage runs the garbage collector and waits for the cleanups it
// queues, so that the device blocks of the tensors a step left unreachable
// (an intermediate such as the sigmoid's output) are back in the caching
// allocator. Go releases such a tensor at a collection where PyTorch
// releases it when its reference count drops; a training loop collects
// regularly (a step allocates host memory), the test at every step.
func releaseGarbage(t *testing.T) {
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
	time.Sleep(10 * time.Millisecond) // cleanups may run on several goroutines
}

// TestSteadyStateDeviceCounts runs each benchmark workload's training step
// (ZeroGrad, the loss, Backward, reading the loss) on the counting fake
// device: after two warm-up steps, a step makes no device allocation, no
// host-to-device copy and exactly one device-to-host copy (the loss value).
// The fake device's kernels compute on host views of its memory: the
// CUDA path's one upload per ctc_loss step (its layout's head, from the
// lengths) is not seen here; cuda's TestSteadyStateOnGPU (gpuExtraCopies)
// counts it.
func TestSteadyStateDeviceCounts(t *testing.T) {
	if testing.Short() || raceEnabled {
		// Two minutes under the race detector for the host computations of
		// the fake kernels; TestCachingAllocator (tensor) covers the
		// allocator's concurrency there.
		t.Skip("runs every workload at scale 1")
	}
	b := fakedevice.New()
	dev := fakedevice.Register(b)
	SetDevice(dev)
	defer SetDevice(tensor.CPU)
	const steps = 2
	for _, w := range Workloads() {
		t.Run(w.Name, func(t *testing.T) {
			if w.Name == "linear_cross_entropy" {
				t.Skip("no device kernel: linear_cross_entropy runs on host copies of device tensors")
			}
			step, _, err := w.Setup(1)
			if err != nil {
				t.Fatal(err)
			}
			for range 2 {
				if err := step(); err != nil {
					t.Fatal(err)
				}
				releaseGarbage(t)
			}
			before := b.Stats()
			for range steps {
				if err := step(); err != nil {
					t.Fatal(err)
				}
				releaseGarbage(t)
			}
			s := b.Stats()
			allocs, htod, dtoh := s.Allocs-before.Allocs, s.HtoD-before.HtoD, s.DtoH-before.DtoH
			if allocs != 0 || htod != 0 || dtoh != steps {
				t.Errorf("%d steps: %d device allocations, %d host-to-device and %d device-to-host copies; want 0, 0 and %d",
					steps, allocs, htod, dtoh, steps)
			}
			if s.Kernels == before.Kernels {
				t.Error("no kernel ran on the device: the steps took the host fallback")
			}
		})
	}
}
