package cuda

import (
	"fmt"
	"math"
	"runtime"
	"slices"
	"unsafe"

	drv "github.com/torchloss/torchloss/internal/cuda"
	"github.com/torchloss/torchloss/internal/devhook"
	"github.com/torchloss/torchloss/internal/losses"
	"github.com/torchloss/torchloss/tensor"
)

func errOldGPU(major int) error {
	return fmt.Errorf("cuda: the fused kernels need compute capability 8.0 or later (this GPU: %d.x)", major)
}

// params mirrors struct P of kernels/losses.cu (every field 8 bytes).
type params struct {
	a, b, c, w, pw uintptr
	loss           uintptr
	ga, gb, gc     uintptr
	up             uintptr
	partial        uintptr
	flag           uintptr
	n              int64
	period         int64
	s, s2          float64
	o0, o1         float64
	i0, i1         int64
}

const block = 256

// Fused lists the losses with a fused kernel, by PyTorch name in the order
// of the table of losses: those registerFused registered.
var Fused []string

// spec describes one pointwise loss for the common driver below.
type spec struct {
	op      string
	kernel  string   // kernel name without the dtype suffix
	options []string // the options the kernel covers
	nargs   int      // tensor arguments (2 or 3), all same dtype and shape
	diff    int      // how many leading arguments are differentiable
	checks  bool     // the kernel sets the flag on inputs the CPU rejects
	// upstream maps the output gradient g (a T value as float64), the
	// element count and the reduction to the kernel's s and s2.
	upstream func(g float64, n int, red string, f32 bool) (s, s2 float64)
	names    map[string]string // grad_fn name per reduction
}

func inT(v float64, f32 bool) float64 {
	if f32 {
		return float64(float32(v))
	}
	return v
}

// divided: the autograd of mean (g/n in T) and sum (g).
func divided(g float64, n int, red string, f32 bool) (float64, float64) {
	if red == "mean" {
		return inT(inT(g, f32)/inT(float64(n), f32), f32), 0
	}
	return g, 0
}

// raw: the explicit backward functions that divide at their own point (bce:
// s2 is the divisor n for mean, 0 otherwise).
func raw(g float64, n int, red string, f32 bool) (float64, float64) {
	if red == "mean" {
		return g, inT(float64(n), f32)
	}
	return g, 0
}

func names(mean, sum, none string) map[string]string {
	return map[string]string{"mean": mean, "sum": sum, "none": none, "batchmean": "DivBackward0"}
}

var specs = []spec{
	{op: "l1_loss", kernel: "l1_loss", options: []string{"reduction"}, nargs: 2, diff: 2, upstream: divided,
		names: names("MeanBackward0", "SumBackward0", "AbsBackward0")},
	{op: "mse_loss", kernel: "mse_loss", options: []string{"reduction"}, nargs: 2, diff: 2,
		upstream: func(g float64, n int, red string, f32 bool) (float64, float64) {
			if red == "mean" {
				return g, inT(2/float64(n), f32)
			}
			return g, 2
		}, names: names("MseLossBackward0", "MseLossBackward0", "MseLossBackward0")},
	{op: "binary_cross_entropy", kernel: "binary_cross_entropy", options: []string{"reduction", "weight"}, nargs: 2, diff: 2, checks: true, upstream: raw,
		names: names("BinaryCrossEntropyBackward0", "BinaryCrossEntropyBackward0", "BinaryCrossEntropyBackward0")},
	{op: "binary_cross_entropy_with_logits", kernel: "binary_cross_entropy_with_logits", options: []string{"reduction", "weight", "pos_weight"}, nargs: 2, diff: 2, upstream: raw,
		names: names("BinaryCrossEntropyWithLogitsBackward0", "BinaryCrossEntropyWithLogitsBackward0", "BinaryCrossEntropyWithLogitsBackward0")},
	{op: "poisson_nll_loss", kernel: "poisson_nll_loss", options: []string{"reduction", "log_input", "full", "eps"}, nargs: 2, diff: 2, upstream: divided,
		names: names("MeanBackward0", "SumBackward0", "SubBackward0")},
	{op: "gaussian_nll_loss", kernel: "gaussian_nll_loss", options: []string{"reduction", "full", "eps"}, nargs: 3, diff: 3, checks: true, upstream: divided,
		names: names("MeanBackward0", "SumBackward0", "MulBackward0")},
	{op: "hinge_embedding_loss", kernel: "hinge_embedding_loss", options: []string{"reduction", "margin"}, nargs: 2, diff: 1, upstream: divided,
		names: names("MeanBackward0", "SumBackward0", "AddBackward0")},
	{op: "kl_div", kernel: "kl_div", options: []string{"reduction", "log_target"}, nargs: 2, diff: 2, upstream: divided,
		names: names("MeanBackward0", "SumBackward0", "SubBackward0")},
}

func registerFused() {
	for i := range specs {
		sp := &specs[i]
		devhook.Register(sp.op, func(args []*tensor.Tensor, o *devhook.Options) (*tensor.Tensor, bool, error) {
			return sp.run(args, o)
		})
	}
	devhook.Register("cross_entropy", ceRun)
	devhook.Register("cosine_embedding_loss", cosRun)
	devhook.Register("ctc_loss", ctcRun)
	for _, name := range losses.Names() {
		if devhook.Lookup(name) != nil {
			Fused = append(Fused, name)
		}
	}
}

// covers reports whether the fused kernel handles this call; when not, the
// CPU implementation (the fallback) runs and validates.
func (sp *spec) covers(args []*tensor.Tensor, o *devhook.Options) bool {
	if len(args) != sp.nargs || !o.Only(sp.options...) {
		return false
	}
	switch o.Reduction {
	case "", "mean", "sum", "none":
	case "batchmean":
		if sp.op != "kl_div" || args[0].Dim() == 0 {
			return false
		}
	default:
		return false
	}
	dt := args[0].DType()
	if !dt.IsFloat() || args[0].Numel() == 0 {
		return false
	}
	shape := args[0].Shape()
	for i, a := range args {
		if a == nil || a.Device() != tensor.CUDA || a.DType() != dt || !slices.Equal(a.Shape(), shape) {
			return false
		}
		if i >= sp.diff && a.RequiresGrad() {
			return false
		}
	}
	if w := o.Weight; w != nil {
		if sp.op == "l1_loss" || sp.op == "mse_loss" || w.DType() != dt || !slices.Equal(w.Shape(), shape) || w.RequiresGrad() {
			return false
		}
	}
	if pw := o.PosWeight; pw != nil {
		if pw.DType() != dt || pw.RequiresGrad() {
			return false
		}
		ps := pw.Shape()
		if !slices.Equal(ps, shape) && !(len(ps) == 1 && len(shape) >= 1 && ps[0] == shape[len(shape)-1]) {
			return false
		}
	}
	return true
}

// run computes the loss with one launch of the fused kernel (plus the final
// reduction). For sum and mean, the gradients for an upstream gradient of 1
// are computed in the same pass; Backward returns them as they are when the
// upstream gradient is 1, and relaunches the kernel (gradients only) for
// another upstream gradient or for reduction none.
func (sp *spec) run(args []*tensor.Tensor, o *devhook.Options) (*tensor.Tensor, bool, error) {
	if !sp.covers(args, o) {
		return nil, false, nil
	}
	m, err := module()
	if err != nil {
		return nil, false, nil // no usable module: the fallback runs
	}
	dt := args[0].DType()
	f32 := dt == tensor.Float32
	suffix := "_f64"
	if f32 {
		suffix = "_f32"
	}
	fn, err := m.Function(sp.kernel + suffix)
	if err != nil {
		return nil, true, err
	}
	red := o.Reduction
	if red == "" {
		red = "mean"
	}
	shape := args[0].Shape()
	n := args[0].Numel()
	grid := min((n+block-1)/block, 4096)

	var p params
	p.n = int64(n)
	ptrs := make([]uintptr, 3)
	for i, a := range args {
		if ptrs[i], err = a.DevicePtr(); err != nil {
			return nil, true, err
		}
	}
	p.a, p.b, p.c = ptrs[0], ptrs[1], ptrs[2]
	keep := append([]*tensor.Tensor{}, args...)
	if o.Weight != nil {
		if p.w, err = o.Weight.DevicePtr(); err != nil {
			return nil, true, err
		}
		keep = append(keep, o.Weight)
	}
	if o.PosWeight != nil {
		if p.pw, err = o.PosWeight.DevicePtr(); err != nil {
			return nil, true, err
		}
		if o.PosWeight.Dim() == 1 && len(shape) > 1 || !slices.Equal(o.PosWeight.Shape(), shape) {
			p.period = int64(o.PosWeight.Size(0))
		}
		keep = append(keep, o.PosWeight)
	}
	switch sp.op {
	case "poisson_nll_loss":
		p.i0, p.i1, p.o1 = b2i(o.LogInput), b2i(o.Full), o.Eps
	case "gaussian_nll_loss":
		p.i1, p.o1 = b2i(o.Full), inT(o.Eps, f32)
	case "hinge_embedding_loss":
		p.o0 = inT(o.Margin, f32)
	case "kl_div":
		p.i0 = b2i(o.LogTarget)
	}
	if sp.op == "poisson_nll_loss" {
		p.o1 = inT(o.Eps, f32)
	}

	// The error flag of the kernels that check their inputs.
	var flag *tensor.Tensor
	if sp.checks {
		if flag, err = zeros(tensor.Int64, 1); err != nil {
			return nil, true, err
		}
		p.flag, _ = flag.DevicePtr()
	}

	needs := make([]bool, 3)
	anyGrad := false
	for i := 0; i < sp.diff; i++ {
		needs[i] = args[i].RequiresGrad()
		anyGrad = anyGrad || needs[i]
	}
	var out, partial *tensor.Tensor
	var pre []*tensor.Tensor // gradients for an upstream gradient of 1
	if red == "none" {
		if out, err = tensor.Empty(tensor.CUDA, dt, shape...); err != nil {
			return nil, true, err
		}
		p.loss, _ = out.DevicePtr()
	} else {
		if partial, err = tensor.Empty(tensor.CUDA, tensor.Float64, grid); err != nil {
			return nil, true, err
		}
		p.partial, _ = partial.DevicePtr()
		if anyGrad {
			p.s, p.s2 = sp.upstream(1, n, red, f32)
			if sp.op == "kl_div" && red == "batchmean" {
				p.s, p.s2 = divided(1, shape[0], "mean", f32)
			}
			pre = make([]*tensor.Tensor, 3)
			gp := []*uintptr{&p.ga, &p.gb, &p.gc}
			for i := range needs {
				if needs[i] {
					if pre[i], err = tensor.Empty(tensor.CUDA, dt, shape...); err != nil {
						return nil, true, err
					}
					*gp[i], _ = pre[i].DevicePtr()
				}
			}
		}
	}
	if err := launch(fn, grid, &p); err != nil {
		return nil, true, err
	}
	if flag != nil {
		h, err := flag.ToCPU()
		if err != nil {
			return nil, true, err
		}
		if h.Int64s()[0] != 0 {
			return nil, false, nil // an input the CPU rejects: let it say why
		}
	}
	if red != "none" {
		if out, err = tensor.Empty(tensor.CUDA, dt); err != nil {
			return nil, true, err
		}
		div := 0.0
		switch red {
		case "mean":
			div = float64(n)
		case "batchmean":
			div = float64(shape[0])
		}
		if err := reduceFinal(m, f32, partial, grid, out, div); err != nil {
			return nil, true, err
		}
	}
	runtime.KeepAlive(keep)

	inputs := make([]*tensor.Tensor, sp.diff)
	copy(inputs, args[:sp.diff])
	base := p // the forward's parameters, for the backward
	base.loss, base.partial, base.flag = 0, 0, 0
	return tensor.Record(out, sp.names[red], inputs, func(g *tensor.Tensor) ([]*tensor.Tensor, error) {
		q := base
		if red == "none" {
			gp, err := g.DevicePtr()
			if err != nil {
				return nil, err
			}
			q.up = gp
			q.s, q.s2 = sp.upstream(0, n, red, f32)
			defer runtime.KeepAlive(g)
		} else {
			h, err := g.ToCPU()
			if err != nil {
				return nil, err
			}
			gv := h.Values()[0]
			if gv == 1 && pre != nil {
				return pre[:sp.diff], nil
			}
			q.s, q.s2 = sp.upstream(gv, n, red, f32)
			if sp.op == "kl_div" && red == "batchmean" {
				q.s, q.s2 = divided(gv, shape[0], "mean", f32)
			}
		}
		grads := make([]*tensor.Tensor, 3)
		gp := []*uintptr{&q.ga, &q.gb, &q.gc}
		for i := range needs {
			*gp[i] = 0
			if needs[i] {
				var err error
				if grads[i], err = tensor.Empty(tensor.CUDA, dt, shape...); err != nil {
					return nil, err
				}
				*gp[i], _ = grads[i].DevicePtr()
			}
		}
		if err := launch(fn, grid, &q); err != nil {
			return nil, err
		}
		runtime.KeepAlive(keep)
		return grads[:sp.diff], nil
	}), true, nil
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

func zeros(dt tensor.DType, shape ...int) (*tensor.Tensor, error) {
	z, err := tensor.Zeros(dt, shape...)
	if err != nil {
		return nil, err
	}
	return z.ToCUDA()
}

func launch(fn uintptr, grid int, p *params) error {
	return drv.Launch(fn, [3]uint32{uint32(grid), 1, 1}, [3]uint32{block, 1, 1}, 0, unsafe.Pointer(p))
}

func reduceFinal(m *drv.Module, f32 bool, partial *tensor.Tensor, nb int, out *tensor.Tensor, div float64) error {
	name := "reduce_final_f64"
	if f32 {
		name = "reduce_final_f32"
	}
	fn, err := m.Function(name)
	if err != nil {
		return err
	}
	pp, _ := partial.DevicePtr()
	op, _ := out.DevicePtr()
	n := int64(nb)
	if math.IsNaN(div) {
		div = 0
	}
	err = drv.Launch(fn, [3]uint32{1, 1, 1}, [3]uint32{block, 1, 1}, 0, unsafe.Pointer(&pp), unsafe.Pointer(&n), unsafe.Pointer(&op), unsafe.Pointer(&div))
	runtime.KeepAlive(partial)
	runtime.KeepAlive(out)
	return err
}
