package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/torchloss/torchloss/tensor"
	"github.com/torchloss/torchloss/tutorial"
)

// demo is `torchloss demo [NAME]`: it runs the tutorial's ten examples (or
// the one named), printing each one's PyTorch code, then the loss and the
// gradient torchloss computed.
func demo(args []string, stdout, stderr io.Writer) int {
	examples := tutorial.Examples
	if len(args) > 1 {
		fmt.Fprintln(stderr, "usage: torchloss demo [NAME]")
		return 2
	}
	if len(args) == 1 {
		e, ok := tutorial.Find(args[0])
		if !ok {
			fmt.Fprintf(stderr, "torchloss demo: no example %q; the examples are: %s\n", args[0], strings.Join(tutorial.Names(), ", "))
			return 2
		}
		examples = []tutorial.Example{e}
	}
	for i, e := range examples {
		if i > 0 {
			fmt.Fprintln(stdout)
		}
		fmt.Fprintf(stdout, "== %s ==\n", e.Name)
		for _, line := range strings.Split(e.PyTorch, "\n") {
			fmt.Fprintf(stdout, "    >>> %s\n", line)
		}
		// Each example has its own seeded generator, so that running one
		// alone prints what it prints among the ten.
		if err := e.Run(stdout, tensor.NewGenerator(seedOf(e.Name))); err != nil {
			fmt.Fprintf(stderr, "torchloss demo: %s: %v\n", e.Name, err)
			return 1
		}
	}
	return 0
}

// seedOf is the seed of an example: its position among the ten.
func seedOf(name string) uint64 {
	for i, e := range tutorial.Examples {
		if e.Name == name {
			return uint64(i + 1)
		}
	}
	return 0
}
