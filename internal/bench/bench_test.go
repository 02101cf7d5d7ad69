package bench

import (
	"os"
	"testing"

	"github.com/torchloss/torchloss/functional"
)

// BenchmarkWorkloads runs every workload's training step at scale 1:
// go test ./internal/bench -bench . -benchmem
func BenchmarkWorkloads(b *testing.B) {
	for _, w := range Workloads() {
		b.Run(w.Name, func(b *testing.B) {
			step, elems, err := w.Setup(1)
			if err != nil {
				b.Fatal(err)
			}
			if err := step(); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.SetBytes(int64(elems) * 4)
			b.ResetTimer()
			for b.Loop() {
				if err := step(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestWorkloadsRun checks that every workload's step runs once. It takes
// about a minute and a GB, so it runs only with TORCHLOSS_BENCH_TEST=1.
func TestWorkloadsRun(t *testing.T) {
	if os.Getenv("TORCHLOSS_BENCH_TEST") == "" {
		t.Skip("set TORCHLOSS_BENCH_TEST=1 to run every workload once")
	}
	for _, w := range Workloads() {
		step, _, err := w.Setup(1)
		if err != nil {
			t.Fatal(w.Name, err)
		}
		if err := step(); err != nil {
			t.Fatal(w.Name, err)
		}
	}
}

// TestSteadyStateAllocs checks that every workload's steady-state step
// (what Run times: ZeroGrad keeping the gradient buffers, the loss,
// Backward) allocates under 64 KB, at 1 and 2 threads, on batches shrunk
// 16 times (every gradient still over 64 KB; the full sizes: `torchloss bench --json`, bytes_per_step).
func TestSteadyStateAllocs(t *testing.T) {
	defer func(s int) { shrink = s }(shrink)
	shrink = 16
	defer functional.SetNumThreads(0)
	for _, th := range []int{1, 2} {
		functional.SetNumThreads(th)
		for _, w := range Workloads() {
			// A scratch object the warm-up did not need (a third CTC
			// workspace when the scheduler runs three chunks at once on a
			// loaded machine) is allocated once and then kept: a step
			// that allocates every time fails all three tries.
			limit := 64 << 10
			var r Result
			for try := 0; try < 3; try++ {
				var err error
				if r, err = Run(w, 1, 2); err != nil {
					t.Fatal(err)
				}
				if r.BytesPerStep < float64(limit) {
					break
				}
			}
			if r.BytesPerStep >= float64(limit) || r.FirstStepBytes < int64(r.MustMove/4) {
				t.Errorf("%s, %d threads: %.0f bytes per steady-state step (want < %d), first step %d", w.Name, th, r.BytesPerStep, limit, r.FirstStepBytes)
			}
		}
	}
}
