// Command torchloss is torchloss's command line.
//
//	torchloss demo [NAME]
//	torchloss conform [FILE...] [--write-results OUT] [-v] [--device DEVICE] [--max-memory BYTES]
//	torchloss eval FN --arg NAME=FILE.npy ... [--kw KEY=VALUE ...] [--grad-output FILE.npy] [--out DIR] [--max-memory BYTES]
//	torchloss plot FN [--kw KEY=VALUE ...] [-o FILE.png]
//	torchloss bench [--workload NAME] [--threads N] [--scale S] [--reps R] [--json] [--device DEVICE]
//
// demo runs the tutorial's ten examples, printing each loss and its
// gradient. conform runs PyTorch-recorded vector files (the embedded public file when
// none is given) and prints one line per function and "N passed, M failed".
// eval computes a loss on arrays saved by numpy.save and writes the output
// and the gradient of every differentiable argument as .npy files. plot
// draws a loss and its gradient against the input into a PNG. bench times
// the benchmark workloads.
package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/torchloss/torchloss/internal/losses"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func usage(w io.Writer) {
	fmt.Fprint(w, `usage: torchloss COMMAND [ARGS]

commands:
  demo [NAME]
      run the tutorial's ten examples (or one): the loss and its gradient
  conform [FILE...] [--write-results OUT] [-v] [--device DEVICE] [--max-memory BYTES]
      run PyTorch vector files (default: the embedded PyTorch 2.11 file)
  eval FN --arg NAME=FILE.npy ... [--kw KEY=VALUE ...] [--grad-output FILE.npy] [--out DIR] [--max-memory BYTES]
      compute a loss on .npy arrays; write output.npy and grad_NAME.npy
  plot FN [--kw KEY=VALUE ...] [-o FILE.png]
      draw the loss and its gradient against the input
  bench [--workload NAME] [--threads N] [--scale S] [--reps R] [--json] [--device DEVICE]
      time the benchmark workloads' training steps
`)
	fmt.Fprintf(w, "\nFN is a PyTorch loss: %s\n", strings.Join(losses.Names(), ", "))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	switch args[0] {
	case "conform":
		return conform(args[1:], stdout, stderr)
	case "eval":
		return evalCmd(args[1:], stdout, stderr)
	case "demo":
		return demo(args[1:], stdout, stderr)
	case "plot":
		return plotCmd(args[1:], stdout, stderr)
	case "bench":
		return benchCmd(args[1:], stdout, stderr)
	case "help", "-h", "--help":
		usage(stdout)
		return 0
	}
	fmt.Fprintf(stderr, "torchloss: unknown command %q\n", args[0])
	usage(stderr)
	return 2
}
