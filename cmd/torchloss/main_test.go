package main

import (
	"bytes"
	"encoding/json"
	"fmt"
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

// TestPlotKwOverridesVariedParameter: a --kw naming the parameter a figure
// varies draws the curves at that value (once), not the figure's values
// relabelled; other keywords apply to the figure's loss only.
func TestPlotKwOverridesVariedParameter(t *testing.T) {
	for _, tt := range []struct {
		fn     string
		kw     map[string]string
		labels []string
		x      float64
		losses []float64 // each curve's loss at x
	}{
		// cross_entropy of logits (0, 0, 0) with label smoothing 0.2:
		// log 3 (every class has probability 1/3).
		{"cross_entropy", map[string]string{"label_smoothing": "0.2"}, []string{"label_smoothing 0.2"}, 0, []float64{math.Log(3)}},
		// hinge, target −1: max(0, margin − x); target 1: x.
		{"hinge_embedding_loss", map[string]string{"margin": "2"}, []string{"target -1, margin 2", "target 1"}, 0.5, []float64{1.5, 0.5}},
		{"hinge_embedding_loss", nil, []string{"target -1, margin 0.5", "target -1, margin 1", "target -1, margin 2", "target 1"}, 0.5, []float64{0, 0.5, 1.5, 0.5}},
		// huber with delta 0.5 at 2: 0.5·(2 − 0.25); smooth_l1 beta 2 at 2:
		// 2 − 1; l1: 2.
		{"huber_loss", map[string]string{"delta": "0.5"}, []string{"huber_loss, delta 0.5", "smooth_l1_loss, beta 2", "l1_loss"}, 2, []float64{0.875, 1, 2}},
		// triplet with the default distance: max(0, |0−1| − |0−x| + 1).
		{"triplet_margin_with_distance_loss", map[string]string{"margin": "0.5"}, []string{"swap false", "swap true"}, 3, []float64{0, 0}},
	} {
		curves, _, err := buildCurves(tt.fn, figures[tt.fn](), tt.kw)
		if err != nil {
			t.Fatalf("%s: %v", tt.fn, err)
		}
		var labels []string
		for _, c := range curves {
			labels = append(labels, c.label)
		}
		if strings.Join(labels, "|") != strings.Join(tt.labels, "|") {
			t.Errorf("%s %v: curves %q, want %q", tt.fn, tt.kw, labels, tt.labels)
			continue
		}
		for i, c := range curves {
			l, _, _, err := c.eval(tt.x, c.opts)
			if err != nil {
				t.Fatal(err)
			}
			if v, _ := l.Item(); math.Abs(v-tt.losses[i]) > 1e-12 {
				t.Errorf("%s %v: %s at %g = %v, want %v", tt.fn, tt.kw, c.label, tt.x, v, tt.losses[i])
			}
		}
	}
}

// TestUsageListsCommands: the top-level usage lists every command run
// dispatches, and plot lists every loss of the registry.
func TestUsageListsCommands(t *testing.T) {
	var b bytes.Buffer
	usage(&b)
	for _, cmd := range []string{"demo", "conform", "eval", "plot", "bench"} {
		if !strings.Contains(b.String(), "\n  "+cmd+" ") {
			t.Errorf("usage lacks %s:\n%s", cmd, b.String())
		}
	}
	got := plotNames() // in the table's order, Functions sorted
	slices.Sort(got)
	if want := conformance.Functions(); !slices.Equal(got, want) {
		t.Errorf("plot draws %v, the registry has %v", got, want)
	}
}

// TestParseArgValue: int lists with one element are written [4] or 4,;
// a bare number stays a number.
func TestParseArgValue(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want any
	}{
		{"4,", []int64{4}}, {"[4]", []int64{4}}, {"[ ]", []int64{}}, {"50,50", []int64{50, 50}},
		{"[1, 2]", []int64{1, 2}}, {"1,2,", []int64{1, 2}}, {"4", 4.0}, {"-0.5", -0.5},
	} {
		got, _, err := parseArgValue(tt.in)
		if err != nil || fmt.Sprintf("%T %v", got, got) != fmt.Sprintf("%T %v", tt.want, tt.want) {
			t.Errorf("%q: %v %v, want %v", tt.in, got, err, tt.want)
		}
	}
	for _, in := range []string{"[4", "1,,2", ",", "a,b", "x", "[1]]"} {
		if v, _, err := parseArgValue(in); err == nil {
			t.Errorf("%q: %v, want an error", in, v)
		}
	}
}
