package tensor

import (
	"math"
	"strconv"
	"strings"
)

// PyTorch's default print options (torch.set_printoptions(profile="default")).
const (
	printPrecision = 4    // digits after the point
	printThreshold = 1000 // more elements than this are summarized
	printEdgeItems = 3    // elements kept at each end of a summarized dimension
	printLineWidth = 80
)

// String formats t as PyTorch's repr does with the default print options
// (torch/_tensor_str.py): one notation for the whole tensor, chosen from
// its nonzero finite values: integer-valued floats as "1., 2."; fixed point
// with 4 digits, or scientific ("1.0000e-05") when the largest magnitude is
// more than 1000 times the smallest, above 1e8, or (not all integers) the
// smallest is below 1e-4. Elements are right-aligned to a common width,
// rows wrap at 80 columns, and a tensor of more than 1000 elements shows
// the first and last 3 entries of each dimension around "...". inf, -inf
// and nan print as such. The suffixes follow: device='cuda:0' for a device
// tensor, the dtype where it is not float32, int64 or bool (and for an empty
// tensor where it is not float32, with its size unless 1-D), then grad_fn=<…>
// (the backward node's name) or requires_grad=True. A nil *Tensor prints as
// <nil>; the zero Tensor, which no constructor returns, says so.
func (t *Tensor) String() string {
	if t == nil {
		return "<nil>"
	}
	if t.dtype == 0 {
		return "tensor(<zero Tensor: make tensors with New, FromData, Zeros...>)"
	}
	if t.device == CPU && t.Freed() {
		return "tensor(<freed>)"
	}
	h := t
	if t.device != CPU {
		var err error
		if h, err = download(t); err != nil {
			return "tensor(<" + err.Error() + ">)"
		}
	}
	var suffixes []string
	if t.device == CUDA {
		suffixes = append(suffixes, "device='cuda:0'")
	} else if t.device != CPU {
		suffixes = append(suffixes, "device='"+t.device.String()+"'")
	}
	body := "[]"
	if h.Numel() == 0 {
		if len(t.shape) != 1 {
			suffixes = append(suffixes, "size="+pyTuple(t.shape))
		}
		if t.dtype != Float32 {
			suffixes = append(suffixes, "dtype=torch."+t.dtype.String())
		}
	} else {
		if t.dtype == Float64 {
			suffixes = append(suffixes, "dtype=torch.float64")
		}
		body = reprBody(h)
	}
	if t.node != nil {
		suffixes = append(suffixes, "grad_fn=<"+t.node.Name+">")
	} else if t.requiresGrad {
		suffixes = append(suffixes, "requires_grad=True")
	}
	// _add_suffixes: a suffix that would pass the line width goes on a new
	// line, indented under the opening parenthesis.
	const prefix = "tensor("
	var b strings.Builder
	b.WriteString(prefix)
	b.WriteString(body)
	last := b.Len() + 2
	if nl := strings.LastIndexByte(b.String(), '\n'); nl >= 0 {
		last = b.Len() - nl + 1
	}
	for _, s := range suffixes {
		if last+len(s)+2 > printLineWidth {
			b.WriteString(",\n" + strings.Repeat(" ", len(prefix)) + s)
			last = len(prefix) + len(s)
		} else {
			b.WriteString(", " + s)
			last += len(s) + 2
		}
	}
	b.WriteString(")")
	return b.String()
}

// pyTuple writes a shape as Python writes a tuple: (2, 0), (0,), ().
func pyTuple(shape []int) string {
	parts := make([]string, len(shape))
	for i, d := range shape {
		parts[i] = strconv.Itoa(d)
	}
	if len(parts) == 1 {
		return "(" + parts[0] + ",)"
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

// reprFormatter is torch._tensor_str._Formatter: the notation and the
// common width of the elements of one tensor.
type reprFormatter struct {
	at      func(i int) float64 // floats: element i
	intMode bool                // floats: every nonzero finite value is an integer
	sci     bool                // floats: scientific notation
	width   int
}

// newReprFormatter chooses the notation from the elements at idx (the
// summarized ones when the tensor is summarized).
func newReprFormatter(h *Tensor, idx []int) reprFormatter {
	f := reprFormatter{intMode: true, width: 1}
	if !h.dtype.IsFloat() {
		for _, i := range idx {
			f.width = max(f.width, len(f.raw(h, i)))
		}
		return f
	}
	switch s := h.data.(type) {
	case []float32:
		f.at = func(i int) float64 { return float64(s[i]) }
	case []float64:
		f.at = func(i int) float64 { return s[i] }
	}
	var finite []float64
	lo, hi := math.Inf(1), 0.0
	for _, i := range idx {
		v := f.at(i)
		if v == 0 || math.IsInf(v, 0) || math.IsNaN(v) {
			continue
		}
		finite = append(finite, v)
		a := math.Abs(v)
		lo, hi = min(lo, a), max(hi, a)
		if v != math.Ceil(v) {
			f.intMode = false
		}
	}
	if len(finite) == 0 {
		return f
	}
	f.sci = hi/lo > 1000 || hi > 1e8 || !f.intMode && lo < 1e-4
	for _, v := range finite {
		n := len(f.number(v))
		if f.intMode && !f.sci {
			n++ // the point
		}
		f.width = max(f.width, n)
	}
	return f
}

// number formats a finite float in f's notation, without padding or the
// point of the integer mode.
func (f reprFormatter) number(v float64) string {
	switch {
	case f.sci:
		return strconv.FormatFloat(v, 'e', printPrecision, 64)
	case f.intMode:
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'f', printPrecision, 64)
}

// raw formats element i of h without padding.
func (f reprFormatter) raw(h *Tensor, i int) string {
	switch s := h.data.(type) {
	case []int64:
		return strconv.FormatInt(s[i], 10)
	case []bool:
		if s[i] {
			return "True"
		}
		return "False"
	}
	v := f.at(i)
	switch {
	case math.IsNaN(v):
		return "nan"
	case math.IsInf(v, 1):
		return "inf"
	case math.IsInf(v, -1):
		return "-inf"
	}
	if f.intMode && !f.sci {
		return f.number(v) + "."
	}
	return f.number(v)
}

// format is raw right-aligned to the common width.
func (f reprFormatter) format(h *Tensor, i int) string {
	s := f.raw(h, i)
	if len(s) < f.width {
		s = strings.Repeat(" ", f.width-len(s)) + s
	}
	return s
}

// reprBody is torch._tensor_str._tensor_str of a non-empty host tensor.
func reprBody(h *Tensor) string {
	summarize := h.Numel() > printThreshold
	strides := make([]int, len(h.shape))
	st := 1
	for d := len(h.shape) - 1; d >= 0; d-- {
		strides[d] = st
		st *= h.shape[d]
	}
	// shown lists the indices of dimension d that are printed; -1 stands
	// for the "..." of a summarized dimension.
	shown := func(d int) []int {
		n := h.shape[d]
		if summarize && n > 2*printEdgeItems {
			var out []int
			for i := range printEdgeItems {
				out = append(out, i)
			}
			out = append(out, -1)
			for i := n - printEdgeItems; i < n; i++ {
				out = append(out, i)
			}
			return out
		}
		out := make([]int, n)
		for i := range out {
			out[i] = i
		}
		return out
	}
	var idx []int
	var collect func(d, off int)
	collect = func(d, off int) {
		if d == len(h.shape) {
			idx = append(idx, off)
			return
		}
		for _, i := range shown(d) {
			if i >= 0 {
				collect(d+1, off+i*strides[d])
			}
		}
	}
	collect(0, 0)
	f := newReprFormatter(h, idx)
	var rec func(d, off, indent int) string
	rec = func(d, off, indent int) string {
		if d == len(h.shape) {
			return f.format(h, off)
		}
		if d == len(h.shape)-1 {
			perLine := max(1, (printLineWidth-indent)/(f.width+2))
			var lines []string
			var line []string
			for _, i := range shown(d) {
				s := " ..."
				if i >= 0 {
					s = f.format(h, off+i*strides[d])
				}
				line = append(line, s)
				if len(line) == perLine {
					lines = append(lines, strings.Join(line, ", "))
					line = line[:0]
				}
			}
			if len(line) > 0 {
				lines = append(lines, strings.Join(line, ", "))
			}
			return "[" + strings.Join(lines, ",\n"+strings.Repeat(" ", indent+1)) + "]"
		}
		var slices []string
		for _, i := range shown(d) {
			if i < 0 {
				slices = append(slices, "...")
				continue
			}
			slices = append(slices, rec(d+1, off+i*strides[d], indent+1))
		}
		sep := "," + strings.Repeat("\n", len(h.shape)-d-1) + strings.Repeat(" ", indent+1)
		return "[" + strings.Join(slices, sep) + "]"
	}
	return rec(0, 0, len("tensor("))
}
