package cuda

import (
	"fmt"
	"math"
	"testing"

	F "github.com/torchloss/torchloss/functional"
	drv "github.com/torchloss/torchloss/internal/cuda"
	"github.com/torchloss/torchloss/internal/devhook"
	"github.com/torchloss/torchloss/tensor"
)

// TestFusedRowsOnGPU runs the cross_entropy, cosine_embedding_loss and
// ctc_loss kernels directly (so that a silent fallback fails the test) on
// inputs of many blocks, compares the loss and the gradient (upstream 1,
// the eager gradient, and 0.5, the relaunch) with the CPU at the
// conformance tolerances, and checks that two runs give the same bits.
func TestFusedRowsOnGPU(t *testing.T) {
	if err := Available(); err != nil {
		t.Skipf("no GPU: %v", err)
	}
	if _, err := module(); err != nil {
		t.Skipf("no module: %v", err)
	}
	type loss struct {
		name string
		run  devhook.Forward
		args func() []*tensor.Tensor // host tensors; the first requires a gradient
		o    *devhook.Options
		cpu  func(a []*tensor.Tensor) (*tensor.Tensor, error)
	}
	const rows, cols = 3000, 1000
	x, _ := tensor.Randn(rows, cols)
	tg := make([]int64, rows)
	for i := range tg {
		tg[i] = int64(i*37) % cols
	}
	tg[5] = -100
	y, _ := tensor.Randn(rows, cols)
	cls := make([]float32, rows)
	for i := range cls {
		cls[i] = []float32{1, -1, 0}[i%3]
	}
	logits, _ := tensor.Randn(50, 64, 30)
	lp, _ := F.LogSoftmax(logits, 2)
	lp = lp.Detach()
	ctg := make([]int64, 64*20)
	for i := range ctg {
		ctg[i] = 1 + int64(i*7)%29
	}
	il, tl := make([]int64, 64), make([]int64, 64)
	for b := range il {
		il[b], tl[b] = int64(30+b%21), int64(b%21)
	}
	ceO := opts()
	ceO.LabelSmoothing = 0.1
	// The largest per-sample negative log-likelihood (ctcGradClose's bound).
	nlls, err := F.CTCLoss(lp, tensor.MustFromData(ctg, []int{64, 20}), tensor.MustFromData(il, []int{64}), tensor.MustFromData(tl, []int{64}), F.None)
	if err != nil {
		t.Fatal(err)
	}
	nllMax := 0.0
	for _, v := range nlls.Values() {
		nllMax = max(nllMax, math.Abs(v))
	}
	var cases []loss
	for _, red := range []string{"mean", "sum", "none"} {
		o := *ceO
		o.Reduction = red
		cases = append(cases, loss{"cross_entropy " + red, ceRun, func() []*tensor.Tensor { return []*tensor.Tensor{x, tensor.MustFromData(tg, []int{rows})} }, &o,
			func(a []*tensor.Tensor) (*tensor.Tensor, error) {
				return F.CrossEntropy(a[0], a[1], F.Reduction(red), F.LabelSmoothing(0.1))
			}})
		co := opts()
		co.Reduction = red
		cases = append(cases, loss{"cosine " + red, cosRun, func() []*tensor.Tensor {
			return []*tensor.Tensor{x, y, tensor.MustFromData(cls, []int{rows})}
		}, co, func(a []*tensor.Tensor) (*tensor.Tensor, error) {
			return F.CosineEmbeddingLoss(a[0], a[1], a[2], F.Reduction(red))
		}})
		cto := opts()
		cto.Reduction = red
		cases = append(cases, loss{"ctc " + red, ctcRun, func() []*tensor.Tensor {
			return []*tensor.Tensor{lp, tensor.MustFromData(ctg, []int{64, 20}), tensor.MustFromData(il, []int{64}), tensor.MustFromData(tl, []int{64})}
		}, cto, func(a []*tensor.Tensor) (*tensor.Tensor, error) {
			return F.CTCLoss(a[0], a[1], a[2], a[3], F.Reduction(red))
		}})
	}
	for _, c := range cases {
		for _, up := range []float64{1, 0.5} {
			what := fmt.Sprintf("%s up=%v", c.name, up)
			step := func(gpu bool) ([]float64, []float64) {
				args := c.args()
				args[0] = args[0].Clone()
				_ = args[0].SetRequiresGrad(true)
				var out *tensor.Tensor
				var err error
				var bwd devhook.Backward
				if gpu {
					da := make([]*tensor.Tensor, len(args))
					for i, a := range args {
						if i == 0 {
							da[i], err = a.ToCUDA()
						} else {
							da[i], err = a.Detach().ToCUDA()
						}
						if err != nil {
							t.Fatal(err)
						}
					}
					var ok bool
					needs := make([]bool, len(da)-1)
					needs[0] = true
					if len(da) == 4 {
						needs = needs[:1]
					}
					out, bwd, ok, err = c.run(&devhook.Call{Device: tensor.CUDA, Args: da, Options: *c.o, Needs: needs})
					if err == nil && !ok {
						t.Fatalf("%s: the fused kernel declined", what)
					}
				} else {
					out, err = c.cpu(args)
				}
				if err != nil {
					t.Fatal(err)
				}
				g, _ := tensor.Full(up, out.DType(), out.Shape()...)
				var grad *tensor.Tensor
				if bwd != nil {
					dg, _ := g.ToCUDA()
					gs, err := bwd(dg)
					if err != nil {
						t.Fatal(err)
					}
					grad = gs[0]
				} else {
					if err := out.BackwardWith(g); err != nil {
						t.Fatal(err)
					}
					grad = args[0].Grad()
				}
				ho, _ := out.Detach().ToCPU()
				hg, _ := grad.ToCPU()
				return ho.Values(), hg.Values()
			}
			want, wg := step(false)
			got, gg := step(true)
			again, ag := step(true)
			for i := range got {
				if math.Float64bits(got[i]) != math.Float64bits(again[i]) {
					t.Errorf("%s: two GPU runs differ at %d: %v, %v", what, i, got[i], again[i])
					break
				}
			}
			for i := range gg {
				if math.Float64bits(gg[i]) != math.Float64bits(ag[i]) {
					t.Errorf("%s: two GPU gradients differ at %d", what, i)
					break
				}
			}
			closeTo(t, what+" loss", float32s(got), float32s(want))
			if c.name[:3] == "ctc" {
				ctcGradClose(t, what+" grad", float32s(gg), float32s(wg), nllMax)
			} else {
				closeTo(t, what+" grad", float32s(gg), float32s(wg))
			}
		}
	}
}

func float32s(v []float64) []float32 {
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(x)
	}
	return out
}

// ctcGradClose compares float32 ctc_loss gradients. An element is
// exp(lp) − exp(lcab + nll − lp), with lcab (the log-sum of α·β over the
// states of the class) and nll (the sample's negative log-likelihood) of
// magnitude up to nll, each the result of log-add-exp recursions over the
// time steps in float32. The kernel follows the CPU's order of operations
// (kernels/losses.cu: "as the CPU does"); what differs is exp and log: the
// CPU's float32 path uses Expf and Logf (within 2 ulp), the kernel exp and
// log in double rounded to float. A last-bit difference in a log-add-exp
// (a value below log 3) flips the rounding of its sum with m (of magnitude
// up to nll) now and then, one ulp(nll) each time, so lcab + nll − lp
// differs by a few ulp(nll), a few 2^-24·nll absolute, which is the
// second term's relative difference. Neither side is wrong: the H200's
// grad[540] = -0.5119494 against -0.5119576 (1.6e-5 relative) is within
// it (this test's largest nll is about 136: 2^-24·nll ≈ 8e-6). The bound
// is rtol = 1e-5 + 8·2^-24·max nll (about 7e-5 here), atol 1e-6.
func ctcGradClose(t *testing.T, what string, got, want []float32, nllMax float64) {
	t.Helper()
	rtol, atol := 1e-5+8*math.Pow(2, -24)*nllMax, 1e-6
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	for i := range got {
		g, w := float64(got[i]), float64(want[i])
		if math.IsNaN(g) && math.IsNaN(w) || g == w {
			continue
		}
		if !(math.Abs(g-w) <= atol+rtol*math.Abs(w)) {
			t.Errorf("%s[%d] = %v, want %v (rtol %.2g)", what, i, g, w, rtol)
			return
		}
	}
}

// TestCTCLayoutOnGPU runs ctc_layout on the GPU (padded and concatenated
// targets, repeated labels, S = 0, a long target of many threads' states)
// against its emulation, bit for bit, and a label out of range through
// ctc_loss: its error (the CPU's) at the copy of the loss, the targets
// never copied to the host.
func TestCTCLayoutOnGPU(t *testing.T) {
	needModule(t)
	m, _ := module()
	lp, _ := tensor.Randn(400, 3, 7)
	long := make([]int64, 300)
	for i := range long {
		long[i] = int64(1 + (i*i)%6)
	}
	padded := make([]int64, 3*300)
	copy(padded, long)
	copy(padded[300:], []int64{1, 1, 2, 2, 1})
	for i, c := range []struct {
		targets *tensor.Tensor
		il, tl  []int64
	}{
		{tensor.MustFromData(padded, []int{3, 300}), []int64{400, 7, 0}, []int64{300, 5, 0}},
		{tensor.MustFromData(append(append([]int64{}, long[:40]...), 3, 3, 6), []int{43}), []int64{100, 9, 5}, []int64{40, 3, 0}},
	} {
		plan, ok := ctcPlanFor(lp, c.targets, c.il, c.tl)
		if !ok {
			t.Fatalf("case %d: declined", i)
		}
		want, _ := emuCTCLayout(plan, c.targets.Int64s(), 0)
		dt, _ := c.targets.ToCUDA()
		call := &devhook.Call{Op: "ctc_loss", Device: tensor.CUDA}
		meta, err := ctcMeta(call, m, plan, dt, 0)
		if err != nil || meta == nil {
			t.Fatalf("case %d: %v", i, err)
		}
		h, err := meta.ToCPU()
		if err != nil {
			t.Fatal(err)
		}
		if got := h.Int64s(); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("case %d: layout differs from the emulation:\n got %v\nwant %v", i, got, want)
		}
	}
	hlp, _ := tensor.Randn(6, 2, 5)
	targets := tensor.MustFromData([]int64{1, 7, 2, 3}, []int{2, 2})
	_, want := F.CTCLossInts(hlp, targets, []int64{6, 6}, []int64{2, 2})
	if want == nil {
		t.Fatal("the CPU accepted a label out of range")
	}
	dlp, _ := hlp.ToCUDA()
	dtg, _ := targets.ToCUDA()
	before := drv.Counted()
	out, err := F.CTCLossInts(dlp, dtg, []int64{6, 6}, []int64{2, 2})
	if err != nil {
		t.Fatalf("the call: %v (the check is deferred)", err)
	}
	if c := drv.Counted(); c.DtoH != before.DtoH || c.HtoD-before.HtoD != 1 {
		t.Errorf("the call: %d copies to the host, %d to the device; want 0 and 1 (the lengths' head)", c.DtoH-before.DtoH, c.HtoD-before.HtoD)
	}
	if _, err := out.ToCPU(); err == nil || err.Error() != want.Error() {
		t.Fatalf("ToCPU: %v, want %v", err, want)
	}
}
