package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"runtime"

	"github.com/torchloss/torchloss/functional"
	"github.com/torchloss/torchloss/internal/bench"
	"github.com/torchloss/torchloss/tensor"
)

// benchCmd is `torchloss bench [--workload NAME] [--threads N] [--scale S]
// [--reps R] [--copy-mb MB] [--json] [--device cpu|cuda]`: it times the
// steady-state training steps of the benchmark workloads (internal/bench:
// ZeroGrad keeping the gradient buffers, loss, Backward, after three warm-up
// steps) and prints, per workload, the median and minimum seconds of one
// step, elements per second, the allocations and bytes allocated per
// steady-state step, the bytes a step must move and the fraction of the
// copy bandwidth, measured first in the same run (a plain parallel copy at
// the same thread count), that this reaches.
func benchCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	name := fs.String("workload", "", "run only this workload (default: all)")
	threads := fs.Int("threads", 0, "worker goroutines (and GOMAXPROCS); 0: GOMAXPROCS")
	scale := fs.Int("scale", 1, "multiplies the batch dimension")
	reps := fs.Int("reps", 7, "timed steps per workload (after one warm-up)")
	asJSON := fs.Bool("json", false, `print {"results": {NAME: {...}}}`)
	devName := fs.String("device", "cpu", "where the tensors live: cpu or cuda")
	copyMB := fs.Int("copy-mb", 128, "MB per buffer of the copy-bandwidth measurement (0: skip it)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *scale < 1 || *reps < 1 || *copyMB < 0 || *copyMB > 1<<14 {
		fmt.Fprintln(stderr, "torchloss bench: --scale and --reps must be >= 1, --copy-mb in [0, 16384]")
		return 2
	}
	dev, err := tensor.ParseDevice(*devName)
	if err != nil {
		fmt.Fprintln(stderr, "torchloss bench:", err)
		return 2
	}
	if dev != tensor.CPU {
		if _, err := tensor.Scalar(float32(0)).ToDevice(dev); err != nil {
			fmt.Fprintln(stderr, "torchloss bench:", err)
			return 1
		}
		bench.SetDevice(dev)
	}
	if *threads > 0 {
		runtime.GOMAXPROCS(*threads)
		functional.SetNumThreads(*threads)
	}
	ws := bench.Workloads()
	if *name != "" {
		w, ok := bench.Find(*name)
		if !ok {
			fmt.Fprintf(stderr, "torchloss bench: unknown workload %q\n", *name)
			return 2
		}
		ws = []bench.Workload{w}
	}
	results := map[string]bench.Result{}
	var copyBW float64
	if *copyMB > 0 && dev == tensor.CPU {
		copyBW = bench.CopyBandwidth(*copyMB<<20, 7)
		runtime.GC()
	}
	if !*asJSON {
		fmt.Fprintf(stdout, "device=%v threads=%d scale=%d reps=%d %s\n", dev, functional.NumThreads(), *scale, *reps, runtime.Version())
		fmt.Fprintf(stdout, "loop: %s\n", bench.LoopOf(dev))
		if copyBW > 0 {
			fmt.Fprintf(stdout, "copy bandwidth: %.2f GB/s (read + write, %d MB buffers)\n", copyBW/1e9, *copyMB)
		}
		fmt.Fprintf(stdout, "%-34s %10s %10s %12s %8s %12s %10s %8s %6s\n", "workload", "median_s", "min_s", "elems/s", "allocs", "bytes/step", "must_MB", "GB/s", "copy")
	}
	for _, w := range ws {
		r, err := bench.Run(w, *scale, *reps)
		if err != nil {
			fmt.Fprintln(stderr, "torchloss bench:", err)
			return 1
		}
		if copyBW > 0 {
			r.CopyFraction = r.MovedPerS / copyBW
		}
		results[w.Name] = r
		if !*asJSON {
			fmt.Fprintf(stdout, "%-34s %10.5f %10.5f %12.4g %8.1f %12.0f %10.1f %8.2f %5.0f%%\n", w.Name, r.MedianS, r.MinS, r.ElemsPerS, r.AllocsPerStep, r.BytesPerStep,
				float64(r.MustMove)/1e6, r.MovedPerS/1e9, 100*r.CopyFraction)
		}
		runtime.GC()
	}
	if *asJSON {
		b, _ := json.MarshalIndent(map[string]any{"results": results, "device": dev.String(), "threads": functional.NumThreads(), "go": runtime.Version(),
			"loop": bench.LoopOf(dev), "copy_bytes_per_s": copyBW}, "", " ")
		fmt.Fprintln(stdout, string(b))
	}
	return 0
}
