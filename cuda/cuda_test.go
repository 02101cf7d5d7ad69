package cuda_test

import (
	"bytes"
	"errors"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/torchloss/torchloss"
	"github.com/torchloss/torchloss/conformance"
	"github.com/torchloss/torchloss/cuda"
	F "github.com/torchloss/torchloss/functional"
	"github.com/torchloss/torchloss/tensor"
)

// needGPU skips a test on a machine without a usable GPU, saying why.
func needGPU(t *testing.T) {
	t.Helper()
	if err := cuda.Available(); err != nil {
		t.Skipf("no GPU: %v", err)
	}
}

// TestPTXUpToDate regenerates the PTX with nvcc and compares it with the
// committed files (run `go generate ./cuda` after editing losses.cu).
func TestPTXUpToDate(t *testing.T) {
	nvcc, err := exec.LookPath("nvcc")
	if err != nil {
		t.Skip("nvcc not found: the committed PTX is not checked against kernels/losses.cu")
	}
	dir := t.TempDir()
	for _, arch := range []string{"80", "90"} {
		out := filepath.Join(dir, "losses_sm"+arch+".ptx")
		cmd := exec.Command(nvcc, "-ptx", "-arch=compute_"+arch, "-fmad=false", "-O3", "-o", out, "kernels/losses.cu")
		if msg, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("nvcc: %v\n%s", err, msg)
		}
		got, _ := os.ReadFile(out)
		want, err := os.ReadFile("kernels/losses_sm" + arch + ".ptx")
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("kernels/losses_sm%s.ptx is stale: run go generate ./cuda", arch)
		}
	}
}

// TestNoGPUError: without a GPU, ToCUDA fails with ErrDevice and the CPU
// path is unaffected.
func TestNoGPUError(t *testing.T) {
	if cuda.Available() == nil {
		t.Skip("a GPU is available")
	}
	x := tensor.MustNew([]float32{1, 2})
	_, err := x.ToCUDA()
	if !errors.Is(err, torchloss.ErrDevice) {
		t.Fatalf("ToCUDA without a GPU: %v, want ErrDevice", err)
	}
	t.Logf("ToCUDA without a GPU: %v", err)
	if _, err := F.L1Loss(x, x); err != nil {
		t.Fatal(err)
	}
}

// TestConformanceOnGPU runs every public case with its tensors on the GPU
// (the fused kernels where they apply, the fallback elsewhere), with the
// CPU tolerances.
func TestConformanceOnGPU(t *testing.T) {
	needGPU(t)
	f, err := conformance.Parse(conformance.PublicVectors)
	if err != nil {
		t.Fatal(err)
	}
	rep := conformance.RunOn(f, tensor.CUDA)
	for _, r := range rep.Results {
		if r.Status == conformance.Fail {
			t.Errorf("%s: %s", r.ID, r.Detail)
		}
	}
	tot := rep.Totals()
	t.Logf("%d passed, %d failed on the GPU", tot.Passed, tot.Failed)
}

// TestFusedLargeMatchesCPU compares the fused kernels with the CPU on
// inputs large enough to use many blocks, for reductions mean and none,
// and checks that two runs give identical bits (deterministic reductions).
func TestFusedLargeMatchesCPU(t *testing.T) {
	needGPU(t)
	const n = 1<<20 + 3
	x, _ := tensor.Randn(n)
	u, _ := tensor.Rand(n)
	type call func(a, b *tensor.Tensor, r F.Reduction) (*tensor.Tensor, error)
	for name, c := range map[string]call{
		"l1":  func(a, b *tensor.Tensor, r F.Reduction) (*tensor.Tensor, error) { return F.L1Loss(a, b, r) },
		"mse": func(a, b *tensor.Tensor, r F.Reduction) (*tensor.Tensor, error) { return F.MSELoss(a, b, r) },
		"bcewl": func(a, b *tensor.Tensor, r F.Reduction) (*tensor.Tensor, error) {
			return F.BinaryCrossEntropyWithLogits(a, b, r)
		},
		"kl": func(a, b *tensor.Tensor, r F.Reduction) (*tensor.Tensor, error) { return F.KLDiv(a, b, r) },
		"poisson": func(a, b *tensor.Tensor, r F.Reduction) (*tensor.Tensor, error) {
			return F.PoissonNLLLoss(a, b, r, F.Full(true))
		},
	} {
		for _, r := range []F.Reduction{F.Mean, F.Sum} {
			step := func(dev bool) (float64, []float64) {
				a := x.Clone()
				b := u
				if dev {
					a, _ = a.ToCUDA()
					b, _ = u.ToCUDA()
				}
				_ = a.SetRequiresGrad(true)
				out, err := c(a, b, r)
				if err != nil {
					t.Fatal(err)
				}
				if err := out.BackwardWith(tensor.Scalar(float32(0.5))); err != nil {
					t.Fatal(err)
				}
				ho, _ := out.ToCPU()
				hg, _ := a.Grad().ToCPU()
				v, _ := ho.Item()
				return v, hg.Values()
			}
			want, wg := step(false)
			got, gg := step(true)
			again, _ := step(true)
			if math.Float64bits(got) != math.Float64bits(again) {
				t.Errorf("%s %s: two GPU runs differ: %v, %v", name, r, got, again)
			}
			if math.Abs(got-want) > 1e-6+1e-5*math.Abs(want) {
				t.Errorf("%s %s: GPU %v, CPU %v", name, r, got, want)
			}
			for i := range wg {
				if math.Abs(gg[i]-wg[i]) > 1e-6+1e-5*math.Abs(wg[i]) && !(math.IsNaN(gg[i]) && math.IsNaN(wg[i])) {
					t.Errorf("%s %s: grad[%d] GPU %v, CPU %v", name, r, i, gg[i], wg[i])
					break
				}
			}
		}
	}
}
