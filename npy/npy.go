// Package npy reads and writes tensors as NumPy .npy files (numpy.save /
// numpy.load), so that a Go pipeline can be checked against a Python one on
// the same arrays. Writing emits the version 1.0 format, in C order and
// little-endian.
//
// Supported dtypes: float32 ('<f4'), float64 ('<f8'), int64 ('<i8'), bool
// ('|b1'); int32, int16, int8 and uint8 arrays are read as int64 (class
// indices and lengths). Big-endian files are read; Fortran-ordered arrays
// are transposed to row-major. Complex, string, object and structured arrays
// are rejected with an error, as are truncated files and headers numpy
// would not load. Reading never panics and allocates no more than the
// bytes that arrive: the header is at most MaxHeaderLen bytes, a shape at
// most MaxDims dimensions and tensor.MaxElements elements.
package npy

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strings"

	"github.com/torchloss/torchloss"
	"github.com/torchloss/torchloss/internal/files"
	"github.com/torchloss/torchloss/tensor"
)

// Read decodes a .npy stream into a tensor. It reads the header (see
// ReadHeader), then exactly the data bytes the header declares: nothing
// after them. A stream that ends early is an error, and the memory read
// grows with the bytes that actually arrive, so a short stream declaring a
// large shape fails without allocating for the shape.
func Read(r io.Reader) (*tensor.Tensor, error) {
	t, _, err := read(r, -1)
	return t, err
}

// ReadWithHeader is Read that also returns the header, whose Descr tells
// the file's dtype (an int32 or uint8 file gives an int64 tensor).
func ReadWithHeader(r io.Reader) (*tensor.Tensor, Header, error) { return read(r, -1) }

// read decodes a .npy stream; size is the stream's length when known (a
// regular file), else -1.
func read(r io.Reader, size int64) (*tensor.Tensor, Header, error) {
	cr := &countReader{r: r}
	h, err := ReadHeader(cr)
	if err != nil {
		return nil, h, err
	}
	shape := append([]int{}, h.Shape...)
	n, err := tensor.Numel(shape)
	if err != nil {
		return nil, h, relabel(err, "")
	}
	d, ok := parseDescr(h.Descr)
	if !ok {
		return nil, h, torchloss.Errorf(torchloss.ErrDType, "npy", "", "unsupported dtype %q (torchloss reads float32, float64, int64/32/16/8, uint8 and bool)", h.Descr)
	}
	want := int64(n) * int64(d.size)
	if size >= 0 && size-cr.n < want {
		return nil, h, truncated(shape, h.Descr, want, size-cr.n)
	}
	t, err := decode(cr, d, n, shape, size >= 0)
	if err != nil {
		return nil, h, err
	}
	if h.Fortran && len(shape) > 1 {
		t = fromFortran(t, shape)
	}
	return t, h, nil
}

func truncated(shape []int, descr string, want, have int64) error {
	return torchloss.Errorf(torchloss.ErrValue, "npy", "", "truncated file: shape %v of %s needs %d data bytes, the file has %d", shape, descr, want, max(have, 0))
}

// countReader counts the bytes read through it.
type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// readElems reads n elements of size bytes from r, converting each with
// conv, in chunks: into a slice allocated at once when the bytes are known
// to be there (exact), else grown as they arrive. A stream that ends early
// returns the bytes it had.
func readElems[T any](r io.Reader, n, size int, exact bool, conv func([]byte) T) ([]T, int64, error) {
	var out []T
	if exact {
		out = make([]T, 0, n)
	}
	buf := make([]byte, 64<<10)
	for len(out) < n {
		k, err := io.ReadFull(r, buf[:min(len(buf)/size, n-len(out))*size])
		for i := 0; i+size <= k; i += size {
			out = append(out, conv(buf[i:]))
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return nil, int64(len(out)*size + k%size), nil
		}
		if err != nil {
			return nil, 0, err
		}
	}
	return out, int64(n * size), nil
}

// dtype is a parsed numpy dtype string.
type dtype struct {
	kind  byte // 'f', 'i', 'u', 'b'
	size  int
	order binary.ByteOrder
	descr string
}

// parseDescr parses numpy's typestr: an optional byte order ('<', '>', '|'
// or '=', the last two and none meaning native), a kind and a size.
func parseDescr(s string) (dtype, bool) {
	d := dtype{order: binary.NativeEndian, descr: s}
	if s != "" {
		switch s[0] {
		case '<':
			d.order, s = binary.LittleEndian, s[1:]
		case '>':
			d.order, s = binary.BigEndian, s[1:]
		case '|', '=':
			s = s[1:]
		}
	}
	switch s {
	case "f4", "f8", "i8", "i4", "i2", "i1", "u1", "b1":
		d.kind, d.size = s[0], int(s[1]-'0')
		return d, true
	}
	return d, false
}

// decode reads n elements of dtype d from r into a tensor of shape; exact
// tells that the bytes are known to be there.
func decode(r io.Reader, d dtype, n int, shape []int, exact bool) (*tensor.Tensor, error) {
	var t *tensor.Tensor
	var have int64
	var err error
	switch {
	case d.kind == 'f' && d.size == 4:
		var v []float32
		v, have, err = readElems(r, n, 4, exact, func(b []byte) float32 { return math.Float32frombits(d.order.Uint32(b)) })
		if v != nil {
			t, err = tensor.New(v, shape...)
		}
	case d.kind == 'f':
		var v []float64
		v, have, err = readElems(r, n, 8, exact, func(b []byte) float64 { return math.Float64frombits(d.order.Uint64(b)) })
		if v != nil {
			t, err = tensor.New(v, shape...)
		}
	case d.kind == 'b':
		var v []bool
		v, have, err = readElems(r, n, 1, exact, func(b []byte) bool { return b[0] != 0 })
		if v != nil {
			t, err = tensor.New(v, shape...)
		}
	default:
		conv := map[int]func([]byte) int64{
			8: func(b []byte) int64 { return int64(d.order.Uint64(b)) },
			4: func(b []byte) int64 { return int64(int32(d.order.Uint32(b))) },
			2: func(b []byte) int64 { return int64(int16(d.order.Uint16(b))) },
			1: func(b []byte) int64 { return int64(int8(b[0])) },
		}[d.size]
		if d.kind == 'u' {
			conv = func(b []byte) int64 { return int64(b[0]) }
		}
		var v []int64
		v, have, err = readElems(r, n, d.size, exact, conv)
		if v != nil {
			t, err = tensor.New(v, shape...)
		}
	}
	if err != nil {
		return nil, relabel(err, "")
	}
	if t == nil {
		return nil, truncated(shape, d.descr, int64(n)*int64(d.size), have)
	}
	return t, nil
}

// relabel re-labels a tensor error as npy's, keeping its kind; arg names
// the file.
func relabel(err error, arg string) error {
	if err == nil {
		return nil
	}
	var te *torchloss.Error
	if errors.As(err, &te) {
		if te.Op == "npy" && te.Arg == arg {
			return te
		}
		return &torchloss.Error{Op: "npy", Arg: arg, Kind: te.Kind, Msg: te.Msg}
	}
	return torchloss.Errorf(torchloss.ErrValue, "npy", arg, "%v", err)
}

// fromFortran reorders column-major data of shape into row-major, in time
// linear in the element count: dimensions of size 1 are dropped, and an
// odometer over the rest moves the column-major offset by strides.
func fromFortran(t *tensor.Tensor, shape []int) *tensor.Tensor {
	var dims, strides []int
	st := 1
	for _, d := range shape {
		if d != 1 {
			dims = append(dims, d)
			strides = append(strides, st)
		}
		st *= d
	}
	n := t.Numel()
	idx := make([]int, n) // idx[rowMajor] = columnMajor
	if n > 0 && len(dims) > 1 {
		coord := make([]int, len(dims))
		off := 0
		for i := range idx {
			idx[i] = off
			for d := len(dims) - 1; d >= 0; d-- {
				coord[d]++
				off += strides[d]
				if coord[d] < dims[d] {
					break
				}
				off -= strides[d] * dims[d]
				coord[d] = 0
			}
		}
	} else {
		for i := range idx {
			idx[i] = i
		}
	}
	var out *tensor.Tensor
	switch t.DType() {
	case tensor.Float32:
		out, _ = tensor.New(permute(t.Float32s(), idx), shape...)
	case tensor.Float64:
		out, _ = tensor.New(permute(t.Float64s(), idx), shape...)
	case tensor.Int64:
		out, _ = tensor.New(permute(t.Int64s(), idx), shape...)
	default:
		out, _ = tensor.New(permute(t.Bools(), idx), shape...)
	}
	return out
}

func permute[T any](s []T, idx []int) []T {
	out := make([]T, len(s))
	for i, j := range idx {
		out[i] = s[j]
	}
	return out
}

// ReadFile reads a .npy file. Only regular files are read: a FIFO, a device
// such as /dev/zero or a directory is refused before it is opened, and the
// file's size is checked against the header before the data is allocated.
// Errors name the file (torchloss.Error's Arg).
func ReadFile(name string) (*tensor.Tensor, error) {
	t, _, err := ReadFileWithHeader(name)
	return t, err
}

// ReadFileWithHeader is ReadFile that also returns the header.
func ReadFileWithHeader(name string) (*tensor.Tensor, Header, error) {
	f, size, err := files.OpenRegular(name)
	if err != nil {
		return nil, Header{}, err
	}
	defer f.Close()
	t, h, err := read(f, size)
	return t, h, relabel(err, name)
}

// Write encodes t as a version 1.0 .npy stream (little-endian, C order),
// through a buffer of its own: the data is not copied whole.
func Write(w io.Writer, t *tensor.Tensor) error {
	var descr string
	switch t.DType() {
	case tensor.Float32:
		descr = "<f4"
	case tensor.Float64:
		descr = "<f8"
	case tensor.Int64:
		descr = "<i8"
	case tensor.Bool:
		descr = "|b1"
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
	bw := bufio.NewWriterSize(w, 64<<10)
	bw.WriteString("\x93NUMPY\x01\x00")
	bw.Write(binary.LittleEndian.AppendUint16(nil, uint16(len(header))))
	bw.WriteString(header)
	var b [8]byte
	switch t.DType() {
	case tensor.Float32:
		for _, v := range t.Float32s() {
			binary.LittleEndian.PutUint32(b[:], math.Float32bits(v))
			bw.Write(b[:4])
		}
	case tensor.Float64:
		for _, v := range t.Float64s() {
			binary.LittleEndian.PutUint64(b[:], math.Float64bits(v))
			bw.Write(b[:8])
		}
	case tensor.Int64:
		for _, v := range t.Int64s() {
			binary.LittleEndian.PutUint64(b[:], uint64(v))
			bw.Write(b[:8])
		}
	default:
		for _, v := range t.Bools() {
			if v {
				bw.WriteByte(1)
			} else {
				bw.WriteByte(0)
			}
		}
	}
	return bw.Flush()
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
