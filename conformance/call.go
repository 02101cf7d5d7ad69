package conformance

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/torchloss/torchloss/functional"
	"github.com/torchloss/torchloss/internal/losses"
	"github.com/torchloss/torchloss/tensor"
)

// Adapter calls the torchloss function of one PyTorch function name with
// the arguments of a case and returns its output.
type Adapter func(c *Call) (*tensor.Tensor, error)

var adapters = map[string]Adapter{}

// arguments are the required arguments of each registered function, by
// PyTorch's names and in its order.
var arguments = map[string][]string{}

// register makes fn, whose required arguments are args, runnable. Each loss
// family registers its functions from an init function in its own file.
func register(fn string, args []string, a Adapter) {
	if _, dup := adapters[fn]; dup {
		panic("conformance: " + fn + " registered twice")
	}
	adapters[fn] = a
	arguments[fn] = args
}

// Arguments returns the required arguments of fn, by PyTorch's names and in
// its order (nil for a function the runner does not support).
func Arguments(fn string) []string { return append([]string(nil), arguments[fn]...) }

// Accepts reports whether fn takes an argument called name: one of its
// Arguments, a weight tensor, or a scalar parameter PyTorch also takes
// positionally (margin, p, ...). Whether fn has that option is the loss's
// check.
func Accepts(fn, name string) bool {
	if name == "weight" || name == "pos_weight" || optionNames[name] {
		return arguments[fn] != nil
	}
	for _, a := range arguments[fn] {
		if a == name {
			return true
		}
	}
	return false
}

// Supported reports whether the runner implements fn.
func Supported(fn string) bool { _, ok := adapters[fn]; return ok }

// Functions lists the supported PyTorch function names.
func Functions() []string {
	var fns []string
	for fn := range adapters {
		fns = append(fns, fn)
	}
	sort.Strings(fns)
	return fns
}

// Call holds the decoded arguments of a case for its adapter.
type Call struct {
	Fn      string
	tensors map[string]*tensor.Tensor // tensor arguments (after transforms)
	raw     map[string]json.RawMessage
	kwargs  map[string]json.RawMessage
}

// T returns the tensor argument name, or nil if it is absent or null.
func (c *Call) T(name string) *tensor.Tensor { return c.tensors[name] }

// Has reports whether the argument or keyword argument name was given (and
// is not null).
func (c *Call) Has(name string) bool {
	if _, ok := c.tensors[name]; ok {
		return true
	}
	raw, ok := c.raw[name]
	if !ok {
		raw, ok = c.kwargs[name]
	}
	return ok && string(raw) != "null"
}

// IsTensor reports whether argument name is a tensor.
func (c *Call) IsTensor(name string) bool { _, ok := c.tensors[name]; return ok }

// Ints decodes argument name as a list of ints.
func (c *Call) Ints(name string) ([]int64, error) {
	var v []int64
	if err := json.Unmarshal(c.raw[name], &v); err != nil {
		return nil, fmt.Errorf("argument %s: expected a tensor or a list of ints, got %s", name, shorten(string(c.raw[name])))
	}
	return v, nil
}

// Number decodes argument name as a number; isInt reports whether it was
// written as an integer (a Python int rather than a float).
func (c *Call) Number(name string) (v float64, isInt bool, err error) {
	raw := c.raw[name]
	v, err = parseFloat(raw)
	isInt = err == nil && !strings.ContainsAny(string(raw), ".eEn")
	return v, isInt, err
}

// kwarg decodes keyword argument (or scalar parameter) key into v.
func (c *Call) kwarg(key string, v any) error {
	raw, ok := c.kwargs[key]
	if !ok {
		raw = c.raw[key] // a scalar parameter recorded among the args
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("%s() keyword argument %s: expected %s, got %s", c.Fn, key, expectedKind(v), shorten(string(raw)))
	}
	return nil
}

// expectedKind names what a keyword argument decoded into v must be.
func expectedKind(v any) string {
	switch v.(type) {
	case *string:
		return "a string"
	case *bool:
		return "True or False"
	case **bool:
		return "True, False or None"
	case *int64:
		return "an int"
	}
	return fmt.Sprintf("a %T", v)
}

// optionNames are the scalar parameters that map to options, for a case
// that records them among its args.
var optionNames = map[string]bool{
	"reduction": true, "size_average": true, "reduce": true, "ignore_index": true, "blank": true,
	"label_smoothing": true, "eps": true, "margin": true, "beta": true, "delta": true, "p": true,
	"log_input": true, "full": true, "zero_infinity": true, "log_target": true, "swap": true,
}

// Options maps the case's keyword arguments, and its weight and pos_weight
// arguments, to functional options. Keyword arguments unknown to torchloss
// are an error, like an unexpected keyword argument in PyTorch; the function
// itself rejects options it does not have.
func (c *Call) Options() ([]functional.Option, error) {
	var opts []functional.Option
	if w := c.T("weight"); w != nil {
		opts = append(opts, functional.Weight(w))
	}
	if w := c.T("pos_weight"); w != nil {
		opts = append(opts, functional.PosWeight(w))
	}
	// Scalar parameters may be recorded among the positional args (p,
	// margin, ...); they come first, so a keyword of the same name wins.
	params := map[string]json.RawMessage{}
	var keys []string
	for k, raw := range c.raw {
		if optionNames[k] && !c.IsTensor(k) && string(raw) != "null" {
			params[k] = raw
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var kwKeys []string
	for k, raw := range c.kwargs {
		params[k] = raw
		kwKeys = append(kwKeys, k)
	}
	sort.Strings(kwKeys)
	keys = append(keys, kwKeys...)
	legacy := false
	var sizeAverage, reduce *bool
	for _, k := range keys {
		raw := params[k]
		switch k {
		case "distance_function":
			// A recorded case can carry a distance only by name: null and
			// PyTorch's default, pairwise_distance, are the default here.
			var name *string
			if err := json.Unmarshal(raw, &name); err != nil {
				return nil, fmt.Errorf("%s() keyword argument distance_function: expected a function name, got %s", c.Fn, shorten(string(raw)))
			}
			if name != nil && *name != "pairwise_distance" && *name != "PairwiseDistance" {
				return nil, fmt.Errorf("%s(): unsupported distance_function %q", c.Fn, *name)
			}
		case "reduction":
			if string(raw) == "null" {
				// get_enum(None) raises: None is not a reduction.
				opts = append(opts, functional.Reduction("None"))
				continue
			}
			var s string
			if err := c.kwarg(k, &s); err != nil {
				return nil, err
			}
			opts = append(opts, functional.Reduction(s))
		case "size_average", "reduce":
			// The losses without these arguments in PyTorch (docs/semantics.md §4)
			// raise a TypeError.
			if l := losses.Lookup(c.Fn); l != nil && !l.Legacy {
				return nil, fmt.Errorf("%s() got an unexpected keyword argument '%s'", c.Fn, k)
			}
			var b *bool
			if err := c.kwarg(k, &b); err != nil {
				return nil, err
			}
			if b != nil {
				legacy = true
			}
			if k == "size_average" {
				sizeAverage = b
			} else {
				reduce = b
			}
		case "ignore_index", "blank":
			if string(raw) == "null" {
				return nil, fmt.Errorf("%s(): argument '%s' must be int, not NoneType", c.Fn, k)
			}
			var v int64
			if err := c.kwarg(k, &v); err != nil {
				return nil, err
			}
			if k == "blank" {
				opts = append(opts, functional.Blank(v))
			} else {
				opts = append(opts, functional.IgnoreIndex(v))
			}
		case "label_smoothing", "eps", "margin", "beta", "delta", "p":
			v, err := parseFloat(raw)
			if err != nil {
				return nil, fmt.Errorf("%s() keyword argument %s: %v", c.Fn, k, err)
			}
			opts = append(opts, map[string]func(float64) functional.Option{
				"label_smoothing": functional.LabelSmoothing, "eps": functional.Eps, "margin": functional.Margin,
				"beta": functional.Beta, "delta": functional.Delta, "p": functional.P,
			}[k](v))
		case "log_input", "full", "zero_infinity", "log_target", "swap":
			if string(raw) == "null" {
				// gaussian_nll_loss tests `if full:` in Python, where None
				// is false; the ATen functions take a bool and raise.
				if c.Fn == "gaussian_nll_loss" && k == "full" {
					opts = append(opts, functional.Full(false))
					continue
				}
				return nil, fmt.Errorf("%s(): argument '%s' must be bool, not NoneType", c.Fn, k)
			}
			var b bool
			if err := c.kwarg(k, &b); err != nil {
				return nil, err
			}
			opts = append(opts, map[string]func(bool) functional.Option{
				"log_input": functional.LogInput, "full": functional.Full, "zero_infinity": functional.ZeroInfinity,
				"log_target": functional.LogTarget, "swap": functional.Swap,
			}[k](b))
		default:
			return nil, fmt.Errorf("%s() got an unexpected keyword argument '%s'", c.Fn, k)
		}
	}
	if legacy {
		// PyTorch ignores reduction when a legacy argument is given.
		opts = append(opts, functional.LegacyReduction(sizeAverage, reduce))
	}
	return opts, nil
}

// OptionsFromKwargs maps keyword arguments of the PyTorch function fn, as
// JSON values by their PyTorch names, to functional options.
func OptionsFromKwargs(fn string, kwargs map[string]json.RawMessage) ([]functional.Option, error) {
	c := &Call{Fn: fn, kwargs: kwargs}
	return c.Options()
}
