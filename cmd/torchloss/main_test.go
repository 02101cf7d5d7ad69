package main

import (
	"bytes"
	"encoding/json"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/torchloss/torchloss/conformance"
	"github.com/torchloss/torchloss/internal/losses"
	"github.com/torchloss/torchloss/npy"
	"github.com/torchloss/torchloss/tensor"
)

// TestEvalMatchesPyTorch runs `torchloss eval` on the fixtures in
// testdata/eval, saved by numpy.save from PyTorch (1.13) with the loss's
// output and gradients, and compares within FORMAT.md's tolerances.
func TestEvalMatchesPyTorch(t *testing.T) {
	dirs, err := filepath.Glob("testdata/eval/*/call.json")
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	for _, callFile := range dirs {
		dir := filepath.Dir(callFile)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			var call struct {
				Fn     string         `json:"fn"`
				Kwargs map[string]any `json:"kwargs"`
			}
			data, _ := os.ReadFile(callFile)
			if err := json.Unmarshal(data, &call); err != nil {
				t.Fatal(err)
			}
			args := []string{call.Fn, "--out", t.TempDir()}
			inputs, _ := filepath.Glob(filepath.Join(dir, "*.npy"))
			for _, f := range inputs {
				name := strings.TrimSuffix(filepath.Base(f), ".npy")
				switch {
				case strings.HasPrefix(name, "want_"):
				case name == "grad_output":
					args = append(args, "--grad-output", f)
				default:
					args = append(args, "--arg", name+"="+f)
				}
			}
			keys := make([]string, 0, len(call.Kwargs))
			for k := range call.Kwargs {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				v, _ := json.Marshal(call.Kwargs[k])
				args = append(args, "--kw", k+"="+strings.Trim(string(v), `"`))
			}
			out := args[2]
			var stdout, stderr bytes.Buffer
			if code := evalCmd(args, &stdout, &stderr); code != 0 {
				t.Fatalf("eval %v: exit %d: %s", args, code, stderr.String())
			}
			wants, _ := filepath.Glob(filepath.Join(dir, "want_*.npy"))
			for _, w := range wants {
				name := strings.TrimPrefix(filepath.Base(w), "want_")
				want, err := npy.ReadFile(w)
				if err != nil {
					t.Fatal(err)
				}
				got, err := npy.ReadFile(filepath.Join(out, name))
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				checkClose(t, name, got, want)
			}
		})
	}
}

func checkClose(t *testing.T, name string, got, want *tensor.Tensor) {
	t.Helper()
	if got.DType() != want.DType() || !equalShape(got.Shape(), want.Shape()) {
		t.Errorf("%s: %v %v, want %v %v", name, got.DType(), got.Shape(), want.DType(), want.Shape())
		return
	}
	tol := conformance.Tolerances[want.DType()]
	g, w := got.Values(), want.Values()
	for i := range w {
		if math.Abs(g[i]-w[i]) > tol.Atol+tol.Rtol*math.Abs(w[i]) {
			t.Errorf("%s[%d] = %v, want %v", name, i, g[i], w[i])
		}
	}
}

func equalShape(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestEvalRejectsComplex(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := evalCmd([]string{"l1_loss", "--arg", "input=testdata/eval/complex.npy", "--arg", "target=testdata/eval/complex.npy", "--out", t.TempDir()}, &stdout, &stderr)
	if code == 0 || !strings.Contains(stderr.String(), "unsupported dtype") {
		t.Errorf("exit %d, stderr %q: want a failure naming the unsupported dtype", code, stderr.String())
	}
}

// TestPlotCoversTable checks that plot has a figure for every loss of the
// table and for nothing else.
func TestPlotCoversTable(t *testing.T) {
	if got, want := plotNames(), losses.Names(); !slices.Equal(got, want) {
		t.Errorf("plot draws %v, the table has %v", got, want)
	}
	if len(figures) != len(losses.Table) {
		t.Errorf("%d figures for %d losses", len(figures), len(losses.Table))
	}
}

// TestPlotWritesPNG draws every plottable loss and checks the PNG decodes to
// the documented 9×9 inch canvas.
func TestPlotWritesPNG(t *testing.T) {
	dir := t.TempDir()
	for _, fn := range []string{"binary_cross_entropy", "huber_loss", "ctc_loss", "cross_entropy", "triplet_margin_with_distance_loss"} {
		name := filepath.Join(dir, fn+".png")
		var stdout, stderr bytes.Buffer
		if code := plotCmd([]string{fn, "-o", name}, &stdout, &stderr); code != 0 {
			t.Fatalf("plot %s: exit %d: %s", fn, code, stderr.String())
		}
		f, err := os.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := png.DecodeConfig(f)
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", fn, err)
		}
		if cfg.Width != 864 || cfg.Height != 864 {
			t.Errorf("%s: %dx%d, want 864x864 (9 inches at 96 dpi)", fn, cfg.Width, cfg.Height)
		}
	}
}

func TestDemoRunsAllTen(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := demo(nil, &stdout, &stderr); code != 0 {
		t.Fatalf("demo: exit %d: %s", code, stderr.String())
	}
	out := stdout.String()
	if n := strings.Count(out, "\n== "); n != 9 || !strings.HasPrefix(out, "== ") {
		t.Errorf("demo printed %d example headers, want 10", n+1)
	}
	if n := strings.Count(out, "loss: tensor("); n != 11 { // cross_entropy prints two losses
		t.Errorf("demo printed %d losses, want 11", n)
	}
	// One example alone prints what it prints among the ten.
	var one bytes.Buffer
	if code := demo([]string{"kl_div"}, &one, &stderr); code != 0 {
		t.Fatal(stderr.String())
	}
	if !strings.Contains(out, one.String()) {
		t.Errorf("demo kl_div alone differs from its part of the full demo")
	}
}

func TestConformExitStatus(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := conform(nil, &stdout, &stderr); code != 0 {
		t.Fatalf("conform: exit %d\n%s", code, stdout.String())
	}
	if !strings.HasSuffix(stdout.String(), "913 passed, 0 failed\n") {
		t.Errorf("conform closes with %q", stdout.String()[max(0, stdout.Len()-40):])
	}
}
