package conformance

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"runtime"
	"strings"
	"testing"

	"github.com/torchloss/torchloss/tensor"
)

const oneCase = `{"id": "mse_loss/1", "fn": "mse_loss", "args": {"input": {"dtype": "float64", "shape": [2], "data": [1, 2]}, "target": {"dtype": "float64", "shape": [2], "data": [1, 4]}}, "kwargs": {}, "output": {"dtype": "float64", "shape": [], "data": [2]}}`

func vectorFile(cases ...string) string {
	return `{"format": "torch-loss-vectors/1", "seed": 1, "cases": [` + strings.Join(cases, ",") + `]}`
}

func gz(t testing.TB, parts ...string) []byte {
	var b bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
	for _, p := range parts {
		if _, err := zw.Write([]byte(p)); err != nil {
			t.Fatal(err)
		}
	}
	zw.Close()
	return b.Bytes()
}

// TestReadCasesStreams checks that cases reach the callback one at a time,
// in order, from plain and gzip-compressed files, with format after the
// cases accepted and "cases": null holding none.
func TestReadCasesStreams(t *testing.T) {
	two := strings.Replace(oneCase, "mse_loss/1", "mse_loss/2", 1)
	for _, file := range [][]byte{
		[]byte(vectorFile(oneCase, two)),
		gz(t, vectorFile(oneCase, two)),
		[]byte(`{"cases": [` + oneCase + `,` + two + `], "extra": {"a": [1]}, "format": "torch-loss-vectors/1"}`),
	} {
		var ids []string
		f, err := ReadCases(bytes.NewReader(file), DefaultLimits, func(c *Case) error {
			ids = append(ids, c.ID)
			if r := RunCase(c); r.Status != Pass {
				t.Errorf("%s: %s", c.ID, r.Detail)
			}
			return nil
		})
		if err != nil || f.Format != "torch-loss-vectors/1" || strings.Join(ids, " ") != "mse_loss/1 mse_loss/2" {
			t.Errorf("%v %v %v", f, ids, err)
		}
	}
	f, err := Parse([]byte(`{"format": "torch-loss-vectors/1", "cases": null}`))
	if err != nil || len(f.Cases) != 0 {
		t.Errorf("cases null: %v %v", f, err)
	}
}

// TestReadCasesRejects checks the malformed and hostile files: each is an
// error saying what is wrong.
func TestReadCasesRejects(t *testing.T) {
	lim := Limits{MaxBytes: 1 << 20, MaxCaseBytes: 4 << 10}
	big := strings.Replace(oneCase, `"data": [1, 2]}`, `"data": [1, 2`+strings.Repeat(", 0", 4000)+`]}`, 1)
	for _, tt := range []struct {
		name, file, want string
	}{
		{"duplicate id", vectorFile(oneCase, oneCase), `case #2 repeats the id "mse_loss/1" of case #1`},
		{"wrong format", `{"format": "x", "cases": [` + oneCase + `]}`, "unknown format"},
		{"wrong format after the cases", `{"cases": [], "format": "x"}`, "unknown format"},
		{"no format", `{"cases": []}`, "unknown format"},
		{"not an object", `[1]`, "expected {"},
		{"cases not a list", `{"format": "torch-loss-vectors/1", "cases": 3}`, "cases is not a list"},
		{"truncated", vectorFile(oneCase)[:100], "unexpected EOF"},
		{"trailing data", vectorFile(oneCase) + "{}", "after the top-level object"},
		{"a case over the limit", vectorFile(big), "case #1 is larger than 4096 bytes"},
		{"a field over the limit", `{"x": "` + strings.Repeat("a", 5000) + `"}`, `field "x" is larger`},
		// Every id and function name is kept for the report (and the ids
		// for the duplicate check): a 1 MB gzip of 1000 cases with 1 MB
		// names would hold a gigabyte.
		{"a long id", vectorFile(strings.Replace(oneCase, `"mse_loss/1"`, `"mse_loss/`+strings.Repeat("1", MaxIDBytes)+`"`, 1)), "the id is 265 bytes long, more than 256"},
		{"a long function name", vectorFile(strings.Replace(oneCase, `"fn": "mse_loss"`, `"fn": "`+strings.Repeat("f", MaxFnBytes+1)+`"`, 1)), "fn is 65 bytes long, more than 64"},
		{"a file over the limit", `{"format": "torch-loss-vectors/1"` + strings.Repeat(" ", 2<<20) + `}`, "more than 1048576 bytes of JSON"},
	} {
		_, err := ReadCases(strings.NewReader(tt.file), lim, func(*Case) error { return nil })
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err %v, want one containing %q", tt.name, err, tt.want)
		}
	}
}

// TestReadCasesSpaceBomb: a gzip stream of a JSON document padded with
// 64 MiB of spaces (a 65 KB file) is rejected at the limit without holding
// the spaces in memory (and without rescanning them: encoding/json's
// Decoder alone takes minutes over such a run).
func TestReadCasesSpaceBomb(t *testing.T) {
	if testing.Short() {
		t.Skip("compresses 64 MiB")
	}
	var b bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&b, gzip.BestSpeed)
	zw.Write([]byte(`{"format": "torch-loss-vectors/1", "cases": [`))
	spaces := bytes.Repeat([]byte{' '}, 1<<20)
	for range 64 {
		zw.Write(spaces)
	}
	zw.Write([]byte(`]}`))
	zw.Close()
	var ms runtime.MemStats
	runtime.GC()
	lim := Limits{MaxBytes: 48 << 20, MaxCaseBytes: 16 << 20}
	_, err := ReadCases(bytes.NewReader(b.Bytes()), lim, func(*Case) error { return nil })
	runtime.ReadMemStats(&ms)
	if err == nil || !strings.Contains(err.Error(), "more than 50331648 bytes") {
		t.Errorf("err %v", err)
	}
	if ms.HeapInuse > 32<<20 {
		t.Errorf("heap in use %d MiB", ms.HeapInuse>>20)
	}
}

// TestToTensorChecksBeforeAllocating: a shape the data cannot fill is an
// error before the shape is allocated.
func TestToTensorChecksBeforeAllocating(t *testing.T) {
	for _, tt := range []struct {
		t    Tensor
		want string
	}{
		{Tensor{DType: "float64", Shape: []int{1 << 30}, Data: json.RawMessage(`[1, 2]`)}, "has 2 values"},
		{Tensor{DType: "float64", Shape: []int{2}, Data: json.RawMessage(`[1, "x"]`)}, `expected a number, got "x"`},
		{Tensor{DType: "float64", Shape: []int{2}, Data: json.RawMessage(`[1, [2]]`)}, "not a number"},
		{Tensor{DType: "int64", Shape: []int{1}, Data: json.RawMessage(`[1.5]`)}, "expected an int64"},
		{Tensor{DType: "bool", Shape: []int{1}, Data: json.RawMessage(`[1]`)}, "expected true or false"},
		{Tensor{DType: "float64", Shape: []int{1}, Data: json.RawMessage(`{}`)}, "not a list"},
	} {
		var ms0, ms1 runtime.MemStats
		runtime.ReadMemStats(&ms0)
		_, err := tt.t.ToTensor()
		runtime.ReadMemStats(&ms1)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%+v: err %v, want %q", tt.t, err, tt.want)
		}
		if ms1.TotalAlloc-ms0.TotalAlloc > 1<<20 {
			t.Errorf("%+v: allocated %d bytes", tt.t, ms1.TotalAlloc-ms0.TotalAlloc)
		}
	}
}

// TestTransformOfMissingArgument: a transform naming an argument the case
// does not have fails the case.
func TestTransformOfMissingArgument(t *testing.T) {
	c := &Case{ID: "x", Fn: "mse_loss",
		Args: map[string]json.RawMessage{
			"input":  json.RawMessage(`{"dtype": "float64", "shape": [1], "data": [1]}`),
			"target": json.RawMessage(`{"dtype": "float64", "shape": [1], "data": [1]}`),
		},
		Transform: map[string]Transform{"inptu": {Op: "sigmoid"}},
		Output:    &Tensor{DType: "float64", Shape: []int{}, Data: json.RawMessage(`[0]`)},
	}
	if r := RunCase(c); r.Status != Fail || !strings.Contains(r.Detail, `no tensor argument "inptu"`) {
		t.Errorf("%v: %s", r.Status, r.Detail)
	}
}

// TestSummaryEscapes: ids and function names from a file cannot forge
// report lines or colours.
func TestSummaryEscapes(t *testing.T) {
	rep := NewReport()
	rep.Add(Result{ID: "a\x1b[31m\nFAIL forged", Fn: "mse_loss", Status: Fail, Detail: "x"})
	rep.Add(Result{ID: "b", Fn: "evil\nfn", Status: Unsupported})
	s := rep.Summary(true)
	if strings.Contains(s, "\x1b") || strings.Count(s, "\n") != 4 || !strings.Contains(s, `FAIL "a\x1b[31m\nFAIL forged": x`) || !strings.Contains(s, `"evil\nfn"`) {
		t.Errorf("%q", s)
	}
}

// FuzzReadCases checks that every input is an error or a stream of cases
// that run without a panic escaping RunCase.
func FuzzReadCases(f *testing.F) {
	f.Add([]byte(vectorFile(oneCase)))
	f.Add(gz(f, vectorFile(oneCase)))
	f.Add([]byte(`{"format": "torch-loss-vectors/1", "cases": null}`))
	f.Add([]byte(`{"format": "torch-loss-vectors/1", "cases": [{"id": "c", "fn": "ctc_loss", "args": {"log_probs": {"dtype": "float32", "shape": [2, 1, 3], "data": [-1, -1, -1, -1, -1, -1]}, "targets": [1], "input_lengths": [2], "target_lengths": [1]}, "kwargs": {"reduction": "sum"}, "transform": {"log_probs": {"op": "log_softmax", "dim": 2}}}]}`))
	lim := Limits{MaxBytes: 1 << 20, MaxCaseBytes: 64 << 10}
	// A small case may broadcast to a large shape ((n, 1) against (1, n)):
	// keep what one input may allocate small.
	defer tensor.SetMaxElements(tensor.SetMaxElements(1 << 20))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = ReadCases(bytes.NewReader(b), lim, func(c *Case) error {
			r := RunCase(c)
			if r.Status == Fail && strings.HasPrefix(r.Detail, "panic") {
				t.Fatalf("%s: %s", c.ID, r.Detail)
			}
			return nil
		})
	})
}
