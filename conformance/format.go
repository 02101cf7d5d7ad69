// Package conformance runs files of PyTorch-recorded loss vectors
// (format "torch-loss-vectors/1", see FORMAT.md of the vector set) against
// torchloss: each case is one call of a torch.nn.functional loss with its
// output, the gradients autograd returned for an upstream gradient, or the
// error PyTorch raised. The public file recorded from PyTorch 2.11 is
// embedded (PublicVectors, PublicLinearCrossEntropyVectors; Public merges
// them); any other file of the format can be run.
package conformance

import (
	"bufio"
	"bytes"
	"compress/gzip"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/torchloss/torchloss/tensor"
)

// PublicVectors is the gzip-compressed public vector file: 913 cases
// recorded from PyTorch 2.11.0 on the CPU.
//
//go:embed testdata/torch-2.11-cpu.json.gz
var PublicVectors []byte

// PublicLinearCrossEntropyVectors is the gzip-compressed public vector
// file of linear_cross_entropy: 188 cases recorded with PyTorch 2.11
// through the reference implementation of PyTorch 2.13's function
// (cross_entropy of linear; see functional.LinearCrossEntropy).
//
//go:embed testdata/linear-cross-entropy-torch-2.11-cpu.json.gz
var PublicLinearCrossEntropyVectors []byte

// Public returns the embedded public vector files, merged.
func Public() (*File, error) {
	f, err := Parse(PublicVectors)
	if err != nil {
		return nil, err
	}
	g, err := Parse(PublicLinearCrossEntropyVectors)
	if err != nil {
		return nil, err
	}
	f.Cases = append(f.Cases, g.Cases...)
	return f, nil
}

// File is a vector file.
type File struct {
	Format       string `json:"format"`
	TorchVersion string `json:"torch_version"`
	Device       string `json:"device"`
	Seed         int64  `json:"seed"`
	Cases        []Case `json:"cases"`
}

// Case is one recorded call.
type Case struct {
	ID         string                     `json:"id"`
	Fn         string                     `json:"fn"`
	Args       map[string]json.RawMessage `json:"args"`
	Kwargs     map[string]json.RawMessage `json:"kwargs"`
	Transform  map[string]Transform       `json:"transform,omitempty"`
	Output     *Tensor                    `json:"output,omitempty"`
	GradOutput *Tensor                    `json:"grad_output,omitempty"`
	Grads      map[string]*Tensor         `json:"grads,omitempty"`
	Error      string                     `json:"error,omitempty"`
}

// Transform is the op applied to a leaf argument before the loss.
type Transform struct {
	Op  string `json:"op"`
	Dim *int   `json:"dim"`
}

// Tensor is the JSON form of a tensor: dtype, shape and flat row-major data,
// with the strings "nan", "inf" and "-inf" for non-finite floats. Data is
// the JSON array as written; ToTensor decodes it.
type Tensor struct {
	DType string          `json:"dtype"`
	Shape []int           `json:"shape"`
	Data  json.RawMessage `json:"data"`
}

// Limits bound what reading a vector file may take: the decompressed bytes
// of the whole file and the bytes of one case's JSON. Each case is decoded
// on its own, so memory follows the largest case, not the file.
type Limits struct {
	MaxBytes     int64
	MaxCaseBytes int64
}

// MaxIDBytes and MaxFnBytes bound a case's id and function name: both are
// kept for the report (and the ids for the duplicate check) after the case
// ran, so their length, unlike a case's tensors, adds up over a file. The
// public file's longest id is 48 bytes, its longest name 33.
const (
	MaxIDBytes = 256
	MaxFnBytes = 64
)

// DefaultLimits are 1 GiB of JSON per file and 16 MiB per case (the largest
// case of the public file is 0.7 MB).
var DefaultLimits = Limits{MaxBytes: 1 << 30, MaxCaseBytes: 16 << 20}

// Parse reads a vector file, gzip-compressed or plain JSON, within
// DefaultLimits.
func Parse(data []byte) (*File, error) {
	var cases []Case
	f, err := ReadCases(bytes.NewReader(data), DefaultLimits, func(c *Case) error {
		cases = append(cases, *c)
		return nil
	})
	if err != nil {
		return nil, err
	}
	f.Cases = cases
	return f, nil
}

// errLimit reports a limit of Limits exceeded.
type errLimit struct{ msg string }

func (e *errLimit) Error() string { return e.msg }

// limitReader returns an *errLimit error once more than n bytes are read.
type limitReader struct {
	r   io.Reader
	n   int64
	msg string
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.n <= 0 {
		return 0, &errLimit{l.msg}
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	return n, err
}

// ReadCases reads a vector file (gzip-compressed or plain JSON) from r and
// calls each for every case, one at a time, in file order; it returns the
// file's other fields (Cases is nil). It stops at the first error: a
// malformed file, a format other than torch-loss-vectors/1, a case id seen
// before in the file, more decompressed bytes or a larger case than lim
// allows, an id or function name longer than MaxIDBytes or MaxFnBytes, or
// an error returned by each. A file whose "format" comes after
// its cases is checked when it is reached, after the cases ran.
func ReadCases(r io.Reader, lim Limits, each func(*Case) error) (*File, error) {
	br := bufio.NewReader(r)
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		gz, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("conformance: reading the gzip stream: %w", err)
		}
		defer gz.Close()
		r = gz
	} else {
		r = br
	}
	total := &limitReader{r: r, n: lim.MaxBytes, msg: fmt.Sprintf("conformance: the file holds more than %d bytes of JSON (the limit)", lim.MaxBytes)}
	perCase := &limitReader{r: &squeezeReader{r: total}, n: math.MaxInt64}
	dec := json.NewDecoder(perCase)
	wrap := func(err error) error {
		var le *errLimit
		if errors.As(err, &le) {
			return le
		}
		return fmt.Errorf("conformance: parsing vector file: %w", err)
	}
	var f File
	if err := expectDelim(dec, '{'); err != nil {
		return nil, wrap(err)
	}
	formatChecked := false
	checkFormat := func() error {
		formatChecked = true
		if f.Format != "torch-loss-vectors/1" {
			return fmt.Errorf("conformance: unknown format %q (want torch-loss-vectors/1)", f.Format)
		}
		return nil
	}
	seen := map[string]int{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, wrap(err)
		}
		key, _ := tok.(string)
		switch key {
		case "cases":
			if tok, err := dec.Token(); err != nil {
				return nil, wrap(err)
			} else if tok == nil {
				continue // "cases": null holds no case
			} else if tok != json.Delim('[') {
				return nil, fmt.Errorf("conformance: parsing vector file: cases is not a list")
			}
			if f.Format != "" {
				if err := checkFormat(); err != nil {
					return nil, err
				}
			}
			for i := 0; dec.More(); i++ {
				perCase.n = lim.MaxCaseBytes
				perCase.msg = fmt.Sprintf("conformance: case #%d is larger than %d bytes (the limit)", i+1, lim.MaxCaseBytes)
				var c Case
				if err := dec.Decode(&c); err != nil {
					return nil, wrap(fmt.Errorf("case #%d: %w", i+1, err))
				}
				perCase.n = math.MaxInt64
				if len(c.ID) > MaxIDBytes {
					return nil, fmt.Errorf("conformance: case #%d: the id is %d bytes long, more than %d", i+1, len(c.ID), MaxIDBytes)
				}
				if len(c.Fn) > MaxFnBytes {
					return nil, fmt.Errorf("conformance: case #%d: fn is %d bytes long, more than %d", i+1, len(c.Fn), MaxFnBytes)
				}
				if j, dup := seen[c.ID]; dup {
					return nil, fmt.Errorf("conformance: case #%d repeats the id %s of case #%d", i+1, strconv.Quote(c.ID), j)
				}
				seen[c.ID] = i + 1
				if err := each(&c); err != nil {
					return nil, err
				}
			}
			if err := expectDelim(dec, ']'); err != nil {
				return nil, wrap(err)
			}
		case "format", "torch_version", "device", "seed":
			var err error
			switch key {
			case "format":
				err = dec.Decode(&f.Format)
			case "torch_version":
				err = dec.Decode(&f.TorchVersion)
			case "device":
				err = dec.Decode(&f.Device)
			default:
				err = dec.Decode(&f.Seed)
			}
			if err != nil {
				return nil, wrap(fmt.Errorf("%s: %w", key, err))
			}
		default:
			var skip json.RawMessage // an unknown field, within the case limit
			perCase.n = lim.MaxCaseBytes
			perCase.msg = fmt.Sprintf("conformance: field %s is larger than %d bytes (the limit)", strconv.Quote(key), lim.MaxCaseBytes)
			if err := dec.Decode(&skip); err != nil {
				return nil, wrap(err)
			}
			perCase.n = math.MaxInt64
		}
	}
	if err := expectDelim(dec, '}'); err != nil {
		return nil, wrap(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("conformance: parsing vector file: data after the top-level object")
	}
	if !formatChecked || f.Format == "" {
		if err := checkFormat(); err != nil {
			return nil, err
		}
	}
	return &f, nil
}

// squeezeReader drops whitespace between JSON tokens, keeping one space
// where a run of it separated two bytes: encoding/json's Decoder keeps
// whitespace it has not yet passed in its buffer and rescans it, which is
// quadratic in a long run of spaces.
type squeezeReader struct {
	r                     io.Reader
	inString, escaped, sp bool
}

func (s *squeezeReader) Read(p []byte) (int, error) {
	for {
		n, err := s.r.Read(p)
		k := 0
		for _, c := range p[:n] {
			switch {
			case s.inString:
				switch {
				case s.escaped:
					s.escaped = false
				case c == '\\':
					s.escaped = true
				case c == '"':
					s.inString = false
				}
			case c == ' ' || c == '\t' || c == '\n' || c == '\r':
				if s.sp {
					continue
				}
				s.sp = true
				c = ' '
			default:
				s.sp = false
				s.inString = c == '"'
			}
			p[k] = c
			k++
		}
		if k > 0 || err != nil || n == 0 {
			return k, err
		}
	}
}

func expectDelim(dec *json.Decoder, d json.Delim) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if tok != d {
		return fmt.Errorf("expected %v, found %v", d, tok)
	}
	return nil
}

// parseFloat reads a JSON number or one of "nan", "inf", "-inf".
func parseFloat(raw json.RawMessage) (float64, error) {
	s := strings.TrimSpace(string(raw))
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		switch s[1 : len(s)-1] {
		case "nan", "NaN":
			return math.NaN(), nil
		case "inf", "Infinity":
			return math.Inf(1), nil
		case "-inf", "-Infinity":
			return math.Inf(-1), nil
		}
	} else if v, err := strconv.ParseFloat(s, 64); err == nil && isJSONNumber(s) {
		return v, nil
	}
	return 0, fmt.Errorf("expected a number, got %s", shorten(s))
}

// isJSONNumber reports whether s is written as a JSON number (strconv
// also reads "Inf", hex floats and underscores).
func isJSONNumber(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E') {
			return false
		}
	}
	return true
}

// shorten cuts a value quoted in an error message.
func shorten(s string) string {
	if len(s) > 40 {
		s = s[:40] + "..."
	}
	return s
}

// elements splits a JSON array of scalars (numbers, strings without
// escapes, true, false, null) into its elements, calling each with the
// element's text; it fails on anything else.
func elements(data []byte, each func(i int, v []byte) error) error {
	i := 0
	space := func() {
		for i < len(data) && (data[i] == ' ' || data[i] == '\t' || data[i] == '\n' || data[i] == '\r') {
			i++
		}
	}
	space()
	if i >= len(data) || data[i] != '[' {
		return fmt.Errorf("data is not a list")
	}
	i++
	space()
	if i < len(data) && data[i] == ']' {
		return nil
	}
	for k := 0; ; k++ {
		space()
		start := i
		if i < len(data) && data[i] == '"' {
			i++
			for i < len(data) && data[i] != '"' && data[i] != '\\' {
				i++
			}
			if i >= len(data) || data[i] != '"' {
				return fmt.Errorf("data[%d]: unsupported string", k)
			}
			i++
		} else {
			for i < len(data) && data[i] != ',' && data[i] != ']' && data[i] != ' ' && data[i] != '\n' && data[i] != '\t' && data[i] != '\r' {
				if data[i] == '[' || data[i] == '{' || data[i] == '"' {
					return fmt.Errorf("data[%d]: not a number", k)
				}
				i++
			}
		}
		if i == start {
			return fmt.Errorf("data[%d]: missing", k)
		}
		if err := each(k, data[start:i]); err != nil {
			return fmt.Errorf("data[%d]: %w", k, err)
		}
		space()
		if i < len(data) && data[i] == ',' {
			i++
			continue
		}
		if i < len(data) && data[i] == ']' {
			return nil
		}
		return fmt.Errorf("data: expected ',' or ']' after element %d", k)
	}
}

// ToTensor decodes a JSON tensor. The data must hold exactly prod(shape)
// values; nothing is allocated for a shape the data cannot fill.
func (t *Tensor) ToTensor() (*tensor.Tensor, error) {
	dt, err := tensor.ParseDType(t.DType)
	if err != nil {
		return nil, err
	}
	n, err := tensor.Numel(t.Shape)
	if err != nil {
		return nil, err
	}
	count := 0
	if err := elements(t.Data, func(int, []byte) error { count++; return nil }); err != nil {
		return nil, fmt.Errorf("conformance: tensor of shape %v: %v", t.Shape, err)
	}
	if n != count {
		return nil, fmt.Errorf("conformance: tensor of shape %v has %d values", t.Shape, count)
	}
	shape := append([]int{}, t.Shape...)
	switch dt {
	case tensor.Float32, tensor.Float64:
		v := make([]float64, n)
		if err := elements(t.Data, func(i int, raw []byte) (err error) { v[i], err = parseFloat(raw); return err }); err != nil {
			return nil, err
		}
		if dt == tensor.Float64 {
			return tensor.New(v, shape...)
		}
		f := make([]float32, n)
		for i, x := range v {
			f[i] = float32(x)
		}
		return tensor.New(f, shape...)
	case tensor.Int64:
		v := make([]int64, n)
		if err := elements(t.Data, func(i int, raw []byte) (err error) {
			if v[i], err = strconv.ParseInt(string(raw), 10, 64); err != nil {
				return fmt.Errorf("expected an int64, got %s", shorten(string(raw)))
			}
			return nil
		}); err != nil {
			return nil, err
		}
		return tensor.New(v, shape...)
	default:
		v := make([]bool, n)
		if err := elements(t.Data, func(i int, raw []byte) error {
			switch string(raw) {
			case "true":
				v[i] = true
			case "false":
			default:
				return fmt.Errorf("expected true or false, got %s", shorten(string(raw)))
			}
			return nil
		}); err != nil {
			return nil, err
		}
		return tensor.New(v, shape...)
	}
}

// FromTensor encodes a tensor in the JSON form.
func FromTensor(t *tensor.Tensor) *Tensor {
	out := &Tensor{DType: t.DType().String(), Shape: t.Shape()}
	if out.Shape == nil {
		out.Shape = []int{}
	}
	b := []byte{'['}
	sep := func(i int) {
		if i > 0 {
			b = append(b, ',')
		}
	}
	switch t.DType() {
	case tensor.Float32, tensor.Float64:
		bits := 64
		if t.DType() == tensor.Float32 {
			bits = 32
		}
		for i, v := range t.Values() {
			sep(i)
			switch {
			case math.IsNaN(v):
				b = append(b, `"nan"`...)
			case math.IsInf(v, 1):
				b = append(b, `"inf"`...)
			case math.IsInf(v, -1):
				b = append(b, `"-inf"`...)
			default:
				b = strconv.AppendFloat(b, v, 'g', -1, bits)
			}
		}
	case tensor.Int64:
		for i, v := range t.Int64s() {
			sep(i)
			b = strconv.AppendInt(b, v, 10)
		}
	default:
		for i, v := range t.Bools() {
			sep(i)
			b = strconv.AppendBool(b, v)
		}
	}
	out.Data = append(b, ']')
	return out
}
