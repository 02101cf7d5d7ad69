package npy

import (
	"bytes"
	"encoding/binary"
	"math"
	"os"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/torchloss/torchloss/tensor"
)

// The fixtures in testdata were written by numpy.save (numpy 1.24).
func TestReadFixtures(t *testing.T) {
	tests := []struct {
		file  string
		dtype tensor.DType
		shape []int
		want  []float64
	}{
		{"f32.npy", tensor.Float32, []int{2, 3}, []float64{1.5, -2, 3, 4, float64(float32(5e-8)), -6.25}},
		{"f64_scalar.npy", tensor.Float64, []int{}, []float64{2.718281828459045}},
		{"i64.npy", tensor.Int64, []int{4}, []float64{3, -1, 0, 7}},
		{"i32.npy", tensor.Int64, []int{2, 2}, []float64{1, 2, 3, 4}},
		{"bool.npy", tensor.Bool, []int{3}, []float64{1, 0, 1}},
		{"f4_big.npy", tensor.Float32, []int{3}, []float64{1.5, -2, 3}},
		{"f64_fortran.npy", tensor.Float64, []int{2, 3}, []float64{1, 2, 3, 4, 5, 6}},
		{"empty.npy", tensor.Float32, []int{0, 3}, []float64{}},
	}
	for _, tt := range tests {
		got, err := ReadFile("testdata/" + tt.file)
		if err != nil {
			t.Errorf("%s: %v", tt.file, err)
			continue
		}
		if got.DType() != tt.dtype || !reflect.DeepEqual(got.Shape(), tt.shape) || !reflect.DeepEqual(got.Values(), tt.want) {
			t.Errorf("%s: %v %v %v, want %v %v %v", tt.file, got.DType(), got.Shape(), got.Values(), tt.dtype, tt.shape, tt.want)
		}
	}
}

func TestReadRejects(t *testing.T) {
	for file, want := range map[string]string{
		"complex.npy":   "unsupported dtype",
		"truncated.npy": "truncated",
	} {
		_, err := ReadFile("testdata/" + file)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err %v, want one containing %q", file, err, want)
		}
	}
	if _, err := Read(strings.NewReader("not a numpy file at all")); err == nil {
		t.Error("garbage: want an error")
	}
}

func TestWriteRoundTrip(t *testing.T) {
	for _, x := range []*tensor.Tensor{
		tensor.MustNew([]float32{1, -2.5, 3, 4, 5, 6}, 3, 2),
		tensor.Scalar(0.1),
		tensor.MustNew([]int64{5, -7}, 2),
		tensor.MustNew([]bool{true, false}, 1, 2),
	} {
		var b bytes.Buffer
		if err := Write(&b, x); err != nil {
			t.Fatal(err)
		}
		if b.Len()%64 != int(x.Numel()*map[tensor.DType]int{tensor.Float32: 4, tensor.Float64: 8, tensor.Int64: 8, tensor.Bool: 1}[x.DType()])%64 {
			t.Errorf("%v: data does not start on a 64-byte boundary", x)
		}
		y, err := Read(&b)
		if err != nil {
			t.Fatal(err)
		}
		if y.DType() != x.DType() || !reflect.DeepEqual(y.Shape(), x.Shape()) || !reflect.DeepEqual(y.Values(), x.Values()) {
			t.Errorf("round trip of %v gave %v", x, y)
		}
	}
}

// npyFile builds a .npy file: the magic string, version major.0, the
// header length (2 bytes for version 1, 4 otherwise), the header and data.
func npyFile(major byte, header string, data []byte) []byte {
	b := []byte{0x93, 'N', 'U', 'M', 'P', 'Y', major, 0}
	if major == 1 {
		b = binary.LittleEndian.AppendUint16(b, uint16(len(header)))
	} else {
		b = binary.LittleEndian.AppendUint32(b, uint32(len(header)))
	}
	return append(append(b, header...), data...)
}

func f32le(v ...float32) []byte {
	var b []byte
	for _, x := range v {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(x))
	}
	return b
}

// TestReadHeaderRules checks numpy's header rules on headers numpy loads
// (numpy 1.24: any key order, no trailing newline, version 3, a repeated
// key whose last value wins, '|' and no byte order for native) and on
// headers it rejects.
func TestReadHeaderRules(t *testing.T) {
	data := f32le(1, 2, 3)
	for _, h := range []string{
		"{'shape': (3,), 'fortran_order': False, 'descr': '<f4', }",
		"{'descr': '<f4', 'fortran_order': False, 'shape': (3,)}",
		"{\"descr\": \"<f4\", \"fortran_order\": False, \"shape\": (3, ), }   \n",
		"{'descr': 'f4', 'fortran_order': False, 'shape': (3,), 'descr': '<f4'}",
		"{'descr': '|f4', 'fortran_order': True, 'shape': (3,)}",
	} {
		for _, v := range []byte{1, 2, 3} {
			x, err := Read(bytes.NewReader(npyFile(v, h, data)))
			if err != nil {
				t.Errorf("v%d %q: %v", v, h, err)
				continue
			}
			if !reflect.DeepEqual(x.Shape(), []int{3}) || !reflect.DeepEqual(x.Values(), []float64{1, 2, 3}) {
				t.Errorf("v%d %q: read %v", v, h, x)
			}
		}
	}
	for _, tt := range []struct{ header, want string }{
		{"{'descr': 'Xf4', 'fortran_order': False, 'shape': (3,), }", "unsupported dtype"},
		{"{'descr': <f4, 'fortran_order': False, 'shape': (3,), }", "malformed header"},
		{"{'descr': '<f4', 'fortran_order': False, 'shape': [3], }", "shape is a list"},
		{"{'descr': '<f4', 'fortran_order': False, 'shape': 3, }", "shape is the int 3"},
		{"{'descr': '<f4', 'fortran_order': False, 'shape': (3), }", "shape is the int 3"},
		{"{'descr': '<f4', 'fortran_order': False, 'shape': , }", "expected a value"},
		{"{'descr': '<f4', 'fortran_order': False, 'shape': (3,), ", "expected a value"},
		{"{'descr': '<f4', 'fortran_order': False, 'shape': (3,)", "expected ',' or '}'"},
		{"{'descr': '<f4', 'fortran_order': 0, 'shape': (3,)}", "fortran_order is the int 0"},
		{"{'descr': '<f4', 'shape': (3,)}", "no fortran_order"},
		{"{'descr': '<f4', 'fortran_order': False, 'shape': (3,), 'x': 1}", "unexpected key"},
		{"{'descr': '<f4', 'fortran_order': False, 'shape': (-3,)}", "negative dimension"},
		{"{'descr': '<f4', 'fortran_order': False, 'shape': (True,)}", "not an int"},
		{"{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,)}", "too large"},
		{"{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296)}", "overflows"},
		{"['descr']", "not a dict"},
		{"", "expected a value"},
		{"{'descr': '<c8', 'fortran_order': False, 'shape': (3,)}", "unsupported dtype"},
		{"{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (3,)}", "unsupported dtype"},
		{"{'descr': '<f4', 'fortran_order': False, 'shape': (" + strings.Repeat("1,", 65) + ")}", "65 dimensions, more than 64"},
		{"{'descr': '<f4', 'fortran_order': False, 'shape': (((((((((((3,),),),),),),),),),),)}", "nested deeper"},
	} {
		_, err := Read(bytes.NewReader(npyFile(1, tt.header, data)))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: err %v, want one containing %q", tt.header, err, tt.want)
		}
	}
}

// TestReadHostilePreamble checks files cut or lying in the preamble: each
// is an error, never a panic, and none allocates for what it declares.
func TestReadHostilePreamble(t *testing.T) {
	good := npyFile(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }\n", f32le(1, 2, 3))
	hdrEnd := 10 + int(binary.LittleEndian.Uint16(good[8:]))
	longer := append([]byte{}, good...)
	binary.LittleEndian.PutUint16(longer[8:], uint16(hdrEnd-10+4)) // 4 data bytes read as header
	shorter := append([]byte{}, good...)
	binary.LittleEndian.PutUint16(shorter[8:], uint16(hdrEnd-10-8))
	zero := append([]byte{}, good...)
	binary.LittleEndian.PutUint16(zero[8:], 0)
	for _, tt := range []struct {
		name string
		file []byte
		want string
	}{
		{"issue's 11 bytes", []byte("\x93NUMPY\x01000"), "version 1.48"},
		{"cut in the length", []byte("\x93NUMPY\x01\x00\x10"), "truncated"},
		{"v2 length 0xFFFFFFFF", []byte("\x93NUMPY\x02\x00\xff\xff\xff\xff"), "more than the 10000"},
		{"v2 length 10001", append([]byte("\x93NUMPY\x02\x00\x11\x27\x00\x00"), make([]byte, 10001)...), "more than the 10000"},
		{"version 4", []byte("\x93NUMPY\x04\x00\x10\x00"), "version 4.0"},
		{"version 1.1", []byte("\x93NUMPY\x01\x01\x10\x00"), "version 1.1"},
		{"no magic", []byte("\x93NUMPX\x01\x00\x10\x00"), "magic"},
		{"empty", nil, "shorter than the magic"},
		{"cut in the header", good[:40], "truncated"},
		{"cut in the data", good[:len(good)-1], "truncated"},
		{"header length too long by 4", longer, "after the dict"},
		{"header length too short", shorter, "malformed header"},
		{"header length 0", zero, "expected a value"},
		{"shape larger than the file", npyFile(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (1000000000,)}", nil), "truncated"},
		{"NUL in the header", npyFile(1, "{'descr': '<f\x004', 'fortran_order': False, 'shape': (3,)}", nil), "NUL"},
	} {
		var ms0, ms1 runtime.MemStats
		runtime.ReadMemStats(&ms0)
		_, err := Read(bytes.NewReader(tt.file))
		runtime.ReadMemStats(&ms1)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err %v, want one containing %q", tt.name, err, tt.want)
		}
		if a := ms1.TotalAlloc - ms0.TotalAlloc; a > 1<<20 {
			t.Errorf("%s: allocated %d bytes", tt.name, a)
		}
	}
}

// TestReadExactly checks that Read consumes the header and the declared
// data and nothing after it.
func TestReadExactly(t *testing.T) {
	file := npyFile(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,)}\n", f32le(1, 2, 3))
	r := bytes.NewReader(file)
	x, err := Read(r)
	if err != nil || !reflect.DeepEqual(x.Values(), []float64{1, 2}) {
		t.Fatalf("%v %v", x, err)
	}
	if r.Len() != 4 {
		t.Errorf("%d bytes left after the array, want 4", r.Len())
	}
}

// TestReadFortranOrder checks column-major reading against the index
// arithmetic: element (i0, ..., ik) of a Fortran array sits at offset
// i0 + d0*(i1 + d1*(...)), for shapes with dimensions of size 1 anywhere.
func TestReadFortranOrder(t *testing.T) {
	for _, shape := range [][]int{{2, 3}, {2, 1, 3, 1, 2}, {1, 1, 4}, {3, 2, 2}, append(make([]int, 0, 64), 2, 3)} {
		n := 1
		for _, d := range shape {
			n *= d
		}
		vals := make([]float32, n)
		for i := range vals {
			vals[i] = float32(i)
		}
		dims := make([]string, len(shape))
		for i, d := range shape {
			dims[i] = strconv.Itoa(d)
		}
		h := "{'descr': '<f4', 'fortran_order': True, 'shape': (" + strings.Join(dims, ", ") + ",)}"
		x, err := Read(bytes.NewReader(npyFile(1, h, f32le(vals...))))
		if err != nil {
			t.Fatal(err)
		}
		got := x.Values()
		coord := make([]int, len(shape))
		for i := 0; i < n; i++ {
			off, st := 0, 1
			for d := range shape {
				off += coord[d] * st
				st *= shape[d]
			}
			if got[i] != float64(off) {
				t.Fatalf("shape %v: row-major element %d (coord %v) = %v, want %d", shape, i, coord, got[i], off)
			}
			for d := len(shape) - 1; d >= 0; d-- {
				if coord[d]++; coord[d] < shape[d] {
					break
				}
				coord[d] = 0
			}
		}
	}
	// 63 dimensions of size 1 and a long one: the dimensions of size 1
	// cost nothing per element.
	h := "{'descr': '|u1', 'fortran_order': True, 'shape': (" + strings.Repeat("1, ", 63) + "100000)}"
	x, err := Read(bytes.NewReader(npyFile(1, h, make([]byte, 100000))))
	if err != nil || x.Numel() != 100000 || x.Dim() != 64 {
		t.Fatalf("%v %v", x.Shape(), err)
	}
}

func TestReadFileRefusesNonRegular(t *testing.T) {
	for _, name := range []string{"/dev/zero", "testdata"} {
		if _, err := os.Stat(name); err != nil {
			continue
		}
		_, err := ReadFile(name)
		if err == nil || !strings.Contains(err.Error(), "not a regular file") {
			t.Errorf("%s: err %v, want not a regular file", name, err)
		}
	}
}

// TestReadUint8Header checks that ReadFileWithHeader tells the file's
// dtype when the tensor's differs.
func TestReadUint8Header(t *testing.T) {
	x, h, err := ReadWithHeader(bytes.NewReader(npyFile(1, "{'descr': '|u1', 'fortran_order': False, 'shape': (2,)}", []byte{7, 255})))
	if err != nil || h.Descr != "|u1" || x.DType() != tensor.Int64 || !reflect.DeepEqual(x.Values(), []float64{7, 255}) {
		t.Errorf("%v %+v %v", x, h, err)
	}
}

// FuzzNpyRead checks that every input is an error or a well-formed tensor
// whose element count matches its shape, never a panic.
func FuzzNpyRead(f *testing.F) {
	f.Add(npyFile(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }\n", f32le(1, 2, 3)))
	f.Add(npyFile(3, "{'shape': (2, 2), 'fortran_order': True, 'descr': '>i4'}", make([]byte, 16)))
	f.Add(npyFile(2, "{'descr': '|b1', 'fortran_order': False, 'shape': ()}", []byte{1}))
	f.Add([]byte("\x93NUMPY\x01000"))
	for _, name := range []string{"f32.npy", "f64_fortran.npy", "bool.npy", "i32.npy"} {
		if b, err := os.ReadFile("testdata/" + name); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		x, err := Read(bytes.NewReader(b))
		if err != nil {
			if x != nil {
				t.Fatal("a tensor and an error")
			}
			return
		}
		n := 1
		for _, d := range x.Shape() {
			n *= d
		}
		if n != x.Numel() || len(x.Values()) != n || x.Dim() > MaxDims {
			t.Fatalf("shape %v with %d values", x.Shape(), len(x.Values()))
		}
	})
}
