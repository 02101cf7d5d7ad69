// Package npy reads and writes tensors as NumPy .npy files (numpy.save /
// numpy.load), so that a Go pipeline can be checked against a Python one on
// the same arrays. Reading uses codeberg.org/sbinet/npyio; writing emits the
// version 1.0 format directly, in C order and little-endian.
//
// Supported dtypes: float32 ('<f4'), float64 ('<f8'), int64 ('<i8'), bool
// ('|b1'); int32, int16, int8 and uint8 arrays are read as int64 (class
// indices and lengths). Big-endian files are read; Fortran-ordered arrays
// are transposed to row-major. Complex, string, object and structured arrays
// are rejected with an error, as are truncated files.
package npy

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"strings"

	"codeberg.org/sbinet/npyio/npy"

	"github.com/torchloss/torchloss/tensor"
)

// Read decodes a .npy stream into a tensor.
func Read(r io.Reader) (*tensor.Tensor, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	nr, err := npy.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("npy: not a valid .npy file: %w", err)
	}
	h := nr.Header.Descr
	shape := append([]int{}, h.Shape...)
	n, err := tensor.Numel(shape)
	if err != nil {
		return nil, fmt.Errorf("npy: %w", err)
	}
	typ := strings.Trim(h.Type, `'"`)
	if len(typ) < 3 {
		return nil, fmt.Errorf("npy: unsupported dtype %q", typ)
	}
	var order binary.ByteOrder = binary.LittleEndian
	if typ[0] == '>' {
		order = binary.BigEndian
	}
	kind, size := typ[1], typ[2:]
	// The payload is what follows the header; check its length before
	// decoding so that a truncated file is reported as such.
	want := payloadLen(kind, size, n)
	if want < 0 {
		return nil, fmt.Errorf("npy: unsupported dtype %q (torchloss reads float32, float64, int64/32/16/8, uint8 and bool)", typ)
	}
	hdr := headerLen(data)
	if hdr < 0 || len(data)-hdr < want {
		return nil, fmt.Errorf("npy: truncated file: shape %v of %s needs %d data bytes, the file has %d", shape, typ, want, max(0, len(data)-max(hdr, 0)))
	}
	payload := data[hdr : hdr+want]
	var t *tensor.Tensor
	switch {
	case kind == 'f' && size == "4":
		v := make([]float32, n)
		for i := range v {
			v[i] = math.Float32frombits(order.Uint32(payload[4*i:]))
		}
		t = tensor.MustFromData(v, shape)
	case kind == 'f' && size == "8":
		v := make([]float64, n)
		for i := range v {
			v[i] = math.Float64frombits(order.Uint64(payload[8*i:]))
		}
		t = tensor.MustFromData(v, shape)
	case kind == 'i' || kind == 'u':
		v := make([]int64, n)
		w := len(payload) / max(n, 1)
		for i := range v {
			b := payload[w*i:]
			switch {
			case w == 8 && kind == 'i':
				v[i] = int64(order.Uint64(b))
			case w == 4 && kind == 'i':
				v[i] = int64(int32(order.Uint32(b)))
			case w == 2 && kind == 'i':
				v[i] = int64(int16(order.Uint16(b)))
			case w == 1 && kind == 'i':
				v[i] = int64(int8(b[0]))
			case w == 1 && kind == 'u':
				v[i] = int64(b[0])
			}
		}
		t = tensor.MustFromData(v, shape)
	case kind == 'b':
		v := make([]bool, n)
		for i := range v {
			v[i] = payload[i] != 0
		}
		t = tensor.MustFromData(v, shape)
	}
	if h.Fortran && len(shape) > 1 {
		t = fromFortran(t, shape)
	}
	return t, nil
}

// payloadLen is the number of data bytes of n elements of a supported dtype,
// or -1 for an unsupported one.
func payloadLen(kind byte, size string, n int) int {
	switch {
	case kind == 'f' && size == "4", kind == 'i' && size == "4":
		return 4 * n
	case kind == 'f' && size == "8", kind == 'i' && size == "8":
		return 8 * n
	case kind == 'i' && size == "2":
		return 2 * n
	case (kind == 'i' || kind == 'u' || kind == 'b') && size == "1":
		return n
	}
	return -1
}

// headerLen returns the length of the .npy preamble and header.
func headerLen(data []byte) int {
	if len(data) < 10 || string(data[:6]) != "\x93NUMPY" {
		return -1
	}
	switch data[6] {
	case 1:
		return 10 + int(binary.LittleEndian.Uint16(data[8:]))
	case 2, 3:
		if len(data) < 12 {
			return -1
		}
		return 12 + int(binary.LittleEndian.Uint32(data[8:]))
	}
	return -1
}

// fromFortran reorders column-major data of shape into row-major.
func fromFortran(t *tensor.Tensor, shape []int) *tensor.Tensor {
	n := t.Numel()
	idx := make([]int, n) // idx[rowMajor] = columnMajor
	coord := make([]int, len(shape))
	for i := 0; i < n; i++ {
		// column-major offset of coord
		off, st := 0, 1
		for d := 0; d < len(shape); d++ {
			off += coord[d] * st
			st *= shape[d]
		}
		idx[i] = off
		for d := len(shape) - 1; d >= 0; d-- {
			coord[d]++
			if coord[d] < shape[d] {
				break
			}
			coord[d] = 0
		}
	}
	switch t.DType() {
	case tensor.Float32:
		return tensor.MustFromData(permute(t.Float32s(), idx), shape)
	case tensor.Float64:
		return tensor.MustFromData(permute(t.Float64s(), idx), shape)
	case tensor.Int64:
		return tensor.MustFromData(permute(t.Int64s(), idx), shape)
	default:
		return tensor.MustFromData(permute(t.Bools(), idx), shape)
	}
}

func permute[T any](s []T, idx []int) []T {
	out := make([]T, len(s))
	for i, j := range idx {
		out[i] = s[j]
	}
	return out
}

// ReadFile reads a .npy file.
func ReadFile(name string) (*tensor.Tensor, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	t, err := Read(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return t, nil
}

// Write encodes t as a version 1.0 .npy stream (little-endian, C order).
func Write(w io.Writer, t *tensor.Tensor) error {
	var descr string
	var body []byte
	switch t.DType() {
	case tensor.Float32:
		descr = "<f4"
		for _, v := range t.Float32s() {
			body = binary.LittleEndian.AppendUint32(body, math.Float32bits(v))
		}
	case tensor.Float64:
		descr = "<f8"
		for _, v := range t.Float64s() {
			body = binary.LittleEndian.AppendUint64(body, math.Float64bits(v))
		}
	case tensor.Int64:
		descr = "<i8"
		for _, v := range t.Int64s() {
			body = binary.LittleEndian.AppendUint64(body, uint64(v))
		}
	case tensor.Bool:
		descr = "|b1"
		for _, v := range t.Bools() {
			b := byte(0)
			if v {
				b = 1
			}
			body = append(body, b)
		}
	default:
		return fmt.Errorf("npy: cannot write dtype %v", t.DType())
	}
	dims := make([]string, t.Dim())
	for i, d := range t.Shape() {
		dims[i] = fmt.Sprint(d)
	}
	shape := "(" + strings.Join(dims, ", ")
	if t.Dim() == 1 {
		shape += ","
	}
	shape += ")"
	header := fmt.Sprintf("{'descr': '%s', 'fortran_order': False, 'shape': %s, }", descr, shape)
	// Pad with spaces so that the data starts on a 64-byte boundary, and end
	// the header with a newline.
	total := 10 + len(header) + 1
	header += strings.Repeat(" ", (64-total%64)%64) + "\n"
	var b bytes.Buffer
	b.WriteString("\x93NUMPY\x01\x00")
	_ = binary.Write(&b, binary.LittleEndian, uint16(len(header)))
	b.WriteString(header)
	b.Write(body)
	_, err := w.Write(b.Bytes())
	return err
}

// WriteFile writes t to a .npy file.
func WriteFile(name string, t *tensor.Tensor) error {
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	if err := Write(f, t); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
