package bench

import (
	"os"
	"testing"
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
