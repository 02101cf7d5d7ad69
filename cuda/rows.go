package cuda

import (
	"math"
	"runtime"
	"slices"
	"unsafe"

	drv "github.com/torchloss/torchloss/internal/cuda"
	"github.com/torchloss/torchloss/internal/devhook"
	"github.com/torchloss/torchloss/tensor"
)

// rowParams mirrors struct R of kernels/losses.cu (every field 8 bytes).
type rowParams struct {
	x, x2, tgt, w, up, loss, partial, ga, gb, stat, aux, flag uintptr
	rows, cols, ignore, tdt, smoothing, mean                  int64
	s, s2, o0, o1                                             float64
}

// maxGrid bounds the grid of the per-row and per-sample kernels (their
// blocks loop over the rows beyond it).
const maxGrid = 65535

// rowThreads is the most threads of a row kernel (their launch bounds).
const rowThreads = 512

// threadsFor is the block size of a kernel whose threads stride over n
// values of one row: the smallest power of two >= n, at least a warp and at
// most rowThreads. (The kernels' tree reductions need a power of two.)
func threadsFor(n int) int {
	t := 32
	for t < n && t < rowThreads {
		t *= 2
	}
	return t
}

// gridFor is the grid of a kernel with one block per row.
func gridFor(rows int) int { return max(1, min(rows, maxGrid)) }

func launchGeom(fn uintptr, grid, threads int, p unsafe.Pointer) error {
	return drv.Launch(fn, [3]uint32{uint32(grid), 1, 1}, [3]uint32{uint32(threads), 1, 1}, 0, p)
}

func suffixOf(f32 bool) string {
	if f32 {
		return "_f32"
	}
	return "_f64"
}

func reductionOK(o *devhook.Options) bool {
	switch o.Reduction {
	case "mean", "sum", "none":
		return true
	}
	return false
}

// upstreamOn returns g on the device in dtype dt (an upstream gradient of
// reduction none).
func upstreamOn(g *tensor.Tensor, dt tensor.DType) (*tensor.Tensor, error) {
	var err error
	if g.DType() != dt {
		if g, err = g.Detach().To(dt); err != nil {
			return nil, err
		}
	}
	if g.Device() != tensor.CUDA {
		if g, err = g.Detach().ToCUDA(); err != nil {
			return nil, err
		}
	}
	return g, nil
}

// scalarOf returns the value of a 0-d upstream gradient: without a copy
// when the tensor package knows it (Backward's seed), else read from the
// device (a synchronization: the value scales the kernel's gradient).
func scalarOf(g *tensor.Tensor) (float64, error) {
	if v, ok := tensor.KnownValue(g); ok {
		return v, nil
	}
	h, err := g.Detach().ToCPU()
	if err != nil {
		return 0, err
	}
	return h.Item()
}

func ptrOf(t *tensor.Tensor) uintptr {
	if t == nil {
		return 0
	}
	p, _ := t.DevicePtr()
	return p
}

// ---------------------------------------------------------------------------
// cross_entropy

// ceCovers reports whether the kernel's layout fits a checked
// cross_entropy call: an (N, C) float input (N, C > 0) with an int64 (N)
// target of class indices, a (C) weight of the input's dtype, reductions
// mean, sum and none. Target values out of range are found by the kernel,
// which then declines.
func ceCovers(c *devhook.Call) bool {
	args, o := c.Args, &c.Options
	if len(args) != 2 || args[0] == nil || args[1] == nil || !reductionOK(o) {
		return false
	}
	x, t := args[0], args[1]
	if x.Device() != tensor.CUDA || t.Device() != tensor.CUDA || !x.DType().IsFloat() || x.Dim() != 2 || x.Size(0) == 0 || x.Size(1) == 0 {
		return false
	}
	if t.DType() != tensor.Int64 || !slices.Equal(t.Shape(), []int{x.Size(0)}) {
		return false
	}
	if w := o.Weight; w != nil {
		if w.Device() != tensor.CUDA || w.DType() != x.DType() || !slices.Equal(w.Shape(), []int{x.Size(1)}) {
			return false
		}
	}
	return true
}

// ceScalars are the gradient scalars of a reduced cross_entropy for the
// output gradient g, in T as the CPU computes them (functional's ceFusedT
// and ceSlowT): the nll scalar sN = −(g·keep)/tw (mean) or −g·keep, and the
// smoothing scalar −(g·share)/tw (mean) or −g·share (0 without smoothing).
func ceScalars(g, tw, keep, share float64, smoothing, mean, f32 bool) (sN, gs float64) {
	gn := g
	if smoothing {
		gn = inT(g*keep, f32)
	}
	sN = -gn
	if mean {
		sN = -inT(gn/tw, f32)
	}
	if smoothing {
		v := inT(g*share, f32)
		if mean {
			v = inT(v/tw, f32)
		}
		gs = -v
	}
	return sN, gs
}

func ceRun(c *devhook.Call) (*tensor.Tensor, devhook.Backward, bool, error) {
	if !ceCovers(c) {
		return nil, nil, false, nil
	}
	m, err := module()
	if err != nil {
		return nil, nil, false, nil
	}
	args, o := c.Args, &c.Options
	x, tg := args[0], args[1]
	dt := x.DType()
	f32 := dt == tensor.Float32
	sfx := suffixOf(f32)
	fwd, err := m.Function("ce_fwd" + sfx)
	if err != nil {
		return nil, nil, true, err
	}
	rows, cols := x.Size(0), x.Size(1)
	red := o.Reduction
	ls := o.LabelSmoothing
	smoothing := ls > 0
	p := rowParams{rows: int64(rows), cols: int64(cols), ignore: o.IgnoreIndex, smoothing: b2i(smoothing), mean: b2i(red == "mean")}
	p.o0, p.o1 = inT(1-ls, f32), inT(ls/float64(cols), f32)
	p.x, p.tgt, p.w = ptrOf(x), ptrOf(tg), ptrOf(o.Weight)
	keep := []*tensor.Tensor{x, tg, o.Weight}
	stat, err := tensor.Empty(tensor.CUDA, dt, rows, 2)
	if err != nil {
		return nil, nil, true, err
	}
	aux, err := zeros(tensor.Float64, 2) // the total weight; the flag
	if err != nil {
		return nil, nil, true, err
	}
	p.stat, p.aux = ptrOf(stat), ptrOf(aux)
	// A target out of range: the flag is a deferred check's word where
	// there is one (no read back), else aux[1], read after the launches
	// (the call then declines and the CPU says which).
	p.flag = p.aux + 8
	deferred := false
	if w, ok := checkWord(c); ok {
		p.flag, deferred = w, true
	}
	threads := threadsFor(cols)
	var out, partial, pre *tensor.Tensor // pre: the gradient for an output gradient of 1
	if red == "none" {
		if out, err = tensor.Empty(tensor.CUDA, dt, rows); err != nil {
			return nil, nil, true, err
		}
		p.loss = ptrOf(out)
	} else {
		if partial, err = tensor.Empty(tensor.CUDA, tensor.Float64, rows, 3); err != nil {
			return nil, nil, true, err
		}
		p.partial = ptrOf(partial)
		if c.Needs[0] {
			// ce_tw writes the total weight that the gradient's scalars
			// need; ce_fwd then writes the gradient with the loss.
			tw, err := m.Function("ce_tw" + sfx)
			if err != nil {
				return nil, nil, true, err
			}
			if err := launchGeom(tw, 1, block, unsafe.Pointer(&p)); err != nil {
				return nil, nil, true, err
			}
			if pre, err = tensor.Empty(tensor.CUDA, dt, rows, cols); err != nil {
				return nil, nil, true, err
			}
			p.ga = ptrOf(pre)
		}
	}
	if err := launchGeom(fwd, gridFor(rows), threads, unsafe.Pointer(&p)); err != nil {
		return nil, nil, true, err
	}
	if red != "none" {
		fin, err := m.Function("ce_final" + sfx)
		if err != nil {
			return nil, nil, true, err
		}
		if out, err = tensor.Empty(tensor.CUDA, dt); err != nil {
			return nil, nil, true, err
		}
		q := p
		q.loss = ptrOf(out)
		if err := launchGeom(fin, 1, block, unsafe.Pointer(&q)); err != nil {
			return nil, nil, true, err
		}
		_ = partial.Free() // done with once ce_final is queued (see reduceFinal)
	}
	// tw is the total weight (aux[0], for a reduction), read to the host
	// only by the gradient for an output gradient other than 1.
	tw, haveTW := 0.0, false
	totalWeight := func() (float64, error) {
		if !haveTW {
			h, err := aux.ToCPU()
			if err != nil {
				return 0, err
			}
			tw, haveTW = h.Float64s()[0], true
		}
		return tw, nil
	}
	if !deferred {
		h, err := aux.ToCPU()
		if err != nil {
			return nil, nil, true, err
		}
		hv := h.Float64s()
		if math.Float64bits(hv[1]) != 0 {
			return nil, nil, false, nil // a target out of range: the CPU says which
		}
		tw, haveTW = hv[0], true
	}
	runtime.KeepAlive(keep)

	gradFn, err := m.Function("ce_grad" + sfx)
	if err != nil {
		return nil, nil, true, err
	}
	base := p
	base.loss, base.partial, base.aux, base.flag, base.ga = 0, 0, 0, 0, 0
	grad := func(up *tensor.Tensor, g float64) (*tensor.Tensor, error) {
		q := base
		gx, err := tensor.Empty(tensor.CUDA, dt, rows, cols)
		if err != nil {
			return nil, err
		}
		q.ga = ptrOf(gx)
		if up != nil {
			q.up = ptrOf(up)
		} else {
			tw, err := totalWeight()
			if err != nil {
				return nil, err
			}
			q.s, q.s2 = ceScalars(g, tw, p.o0, p.o1, smoothing, red == "mean", f32)
		}
		err = launchGeom(gradFn, gridFor(rows), threads, unsafe.Pointer(&q))
		runtime.KeepAlive(keep)
		runtime.KeepAlive(stat)
		runtime.KeepAlive(up)
		return gx, err
	}
	if !c.Needs[0] {
		return out, nil, true, nil
	}
	return out, func(g *tensor.Tensor) ([]*tensor.Tensor, error) {
		if red == "none" {
			up, err := upstreamOn(g, dt)
			if err != nil {
				return nil, err
			}
			gx, err := grad(up, 0)
			return []*tensor.Tensor{gx}, err
		}
		gv, err := scalarOf(g)
		if err != nil {
			return nil, err
		}
		if gv == 1 && pre != nil {
			gx := pre
			pre = nil // a backward kernel returns new tensors
			return []*tensor.Tensor{gx}, nil
		}
		gx, err := grad(nil, inT(gv, f32))
		return []*tensor.Tensor{gx}, err
	}, true, nil
}

// ---------------------------------------------------------------------------
// cosine_embedding_loss

// cosTargetDType is the kernel's code of a cosine target dtype.
func cosTargetDType(dt tensor.DType) (int64, bool) {
	switch dt {
	case tensor.Float32:
		return 0, true
	case tensor.Float64:
		return 1, true
	case tensor.Int64:
		return 2, true
	case tensor.Bool:
		return 3, true
	}
	return 0, false
}

// cosCovers reports whether the kernel's layout fits a checked
// cosine_embedding_loss call: input1 and input2 both (N, D) (N, D > 0) of
// one float dtype, a target of shape (N) (float, int64 or bool),
// reductions mean, sum and none. Broadcasts, 1-D inputs and mixed dtypes
// are declined.
func cosCovers(c *devhook.Call) bool {
	args := c.Args
	if len(args) != 3 || args[0] == nil || args[1] == nil || args[2] == nil || !reductionOK(&c.Options) {
		return false
	}
	a, b, t := args[0], args[1], args[2]
	for _, v := range args {
		if v.Device() != tensor.CUDA {
			return false
		}
	}
	if !a.DType().IsFloat() || b.DType() != a.DType() || a.Dim() != 2 || !slices.Equal(a.Shape(), b.Shape()) || a.Size(0) == 0 || a.Size(1) == 0 {
		return false
	}
	if _, ok := cosTargetDType(t.DType()); !ok || !slices.Equal(t.Shape(), []int{a.Size(0)}) {
		return false
	}
	return true
}

func cosRun(c *devhook.Call) (*tensor.Tensor, devhook.Backward, bool, error) {
	if !cosCovers(c) {
		return nil, nil, false, nil
	}
	m, err := module()
	if err != nil {
		return nil, nil, false, nil
	}
	args, o := c.Args, &c.Options
	a, b, t := args[0], args[1], args[2]
	dt := a.DType()
	f32 := dt == tensor.Float32
	fn, err := m.Function("cosine_embedding_loss" + suffixOf(f32))
	if err != nil {
		return nil, nil, true, err
	}
	rows, cols := a.Size(0), a.Size(1)
	red := o.Reduction
	tdt, _ := cosTargetDType(t.DType())
	p := rowParams{rows: int64(rows), cols: int64(cols), tdt: tdt, o0: inT(o.Margin, f32)}
	p.x, p.x2, p.tgt = ptrOf(a), ptrOf(b), ptrOf(t)
	keep := []*tensor.Tensor{a, b, t}
	var out, partial, g1, g2 *tensor.Tensor
	needA, needB := c.Needs[0], c.Needs[1]
	if red == "none" {
		if out, err = tensor.Empty(tensor.CUDA, dt, rows); err != nil {
			return nil, nil, true, err
		}
		p.loss = ptrOf(out)
	} else {
		if partial, err = tensor.Empty(tensor.CUDA, tensor.Float64, rows); err != nil {
			return nil, nil, true, err
		}
		p.partial = ptrOf(partial)
		// The gradients for an output gradient of 1, in the same pass.
		p.s, _ = divided(1, rows, red, f32)
		if needA {
			if g1, err = tensor.Empty(tensor.CUDA, dt, rows, cols); err != nil {
				return nil, nil, true, err
			}
			p.ga = ptrOf(g1)
		}
		if needB {
			if g2, err = tensor.Empty(tensor.CUDA, dt, rows, cols); err != nil {
				return nil, nil, true, err
			}
			p.gb = ptrOf(g2)
		}
	}
	threads := threadsFor(cols)
	if err := launchGeom(fn, gridFor(rows), threads, unsafe.Pointer(&p)); err != nil {
		return nil, nil, true, err
	}
	if red != "none" {
		if out, err = tensor.Empty(tensor.CUDA, dt); err != nil {
			return nil, nil, true, err
		}
		div := 0.0
		if red == "mean" {
			div = float64(rows)
		}
		if err := reduceFinal(m, f32, partial, rows, out, div); err != nil {
			return nil, nil, true, err
		}
	}
	runtime.KeepAlive(keep)
	if !needA && !needB {
		return out, nil, true, nil
	}
	base := p
	base.loss, base.partial, base.ga, base.gb = 0, 0, 0, 0
	return out, func(g *tensor.Tensor) ([]*tensor.Tensor, error) {
		q := base
		var up *tensor.Tensor
		if red == "none" {
			var err error
			if up, err = upstreamOn(g, dt); err != nil {
				return nil, err
			}
			q.up = ptrOf(up)
		} else {
			gv, err := scalarOf(g)
			if err != nil {
				return nil, err
			}
			if gv == 1 && (g1 != nil || g2 != nil) {
				gs := []*tensor.Tensor{g1, g2}
				g1, g2 = nil, nil // a backward kernel returns new tensors
				return gs, nil
			}
			q.s, _ = divided(inT(gv, f32), rows, red, f32)
		}
		grads := make([]*tensor.Tensor, 2)
		for i, need := range []bool{needA, needB} {
			if !need {
				continue
			}
			var err error
			if grads[i], err = tensor.Empty(tensor.CUDA, dt, rows, cols); err != nil {
				return nil, err
			}
		}
		q.ga, q.gb = ptrOf(grads[0]), ptrOf(grads[1])
		err := launchGeom(fn, gridFor(rows), threads, unsafe.Pointer(&q))
		runtime.KeepAlive(keep)
		runtime.KeepAlive(up)
		return grads, err
	}, true, nil
}
