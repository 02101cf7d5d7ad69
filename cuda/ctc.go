package cuda

import (
	"runtime"
	"unsafe"

	drv "github.com/torchloss/torchloss/internal/cuda"
	"github.com/torchloss/torchloss/internal/devhook"
	"github.com/torchloss/torchloss/tensor"
)

// ctcParams mirrors struct CT of kernels/losses.cu (every field 8 bytes).
type ctcParams struct {
	lp, meta, alpha, beta, loss, partial, grad, up uintptr
	steps, n, c, blank, labBase, prevBase, ownBase int64
	zeroInf, mean                                  int64
	s                                              float64
}

// ctcLayoutParams mirrors struct CL of kernels/losses.cu (every field 8
// bytes).
type ctcLayoutParams struct {
	tg, meta, flag                      uintptr
	n, c, blank                         int64
	tgtBase, labBase, prevBase, ownBase int64
}

// ctcPlan is a validated batched ctc_loss call, laid out for the kernels.
// The layout (meta, metaLen int64 on the device) holds, per sample b, five
// int64 (the offset of its labels in the labels region, S, L, the offset
// of its alpha table, the offset of its 2S+1 states), then at tgtBase the
// offset of each sample's labels in the targets: head, computed here from
// the lengths and uploaded. Then come the labels of every sample and per
// state the previous state of the same class (or −1) and whether it is the
// class's last state (1 or 0), the states of sample b at its state offset:
// written by the kernel ctc_layout from the targets on the device.
type ctcPlan struct {
	steps, n, c   int
	head          []int64 // meta[:labBase]
	metaLen       int
	tgtBase       int // start of the target offsets in meta
	labBase       int // start of the labels
	prevBase      int // start of prev
	ownBase       int // start of own
	alphaLen      int // Σ L·(2S+1)
	states        int // Σ (2S+1)
	maxStates     int // max 2S+1
	targetLengths []int64
}

// ctcCovers reports whether the kernel's layout may fit a checked
// ctc_loss call (before the values are read): a batched (T, N, C) float
// log_probs, int64 targets (padded (N, S) or concatenated), reductions
// mean, sum and none. Unbatched inputs are declined.
func ctcCovers(c *devhook.Call) bool {
	args := c.Args
	if len(args) != 4 || !reductionOK(&c.Options) {
		return false
	}
	for _, a := range args {
		if a == nil {
			return false
		}
	}
	lp, tg := args[0], args[1]
	if lp.Device() != tensor.CUDA || tg.Device() != tensor.CUDA || !lp.DType().IsFloat() || lp.Dim() != 3 || lp.Numel() == 0 {
		return false
	}
	return tg.DType() == tensor.Int64 && tg.Dim() >= 1 && tg.Dim() <= 2
}

// ctcPlanFor lays out a checked call (functional's ctcCheck: shapes,
// lengths, blank) from the lengths alone: the targets stay on the device
// (ctc_layout reads them). ok is false for tables beyond
// tensor.MaxElements.
func ctcPlanFor(lp, targets *tensor.Tensor, il, tl []int64) (plan *ctcPlan, ok bool) {
	shape := lp.Shape()
	steps, n, c := shape[0], shape[1], shape[2]
	ts := targets.Shape()
	plan = &ctcPlan{steps: steps, n: n, c: c, targetLengths: tl, tgtBase: 5 * n, labBase: 6 * n}
	head := make([]int64, 6*n)
	limit := tensor.MaxElements()
	labels, pos := 0, 0
	for b := range n {
		L := il[b]
		S := int(tl[b])
		w := 2*S + 1
		if int64(w) > int64(limit) || L > 0 && int64(w)*L > int64(limit) {
			return nil, false
		}
		head[5*b] = int64(labels)
		head[5*b+1] = int64(S)
		head[5*b+2] = L
		head[5*b+3] = int64(plan.alphaLen)
		head[5*b+4] = int64(plan.states)
		if len(ts) == 1 {
			head[plan.tgtBase+b] = int64(pos)
			pos += S
		} else {
			head[plan.tgtBase+b] = int64(b * ts[1])
		}
		labels += S
		plan.alphaLen += int(L) * w
		plan.states += w
		plan.maxStates = max(plan.maxStates, w)
		if plan.alphaLen > limit || 2*plan.states+labels > limit {
			return nil, false
		}
	}
	plan.head = head
	plan.prevBase = plan.labBase + labels
	plan.ownBase = plan.prevBase + plan.states
	plan.metaLen = plan.ownBase + plan.states
	return plan, true
}

// ctcLengths reads a lengths tensor flat (from either device).
func ctcLengths(t *tensor.Tensor) ([]int64, error) {
	h, err := t.Detach().ToCPU()
	if err != nil {
		return nil, err
	}
	return h.Int64s(), nil
}

func ctcRun(c *devhook.Call) (*tensor.Tensor, devhook.Backward, bool, error) {
	if !ctcCovers(c) {
		return nil, nil, false, nil
	}
	args, o := c.Args, &c.Options
	lp, targets := args[0], args[1]
	// The lengths are host tensors (functional read them); a device one
	// would be copied here, as PyTorch's CUDA ctc_loss copies it.
	il, err := ctcLengths(args[2])
	if err != nil {
		return nil, nil, true, err
	}
	tl, err := ctcLengths(args[3])
	if err != nil {
		return nil, nil, true, err
	}
	plan, ok := ctcPlanFor(lp, targets, il, tl)
	if !ok {
		return nil, nil, false, nil
	}
	m, err := module()
	if err != nil {
		return nil, nil, false, nil
	}
	dt := lp.DType()
	f32 := dt == tensor.Float32
	sfx := suffixOf(f32)
	abFn, err := m.Function("ctc_ab" + sfx)
	if err != nil {
		return nil, nil, true, err
	}
	gradFn, err := m.Function("ctc_grad" + sfx)
	if err != nil {
		return nil, nil, true, err
	}
	meta, err := ctcMeta(c, m, plan, targets, o.Blank)
	if err != nil || meta == nil {
		return nil, nil, err != nil, err
	}
	red := o.Reduction
	n := plan.n
	p := ctcParams{steps: int64(plan.steps), n: int64(n), c: int64(plan.c), blank: o.Blank,
		labBase: int64(plan.labBase), prevBase: int64(plan.prevBase), ownBase: int64(plan.ownBase),
		zeroInf: b2i(o.ZeroInfinity), mean: b2i(red == "mean")}
	p.lp, p.meta = ptrOf(lp), ptrOf(meta)
	// The alpha table, and the beta table when a gradient is wanted: the
	// backward reuses both.
	alpha, err := tensor.Empty(tensor.CUDA, dt, max(plan.alphaLen, 1))
	if err != nil {
		return nil, nil, true, err
	}
	p.alpha = ptrOf(alpha)
	var beta *tensor.Tensor
	if c.Needs[0] {
		if beta, err = tensor.Empty(tensor.CUDA, dt, max(plan.alphaLen, 1)); err != nil {
			return nil, nil, true, err
		}
		p.beta = ptrOf(beta)
	}
	var out, partial *tensor.Tensor
	if red == "none" {
		if out, err = tensor.Empty(tensor.CUDA, dt, n); err != nil {
			return nil, nil, true, err
		}
		p.loss = ptrOf(out)
	} else {
		if partial, err = tensor.Empty(tensor.CUDA, tensor.Float64, n); err != nil {
			return nil, nil, true, err
		}
		p.partial = ptrOf(partial)
	}
	recs := uint32(1) // alpha; beta too (blockIdx.y 1) for a gradient
	if beta != nil {
		recs = 2
	}
	if err := drv.Launch(abFn, [3]uint32{uint32(gridFor(n)), recs, 1}, [3]uint32{uint32(threadsFor(plan.maxStates)), 1, 1}, 0, unsafe.Pointer(&p)); err != nil {
		return nil, nil, true, err
	}
	// grad launches ctc_grad with q's upstream gradient into a new tensor.
	grad := func(q ctcParams) (*tensor.Tensor, error) {
		q.loss, q.partial = 0, 0
		g, err := tensor.Empty(tensor.CUDA, dt, lp.Shape()...)
		if err != nil {
			return nil, err
		}
		q.grad = ptrOf(g)
		err = drv.Launch(gradFn, [3]uint32{uint32(gridFor(n)), uint32(ctcChunks(plan.steps)), 1}, [3]uint32{block, 1, 1}, 0, unsafe.Pointer(&q))
		runtime.KeepAlive(lp)
		runtime.KeepAlive(meta)
		runtime.KeepAlive(alpha)
		runtime.KeepAlive(beta)
		return g, err
	}
	var pre *tensor.Tensor // the gradient for an output gradient of 1
	if red != "none" {
		if out, err = tensor.Empty(tensor.CUDA, dt); err != nil {
			return nil, nil, true, err
		}
		div := 0.0
		if red == "mean" {
			div = float64(n)
		}
		if err := reduceFinal(m, f32, partial, n, out, div); err != nil {
			return nil, nil, true, err
		}
		if beta != nil {
			q := p
			q.s, _ = divided(1, n, red, f32)
			if pre, err = grad(q); err != nil {
				return nil, nil, true, err
			}
		}
	}
	runtime.KeepAlive(lp)
	if !c.Needs[0] {
		return out, nil, true, nil
	}
	return out, func(g *tensor.Tensor) ([]*tensor.Tensor, error) {
		q := p
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
			if gv == 1 && pre != nil {
				gx := pre
				pre = nil // a backward kernel returns new tensors
				return []*tensor.Tensor{gx}, nil
			}
			q.s, _ = divided(inT(gv, f32), n, red, f32)
		}
		gr, err := grad(q)
		runtime.KeepAlive(up)
		return []*tensor.Tensor{gr}, err
	}, true, nil
}

// ctcStepsPerBlock is the number of time steps of one ctc_grad block.
const ctcStepsPerBlock = 8

// ctcChunks is ctc_grad's grid height: the time steps in chunks of
// ctcStepsPerBlock (more per block past 65535 chunks; the kernel derives
// its chunk from the grid).
func ctcChunks(steps int) int {
	return max(1, min((steps+ctcStepsPerBlock-1)/ctcStepsPerBlock, maxGrid))
}

// ctcMeta builds plan's layout on the device: the head (from the lengths)
// is the call's one copy to the device, then ctc_layout gathers the labels
// from the targets and derives prev and own. A label the kernels cannot
// index fails a deferred check (reported at the next synchronizing point
// as the host's error); without mapped memory for the check, its flag is
// read back and a failure declines the call (nil, nil: the host path says
// why).
func ctcMeta(c *devhook.Call, m *drv.Module, plan *ctcPlan, targets *tensor.Tensor, blank int64) (*tensor.Tensor, error) {
	fn, err := m.Function("ctc_layout")
	if err != nil {
		return nil, err
	}
	meta, err := tensor.Empty(tensor.CUDA, tensor.Int64, plan.metaLen)
	if err != nil {
		return nil, err
	}
	if err := drv.CopyHtoD(ptrOf(meta), unsafe.Pointer(&plan.head[0]), 8*len(plan.head)); err != nil {
		return nil, err
	}
	p := ctcLayoutParams{tg: ptrOf(targets), meta: ptrOf(meta), n: int64(plan.n), c: int64(plan.c), blank: blank,
		tgtBase: int64(plan.tgtBase), labBase: int64(plan.labBase), prevBase: int64(plan.prevBase), ownBase: int64(plan.ownBase)}
	var flag *tensor.Tensor
	w, deferred := checkWord(c)
	if deferred {
		p.flag = w
	} else {
		if flag, err = zeros(tensor.Int64, 1); err != nil {
			return nil, err
		}
		p.flag = ptrOf(flag)
	}
	err = launchGeom(fn, gridFor(plan.n), threadsFor(plan.maxStates), unsafe.Pointer(&p))
	runtime.KeepAlive(targets)
	if err != nil || deferred {
		return meta, err
	}
	h, err := flag.ToCPU()
	if err != nil {
		return nil, err
	}
	if h.Int64s()[0] != 0 {
		return nil, nil
	}
	return meta, nil
}
