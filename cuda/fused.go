package cuda

import (
	"fmt"
	"math"
	"runtime"
	"slices"
	"unsafe"

	drv "github.com/torchloss/torchloss/internal/cuda"
	"github.com/torchloss/torchloss/internal/devhook"
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

// pointwiseBlocks bounds the grid of the pointwise kernels: 4 blocks of 256
// threads on each of an H100/H200's 132 SMs (the kernels' launch bounds
// guarantee 4 resident blocks), one wave; their blocks stride over the
// rest. A constant, not the GPU's SM count: the reduction order (and so a
// result's bits) depends on the grid, which then depends on n only.
const pointwiseBlocks = 132 * 4

// pointwiseGrid is the grid of a pointwise kernel on n elements: one
// thread per group of 16 bytes (4 float32 or 2 float64), at most
// pointwiseBlocks blocks.
func pointwiseGrid(n int, f32 bool) int {
	w := 2
	if f32 {
		w = 4
	}
	groups := (n + w - 1) / w
	return max(1, min((groups+block-1)/block, pointwiseBlocks))
}

// spec describes one pointwise loss for the common driver below.
type spec struct {
	op     string
	kernel string // kernel name without the dtype suffix
	nargs  int    // tensor arguments (2 or 3), all same dtype and shape
	weight bool   // the kernel takes a weight (and pos_weight)
	checks bool   // the kernel sets the flag on inputs the CPU rejects
	fold   bool   // the kernel's mode i0 folds a sigmoid's backward into the first argument's gradient
	// upstream maps the output gradient g (a T value as float64), the
	// element count and the reduction to the kernel's s and s2.
	upstream func(g float64, n int, red string, f32 bool) (s, s2 float64)
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

var specs = []spec{
	{op: "l1_loss", kernel: "l1_loss", nargs: 2, upstream: divided},
	{op: "mse_loss", kernel: "mse_loss", nargs: 2,
		upstream: func(g float64, n int, red string, f32 bool) (float64, float64) {
			if red == "mean" {
				return g, inT(2/float64(n), f32)
			}
			return g, 2
		}},
	{op: "binary_cross_entropy", kernel: "binary_cross_entropy", weight: true, nargs: 2, checks: true, fold: true, upstream: raw},
	{op: "binary_cross_entropy_with_logits", kernel: "binary_cross_entropy_with_logits", weight: true, nargs: 2, upstream: raw},
	{op: "poisson_nll_loss", kernel: "poisson_nll_loss", nargs: 2, upstream: divided},
	{op: "gaussian_nll_loss", kernel: "gaussian_nll_loss", nargs: 3, checks: true, upstream: divided},
	{op: "hinge_embedding_loss", kernel: "hinge_embedding_loss", nargs: 2, upstream: divided},
	{op: "kl_div", kernel: "kl_div", nargs: 2, upstream: divided},
}

func registerFused() {
	for i := range specs {
		devhook.Register(specs[i].op, tensor.CUDA, specs[i].run)
	}
	devhook.Register("cross_entropy", tensor.CUDA, ceRun)
	devhook.Register("cosine_embedding_loss", tensor.CUDA, cosRun)
	devhook.Register("ctc_loss", tensor.CUDA, ctcRun)
}

// covers reports whether the kernel's layout fits a checked call: every
// argument of one float dtype and one shape (no broadcasting, no
// promotion), a weight of that shape and dtype, a pos_weight of that shape
// or of the last dimension. Other layouts are declined (the host path
// runs).
func (sp *spec) covers(c *devhook.Call) bool {
	args, o := c.Args, &c.Options
	if len(args) != sp.nargs || args[0] == nil || args[0].Numel() == 0 {
		return false
	}
	if o.Reduction == "batchmean" && args[0].Dim() == 0 {
		return false
	}
	dt := args[0].DType()
	if !dt.IsFloat() {
		return false
	}
	shape := args[0].Shape()
	for _, a := range args {
		if a == nil || a.Device() != tensor.CUDA || a.DType() != dt || !slices.Equal(a.Shape(), shape) {
			return false
		}
	}
	if w := o.Weight; w != nil {
		if !sp.weight || w.DType() != dt || !slices.Equal(w.Shape(), shape) {
			return false
		}
	}
	if pw := o.PosWeight; pw != nil {
		if pw.DType() != dt {
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
func (sp *spec) run(c *devhook.Call) (*tensor.Tensor, devhook.Backward, bool, error) {
	if !sp.covers(c) {
		return nil, nil, false, nil
	}
	m, err := module()
	if err != nil {
		return nil, nil, false, nil // no usable module: the fallback runs
	}
	args, o := c.Args, &c.Options
	dt := args[0].DType()
	f32 := dt == tensor.Float32
	suffix := "_f64"
	if f32 {
		suffix = "_f32"
	}
	fn, err := m.Function(sp.kernel + suffix)
	if err != nil {
		return nil, nil, true, err
	}
	red := o.Reduction
	shape := args[0].Shape()
	n := args[0].Numel()
	grid := pointwiseGrid(n, f32)

	var p params
	p.n = int64(n)
	ptrs := make([]uintptr, 3)
	for i, a := range args {
		if ptrs[i], err = a.DevicePtr(); err != nil {
			return nil, nil, true, err
		}
	}
	p.a, p.b, p.c = ptrs[0], ptrs[1], ptrs[2]
	keep := append([]*tensor.Tensor{}, args...)
	if o.Weight != nil {
		if p.w, err = o.Weight.DevicePtr(); err != nil {
			return nil, nil, true, err
		}
		keep = append(keep, o.Weight)
	}
	if o.PosWeight != nil {
		if p.pw, err = o.PosWeight.DevicePtr(); err != nil {
			return nil, nil, true, err
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
	// folded: the forward pass writes, for an output gradient of 1, the
	// gradient of the input of the sigmoid that made the first argument
	// (the kernel's mode i0, bit for bit the sigmoid's backward after
	// this one's), which Through hands out.
	folded := sp.fold && c.Fold == tensor.UnarySigmoid && len(c.Needs) > 0 && c.Needs[0] && red != "none"
	if folded {
		p.i0 = 1
	}
	if sp.op == "poisson_nll_loss" {
		p.o1 = inT(o.Eps, f32)
	}

	// The error flag of the kernels that check their inputs: a word of
	// mapped host memory, looked at by the next synchronizing point
	// (checks.go); where there is none, a device word read back after the
	// launch (a declined call then runs on the host, which says why).
	var flag *tensor.Tensor
	if sp.checks {
		var ok bool
		if p.flag, ok = checkWord(c); !ok {
			if flag, err = zeros(tensor.Int64, 1); err != nil {
				return nil, nil, true, err
			}
			p.flag, _ = flag.DevicePtr()
		}
	}

	needs := make([]bool, 3)
	anyGrad := false
	for i, nd := range c.Needs {
		needs[i] = nd
		anyGrad = anyGrad || nd
	}
	var out, partial *tensor.Tensor
	var pre []*tensor.Tensor // gradients for an upstream gradient of 1
	if red == "none" {
		if out, err = tensor.Empty(tensor.CUDA, dt, shape...); err != nil {
			return nil, nil, true, err
		}
		p.loss, _ = out.DevicePtr()
	} else {
		if partial, err = tensor.Empty(tensor.CUDA, tensor.Float64, grid); err != nil {
			return nil, nil, true, err
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
						return nil, nil, true, err
					}
					*gp[i], _ = pre[i].DevicePtr()
				}
			}
		}
	}
	if err := launch(fn, grid, &p); err != nil {
		return nil, nil, true, err
	}
	if flag != nil {
		h, err := flag.ToCPU()
		if err != nil {
			return nil, nil, true, err
		}
		_ = flag.Free()
		if h.Int64s()[0] != 0 {
			return nil, nil, false, nil // an input the CPU rejects: let it say why
		}
	}
	if red != "none" {
		if out, err = tensor.Empty(tensor.CUDA, dt); err != nil {
			return nil, nil, true, err
		}
		div := 0.0
		switch red {
		case "mean":
			div = float64(n)
		case "batchmean":
			div = float64(shape[0])
		}
		if err := reduceFinal(m, f32, partial, grid, out, div); err != nil {
			return nil, nil, true, err
		}
	}
	runtime.KeepAlive(keep)

	if !anyGrad {
		return out, nil, true, nil
	}
	diff := len(c.Needs)
	base := p // the forward's parameters, for the backward
	base.loss, base.partial, base.flag, base.i0 = 0, 0, 0, p.i0
	if folded {
		base.i0 = 0
	}
	// grads computes the gradients for the output gradient g, of the
	// sigmoid's input instead of the first argument when fold is 1 (the
	// kernel's mode i0); pre holds them for g = 1 when the forward pass
	// ran in that mode.
	grads := func(g *tensor.Tensor, fold int64) ([]*tensor.Tensor, error) {
		q := base
		if fold == 1 {
			q.i0 = 1
		}
		if red == "none" {
			gp, err := g.DevicePtr()
			if err != nil {
				return nil, err
			}
			q.up = gp
			q.s, q.s2 = sp.upstream(0, n, red, f32)
			defer runtime.KeepAlive(g)
		} else {
			gv, err := scalarOf(g)
			if err != nil {
				return nil, err
			}
			if gv == 1 && pre != nil && b2i(folded) == fold {
				out := pre[:diff]
				pre = nil // a backward kernel returns new tensors
				return out, nil
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
		return grads[:diff], nil
	}
	if sp.fold && c.Fold == tensor.UnarySigmoid && needs[0] {
		// The sigmoid's backward folded in (functional's Node.Through).
		c.Through = func(g *tensor.Tensor) ([]*tensor.Tensor, *tensor.Tensor, bool, error) {
			gs, err := grads(g, 1)
			if err != nil {
				return nil, nil, false, err
			}
			th := gs[0]
			ins := append([]*tensor.Tensor{nil}, gs[1:]...)
			return ins, th, true, nil
		}
	}
	return out, func(g *tensor.Tensor) ([]*tensor.Tensor, error) { return grads(g, 0) }, true, nil
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// zeros returns a zero-filled device tensor (a memset: no host copy).
func zeros(dt tensor.DType, shape ...int) (*tensor.Tensor, error) {
	return tensor.FullOn(tensor.CUDA, 0, dt, shape...)
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
	runtime.KeepAlive(out)
	// The partial sums are done with once the launch is queued: their block
	// goes back to the caching allocator now (work queued later on the one
	// stream runs after this launch), not at a garbage collection.
	_ = partial.Free()
	return err
}
