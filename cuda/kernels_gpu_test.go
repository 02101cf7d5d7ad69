package cuda

import (
	"math"
	"testing"
	"unsafe"

	F "github.com/torchloss/torchloss/functional"
	drv "github.com/torchloss/torchloss/internal/cuda"
	"github.com/torchloss/torchloss/internal/devhook"
	"github.com/torchloss/torchloss/tensor"
)

func needModule(t *testing.T) {
	t.Helper()
	if err := Available(); err != nil {
		t.Skipf("no GPU: %v", err)
	}
	if _, err := module(); err != nil {
		t.Skipf("no module: %v", err)
	}
}

// TestSigmoidOnGPU runs the sigmoid kernel directly (a fallback fails the
// test) and the tutorial's chain binary_cross_entropy(sigmoid(x), y) with
// its gradient on 2^20 + 3 elements, against the CPU at the conformance
// tolerances, twice (the same bits).
func TestSigmoidOnGPU(t *testing.T) {
	needModule(t)
	const n = 1<<20 + 3
	x, _ := tensor.Randn(n)
	y, _ := tensor.Rand(n)
	dx, _ := x.ToCUDA()
	out, _, ok, err := sigmoidRun(&devhook.Call{Op: "sigmoid", Device: tensor.CUDA, Args: []*tensor.Tensor{dx}, Needs: []bool{false}})
	if err != nil || !ok {
		t.Fatalf("sigmoid kernel: ok=%v err=%v", ok, err)
	}
	want, _ := F.Sigmoid(x)
	got, _ := out.ToCPU()
	within(t, "sigmoid", got.Values(), want.Values())
	ones, _ := tensor.Full(1, tensor.Float32, n)
	dones, _ := ones.ToCUDA()
	launches := map[bool]int64{}
	// unfolded: a weight of ones (the same values) keeps the sigmoid's
	// backward apart, as on the CPU.
	stepWith := func(dev, unfolded bool) (float64, []float64) {
		a, b := x.Clone(), y
		var opts []F.Option
		if unfolded {
			opts = append(opts, F.Weight(ones))
		}
		if dev {
			a, _ = a.ToCUDA()
			b, _ = y.ToCUDA()
			if unfolded {
				opts = []F.Option{F.Weight(dones)}
			}
		}
		_ = a.SetRequiresGrad(true)
		before := drv.Counted().Launches
		defer func() { launches[unfolded] = drv.Counted().Launches - before }()
		p, err := F.Sigmoid(a)
		if err != nil {
			t.Fatal(err)
		}
		l, err := F.BinaryCrossEntropy(p, b, opts...)
		if err != nil {
			t.Fatal(err)
		}
		if err := l.Backward(); err != nil {
			t.Fatal(err)
		}
		hl, _ := l.ToCPU()
		hg, _ := a.Grad().ToCPU()
		v, _ := hl.Item()
		return v, hg.Values()
	}
	step := func(dev bool) (float64, []float64) { return stepWith(dev, false) }
	wl, wg := step(false)
	gl, gg := step(true)
	al, ag := step(true)
	// The folded backward (Through: the bce kernel's mode i0 in the
	// forward pass) gives the bits of the two backward kernels, with one
	// launch less (sigmoid_backward).
	_, ug := stepWith(true, true)
	for i := range gg {
		if math.Float64bits(gg[i]) != math.Float64bits(ug[i]) {
			t.Errorf("folded grad[%d] = %v, the two kernels' %v", i, gg[i], ug[i])
			break
		}
	}
	if launches[false] != launches[true]-1 {
		t.Errorf("folded step: %d launches, unfolded %d; want one less", launches[false], launches[true])
	}
	within(t, "bce(sigmoid) loss", []float64{gl}, []float64{wl})
	within(t, "bce(sigmoid) grad", gg, wg)
	if math.Float64bits(gl) != math.Float64bits(al) {
		t.Errorf("two GPU runs differ: %v, %v", gl, al)
	}
	for i := range gg {
		if math.Float64bits(gg[i]) != math.Float64bits(ag[i]) {
			t.Errorf("two GPU runs: grad[%d] %v, %v", i, gg[i], ag[i])
			break
		}
	}
}

// TestArithOnGPU: the tensor package's operations on the device
// (gradient accumulation, float32↔float64 conversion, float64 fill) give
// the host's bits, on 2^20 + 3 elements (a grid-stride loop), and copy
// nothing between host and device.
func TestArithOnGPU(t *testing.T) {
	needModule(t)
	const n = 1<<20 + 3
	x, _ := tensor.Randn(n)
	y, _ := tensor.Randn(n)
	x64, _ := x.To(tensor.Float64)
	dx, _ := x.ToCUDA()
	dy, _ := y.ToCUDA()
	dx64, _ := x64.ToCUDA()
	before := drv.Counted()
	sum, _ := tensor.Empty(tensor.CUDA, tensor.Float32, n)
	if err := (backend{}).Add(ptrOf(sum), ptrOf(dx), ptrOf(dy), tensor.Float32, n); err != nil {
		t.Fatal(err)
	}
	up, err := dx.To(tensor.Float64)
	if err != nil {
		t.Fatal(err)
	}
	down, err := dx64.To(tensor.Float32)
	if err != nil {
		t.Fatal(err)
	}
	fill, err := tensor.FullOn(tensor.CUDA, -0.1, tensor.Float64, n)
	if err != nil {
		t.Fatal(err)
	}
	if c := drv.Counted(); c.HtoD != before.HtoD || c.DtoH != before.DtoH {
		t.Errorf("copies between host and device: %+v -> %+v", before, c)
	}
	same := func(what string, got *tensor.Tensor, want []float64) {
		h, err := got.ToCPU()
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range h.Values() {
			if math.Float64bits(v) != math.Float64bits(want[i]) {
				t.Fatalf("%s[%d] = %v, want %v", what, i, v, want[i])
			}
		}
	}
	xs, ys := x.Float32s(), y.Float32s()
	want := make([]float64, n)
	for i := range want {
		want[i] = float64(xs[i] + ys[i])
	}
	same("add", sum, want)
	same("float32 to float64", up, x64.Values())
	same("float64 to float32", down, x.Values())
	for i := range want {
		want[i] = -0.1
	}
	same("fill", fill, want)
}

// TestPointwiseUnaligned launches l1_loss on 16-byte aligned buffers (the
// vector loads) and on buffers 4 bytes off (the scalar path): the same
// elements in the same order, so the same bits.
func TestPointwiseUnaligned(t *testing.T) {
	needModule(t)
	m, _ := module()
	fn, err := m.Function("l1_loss_f32")
	if err != nil {
		t.Fatal(err)
	}
	const n = 1<<20 + 5
	x, _ := tensor.Randn(n)
	y, _ := tensor.Randn(n)
	dx, _ := x.ToCUDA()
	dy, _ := y.ToCUDA()
	run := func(off uintptr) (float64, []float32) {
		bufs := make([]*tensor.Tensor, 3)
		for i := range bufs {
			bufs[i], _ = tensor.Empty(tensor.CUDA, tensor.Float32, n+4)
		}
		a, b, g := ptrOf(bufs[0])+off, ptrOf(bufs[1])+off, ptrOf(bufs[2])+off
		if err := drv.CopyDtoD(a, ptrOf(dx), 4*n); err != nil {
			t.Fatal(err)
		}
		if err := drv.CopyDtoD(b, ptrOf(dy), 4*n); err != nil {
			t.Fatal(err)
		}
		grid := pointwiseGrid(n, true)
		partial, _ := tensor.Empty(tensor.CUDA, tensor.Float64, grid)
		out, _ := tensor.Empty(tensor.CUDA, tensor.Float32)
		p := params{a: a, b: b, ga: g, partial: ptrOf(partial), n: n, s: 1}
		if err := launch(fn, grid, &p); err != nil {
			t.Fatal(err)
		}
		if err := reduceFinal(m, true, partial, grid, out, 0); err != nil {
			t.Fatal(err)
		}
		ho, _ := out.ToCPU()
		v, _ := ho.Item()
		hg := make([]float32, n)
		if err := drv.CopyDtoH(unsafePointer(hg), g, 4*n); err != nil {
			t.Fatal(err)
		}
		return v, hg
	}
	av, ag := run(0)
	uv, ug := run(4)
	if math.Float64bits(av) != math.Float64bits(uv) {
		t.Errorf("l1 sum: aligned %v, unaligned %v", av, uv)
	}
	for i := range ag {
		if math.Float32bits(ag[i]) != math.Float32bits(ug[i]) {
			t.Errorf("grad[%d]: aligned %v, unaligned %v", i, ag[i], ug[i])
			break
		}
	}
	want, _ := F.L1Loss(x, y, F.Reduction("sum"))
	wv, _ := want.Item()
	within(t, "l1 sum", []float64{av}, []float64{wv})
}

// within compares at the float32 conformance tolerances.
func within(t *testing.T, what string, got, want []float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	for i := range got {
		g, w := got[i], want[i]
		if g == w || math.IsNaN(g) && math.IsNaN(w) {
			continue
		}
		if !(math.Abs(g-w) <= 1e-6+1e-5*math.Abs(w)) {
			t.Errorf("%s[%d] = %v, want %v", what, i, g, w)
			return
		}
	}
}

func unsafePointer(s []float32) unsafe.Pointer { return unsafe.Pointer(&s[0]) }

// TestSoftmaxOnGPU runs softmax and log_softmax along the last dimension
// with the kernels directly (a fallback fails the test) and through
// functional with a gradient, against the CPU.
func TestSoftmaxOnGPU(t *testing.T) {
	needModule(t)
	x, _ := tensor.Randn(300, 1000)
	g, _ := tensor.Randn(300, 1000)
	dx, _ := x.ToCUDA()
	for _, op := range []string{"softmax", "log_softmax"} {
		out, _, ok, err := softmaxRun(op)(&devhook.Call{Op: op, Device: tensor.CUDA, Args: []*tensor.Tensor{dx}, Options: devhook.Options{Dim: 1}, Needs: []bool{false}})
		if err != nil || !ok {
			t.Fatalf("%s kernel: ok=%v err=%v", op, ok, err)
		}
		f := F.Softmax
		if op == "log_softmax" {
			f = F.LogSoftmax
		}
		want, _ := f(x, 1)
		got, _ := out.ToCPU()
		within(t, op, got.Values(), want.Values())
		step := func(dev bool) []float64 {
			a, b := x.Clone(), g
			if dev {
				a, _ = a.ToCUDA()
				b, _ = g.ToCUDA()
			}
			_ = a.SetRequiresGrad(true)
			y, err := f(a, -1)
			if err != nil {
				t.Fatal(err)
			}
			if err := y.BackwardWith(b); err != nil {
				t.Fatal(err)
			}
			hg, _ := a.Grad().ToCPU()
			return hg.Values()
		}
		within(t, op+" grad", step(true), step(false))
	}
}
