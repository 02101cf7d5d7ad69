package conformance

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/torchloss/torchloss"
	"github.com/torchloss/torchloss/internal/losses"
	"github.com/torchloss/torchloss/tensor"
)

// Differentiable returns the arguments of fn whose gradient PyTorch computes
// (and torchloss returns), from the table of losses. cross_entropy's target
// is differentiable only as class probabilities (a float tensor).
func Differentiable(fn string) []string {
	if l := losses.Lookup(fn); l != nil {
		return slices.Clone(l.Differentiable)
	}
	return nil
}

// Eval calls the PyTorch function fn with named arguments (each a
// *tensor.Tensor, a []int64 list or a float64 number; every one of
// Arguments(fn) is required, and a name fn does not take is an error) and
// keyword arguments
// (JSON values, as in a vector file), then back-propagates gradOutput (ones
// of the output's shape when nil) and returns the output and the gradient of
// every differentiable floating-point argument, keyed by name.
func Eval(fn string, args map[string]any, kwargs map[string]json.RawMessage, gradOutput *tensor.Tensor) (*tensor.Tensor, map[string]*tensor.Tensor, error) {
	adapter, ok := adapters[fn]
	if !ok {
		return nil, nil, fmt.Errorf("unknown or unsupported function %q (supported: %v)", fn, Functions())
	}
	call := &Call{Fn: fn, tensors: map[string]*tensor.Tensor{}, raw: map[string]json.RawMessage{}, kwargs: kwargs}
	if call.kwargs == nil {
		call.kwargs = map[string]json.RawMessage{}
	}
	for name := range args {
		if !Accepts(fn, name) {
			return nil, nil, torchloss.Errorf(torchloss.ErrValue, fn, name, "unknown argument %s (%s takes %s)", Printable(name), fn, strings.Join(Arguments(fn), ", "))
		}
	}
	for _, name := range Arguments(fn) {
		if _, ok := args[name]; !ok {
			return nil, nil, torchloss.Errorf(torchloss.ErrValue, fn, name, "missing argument %s", name)
		}
	}
	want := map[string]bool{}
	for _, name := range Differentiable(fn) {
		want[name] = true
	}
	leaves := map[string]*tensor.Tensor{}
	names := make([]string, 0, len(args))
	for name := range args {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		switch v := args[name].(type) {
		case *tensor.Tensor:
			t := v.Detach()
			if want[name] && t.DType().IsFloat() {
				if err := t.SetRequiresGrad(true); err != nil {
					return nil, nil, err
				}
				leaves[name] = t
			}
			call.tensors[name] = t
		case []int64, float64:
			raw, err := json.Marshal(v)
			if err != nil {
				return nil, nil, err
			}
			call.raw[name] = raw
		default:
			return nil, nil, fmt.Errorf("argument %s: unsupported value of type %T", name, v)
		}
	}
	out, err := adapter(call)
	if err != nil {
		return nil, nil, err
	}
	grads := map[string]*tensor.Tensor{}
	if !out.RequiresGrad() {
		return out, grads, nil
	}
	g := gradOutput
	if g == nil {
		if g, err = tensor.Ones(out.DType(), out.Shape()...); err != nil {
			return nil, nil, err
		}
	}
	if err := out.BackwardWith(g); err != nil {
		return nil, nil, err
	}
	for name, leaf := range leaves {
		if gr := leaf.Grad(); gr != nil {
			grads[name] = gr
		}
	}
	return out, grads, nil
}
