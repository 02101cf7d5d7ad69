package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/torchloss/torchloss"
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
// [--grad-output FILE.npy] [--out DIR] [--max-memory BYTES]`: it computes
// the loss on arrays saved by numpy.save and writes DIR/output.npy and
// DIR/grad_NAME.npy, all of them or none.
func evalCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("eval", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var argFlags, kwFlags multiFlag
	fs.Var(&argFlags, "arg", "an argument `NAME=VALUE`: a FILE.npy, an int list (1,2,3 or [4] or 4, for one element) or a number; one per argument")
	fs.Var(&kwFlags, "kw", "a keyword argument `KEY=VALUE` by its PyTorch name (reduction=sum, label_smoothing=0.1, zero_infinity=true); one per keyword")
	gradOut := fs.String("grad-output", "", "the upstream gradient `FILE.npy` (default: ones of the output's shape)")
	outDir := fs.String("out", ".", "the `DIR` to write output.npy and grad_NAME.npy to")
	var mem memFlag
	fs.Var(&mem, "max-memory", memUsage)
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return 2
	}
	if len(pos) != 1 {
		fmt.Fprintf(stderr, "usage: torchloss eval FN --arg NAME=FILE.npy ... [--kw KEY=VALUE ...] [--grad-output FILE.npy] [--out DIR] [--max-memory BYTES]\nFN is one of: %s\n", strings.Join(losses.Names(), ", "))
		return 2
	}
	fn := pos[0]
	fail := func(err error) int { fmt.Fprintln(stderr, "torchloss eval:", oneLine(err)); return 1 }
	if !conformance.Supported(fn) {
		return fail(fmt.Errorf("unknown function %s (one of %s)", conformance.Printable(fn), strings.Join(conformance.Functions(), ", ")))
	}
	if mem > 0 {
		mem.apply()
	}
	callArgs := map[string]any{}
	widened := map[string]string{} // argument -> the file's dtype, read as int64
	for _, a := range argFlags {
		name, value, ok := strings.Cut(a, "=")
		if !ok || name == "" {
			return fail(fmt.Errorf("--arg %q: want NAME=VALUE", a))
		}
		if _, dup := callArgs[name]; dup {
			return fail(fmt.Errorf("--arg %s given twice", name))
		}
		if !conformance.Accepts(fn, name) {
			return fail(fmt.Errorf("--arg %s: %s has no argument %s (it takes %s, and weight, pos_weight or a scalar parameter such as margin where it has that option)", name, fn, name, strings.Join(conformance.Arguments(fn), ", ")))
		}
		v, descr, err := parseArgValue(value)
		if err != nil {
			return fail(fmt.Errorf("--arg %s: %w", name, err))
		}
		if t, ok := v.(*tensor.Tensor); ok && t.DType() == tensor.Int64 && descr != "" && !strings.HasSuffix(descr, "i8") {
			widened[name] = npyDTypeName(descr)
		}
		callArgs[name] = v
	}
	kwargs := map[string]json.RawMessage{}
	for _, kw := range kwFlags {
		key, value, ok := strings.Cut(kw, "=")
		if !ok || key == "" {
			return fail(fmt.Errorf("--kw %q: want KEY=VALUE", kw))
		}
		if value == "" {
			return fail(fmt.Errorf("--kw %s: empty value (write None for Python's None)", key))
		}
		if _, dup := kwargs[key]; dup {
			return fail(fmt.Errorf("--kw %s given twice", key))
		}
		kwargs[key] = kwValue(value)
	}
	var g *tensor.Tensor
	if *gradOut != "" {
		if g, err = npy.ReadFile(*gradOut); err != nil {
			return fail(fmt.Errorf("--grad-output: %w", err))
		}
	}
	out, grads, err := conformance.Eval(fn, callArgs, kwargs, g)
	if err != nil {
		if errors.Is(err, torchloss.ErrDType) {
			for _, name := range sortedKeys(widened) {
				err = fmt.Errorf("%w (argument %s: the file holds %s, which torchloss reads as int64)", err, name, widened[name])
			}
		}
		return fail(err)
	}
	files := []namedTensor{{"output.npy", out}}
	for _, name := range sortedKeys(grads) {
		files = append(files, namedTensor{"grad_" + name + ".npy", grads[name]})
	}
	if err := writeAll(*outDir, files); err != nil {
		return fail(err)
	}
	for _, f := range files {
		fmt.Fprintf(stdout, "wrote %s %v %v\n", filepath.Join(*outDir, f.name), f.t.DType(), f.t.Shape())
	}
	return 0
}

type namedTensor struct {
	name string
	t    *tensor.Tensor
}

// writeAll writes every file to dir or none: each goes to a temporary file
// in dir first, and the temporary files are renamed once all are written.
func writeAll(dir string, files []namedTensor) (err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var temps []string
	defer func() {
		if err != nil {
			for _, t := range temps {
				os.Remove(t)
			}
		}
	}()
	for _, f := range files {
		if fi, err := os.Lstat(filepath.Join(dir, f.name)); err == nil && !fi.Mode().IsRegular() {
			return fmt.Errorf("%s exists and is not a regular file", filepath.Join(dir, f.name))
		}
		tmp, err := os.CreateTemp(dir, "."+f.name+".tmp*")
		if err != nil {
			return err
		}
		temps = append(temps, tmp.Name())
		werr := npy.Write(tmp, f.t)
		if werr == nil {
			werr = tmp.Close()
		} else {
			tmp.Close()
		}
		if werr != nil {
			return fmt.Errorf("writing %s: %w", filepath.Join(dir, f.name), werr)
		}
	}
	for i, f := range files {
		if err := os.Rename(temps[i], filepath.Join(dir, f.name)); err != nil {
			return err
		}
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// npyDTypeName names numpy's dtype of a typestr ('|u1' is uint8).
func npyDTypeName(descr string) string {
	d := strings.TrimLeft(descr, "<>|=")
	if names := map[string]string{"i4": "int32", "i2": "int16", "i1": "int8", "u1": "uint8"}; names[d] != "" {
		return names[d]
	}
	return descr
}

// parseArgValue reads an argument: a .npy file (with its dtype string), a
// list of ints (1,2,3 or [1,2,3]; 4, or [4] is a one-element list) or a
// number.
func parseArgValue(v string) (any, string, error) {
	if strings.HasSuffix(v, ".npy") {
		t, h, err := npy.ReadFileWithHeader(v)
		return t, h.Descr, err
	}
	bad := fmt.Errorf("%q is not a .npy file, an int list (1,2,3 or [4]) or a number", v)
	if body, ok := strings.CutPrefix(v, "["); ok {
		body, ok = strings.CutSuffix(body, "]")
		if !ok {
			return nil, "", bad
		}
		if strings.TrimSpace(body) == "" {
			return []int64{}, "", nil
		}
		v = body + ","
	}
	if strings.Contains(v, ",") {
		ints := []int64{}
		for _, s := range strings.Split(strings.TrimSuffix(v, ","), ",") {
			i, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
			if err != nil {
				return nil, "", bad
			}
			ints = append(ints, i)
		}
		return ints, "", nil
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return nil, "", bad
	}
	return f, "", nil
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
