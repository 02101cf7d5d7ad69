// Package conformance runs files of PyTorch-recorded loss vectors
// (format "torch-loss-vectors/1", see FORMAT.md of the vector set) against
// torchloss: each case is one call of a torch.nn.functional loss with its
// output, the gradients autograd returned for an upstream gradient, or the
// error PyTorch raised. The public file recorded from PyTorch 2.11 is
// embedded (PublicVectors, PublicLinearCrossEntropyVectors; Public merges
// them); any other file of the format can be run.
package conformance

import (
	"bytes"
	"compress/gzip"
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"

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
// with the strings "nan", "inf" and "-inf" for non-finite floats.
type Tensor struct {
	DType string            `json:"dtype"`
	Shape []int             `json:"shape"`
	Data  []json.RawMessage `json:"data"`
}

// Parse reads a vector file, gzip-compressed or plain JSON.
func Parse(data []byte) (*File, error) {
	r := io.Reader(bytes.NewReader(data))
	if len(data) >= 2 && data[0] == 0x1f && data[1] == 0x8b {
		gz, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			return nil, err
		}
		defer gz.Close()
		r = gz
	}
	var f File
	dec := json.NewDecoder(r)
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("conformance: parsing vector file: %w", err)
	}
	if f.Format != "torch-loss-vectors/1" {
		return nil, fmt.Errorf("conformance: unknown format %q (want torch-loss-vectors/1)", f.Format)
	}
	return &f, nil
}

// parseFloat reads a JSON number or one of "nan", "inf", "-inf".
func parseFloat(raw json.RawMessage) (float64, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		switch s {
		case "nan", "NaN":
			return math.NaN(), nil
		case "inf", "Infinity":
			return math.Inf(1), nil
		case "-inf", "-Infinity":
			return math.Inf(-1), nil
		}
		return strconv.ParseFloat(s, 64)
	}
	return strconv.ParseFloat(string(raw), 64)
}

// ToTensor decodes a JSON tensor.
func (t *Tensor) ToTensor() (*tensor.Tensor, error) {
	dt, err := tensor.ParseDType(t.DType)
	if err != nil {
		return nil, err
	}
	n, err := tensor.Numel(t.Shape)
	if err != nil {
		return nil, err
	}
	if n != len(t.Data) {
		return nil, fmt.Errorf("conformance: tensor of shape %v has %d values", t.Shape, len(t.Data))
	}
	shape := append([]int{}, t.Shape...)
	switch dt {
	case tensor.Float32, tensor.Float64:
		v := make([]float64, n)
		for i, raw := range t.Data {
			if v[i], err = parseFloat(raw); err != nil {
				return nil, err
			}
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
		for i, raw := range t.Data {
			if v[i], err = strconv.ParseInt(string(raw), 10, 64); err != nil {
				return nil, err
			}
		}
		return tensor.New(v, shape...)
	default:
		v := make([]bool, n)
		for i, raw := range t.Data {
			if err := json.Unmarshal(raw, &v[i]); err != nil {
				return nil, err
			}
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
	enc := func(s string) json.RawMessage { return json.RawMessage(s) }
	switch t.DType() {
	case tensor.Float32, tensor.Float64:
		bits := 64
		if t.DType() == tensor.Float32 {
			bits = 32
		}
		for _, v := range t.Values() {
			switch {
			case math.IsNaN(v):
				out.Data = append(out.Data, enc(`"nan"`))
			case math.IsInf(v, 1):
				out.Data = append(out.Data, enc(`"inf"`))
			case math.IsInf(v, -1):
				out.Data = append(out.Data, enc(`"-inf"`))
			default:
				out.Data = append(out.Data, enc(strconv.FormatFloat(v, 'g', -1, bits)))
			}
		}
	case tensor.Int64:
		for _, v := range t.Int64s() {
			out.Data = append(out.Data, enc(strconv.FormatInt(v, 10)))
		}
	default:
		for _, v := range t.Bools() {
			out.Data = append(out.Data, enc(strconv.FormatBool(v)))
		}
	}
	if out.Data == nil {
		out.Data = []json.RawMessage{}
	}
	return out
}
