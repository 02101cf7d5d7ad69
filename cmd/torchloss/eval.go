package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/torchloss/torchloss/conformance"
	"github.com/torchloss/torchloss/internal/losses"
	"github.com/torchloss/torchloss/npy"
	"github.com/torchloss/torchloss/tensor"
)

// multiFlag collects a repeated KEY=VALUE flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, " ") }
func (m *multiFlag) Set(s string) error { *m = append(*m, s); return nil }

// evalCmd is `torchloss eval FN --arg NAME=FILE.npy ... [--kw KEY=VALUE ...]
// [--grad-output FILE.npy] [--out DIR]`: it computes the loss on arrays saved
// by numpy.save and writes DIR/output.npy and DIR/grad_NAME.npy.
func evalCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("eval", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var argFlags, kwFlags multiFlag
	fs.Var(&argFlags, "arg", "an argument `NAME=FILE.npy` (or NAME=1,2,3 for an int list, NAME=0.5 for a number); repeatable")
	fs.Var(&kwFlags, "kw", "a keyword argument `KEY=VALUE` by its PyTorch name (reduction=sum, label_smoothing=0.1, zero_infinity=true); repeatable")
	gradOut := fs.String("grad-output", "", "the upstream gradient `FILE.npy` (default: ones of the output's shape)")
	outDir := fs.String("out", ".", "the `DIR` to write output.npy and grad_NAME.npy to")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return 2
	}
	if len(pos) != 1 {
		fmt.Fprintf(stderr, "usage: torchloss eval FN --arg NAME=FILE.npy ... [--kw KEY=VALUE ...] [--grad-output FILE.npy] [--out DIR]\nFN is one of: %s\n", strings.Join(losses.Names(), ", "))
		return 2
	}
	fn := pos[0]
	fail := func(err error) int { fmt.Fprintln(stderr, "torchloss eval:", err); return 1 }
	callArgs := map[string]any{}
	for _, a := range argFlags {
		name, value, ok := strings.Cut(a, "=")
		if !ok || name == "" {
			return fail(fmt.Errorf("--arg %q: want NAME=VALUE", a))
		}
		v, err := parseArgValue(value)
		if err != nil {
			return fail(fmt.Errorf("--arg %s: %w", name, err))
		}
		callArgs[name] = v
	}
	kwargs := map[string]json.RawMessage{}
	for _, kw := range kwFlags {
		key, value, ok := strings.Cut(kw, "=")
		if !ok || key == "" {
			return fail(fmt.Errorf("--kw %q: want KEY=VALUE", kw))
		}
		kwargs[key] = kwValue(value)
	}
	var g *tensor.Tensor
	if *gradOut != "" {
		if g, err = npy.ReadFile(*gradOut); err != nil {
			return fail(err)
		}
	}
	out, grads, err := conformance.Eval(fn, callArgs, kwargs, g)
	if err != nil {
		return fail(err)
	}
	if err := os.MkdirAll(*outDir, 0o755); err != nil {
		return fail(err)
	}
	write := func(name string, t *tensor.Tensor) error {
		p := filepath.Join(*outDir, name)
		if err := npy.WriteFile(p, t); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "wrote %s %v %v\n", p, t.DType(), t.Shape())
		return nil
	}
	if err := write("output.npy", out); err != nil {
		return fail(err)
	}
	names := make([]string, 0, len(grads))
	for name := range grads {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if err := write("grad_"+name+".npy", grads[name]); err != nil {
			return fail(err)
		}
	}
	return 0
}

// parseArgValue reads an argument: a .npy file, a comma-separated int list
// (lengths), or a number.
func parseArgValue(v string) (any, error) {
	if strings.HasSuffix(v, ".npy") {
		return npy.ReadFile(v)
	}
	if strings.Contains(v, ",") {
		var ints []int64
		for _, s := range strings.Split(v, ",") {
			i, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
			if err != nil {
				return nil, fmt.Errorf("%q is not a .npy file, an int list or a number", v)
			}
			ints = append(ints, i)
		}
		return ints, nil
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return nil, fmt.Errorf("%q is not a .npy file, an int list or a number", v)
	}
	return f, nil
}

// kwValue maps a command-line value to JSON: true/false, Python's None (or
// null), a number as written, or else a string (reduction=none is the
// string 'none').
func kwValue(v string) json.RawMessage {
	switch v {
	case "None", "null":
		return json.RawMessage("null")
	}
	switch strings.ToLower(v) {
	case "true", "false":
		return json.RawMessage(strings.ToLower(v))
	case "nan", "inf", "-inf":
		raw, _ := json.Marshal(strings.ToLower(v))
		return raw
	}
	if _, err := strconv.ParseFloat(v, 64); err == nil {
		return json.RawMessage(v)
	}
	raw, _ := json.Marshal(v)
	return raw
}
