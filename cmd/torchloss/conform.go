package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/torchloss/torchloss/conformance"
	_ "github.com/torchloss/torchloss/cuda" // --device cuda
	"github.com/torchloss/torchloss/tensor"
)

// conform runs vector files and prints the report; it exits 1 when a case
// fails.
func conform(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("conform", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("write-results", "", "write what torchloss computed for every case to `OUT` (gzip-compressed when it ends in .gz)")
	verbose := fs.Bool("v", false, "list every failing case")
	device := fs.String("device", "cpu", "run every case with its tensors on `DEVICE` (cpu or cuda; results are moved back to be compared)")
	files, err := parseInterspersed(fs, args)
	if err != nil {
		return 2
	}
	var merged conformance.File
	if len(files) == 0 {
		f, err := conformance.Public()
		if err != nil {
			fmt.Fprintln(stderr, "torchloss:", err)
			return 1
		}
		merged.Cases = f.Cases
	}
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			fmt.Fprintln(stderr, "torchloss:", err)
			return 1
		}
		f, err := conformance.Parse(data)
		if err != nil {
			fmt.Fprintf(stderr, "torchloss: %s: %v\n", name, err)
			return 1
		}
		merged.Cases = append(merged.Cases, f.Cases...)
	}
	dev, err := tensor.ParseDevice(*device)
	if err != nil {
		fmt.Fprintln(stderr, "torchloss:", err)
		return 2
	}
	if dev != tensor.CPU && !tensor.Available(dev) {
		_, err := tensor.BackendOf(dev)
		fmt.Fprintln(stderr, err)
		return 1
	}
	rep := conformance.RunOn(&merged, dev)
	fmt.Fprint(stdout, rep.Summary(*verbose))
	if *out != "" {
		if err := writeResults(*out, conformance.ResultsOf(rep)); err != nil {
			fmt.Fprintln(stderr, "torchloss:", err)
			return 1
		}
	}
	if rep.Totals().Failed > 0 {
		return 1
	}
	return 0
}

// parseInterspersed parses flags that may come before or after the file
// names.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

func writeResults(name string, res *conformance.Results) error {
	data, err := json.Marshal(res)
	if err != nil {
		return err
	}
	if strings.HasSuffix(name, ".gz") {
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		if _, err := zw.Write(data); err != nil {
			return err
		}
		if err := zw.Close(); err != nil {
			return err
		}
		data = b.Bytes()
	}
	return os.WriteFile(name, data, 0o644)
}
