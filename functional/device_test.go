package functional_test

import (
	"errors"
	"math"
	"runtime"
	"slices"
	"testing"

	"github.com/torchloss/torchloss"
	F "github.com/torchloss/torchloss/functional"
	"github.com/torchloss/torchloss/internal/fakedevice"
	"github.com/torchloss/torchloss/tensor"
)

func onFake(t *testing.T) {
	fakedevice.Register(fakedevice.New())
	t.Cleanup(func() { tensor.RegisterBackend(fakedevice.Device, nil) })
}

func cuda(t *testing.T, x *tensor.Tensor) *tensor.Tensor {
	d, err := x.ToDevice(fakedevice.Device)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestDeviceMixingIsAnError(t *testing.T) {
	onFake(t)
	x := tensor.MustNew([]float32{0.2, 0.7})
	y := tensor.MustNew([]float32{0, 1})
	w := tensor.MustNew([]float32{1, 2})
	for name, f := range map[string]func() (*tensor.Tensor, error){
		"input on cuda":  func() (*tensor.Tensor, error) { return F.BinaryCrossEntropy(cuda(t, x), y) },
		"target on cuda": func() (*tensor.Tensor, error) { return F.MSELoss(x, cuda(t, y)) },
		"weight on cuda": func() (*tensor.Tensor, error) { return F.L1Loss(x, y, F.Weight(cuda(t, w))) },
		"weight on cpu":  func() (*tensor.Tensor, error) { return F.L1Loss(cuda(t, x), cuda(t, y), F.Weight(w)) },
		"op":             func() (*tensor.Tensor, error) { return F.Add(cuda(t, x), y) },
	} {
		if _, err := f(); !errors.Is(err, torchloss.ErrDevice) {
			t.Errorf("%s: %v, want ErrDevice", name, err)
		}
	}
}

// TestDeviceFallback checks the fallback's plumbing: the output and the
// gradients land on the device and equal the CPU results, a device weight
// is used, and CTC's host lengths are accepted with device log_probs.
func TestDeviceFallback(t *testing.T) {
	onFake(t)
	x := tensor.MustNew([]float64{0.5, -1, 2, 0.25}, 2, 2)
	y := tensor.MustNew([]float64{1, 1, -1, 0}, 2, 2)
	w := tensor.MustNew([]float64{1, 2, 3, 4}, 2, 2)
	run := func(x, y, w *tensor.Tensor) (out, gx *tensor.Tensor) {
		_ = x.SetRequiresGrad(true)
		o, err := F.HuberLoss(x, y, F.Weight(w), F.Delta(0.5))
		if err != nil {
			t.Fatal(err)
		}
		if err := o.Backward(); err != nil {
			t.Fatal(err)
		}
		return o, x.Grad()
	}
	wantOut, wantG := run(x.Clone(), y, w)
	out, g := run(cuda(t, x), cuda(t, y), cuda(t, w))
	if out.Device() != fakedevice.Device || g.Device() != fakedevice.Device {
		t.Fatalf("output on %v, grad on %v", out.Device(), g.Device())
	}
	ho, _ := out.ToCPU()
	hg, _ := g.ToCPU()
	if !slices.Equal(ho.Values(), wantOut.Values()) || !slices.Equal(hg.Values(), wantG.Values()) {
		t.Fatalf("device %v %v, cpu %v %v", ho.Values(), hg.Values(), wantOut.Values(), wantG.Values())
	}

	lp, _ := F.LogSoftmax(tensor.MustNew([]float32{1, 2, 3, 1, 0, 2}, 3, 1, 2), 2)
	want, err := F.CTCLossInts(lp, tensor.MustNew([]int64{1}, 1, 1), []int64{3}, []int64{1})
	if err != nil {
		t.Fatal(err)
	}
	got, err := F.CTCLoss(cuda(t, lp), cuda(t, tensor.MustNew([]int64{1}, 1, 1)), tensor.MustNew([]int64{3}), tensor.MustNew([]int64{1}))
	if err != nil {
		t.Fatal(err)
	}
	got2, err := F.CTCLossInts(cuda(t, lp), cuda(t, tensor.MustNew([]int64{1}, 1, 1)), []int64{3}, []int64{1})
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range []*tensor.Tensor{got, got2} {
		h, _ := g.ToCPU()
		if g.Device() != fakedevice.Device || !slices.Equal(h.Values(), want.Values()) {
			t.Fatalf("ctc on the device: %v on %v, want %v", h.Values(), g.Device(), want.Values())
		}
	}
}

// TestShardOnDevice checks that a mean shard of device tensors gives the
// CPU's numerator, denominator, scaled value and gradient.
func TestShardOnDevice(t *testing.T) {
	onFake(t)
	x := tensor.MustNew([]float64{0.5, -1, 2, 0.25, 1, -0.5}, 2, 3)
	y := tensor.MustNew([]int64{2, 0}, 2)
	w := tensor.MustNew([]float64{1, 2, 0.5}, 3)
	run := func(x, y, w *tensor.Tensor) (v float64, d float64, g []float64) {
		_ = x.SetRequiresGrad(true)
		s, err := F.CrossEntropyShard(x, y, F.Weight(w), F.LabelSmoothing(0.1))
		if err != nil {
			t.Fatal(err)
		}
		out, err := s.Scaled(4)
		if err != nil {
			t.Fatal(err)
		}
		if err := out.Backward(); err != nil {
			t.Fatal(err)
		}
		host, err := out.ToCPU()
		if err != nil {
			t.Fatal(err)
		}
		gh, err := x.Grad().ToCPU()
		if err != nil {
			t.Fatal(err)
		}
		v, _ = host.Item()
		return v, s.Denominator, gh.Values()
	}
	v, d, g := run(x, y, w)
	dx := cuda(t, x.Detach())
	vd, dd, gd := run(dx, cuda(t, y), cuda(t, w))
	if vd != v || dd != d || !slices.Equal(gd, g) {
		t.Errorf("on the device: %v %v %v, on the CPU: %v %v %v", vd, dd, gd, v, d, g)
	}
	if dx.Grad().Device() != fakedevice.Device {
		t.Errorf("the gradient is on %v, want cuda", dx.Grad().Device())
	}
}

// TestDeferredValueError: on a device that checks values in its kernels
// (the fake device with DeferErrors, as a GPU), binary_cross_entropy of an
// input outside [0, 1] returns an output; the CPU's ErrValue comes at the
// next synchronizing point (the copy of the loss to the host, or the end
// of Backward), and the device stays usable.
func TestDeferredValueError(t *testing.T) {
	b := fakedevice.New()
	b.DeferErrors = true
	dev := fakedevice.Register(b)
	t.Cleanup(func() { tensor.RegisterBackend(dev, nil) })
	x := tensor.MustNew([]float32{0.2, 1.5, 0.7})
	y := tensor.MustNew([]float32{0, 1, 1})
	_, want := F.BinaryCrossEntropy(x, y)
	if !errors.Is(want, torchloss.ErrValue) {
		t.Fatalf("CPU: %v, want ErrValue", want)
	}
	dx, _ := x.ToDevice(dev)
	dy, _ := y.ToDevice(dev)
	out, err := F.BinaryCrossEntropy(dx, dy)
	if err != nil {
		t.Fatalf("the call itself: %v (the check is deferred)", err)
	}
	if _, err := out.ToCPU(); err == nil || err.Error() != want.Error() {
		t.Fatalf("ToCPU: %v, want %v", err, want)
	}
	// Reported once; the device works afterwards.
	good, _ := tensor.MustNew([]float32{0.2, 0.5, 0.7}).ToDevice(dev)
	_ = good.SetRequiresGrad(true)
	out, err = F.BinaryCrossEntropy(good, dy)
	if err != nil {
		t.Fatal(err)
	}
	if err := out.Backward(); err != nil {
		t.Fatal(err)
	}
	if h, err := out.ToCPU(); err != nil || h.Numel() != 1 {
		t.Fatalf("after the error: %v", err)
	}
	// The end of Backward reports a failure of the graph's kernels.
	bad, _ := x.ToDevice(dev)
	_ = bad.SetRequiresGrad(true)
	out, err = F.BinaryCrossEntropy(bad, dy)
	if err != nil {
		t.Fatal(err)
	}
	if err := out.Backward(); err == nil || err.Error() != want.Error() {
		t.Fatalf("Backward: %v, want %v", err, want)
	}
}

// TestKernelPathNodeNames: on the kernel path (the fake device's kernels),
// functional records the node PyTorch's graph has, the one the CPU path
// records, for every loss and op with a kernel and each reduction.
func TestKernelPathNodeNames(t *testing.T) {
	dev := fakedevice.Register(fakedevice.New())
	t.Cleanup(func() { tensor.RegisterBackend(dev, nil) })
	x := func() *tensor.Tensor { return tensor.MustNew([]float32{0.2, 0.4, 0.6, 0.9, 0.1, 0.3}, 2, 3) }
	pos := func() *tensor.Tensor { return tensor.MustNew([]float32{0.5, 1, 2, 1.5, 0.7, 0.3}, 2, 3) }
	sign := func() *tensor.Tensor { return tensor.MustNew([]float32{1, -1}, 2) }
	cls := func() *tensor.Tensor { return tensor.MustFromData([]int64{2, 0}, []int{2}) }
	w3 := func() *tensor.Tensor { return tensor.MustNew([]float32{1, 2, 3}, 3) }
	type call func(a []*tensor.Tensor, r F.Reduction) (*tensor.Tensor, error)
	cases := []struct {
		name string
		args func() []*tensor.Tensor // the first requires a gradient
		f    call
	}{
		{"l1_loss", func() []*tensor.Tensor { return []*tensor.Tensor{x(), pos()} }, func(a []*tensor.Tensor, r F.Reduction) (*tensor.Tensor, error) { return F.L1Loss(a[0], a[1], r) }},
		{"mse_loss", func() []*tensor.Tensor { return []*tensor.Tensor{x(), pos()} }, func(a []*tensor.Tensor, r F.Reduction) (*tensor.Tensor, error) { return F.MSELoss(a[0], a[1], r) }},
		{"binary_cross_entropy", func() []*tensor.Tensor { return []*tensor.Tensor{x(), x()} }, func(a []*tensor.Tensor, r F.Reduction) (*tensor.Tensor, error) {
			return F.BinaryCrossEntropy(a[0], a[1], r)
		}},
		{"binary_cross_entropy_with_logits", func() []*tensor.Tensor { return []*tensor.Tensor{x(), x(), w3()} }, func(a []*tensor.Tensor, r F.Reduction) (*tensor.Tensor, error) {
			return F.BinaryCrossEntropyWithLogits(a[0], a[1], r, F.PosWeight(a[2]))
		}},
		{"poisson_nll_loss", func() []*tensor.Tensor { return []*tensor.Tensor{x(), pos()} }, func(a []*tensor.Tensor, r F.Reduction) (*tensor.Tensor, error) {
			return F.PoissonNLLLoss(a[0], a[1], r)
		}},
		{"poisson_nll_loss full", func() []*tensor.Tensor { return []*tensor.Tensor{x(), pos()} }, func(a []*tensor.Tensor, r F.Reduction) (*tensor.Tensor, error) {
			return F.PoissonNLLLoss(a[0], a[1], r, F.Full(true))
		}},
		{"gaussian_nll_loss", func() []*tensor.Tensor { return []*tensor.Tensor{x(), pos(), pos()} }, func(a []*tensor.Tensor, r F.Reduction) (*tensor.Tensor, error) {
			return F.GaussianNLLLoss(a[0], a[1], a[2], r)
		}},
		{"gaussian_nll_loss full", func() []*tensor.Tensor { return []*tensor.Tensor{x(), pos(), pos()} }, func(a []*tensor.Tensor, r F.Reduction) (*tensor.Tensor, error) {
			return F.GaussianNLLLoss(a[0], a[1], a[2], r, F.Full(true))
		}},
		{"hinge_embedding_loss", func() []*tensor.Tensor { return []*tensor.Tensor{x(), pos()} }, func(a []*tensor.Tensor, r F.Reduction) (*tensor.Tensor, error) {
			return F.HingeEmbeddingLoss(a[0], a[1], r)
		}},
		{"kl_div", func() []*tensor.Tensor { return []*tensor.Tensor{x(), pos()} }, func(a []*tensor.Tensor, r F.Reduction) (*tensor.Tensor, error) { return F.KLDiv(a[0], a[1], r) }},
		{"kl_div log_target batchmean", func() []*tensor.Tensor { return []*tensor.Tensor{x(), pos()} }, func(a []*tensor.Tensor, r F.Reduction) (*tensor.Tensor, error) {
			if r == F.Mean {
				r = F.BatchMean
			}
			return F.KLDiv(a[0], a[1], r, F.LogTarget(true))
		}},
		{"cross_entropy", func() []*tensor.Tensor { return []*tensor.Tensor{x(), cls(), w3()} }, func(a []*tensor.Tensor, r F.Reduction) (*tensor.Tensor, error) {
			return F.CrossEntropy(a[0], a[1], r, F.Weight(a[2]), F.LabelSmoothing(0.1))
		}},
		{"cosine_embedding_loss", func() []*tensor.Tensor { return []*tensor.Tensor{x(), pos(), sign()} }, func(a []*tensor.Tensor, r F.Reduction) (*tensor.Tensor, error) {
			return F.CosineEmbeddingLoss(a[0], a[1], a[2], r)
		}},
		{"ctc_loss", func() []*tensor.Tensor {
			lp, _ := F.LogSoftmax(tensor.MustNew([]float32{0.1, 0.5, 0.2, 0.9, 0.3, 0.4, 0.8, 0.2, 0.6, 0.1, 0.7, 0.5}, 4, 1, 3), 2)
			return []*tensor.Tensor{lp.Detach(), tensor.MustFromData([]int64{1, 2}, []int{1, 2}), tensor.MustFromData([]int64{4}, []int{1}), tensor.MustFromData([]int64{2}, []int{1})}
		}, func(a []*tensor.Tensor, r F.Reduction) (*tensor.Tensor, error) {
			return F.CTCLoss(a[0], a[1], a[2], a[3], r)
		}},
		{"sigmoid", func() []*tensor.Tensor { return []*tensor.Tensor{x()} }, func(a []*tensor.Tensor, _ F.Reduction) (*tensor.Tensor, error) { return F.Sigmoid(a[0]) }},
		{"softmax", func() []*tensor.Tensor { return []*tensor.Tensor{x()} }, func(a []*tensor.Tensor, _ F.Reduction) (*tensor.Tensor, error) { return F.Softmax(a[0], -1) }},
		{"log_softmax", func() []*tensor.Tensor { return []*tensor.Tensor{x()} }, func(a []*tensor.Tensor, _ F.Reduction) (*tensor.Tensor, error) { return F.LogSoftmax(a[0], 0) }},
		{"add", func() []*tensor.Tensor { return []*tensor.Tensor{x(), pos()} }, func(a []*tensor.Tensor, _ F.Reduction) (*tensor.Tensor, error) { return F.Add(a[0], a[1]) }},
		{"mul", func() []*tensor.Tensor { return []*tensor.Tensor{x(), pos()} }, func(a []*tensor.Tensor, _ F.Reduction) (*tensor.Tensor, error) { return F.Mul(a[0], a[1]) }},
		{"minimum", func() []*tensor.Tensor { return []*tensor.Tensor{x(), pos()} }, func(a []*tensor.Tensor, _ F.Reduction) (*tensor.Tensor, error) { return F.Minimum(a[0], a[1]) }},
		{"pow", func() []*tensor.Tensor { return []*tensor.Tensor{x()} }, func(a []*tensor.Tensor, _ F.Reduction) (*tensor.Tensor, error) { return F.Pow(a[0], 3) }},
		{"add.Scalar", func() []*tensor.Tensor { return []*tensor.Tensor{x()} }, func(a []*tensor.Tensor, _ F.Reduction) (*tensor.Tensor, error) { return F.AddScalar(a[0], 2) }},
		{"mul.Scalar", func() []*tensor.Tensor { return []*tensor.Tensor{x()} }, func(a []*tensor.Tensor, _ F.Reduction) (*tensor.Tensor, error) { return F.MulScalar(a[0], 2) }},
		{"clamp_min", func() []*tensor.Tensor { return []*tensor.Tensor{x()} }, func(a []*tensor.Tensor, _ F.Reduction) (*tensor.Tensor, error) { return F.ClampMin(a[0], 0.3) }},
		{"sum", func() []*tensor.Tensor { return []*tensor.Tensor{x()} }, func(a []*tensor.Tensor, _ F.Reduction) (*tensor.Tensor, error) { return F.SumAll(a[0]) }},
		{"mean", func() []*tensor.Tensor { return []*tensor.Tensor{x()} }, func(a []*tensor.Tensor, _ F.Reduction) (*tensor.Tensor, error) { return F.MeanAll(a[0]) }},
		{"sum_dim", func() []*tensor.Tensor { return []*tensor.Tensor{x()} }, func(a []*tensor.Tensor, _ F.Reduction) (*tensor.Tensor, error) { return F.SumDim(a[0], 1) }},
		{"norm", func() []*tensor.Tensor { return []*tensor.Tensor{x()} }, func(a []*tensor.Tensor, _ F.Reduction) (*tensor.Tensor, error) { return F.Norm(a[0], 2, -1) }},
	}
	for _, c := range cases {
		for _, r := range []F.Reduction{F.Mean, F.Sum, F.None} {
			run := func(d tensor.Device) string {
				a := c.args()
				for i := range a {
					if a[i], _ = a[i].ToDevice(d); i == 0 {
						_ = a[0].SetRequiresGrad(true)
					}
				}
				out, err := c.f(a, r)
				if err != nil {
					t.Fatalf("%s %s on %v: %v", c.name, r, d, err)
				}
				if out.Device() != d || out.GradFn() == nil {
					t.Fatalf("%s %s on %v: output on %v, node %v", c.name, r, d, out.Device(), out.GradFn())
				}
				return out.GradFn().Name
			}
			if cpu, fake := run(tensor.CPU), run(dev); cpu != fake {
				t.Errorf("%s %s: node %s on the device, %s on the CPU", c.name, r, fake, cpu)
			}
		}
	}
}

// TestBackwardReleasesIntermediates: Backward gives the device memory of
// the gradients it has consumed (and of its seed) back to the caching
// allocator at once, as PyTorch frees them, not at a garbage collection:
// after binary_cross_entropy(sigmoid(x), y).Backward() the device holds x,
// y, sigmoid(x), the loss and x's gradient, and not ∂sigmoid(x).
func TestBackwardReleasesIntermediates(t *testing.T) {
	dev := fakedevice.Register(fakedevice.New())
	t.Cleanup(func() { tensor.RegisterBackend(dev, nil) })
	const n = 4096 // 16 KiB of float32: a size class of its own
	hx, _ := tensor.Rand(n)
	hy, _ := tensor.Rand(n)
	x, _ := hx.ToDevice(dev)
	y, _ := hy.ToDevice(dev)
	_ = x.SetRequiresGrad(true)
	before, _ := tensor.MemoryStats(dev)
	p, err := F.Sigmoid(x)
	if err != nil {
		t.Fatal(err)
	}
	loss, err := F.BinaryCrossEntropy(p, y)
	if err != nil {
		t.Fatal(err)
	}
	if err := loss.Backward(); err != nil {
		t.Fatal(err)
	}
	after, _ := tensor.MemoryStats(dev)
	const block, scalar = 4 * n, 512
	if got, want := after-before, block+scalar+block; got != want {
		t.Errorf("device memory held after Backward grew by %d bytes, want %d (sigmoid(x), the loss, x's gradient)", got, want)
	}
	if x.Grad() == nil || x.Grad().Device() != dev {
		t.Fatal("no gradient on the device")
	}
	runtime.KeepAlive(p)
	runtime.KeepAlive(loss)
	runtime.KeepAlive(y)
}

// TestSigmoidFoldOnDevice: binary_cross_entropy of a sigmoid on a device
// folds the sigmoid's backward into its own through the kernel registry
// (devhook.Call.Through, as bceFusedT on the CPU): one folded backward
// kernel, the gradient bit for bit the CPU's; a second consumer of the
// sigmoid (or a weight) runs the two backward kernels.
func TestSigmoidFoldOnDevice(t *testing.T) {
	b := fakedevice.New()
	dev := fakedevice.Register(b)
	t.Cleanup(func() { tensor.RegisterBackend(dev, nil) })
	hz := tensor.MustNew([]float32{-3, -0.5, 0, 0.25, 2, 9}, 2, 3)
	hy := tensor.MustNew([]float32{0, 1, 0.5, 1, 0, 0.75}, 2, 3)
	want := func(extra bool) []float32 {
		z := hz.Detach()
		_ = z.SetRequiresGrad(true)
		p, _ := F.Sigmoid(z)
		loss, _ := F.BinaryCrossEntropy(p, hy)
		if extra {
			s, _ := F.BinaryCrossEntropy(p, hy, F.Sum)
			loss, _ = F.Add(loss, s)
		}
		if err := loss.Backward(); err != nil {
			t.Fatal(err)
		}
		return z.Grad().Float32s()
	}
	for _, extra := range []bool{false, true} {
		z, _ := hz.ToDevice(dev)
		y, _ := hy.ToDevice(dev)
		_ = z.SetRequiresGrad(true)
		p, err := F.Sigmoid(z)
		if err != nil {
			t.Fatal(err)
		}
		loss, err := F.BinaryCrossEntropy(p, y)
		if err != nil {
			t.Fatal(err)
		}
		if extra {
			s, _ := F.BinaryCrossEntropy(p, y, F.Sum)
			if loss, err = F.Add(loss, s); err != nil {
				t.Fatal(err)
			}
		}
		before := b.Stats().Folded
		if err := loss.Backward(); err != nil {
			t.Fatal(err)
		}
		folded := b.Stats().Folded - before
		if wantFolded := map[bool]int{false: 1, true: 0}[extra]; folded != wantFolded {
			t.Errorf("second consumer %v: %d folded backward kernels, want %d", extra, folded, wantFolded)
		}
		g, err := z.Grad().ToCPU()
		if err != nil {
			t.Fatal(err)
		}
		w := want(extra)
		for i, v := range g.Float32s() {
			if math.Float32bits(v) != math.Float32bits(w[i]) {
				t.Fatalf("second consumer %v: grad[%d] = %v, the CPU's %v", extra, i, v, w[i])
			}
		}
	}
}
