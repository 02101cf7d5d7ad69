package conformance

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode"

	"github.com/torchloss/torchloss/functional"
	"github.com/torchloss/torchloss/tensor"
)

// Status is the outcome of one case.
type Status int

// The outcomes.
const (
	Pass        Status = iota
	Fail               // wrong value, gradient, shape, dtype or error behaviour
	Unsupported        // the function is not implemented
)

// Result is the outcome of one case and what torchloss computed.
type Result struct {
	ID     string
	Fn     string
	Status Status
	Detail string // why it failed
	// What torchloss computed: the output and the gradients named by the
	// case, or the error.
	Output *tensor.Tensor
	Grads  map[string]*tensor.Tensor
	Err    error
}

// Tolerance is the per-element bound |got − want| <= Atol + Rtol·|want|.
type Tolerance struct{ Rtol, Atol float64 }

// Tolerances are FORMAT.md's suggested bounds, per dtype. No case needs a
// looser bound: float32 sums and means follow PyTorch's summation order
// (kernels.Sum), so large float32 reductions agree to a few ULPs.
var Tolerances = map[tensor.DType]Tolerance{
	tensor.Float64: {Rtol: 1e-10, Atol: 1e-12},
	tensor.Float32: {Rtol: 1e-5, Atol: 1e-6},
}

// RunCase runs one case. It never panics: a panic inside torchloss is
// reported as a failure of the case.
func RunCase(c *Case) (r Result) { return runCase(c, tensor.CPU) }

// runCase runs one case with its tensors on dev (see RunCaseOn).
func runCase(c *Case, dev tensor.Device) (r Result) {
	r = Result{ID: c.ID, Fn: c.Fn}
	adapter, ok := adapters[c.Fn]
	if !ok {
		r.Status = Unsupported
		return r
	}
	defer func() {
		if p := recover(); p != nil {
			r.Status = Fail
			r.Detail = fmt.Sprintf("panic: %v", p)
			r.Err = fmt.Errorf("panic: %v", p)
		}
	}()
	fail := func(format string, a ...any) Result {
		r.Status = Fail
		r.Detail = fmt.Sprintf(format, a...)
		return r
	}
	call, leaves, err := decodeCall(c, dev)
	if err != nil {
		return fail("decoding the case: %v", err)
	}
	out, err := adapter(call)
	r.Output, r.Err = out, err
	if err == nil && out != nil && dev != tensor.CPU {
		if r.Output, err = onHost(out, dev); err != nil {
			if c.Error == "" {
				return fail("output: %v", err)
			}
			// A value check of a device kernel, reported at the first
			// synchronizing point (tensor.Checker).
			r.Output, r.Err = nil, err
		}
	}
	if c.Error != "" {
		if err == nil {
			// Some errors surface in backward only (PyTorch 2.11's 1-D
			// nll_loss with a (1,) target).
			err = runBackward(c, out)
		}
		if err == nil {
			return fail("succeeded, want error %q", c.Error)
		}
		r.Status = Pass
		return r
	}
	if err != nil {
		return fail("error: %v", err)
	}
	if out == nil {
		return fail("no output and no error")
	}
	// Compute every gradient first, so that the results file has them even
	// when the output disagrees.
	var backwardErr error
	if len(c.Grads) > 0 {
		if backwardErr = runBackward(c, out); backwardErr == nil {
			r.Grads = map[string]*tensor.Tensor{}
			for name := range c.Grads {
				if leaf := leaves[name]; leaf != nil {
					g, err := onHost(leaf.Grad(), leaf.Device())
					if err != nil {
						return fail("grad %s: %v", name, err)
					}
					r.Grads[name] = g
				}
			}
		}
	}
	if c.Output != nil {
		want, err := c.Output.ToTensor()
		if err != nil {
			return fail("decoding output: %v", err)
		}
		if msg := compare(r.Output, want); msg != "" {
			return fail("output: %s", msg)
		}
	}
	if backwardErr != nil {
		return fail("backward: %v", backwardErr)
	}
	for _, name := range sortedKeys(c.Grads) {
		g := r.Grads[name]
		if g == nil {
			return fail("grad %s: no gradient reached the argument", name)
		}
		want, err := c.Grads[name].ToTensor()
		if err != nil {
			return fail("decoding grad %s: %v", name, err)
		}
		if msg := compare(g, want); msg != "" {
			return fail("grad %s: %s", name, msg)
		}
	}
	r.Status = Pass
	return r
}

// runBackward back-propagates the case's grad_output (ones when absent)
// through out, if out is differentiable.
func runBackward(c *Case, out *tensor.Tensor) error {
	if out == nil || !out.RequiresGrad() {
		return nil
	}
	var g *tensor.Tensor
	var err error
	if c.GradOutput != nil {
		g, err = c.GradOutput.ToTensor()
	} else {
		g, err = tensor.Ones(out.DType(), out.Shape()...)
	}
	if err != nil {
		return err
	}
	return out.BackwardWith(g)
}

// decodeCall decodes a case's arguments. Arguments named in the case's
// grads become leaves that require a gradient; an argument with a transform
// is passed to the loss as op(leaf).
func decodeCall(c *Case, dev tensor.Device) (*Call, map[string]*tensor.Tensor, error) {
	call := &Call{Fn: c.Fn, tensors: map[string]*tensor.Tensor{}, raw: map[string]json.RawMessage{}, kwargs: c.Kwargs}
	if call.kwargs == nil {
		call.kwargs = map[string]json.RawMessage{}
	}
	leaves := map[string]*tensor.Tensor{}
	for _, name := range sortedKeys(c.Transform) {
		if !isObject(c.Args[name]) {
			return nil, nil, fmt.Errorf("transform of %s: the case has no tensor argument %s", strconv.Quote(name), strconv.Quote(name))
		}
	}
	for name, raw := range c.Args {
		call.raw[name] = raw
		if !isObject(raw) {
			continue // null, a number or a list of ints
		}
		var jt Tensor
		if err := json.Unmarshal(raw, &jt); err != nil {
			return nil, nil, fmt.Errorf("argument %s: %v", name, err)
		}
		if jt.DType == "" {
			return nil, nil, fmt.Errorf("argument %s: an object without a dtype", name)
		}
		t, err := jt.ToTensor()
		if err != nil {
			return nil, nil, fmt.Errorf("argument %s: %v", name, err)
		}
		// The arguments named in grads require a gradient. In a case that
		// must fail, so do the arguments PyTorch differentiates: some errors
		// (the 1-D nll_loss target quirk) surface only in backward.
		_, wantGrad := c.Grads[name]
		if c.Error != "" && len(c.Grads) == 0 && t.DType().IsFloat() && slices.Contains(Differentiable(c.Fn), name) {
			wantGrad = true
		}
		_, transformed := c.Transform[name]
		if dev != tensor.CPU && !transformed {
			// The leaf itself lives on the device.
			if t, err = t.ToDevice(dev); err != nil {
				return nil, nil, fmt.Errorf("argument %s: %v", name, err)
			}
		}
		if wantGrad {
			if err := t.SetRequiresGrad(true); err != nil {
				return nil, nil, fmt.Errorf("argument %s: %v", name, err)
			}
		}
		leaves[name] = t
		if tr, ok := c.Transform[name]; ok {
			if t, err = applyTransform(t, tr); err != nil {
				return nil, nil, fmt.Errorf("transform of %s: %v", name, err)
			}
			// A transformed argument is transformed on the host, then
			// moved (differentiably) to the device.
			if t, err = t.ToDevice(dev); err != nil {
				return nil, nil, fmt.Errorf("argument %s: %v", name, err)
			}
		}
		call.tensors[name] = t
	}
	return call, leaves, nil
}

// isObject reports whether raw is a JSON object (a tensor argument).
func isObject(raw json.RawMessage) bool {
	s := strings.TrimLeft(string(raw), " \t\r\n")
	return s != "" && s[0] == '{'
}

// applyTransform applies sigmoid, softmax or log_softmax; a null dim takes
// PyTorch's implicit softmax dimension (0 for 0-, 1- and 3-d inputs, else 1).
func applyTransform(t *tensor.Tensor, tr Transform) (*tensor.Tensor, error) {
	dim := 0
	if tr.Dim != nil {
		dim = *tr.Dim
	} else if d := t.Dim(); d != 0 && d != 1 && d != 3 {
		dim = 1
	}
	switch tr.Op {
	case "sigmoid":
		return functional.Sigmoid(t)
	case "softmax":
		return functional.Softmax(t, dim)
	case "log_softmax":
		return functional.LogSoftmax(t, dim)
	}
	return nil, fmt.Errorf("unknown transform %q", tr.Op)
}

// compare checks got against want: dtype, shape, then every element within
// the dtype's tolerance, NaN matching NaN and an infinity the same infinity.
// It returns "" on agreement.
func compare(got, want *tensor.Tensor) string {
	if got.DType() != want.DType() {
		return fmt.Sprintf("dtype %v, want %v", got.DType(), want.DType())
	}
	gs, ws := got.Shape(), want.Shape()
	if fmt.Sprint(gs) != fmt.Sprint(ws) {
		return fmt.Sprintf("shape %v, want %v", gs, ws)
	}
	tol := Tolerances[want.DType()]
	g, w := got.Values(), want.Values()
	bad, first := 0, -1
	for i := range w {
		if !close(g[i], w[i], tol) {
			bad++
			if first < 0 {
				first = i
			}
		}
	}
	if bad == 0 {
		return ""
	}
	return fmt.Sprintf("%d of %d elements differ; first at %d: got %v, want %v", bad, len(w), first, g[first], w[first])
}

func close(got, want float64, tol Tolerance) bool {
	switch {
	case math.IsNaN(want):
		return math.IsNaN(got)
	case math.IsInf(want, 0):
		return got == want
	case math.IsNaN(got) || math.IsInf(got, 0):
		return false
	}
	return math.Abs(got-want) <= tol.Atol+tol.Rtol*math.Abs(want)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Counts tallies the outcomes of one function's cases.
type Counts struct{ Passed, Failed, Unsupported int }

// Report is the outcome of a file.
type Report struct {
	Results []Result
	ByFn    map[string]*Counts
}

// Run runs every case of f.
func Run(f *File) *Report { return run(f, tensor.CPU) }

func run(f *File, dev tensor.Device) *Report {
	rep := NewReport()
	for i := range f.Cases {
		rep.Add(runCase(&f.Cases[i], dev))
	}
	return rep
}

// NewReport returns an empty report, for results added one at a time.
func NewReport() *Report { return &Report{ByFn: map[string]*Counts{}} }

// Add adds the result of one case to the report.
func (rep *Report) Add(r Result) {
	rep.Results = append(rep.Results, r)
	cnt := rep.ByFn[r.Fn]
	if cnt == nil {
		cnt = &Counts{}
		rep.ByFn[r.Fn] = cnt
	}
	switch r.Status {
	case Pass:
		cnt.Passed++
	case Fail:
		cnt.Failed++
	default:
		cnt.Unsupported++
	}
}

// Totals sums the counts over all functions.
func (rep *Report) Totals() Counts {
	var t Counts
	for _, c := range rep.ByFn {
		t.Passed += c.Passed
		t.Failed += c.Failed
		t.Unsupported += c.Unsupported
	}
	return t
}

// Summary formats the report: one line per function, the failures, a line
// for the unsupported functions, and the closing "N passed, M failed".
func (rep *Report) Summary(verbose bool) string {
	var b strings.Builder
	var unsupported []string
	nUnsupported := 0
	for _, fn := range sortedKeys(rep.ByFn) {
		c := rep.ByFn[fn]
		if c.Unsupported > 0 {
			unsupported = append(unsupported, fn)
			nUnsupported += c.Unsupported
			continue
		}
		fmt.Fprintf(&b, "%-36s %4d passed, %d failed\n", Printable(fn), c.Passed, c.Failed)
	}
	shown := 0
	for _, r := range rep.Results {
		if r.Status == Fail && (verbose || shown < 20) {
			fmt.Fprintf(&b, "FAIL %s: %s\n", Printable(r.ID), Printable(r.Detail))
			shown++
		}
	}
	if nUnsupported > 0 {
		for i, fn := range unsupported {
			unsupported[i] = Printable(fn)
		}
		fmt.Fprintf(&b, "unsupported: %d cases of %s\n", nUnsupported, strings.Join(unsupported, ", "))
	}
	t := rep.Totals()
	fmt.Fprintf(&b, "%d passed, %d failed\n", t.Passed, t.Failed)
	return b.String()
}

// Printable returns s as it is when every rune of it is printable, else
// quoted with Go's escapes (strconv.Quote), so that text from a vector file
// (a case id, a function name) cannot forge lines or colours of a report.
func Printable(s string) string {
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return strconv.Quote(s)
		}
	}
	return s
}

// Results is the results file written by --write-results.
type Results struct {
	Format string        `json:"format"`
	Cases  []CaseResults `json:"cases"`
}

// CaseResults is what torchloss computed for one case.
type CaseResults struct {
	ID     string             `json:"id"`
	Output *Tensor            `json:"output,omitempty"`
	Grads  map[string]*Tensor `json:"grads,omitempty"`
	Error  string             `json:"error,omitempty"`
}

// ResultsOf converts a report to the results format ("torch-loss-results/1").
// Unsupported cases are written with an error saying so.
func ResultsOf(rep *Report) *Results {
	out := &Results{Format: "torch-loss-results/1", Cases: []CaseResults{}}
	for _, r := range rep.Results {
		cr := CaseResults{ID: r.ID}
		switch {
		case r.Status == Unsupported:
			cr.Error = "unsupported: torchloss does not implement " + r.Fn
		case r.Err != nil:
			cr.Error = r.Err.Error()
		case r.Output == nil:
			cr.Error = r.Detail
		default:
			cr.Output = FromTensor(r.Output)
			if len(r.Grads) > 0 {
				cr.Grads = map[string]*Tensor{}
				for name, g := range r.Grads {
					if g != nil {
						cr.Grads[name] = FromTensor(g)
					}
				}
			}
		}
		out.Cases = append(out.Cases, cr)
	}
	return out
}
