package tensor_test

import (
	"errors"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/torchloss/torchloss"
	"github.com/torchloss/torchloss/internal/fakedevice"
	"github.com/torchloss/torchloss/tensor"
)

func TestToCUDAWithoutBackend(t *testing.T) {
	tensor.RegisterBackend(tensor.CUDA, nil)
	x := tensor.MustNew([]float32{1, 2})
	if _, err := x.ToCUDA(); !errors.Is(err, torchloss.ErrDevice) || !strings.Contains(err.Error(), "torchloss/cuda") {
		t.Fatalf("ToCUDA without a backend: %v, want ErrDevice naming the cuda package", err)
	}
	if tensor.Available(tensor.CUDA) || !tensor.Available(tensor.CPU) {
		t.Fatal("Available")
	}
}

func TestFakeDeviceRoundTrip(t *testing.T) {
	b := fakedevice.New()
	fakedevice.Register(b)
	defer tensor.RegisterBackend(fakedevice.Device, nil)
	for _, x := range []*tensor.Tensor{
		tensor.MustNew([]float32{1, 2, 3, 4, 5, 6}, 2, 3),
		tensor.MustNew([]float64{-1, 0.5}),
		tensor.MustNew([]int64{7, -8, 9}),
		tensor.MustNew([]bool{true, false}),
		tensor.Scalar(float32(3)),
		tensor.MustNew([]float32{}, 0, 4),
	} {
		d, err := x.ToDevice(fakedevice.Device)
		if err != nil {
			t.Fatal(err)
		}
		if d.Device() != fakedevice.Device || !slices.Equal(d.Shape(), x.Shape()) || d.DType() != x.DType() || d.Numel() != x.Numel() {
			t.Fatalf("device tensor %v %v %v", d.Device(), d.Shape(), d.DType())
		}
		if d.Values() != nil || d.Float32s() != nil || d.Int64s() != nil {
			t.Fatal("host accessors of a device tensor must return nil")
		}
		if _, err := d.Item(); err == nil {
			t.Fatal("Item on a device tensor must fail")
		}
		c, err := d.CloneErr()
		if err != nil {
			t.Fatal(err)
		}
		h, err := c.ToCPU()
		if err != nil {
			t.Fatal(err)
		}
		if h.Device() != tensor.CPU || !slices.Equal(h.Values(), x.Values()) {
			t.Fatalf("round trip: %v, want %v", h.Values(), x.Values())
		}
		// PyTorch's suffix order: the device first, after the data.
		hs := x.String()
		end := strings.LastIndex(hs, "]") + 1
		if x.Dim() == 0 {
			end = strings.Index(hs, ")")
		}
		want := hs[:end] + ", device='fake'" + hs[end:]
		if d.String() != want {
			t.Fatalf("String: %s (host %s)", d, x)
		}
		if y, _ := d.To(tensor.Float64); y.Device() != fakedevice.Device {
			t.Fatal("To(dtype) must keep the device")
		}
		if err := d.Free(); err != nil {
			t.Fatal(err)
		}
		if err := d.Free(); err != nil {
			t.Fatal("a second Free must do nothing")
		}
		if x.Numel() > 0 {
			if _, err := d.ToCPU(); !errors.Is(err, torchloss.ErrDevice) {
				t.Fatalf("use after Free: %v, want ErrDevice", err)
			}
		}
	}
}

func TestToDeviceIsDifferentiable(t *testing.T) {
	fakedevice.Register(fakedevice.New())
	defer tensor.RegisterBackend(fakedevice.Device, nil)
	x := tensor.MustNew([]float64{1, 2, 3})
	_ = x.SetRequiresGrad(true)
	d, err := x.ToDevice(fakedevice.Device)
	if err != nil {
		t.Fatal(err)
	}
	if d.GradFn() == nil || d.GradFn().Name != "ToCopyBackward0" {
		t.Fatal("ToCUDA of a leaf requiring grad must record ToCopyBackward0")
	}
	// A host upstream gradient is moved to the output's device.
	if err := d.BackwardWith(tensor.MustNew([]float64{1, 2, 3})); err != nil {
		t.Fatal(err)
	}
	if err := d.BackwardWith(tensor.MustNew([]float64{1, 1, 1})); err != nil {
		t.Fatal(err)
	}
	g := x.Grad()
	if g.Device() != tensor.CPU || !slices.Equal(g.Values(), []float64{2, 3, 4}) {
		t.Fatalf("grad %v on %v", g.Values(), g.Device())
	}
	// A device leaf accumulates its gradient on the device.
	l, _ := tensor.MustNew([]float32{1, 2}).ToDevice(fakedevice.Device)
	_ = l.SetRequiresGrad(true)
	h, _ := l.ToCPU()
	for i := 0; i < 2; i++ {
		if err := h.BackwardWith(tensor.MustNew([]float32{1, 5})); err != nil {
			t.Fatal(err)
		}
	}
	if l.Grad().Device() != fakedevice.Device {
		t.Fatal("the gradient of a device leaf must be on the device")
	}
	gh, _ := l.Grad().ToCPU()
	if !slices.Equal(gh.Values(), []float64{2, 10}) {
		t.Fatalf("accumulated %v", gh.Values())
	}
}

// TestDeviceZeroGradKeepsBuffer: as TestZeroGradKeepsBuffer on a device
// that fills and adds (the fake device): ZeroGrad zeroes the device buffer
// in place, the next Backward stores into it (−0 stays −0), another adds
// in place; all of it by the device's kernels, without a host copy; a
// dtype conversion on the device is a kernel too.
func TestDeviceZeroGradKeepsBuffer(t *testing.T) {
	b := fakedevice.New()
	fakedevice.Register(b)
	defer tensor.RegisterBackend(fakedevice.Device, nil)
	negz := float32(math.Copysign(0, -1))
	l, _ := tensor.MustNew([]float32{1, 2}).ToDevice(fakedevice.Device)
	_ = l.SetRequiresGrad(true)
	step := func(up []float32) {
		t.Helper()
		h, _ := l.ToCPU()
		if err := h.BackwardWith(tensor.MustNew(up)); err != nil {
			t.Fatal(err)
		}
	}
	read := func(g *tensor.Tensor) []float32 {
		t.Helper()
		h, err := g.ToCPU()
		if err != nil {
			t.Fatal(err)
		}
		return h.Float32s()
	}
	step([]float32{negz, 5})
	g := l.Grad()
	l.ZeroGrad()
	if l.Grad() != g || !slices.Equal(read(g), []float32{0, 0}) {
		t.Fatalf("after ZeroGrad: same tensor %v, values %v", l.Grad() == g, read(g))
	}
	step([]float32{negz, 5})
	if v := read(g); l.Grad() != g || math.Float32bits(v[0]) != math.Float32bits(negz) || v[1] != 5 {
		t.Fatalf("stored after ZeroGrad: same tensor %v, %v (want [-0 5])", l.Grad() == g, v)
	}
	before := b.Stats()
	step([]float32{1, 1})
	s := b.Stats()
	if v := read(g); l.Grad() != g || !slices.Equal(v, []float32{1, 6}) {
		t.Fatalf("accumulated: same tensor %v, %v (want [1 6])", l.Grad() == g, v)
	}
	// The step's own copies (ToCPU's download, its backward's upload of
	// the host gradient) and one kernel (the add).
	if s.HtoD-before.HtoD != 1 || s.DtoH-before.DtoH != 1 || s.Kernels-before.Kernels != 1 {
		t.Fatalf("accumulation: %d uploads, %d downloads, %d kernels; want 1, 1, 1", s.HtoD-before.HtoD, s.DtoH-before.DtoH, s.Kernels-before.Kernels)
	}
	before = b.Stats()
	d, err := g.To(tensor.Float64)
	if err != nil {
		t.Fatal(err)
	}
	s = b.Stats()
	if s.HtoD != before.HtoD || s.DtoH != before.DtoH || s.Kernels-before.Kernels != 1 || d.Device() != fakedevice.Device {
		t.Fatalf("conversion: %d uploads, %d downloads, %d kernels on %v; want 0, 0, 1 on the device", s.HtoD-before.HtoD, s.DtoH-before.DtoH, s.Kernels-before.Kernels, d.Device())
	}
}

func TestSameDevice(t *testing.T) {
	fakedevice.Register(fakedevice.New())
	defer tensor.RegisterBackend(fakedevice.Device, nil)
	a := tensor.MustNew([]float32{1})
	b, _ := a.ToDevice(fakedevice.Device)
	if _, err := tensor.SameDevice("op", a, nil, b); !errors.Is(err, torchloss.ErrDevice) {
		t.Fatalf("mixed devices: %v", err)
	}
	if d, err := tensor.SameDevice("op", nil, b, b); err != nil || d != fakedevice.Device {
		t.Fatal(d, err)
	}
	if _, err := tensor.BroadcastTo(b, []int{2}); !errors.Is(err, torchloss.ErrDevice) {
		t.Fatalf("BroadcastTo of a device tensor: %v", err)
	}
}

// TestCachingAllocator: device memory comes from the caching allocator:
// small blocks are carved from one segment, a released block is reused
// without a driver allocation, and EmptyCache returns the large ones.
func TestCachingAllocator(t *testing.T) {
	b := fakedevice.New()
	dev := fakedevice.Register(b)
	defer tensor.RegisterBackend(dev, nil)
	var small []*tensor.Tensor
	for i := range 100 {
		s, err := tensor.Empty(dev, tensor.Float32, 10+i)
		if err != nil {
			t.Fatal(err)
		}
		small = append(small, s)
	}
	if n := b.Stats().Allocs; n != 1 {
		t.Fatalf("100 small tensors: %d driver allocations, want 1 (one segment)", n)
	}
	big, err := tensor.Empty(dev, tensor.Float64, 1<<19) // 4 MiB
	if err != nil {
		t.Fatal(err)
	}
	if n := b.Stats().Allocs; n != 2 {
		t.Fatalf("a large tensor: %d driver allocations in all, want 2", n)
	}
	for _, s := range small {
		_ = s.Free()
	}
	_ = big.Free()
	for range 3 {
		s, _ := tensor.Empty(dev, tensor.Float32, 50)
		l, _ := tensor.Empty(dev, tensor.Float32, 1<<20) // the same 4 MiB class
		_ = s.Free()
		_ = l.Free()
	}
	st := b.Stats()
	if st.Allocs != 2 || st.Frees != 0 {
		t.Fatalf("reuse: %d allocations and %d frees, want 2 and 0", st.Allocs, st.Frees)
	}
	tensor.EmptyCache(dev)
	if st := b.Stats(); st.Frees != 1 || b.Live() != 1 {
		t.Fatalf("EmptyCache: %d frees, %d live, want 1 and 1 (the small segment stays)", st.Frees, b.Live())
	}
}
