package cuda

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"testing"
	"unsafe"

	F "github.com/torchloss/torchloss/functional"
	"github.com/torchloss/torchloss/internal/devhook"
	"github.com/torchloss/torchloss/internal/fakedevice"
	"github.com/torchloss/torchloss/internal/kernels"
	"github.com/torchloss/torchloss/tensor"
)

func TestLaunchGeometry(t *testing.T) {
	for _, c := range []struct{ n, want int }{{0, 32}, {1, 32}, {32, 32}, {33, 64}, {100, 128}, {256, 256}, {257, 512}, {100000, 512}} {
		if got := threadsFor(c.n); got != c.want {
			t.Errorf("threadsFor(%d) = %d, want %d", c.n, got, c.want)
		}
	}
	for _, c := range []struct{ n, want int }{{0, 1}, {1, 1}, {1000, 1000}, {maxGrid, maxGrid}, {1 << 20, maxGrid}} {
		if got := gridFor(c.n); got != c.want {
			t.Errorf("gridFor(%d) = %d, want %d", c.n, got, c.want)
		}
	}
}

// TestParamLayout checks the Go parameter structs against the parameter
// sizes nvcc gave the kernels in the committed PTX.
func TestParamLayout(t *testing.T) {
	want := map[string]uintptr{
		"l1_loss_f32": unsafe.Sizeof(params{}), "kl_div_f64": unsafe.Sizeof(params{}),
		"ce_fwd_f32": unsafe.Sizeof(rowParams{}), "ce_final_f64": unsafe.Sizeof(rowParams{}), "ce_grad_f32": unsafe.Sizeof(rowParams{}),
		"cosine_embedding_loss_f64": unsafe.Sizeof(rowParams{}),
		"ctc_ab_f32":                unsafe.Sizeof(ctcParams{}), "ctc_grad_f64": unsafe.Sizeof(ctcParams{}),
		"ctc_layout": unsafe.Sizeof(ctcLayoutParams{}),
	}
	for _, ptx := range [][]byte{ptxSM80, ptxSM90} {
		for name, size := range want {
			re := regexp.MustCompile(`\.entry ` + name + `\(\s*\.param \.align 8 \.b8 ` + name + `_param_0\[(\d+)\]\s*\)`)
			m := re.FindSubmatch(ptx)
			if m == nil {
				t.Errorf("%s: no single-struct entry in the PTX", name)
				continue
			}
			if n, _ := strconv.Atoi(string(m[1])); uintptr(n) != size {
				t.Errorf("%s: PTX parameter of %d bytes, Go struct of %d", name, n, size)
			}
		}
		// The kernels launched with separate parameters (arith.go): their
		// PTX types in order, as the launches pass them (uintptr and int64
		// as .u64, float64 as .f64).
		for name, types := range map[string][]string{
			"add_f32": {"u64", "u64", "u64", "u64"}, "add_f64": {"u64", "u64", "u64", "u64"},
			"convert_f32_f64": {"u64", "u64", "u64"}, "convert_f64_f32": {"u64", "u64", "u64"},
			"fill_f64": {"u64", "f64", "u64"},
		} {
			m := regexp.MustCompile(`\.entry ` + name + `\(([^)]*)\)`).FindSubmatch(ptx)
			if m == nil {
				t.Errorf("%s: no entry in the PTX", name)
				continue
			}
			var got []string
			for _, p := range regexp.MustCompile(`\.param \.(\w+) `).FindAllSubmatch(m[1], -1) {
				got = append(got, string(p[1]))
			}
			if !slices.Equal(got, types) {
				t.Errorf("%s: PTX parameters %v, the launch passes %v", name, got, types)
			}
		}
	}
}

// withFake makes a fake device's memory the CUDA backend for one test (the
// layout checks only look at shapes, dtypes and devices).
func withFake(t *testing.T) {
	b := fakedevice.New()
	tensor.RegisterBackend(tensor.CUDA, func() (tensor.Backend, error) { return b, nil })
	t.Cleanup(func() { tensor.RegisterBackend(tensor.CUDA, openBackend) })
}

func dev(t *testing.T, x *tensor.Tensor) *tensor.Tensor {
	t.Helper()
	d, err := x.ToCUDA()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// opts are the default options of a checked call (functional applies the
// defaults before a kernel sees the call).
func opts() *devhook.Options {
	return &devhook.Options{Reduction: "mean", IgnoreIndex: -100}
}

// call is a checked call of args with options o.
func call(args []*tensor.Tensor, o *devhook.Options) *devhook.Call {
	return &devhook.Call{Device: tensor.CUDA, Args: args, Options: *o, Needs: make([]bool, 1)}
}

func TestCovers(t *testing.T) {
	withFake(t)
	x32, _ := tensor.Randn(4, 5)
	x64, _ := x32.To(tensor.Float64)
	x3, _ := tensor.Randn(4, 5, 2)
	tgt := tensor.MustFromData([]int64{0, 1, 4, 2}, []int{4})
	w5 := tensor.MustNew([]float32{1, 2, 3, 4, 5})
	w5d, _ := w5.To(tensor.Float64)
	d := func(x *tensor.Tensor) *tensor.Tensor { return dev(t, x) }
	withW := func(w *tensor.Tensor) *devhook.Options {
		o := opts()
		o.Weight = w
		return o
	}
	red := func(r string) *devhook.Options { o := opts(); o.Reduction = r; return o }
	smooth := func(v float64) *devhook.Options { o := opts(); o.LabelSmoothing = v; return o }
	for i, c := range []struct {
		args []*tensor.Tensor
		o    *devhook.Options
		want bool
	}{
		{[]*tensor.Tensor{d(x32), d(tgt)}, opts(), true},
		{[]*tensor.Tensor{d(x64), d(tgt)}, red("none"), true},
		{[]*tensor.Tensor{d(x32), d(tgt)}, red("sum"), true},
		{[]*tensor.Tensor{d(x32), d(tgt)}, red("batchmean"), false},
		{[]*tensor.Tensor{d(x32), d(tgt)}, withW(d(w5)), true},
		{[]*tensor.Tensor{d(x32), d(tgt)}, withW(d(w5d)), false}, // dtype mismatch: the CPU's error
		{[]*tensor.Tensor{d(x32), d(tgt)}, withW(w5), false},     // weight on the host
		{[]*tensor.Tensor{d(x32), d(tgt)}, smooth(0.1), true},
		{[]*tensor.Tensor{d(x32), d(tgt)}, smooth(1), true},
		{[]*tensor.Tensor{d(x32), d(tgt)}, smooth(-0.5), true},
		{[]*tensor.Tensor{d(x32), d(x32)}, opts(), false},                                               // probability targets
		{[]*tensor.Tensor{d(x3), d(tensor.MustFromData(make([]int64, 8), []int{4, 2}))}, opts(), false}, // spatial
		{[]*tensor.Tensor{d(x32), d(tensor.MustFromData([]int64{0, 1}, []int{2}))}, opts(), false},
		{[]*tensor.Tensor{d(tensor.MustNew([]float32{1, 2})), d(tensor.MustFromData([]int64{0}, []int{}))}, opts(), false}, // 1-D input
		{[]*tensor.Tensor{d(x32), tgt}, opts(), false},
	} {
		if got := ceCovers(call(c.args, c.o)); got != c.want {
			t.Errorf("cross_entropy case %d: covers = %v, want %v", i, got, c.want)
		}
	}

	y32, _ := tensor.Randn(4, 5)
	tf := tensor.MustNew([]float32{1, -1, 1, 0})
	ti := tensor.MustFromData([]int64{1, -1, 1, 0}, []int{4})
	for i, c := range []struct {
		args []*tensor.Tensor
		o    *devhook.Options
		want bool
	}{
		{[]*tensor.Tensor{d(x32), d(y32), d(tf)}, opts(), true},
		{[]*tensor.Tensor{d(x32), d(y32), d(ti)}, opts(), true},
		{[]*tensor.Tensor{d(x32), d(y32), d(tensor.MustFromData([]bool{true, false, true, true}, []int{4}))}, red("none"), true},
		{[]*tensor.Tensor{d(x32), d(x64), d(tf)}, opts(), false}, // mixed dtypes
		{[]*tensor.Tensor{d(x32), d(randT[float32](t, 1, 5)), d(tf)}, opts(), false},
		{[]*tensor.Tensor{d(x32), d(y32), d(tensor.MustNew([]float32{1}))}, opts(), false}, // broadcast target
	} {
		if got := cosCovers(call(c.args, c.o)); got != c.want {
			t.Errorf("cosine case %d: covers = %v, want %v", i, got, c.want)
		}
	}

	lp, _ := tensor.Randn(6, 2, 4)
	tg := tensor.MustFromData([]int64{1, 2, 3, 1}, []int{2, 2})
	il := tensor.MustFromData([]int64{6, 5}, []int{2})
	tl := tensor.MustFromData([]int64{2, 1}, []int{2})
	for i, c := range []struct {
		args []*tensor.Tensor
		o    *devhook.Options
		want bool
	}{
		{[]*tensor.Tensor{d(lp), d(tg), il, tl}, opts(), true},
		{[]*tensor.Tensor{d(lp), d(tg), d(il), d(tl)}, opts(), true},
		{[]*tensor.Tensor{d(randT[float32](t, 6, 4)), d(tg), il, tl}, opts(), false}, // unbatched
		{[]*tensor.Tensor{d(lp), d(tensor.MustNew([]float32{1, 2, 3, 1})), il, tl}, opts(), false},
	} {
		if got := ctcCovers(call(c.args, c.o)); got != c.want {
			t.Errorf("ctc case %d: covers = %v, want %v", i, got, c.want)
		}
	}
}

// TestCTCLayout: the layout of checked calls (functional's ctcCheck
// rejects inconsistent lengths, shapes and blanks before a kernel runs):
// the head from the lengths (ctcPlanFor), the regions of the emulated
// ctc_layout, whose flag is set by a label the kernels cannot index.
func TestCTCLayout(t *testing.T) {
	lp, _ := tensor.Randn(6, 3, 5) // T = 6, N = 3, C = 5
	i64 := func(v ...int64) []int64 { return v }
	padded := tensor.MustFromData([]int64{1, 1, 2, 3, 4, 0, 0, 0, 0}, []int{3, 3})
	for i, c := range []struct {
		targets *tensor.Tensor
		il, tl  []int64
		blank   int64
		ok      bool
	}{
		{padded, i64(6, 5, 0), i64(3, 2, 0), 0, true},
		{tensor.MustFromData([]int64{1, 1, 2, 3, 4}, []int{5}), i64(6, 5, 0), i64(3, 2, 0), 0, true},
		{padded, i64(6, 5, 0), i64(3, 2, 0), 1, false},                                                               // label 1 is the blank
		{tensor.MustFromData([]int64{1, 1, 5, 3, 4, 0, 0, 0, 0}, []int{3, 3}), i64(6, 5, 0), i64(3, 2, 0), 0, false}, // label out of range
		{padded, i64(6, 5, 0), i64(3, 2, 1), 0, false},                                                               // a blank label read
		{tensor.MustFromData([]int64{1, 1, -2, 3, 4, 0, 0, 0, 0}, []int{3, 3}), i64(6, 5, 0), i64(2, 2, 0), 0, true}, // a negative label not read
	} {
		plan, ok := ctcPlanFor(lp, c.targets, c.il, c.tl)
		if !ok {
			t.Fatalf("case %d: the plan declined", i)
		}
		m, flag := emuCTCLayout(plan, c.targets.Int64s(), c.blank)
		if flag == c.ok {
			t.Errorf("case %d: flag = %v, want %v", i, flag, !c.ok)
		}
		if i != 0 {
			continue
		}
		// Sample 0: labels 1 1 2 → states b 1 b 1 b 2 b: prev per class,
		// own = the class's last state.
		wantHead := []int64{0, 3, 6, 0, 0, 3, 2, 5, 6*7 + 0, 7, 5, 0, 0, 6*7 + 5*5, 7 + 5}
		if got := m[:15]; fmt.Sprint(got) != fmt.Sprint(wantHead) {
			t.Errorf("meta per sample = %v, want %v", got, wantHead)
		}
		if got := m[plan.tgtBase : plan.tgtBase+3]; fmt.Sprint(got) != "[0 3 6]" {
			t.Errorf("target offsets = %v", got)
		}
		if got := m[plan.labBase : plan.labBase+5]; fmt.Sprint(got) != "[1 1 2 3 4]" {
			t.Errorf("labels = %v", got)
		}
		if got := m[plan.prevBase : plan.prevBase+7]; fmt.Sprint(got) != "[-1 -1 0 1 2 -1 4]" {
			t.Errorf("prev of sample 0 = %v", got)
		}
		if got := m[plan.ownBase : plan.ownBase+7]; fmt.Sprint(got) != "[0 0 0 1 0 1 1]" {
			t.Errorf("own of sample 0 = %v", got)
		}
		if plan.alphaLen != 6*7+5*5+0 || plan.states != 7+5+1 || plan.maxStates != 7 {
			t.Errorf("alphaLen %d, states %d, maxStates %d", plan.alphaLen, plan.states, plan.maxStates)
		}
	}
}

func randT[T kernels.Float](t *testing.T, shape ...int) *tensor.Tensor {
	x, err := tensor.Randn(shape...)
	if err != nil {
		t.Fatal(err)
	}
	y, _ := x.To(tensor.DTypeOf[T]())
	return y
}

// cpuRun runs a loss on the CPU and returns the output and the input's
// gradient for the upstream gradient up (a scalar when reduced).
func cpuRun[T kernels.Float](t *testing.T, inputs []*tensor.Tensor, up []T, f func(in []*tensor.Tensor) (*tensor.Tensor, error)) ([]T, [][]T) {
	t.Helper()
	var leaves []*tensor.Tensor
	for _, x := range inputs {
		c := x.Clone()
		_ = c.SetRequiresGrad(true)
		leaves = append(leaves, c)
	}
	out, err := f(leaves)
	if err != nil {
		t.Fatal(err)
	}
	g := tensor.MustFromData(up, out.Shape())
	if out.Dim() == 0 {
		g = tensor.Scalar(up[0])
	}
	if err := out.BackwardWith(g); err != nil {
		t.Fatal(err)
	}
	var grads [][]T
	for _, l := range leaves {
		grads = append(grads, tensor.Data[T](l.Grad()))
	}
	return tensor.Data[T](out.Detach()), grads
}

// cpuRun64 is cpuRun of f on x and up in float64, the results rounded to
// T.
func cpuRun64[T kernels.Float](t *testing.T, x *tensor.Tensor, up []T, f func(in []*tensor.Tensor) (*tensor.Tensor, error)) ([]T, [][]T) {
	t.Helper()
	x64, err := x.To(tensor.Float64)
	if err != nil {
		t.Fatal(err)
	}
	up64 := make([]float64, len(up))
	for i, v := range up {
		up64[i] = float64(v)
	}
	out, grads := cpuRun(t, []*tensor.Tensor{x64}, up64, f)
	round := func(v []float64) []T {
		r := make([]T, len(v))
		for i, e := range v {
			r[i] = T(e)
		}
		return r
	}
	res := [][]T{}
	for _, g := range grads {
		res = append(res, round(g))
	}
	return round(out), res
}

func testEmuCE[T kernels.Float](t *testing.T) {
	for _, sh := range [][2]int{{7, 5}, {3, 300}, {40, 1000}} {
		rows, cols := sh[0], sh[1]
		x := randT[T](t, rows, cols)
		tgt := make([]int64, rows)
		for i := range tgt {
			tgt[i] = int64((i*7 + 3) % cols)
		}
		tgt[1] = 2 // ignored below
		wv := make([]T, cols)
		for i := range wv {
			wv[i] = T(0.5 + float64(i%4)/4)
		}
		for _, red := range []string{"mean", "sum", "none"} {
			for _, ls := range []float64{0, 0.2} {
				for _, weighted := range []bool{false, true} {
					for _, ignore := range []int64{-100, 2} {
						up := []T{0.75}
						if red == "none" {
							up = tensor.Data[T](randT[T](t, rows))
						}
						var w []T
						os := []F.Option{F.Reduction(red), F.LabelSmoothing(ls), F.IgnoreIndex(ignore)}
						if weighted {
							w = wv
							w64 := make([]float64, cols)
							for i, v := range w {
								w64[i] = float64(v)
							}
							os = append(os, F.Weight(tensor.MustFromData(w64, []int{cols})))
						}
						// The reference: the CPU in float64 on the same
						// values, rounded to T (the float32 CPU path's own
						// error reaches the tolerance on some inputs).
						want, wg := cpuRun64[T](t, x, up, func(in []*tensor.Tensor) (*tensor.Tensor, error) {
							return F.CrossEntropy(in[0], tensor.MustFromData(tgt, []int{rows}), os...)
						})
						got, gg := emuCE(tensor.Data[T](x), tgt, w, rows, cols, ignore, ls, red, up)
						what := fmt.Sprintf("%v %s ls=%v w=%v ignore=%d", sh, red, ls, weighted, ignore)
						closeTo(t, what+" loss", got, want)
						closeTo(t, what+" grad", gg, wg[0])
					}
				}
			}
		}
	}
}

func TestEmulatedCrossEntropy(t *testing.T) {
	t.Run("float32", testEmuCE[float32])
	t.Run("float64", testEmuCE[float64])
}

func testEmuCosine[T kernels.Float](t *testing.T) {
	for _, sh := range [][2]int{{6, 3}, {5, 700}} {
		rows, d := sh[0], sh[1]
		a, b := randT[T](t, rows, d), randT[T](t, rows, d)
		cls := make([]T, rows)
		for i := range cls {
			cls[i] = []T{1, -1, 1, -1, 0, 1}[i%6]
		}
		for _, red := range []string{"mean", "sum", "none"} {
			for _, margin := range []float64{0, 0.1} {
				up := []T{1.5}
				if red == "none" {
					up = tensor.Data[T](randT[T](t, rows))
				}
				want, wg := cpuRun[T](t, []*tensor.Tensor{a, b}, up, func(in []*tensor.Tensor) (*tensor.Tensor, error) {
					return F.CosineEmbeddingLoss(in[0], in[1], tensor.MustFromData(cls, []int{rows}), F.Reduction(red), F.Margin(margin))
				})
				got, g1, g2 := emuCosine(tensor.Data[T](a), tensor.Data[T](b), cls, rows, d, T(margin), red, up)
				what := fmt.Sprintf("%v %s margin=%v", sh, red, margin)
				closeTo(t, what+" loss", got, want)
				closeTo(t, what+" grad1", g1, wg[0])
				closeTo(t, what+" grad2", g2, wg[1])
			}
		}
	}
}

func TestEmulatedCosine(t *testing.T) {
	t.Run("float32", testEmuCosine[float32])
	t.Run("float64", testEmuCosine[float64])
}

func testEmuCTC[T kernels.Float](t *testing.T) {
	const steps, n, c = 12, 5, 6
	logits := randT[T](t, steps, n, c)
	lpT, err := F.LogSoftmax(logits, 2)
	if err != nil {
		t.Fatal(err)
	}
	lp := lpT.Detach()
	// Sample 1 repeats labels, 2 is impossible (S > L), 3 has L = 0 and 4
	// an empty target.
	targets := tensor.MustFromData([]int64{1, 2, 3, 0, 0, 0, 2, 2, 4, 2, 2, 0, 1, 2, 3, 4, 5, 1, 3, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, []int{n, 6})
	il := []int64{12, 10, 4, 0, 7}
	tl := []int64{3, 5, 6, 2, 0}
	for _, red := range []string{"mean", "sum", "none"} {
		for _, zi := range []bool{false, true} {
			up := []T{0.5}
			if red == "none" {
				up = []T{1, 2, 0.5, 3, -1}
			}
			want, wg := cpuRun[T](t, []*tensor.Tensor{lp}, up, func(in []*tensor.Tensor) (*tensor.Tensor, error) {
				return F.CTCLossInts(in[0], targets, il, tl, F.Reduction(red), F.ZeroInfinity(zi))
			})
			plan, ok := ctcPlanFor(lp, targets, il, tl)
			if !ok {
				t.Fatal("ctcPlanFor rejected a valid call")
			}
			meta, bad := emuCTCLayout(plan, targets.Int64s(), 0)
			if bad {
				t.Fatal("ctc_layout flagged a valid label")
			}
			got, gg := emuCTC(tensor.Data[T](lp), plan, meta, 0, zi, red, up)
			what := fmt.Sprintf("%s zero_infinity=%v", red, zi)
			closeTo(t, what+" loss", got, want)
			closeTo(t, what+" grad", gg, wg[0])
		}
	}
}

func TestEmulatedCTC(t *testing.T) {
	t.Run("float32", testEmuCTC[float32])
	t.Run("float64", testEmuCTC[float64])
}

// testEmuPointwise: the pointwise kernels' sum (emuPointwiseSum over the
// per-element losses, which the kernels compute as the CPU does) against
// the CPU's sum and mean, at the conformance tolerances, on sizes that use
// one partial block, several, and the full grid with strided groups.
func testEmuPointwise[T kernels.Float](t *testing.T) {
	for _, n := range []int{5, 1000, 70001, 1<<20 + 3} {
		x, y := randT[T](t, n), randT[T](t, n)
		for name, f := range map[string]func(a, b *tensor.Tensor, o ...F.Option) (*tensor.Tensor, error){
			"mse":     func(a, b *tensor.Tensor, o ...F.Option) (*tensor.Tensor, error) { return F.MSELoss(a, b, o...) },
			"l1":      func(a, b *tensor.Tensor, o ...F.Option) (*tensor.Tensor, error) { return F.L1Loss(a, b, o...) },
			"poisson": func(a, b *tensor.Tensor, o ...F.Option) (*tensor.Tensor, error) { return F.PoissonNLLLoss(a, b, o...) },
		} {
			none, err := f(x, y, F.Reduction("none"))
			if err != nil {
				t.Fatal(err)
			}
			sum := emuPointwiseSum(tensor.Data[T](none))
			for _, red := range []string{"sum", "mean"} {
				want, err := f(x, y, F.Reduction(red))
				if err != nil {
					t.Fatal(err)
				}
				got := sum
				if red == "mean" {
					got = sum / T(n)
				}
				closeTo(t, fmt.Sprintf("%s n=%d %s", name, n, red), []T{got}, tensor.Data[T](want))
			}
		}
	}
}

func TestEmulatedPointwise(t *testing.T) {
	t.Run("float32", testEmuPointwise[float32])
	t.Run("float64", testEmuPointwise[float64])
}

func testEmuSoftmax[T kernels.Float](t *testing.T) {
	for _, sh := range [][2]int{{3, 7}, {5, 1000}, {2, 3000}} {
		rows, cols := sh[0], sh[1]
		x, g := randT[T](t, rows, cols), randT[T](t, rows, cols)
		for _, log := range []bool{false, true} {
			y, gx := emuSoftmax(tensor.Data[T](x), tensor.Data[T](g), rows, cols, log)
			wy, wg := make([]T, rows*cols), make([]T, rows*cols)
			if log {
				kernels.LogSoftmaxForward(tensor.Data[T](x), wy, rows, cols, 1)
				kernels.LogSoftmaxBackward(tensor.Data[T](g), wy, wg, rows, cols, 1)
			} else {
				kernels.SoftmaxForward(tensor.Data[T](x), wy, rows, cols, 1)
				kernels.SoftmaxBackward(tensor.Data[T](g), wy, wg, rows, cols, 1)
			}
			what := fmt.Sprintf("%v log=%v", sh, log)
			closeTo(t, what+" out", y, wy)
			closeTo(t, what+" grad", gx, wg)
		}
	}
}

func TestEmulatedSoftmax(t *testing.T) {
	t.Run("float32", testEmuSoftmax[float32])
	t.Run("float64", testEmuSoftmax[float64])
}
