package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/torchloss/torchloss/conformance"
	_ "github.com/torchloss/torchloss/cuda" // --device cuda
	"github.com/torchloss/torchloss/internal/files"
	"github.com/torchloss/torchloss/tensor"
)

// conform runs vector files and prints the report; it exits 1 when a case
// fails, when a file cannot be read, and when no case ran.
func conform(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("conform", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("write-results", "", "write what torchloss computed for every case to `OUT` (gzip-compressed when it ends in .gz)")
	verbose := fs.Bool("v", false, "list every failing case")
	device := fs.String("device", "cpu", "run every case with its tensors on `DEVICE` (cpu or cuda; results are moved back to be compared)")
	var mem memFlag
	fs.Var(&mem, "max-memory", memUsage)
	names, err := parseInterspersed(fs, args)
	if err != nil {
		return 2
	}
	fail := func(err error) int { fmt.Fprintln(stderr, "torchloss conform:", oneLine(err)); return 1 }
	dev, err := tensor.ParseDevice(*device)
	if err != nil {
		fmt.Fprintln(stderr, "torchloss conform:", err)
		return 2
	}
	if dev != tensor.CPU && !tensor.Available(dev) {
		_, err := tensor.BackendOf(dev)
		return fail(err)
	}
	if *out != "" {
		for _, name := range names {
			if sameFile(name, *out) {
				return fail(fmt.Errorf("--write-results %s would overwrite the vector file %s", *out, name))
			}
		}
	}
	lim := conformance.DefaultLimits
	if mem > 0 {
		mem.apply()
		lim.MaxCaseBytes = max(int64(mem)/16, 1<<20)
	}
	rep := conformance.NewReport()
	runFile := func(r io.Reader) error {
		_, err := conformance.ReadCases(r, lim, func(c *conformance.Case) error {
			res := conformance.RunCaseOn(c, dev)
			if *out == "" {
				res.Output, res.Grads = nil, nil // not written: let them go
			}
			rep.Add(res)
			return nil
		})
		return err
	}
	if len(names) == 0 {
		if err := runFile(bytes.NewReader(conformance.PublicVectors)); err != nil {
			return fail(err)
		}
	}
	for _, name := range names {
		f, _, err := files.OpenRegular(name)
		if err != nil {
			return fail(err)
		}
		err = runFile(f)
		f.Close()
		if err != nil {
			return fail(fmt.Errorf("%s: %w", name, err))
		}
	}
	fmt.Fprint(stdout, rep.Summary(*verbose))
	if *out != "" {
		if err := writeResults(*out, conformance.ResultsOf(rep)); err != nil {
			return fail(err)
		}
	}
	t := rep.Totals()
	if t.Passed+t.Failed == 0 {
		fmt.Fprintln(stderr, "torchloss conform: no case ran (the files hold no case of a supported function)")
		return 1
	}
	if t.Failed > 0 {
		return 1
	}
	return 0
}

// sameFile reports whether the output name is the input name: the same
// path or the same existing file.
func sameFile(in, out string) bool {
	if filepath.Clean(in) == filepath.Clean(out) {
		return true
	}
	a, err1 := os.Stat(in)
	b, err2 := os.Stat(out)
	return err1 == nil && err2 == nil && os.SameFile(a, b)
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
