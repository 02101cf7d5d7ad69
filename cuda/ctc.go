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

// ctcPlan is a validated batched ctc_loss call, laid out for the kernel.
// meta holds, per sample b, five int64 (the offset of its labels in the
// labels region, S, L, the offset of its alpha table, the offset of its
// 2S+1 states), then the labels of every sample, then per state the
// previous state of the same class (or −1) and whether it is the class's
// last state (1 or 0), the states of sample b at its state offset.
type ctcPlan struct {
	steps, n, c   int
	meta          []int64
	labBase       int // start of the labels in meta
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

// ctcLayout lays out a checked call (functional's ctcCheck: shapes,
// lengths, blank) for the kernel from the targets and lengths on the host.
// ok is false for labels the kernel cannot index (outside [0, C) or the
// blank: the host path then reports them) and for tables beyond
// tensor.MaxElements.
func ctcLayout(lp, targets *tensor.Tensor, il, tl []int64, blank int64) (plan *ctcPlan, ok bool) {
	shape := lp.Shape()
	steps, n, c := shape[0], shape[1], shape[2]
	ts := targets.Shape()
	data := targets.Int64s()
	offsets := make([]int, n)
	pos := 0
	for b, v := range tl {
		if len(ts) == 1 {
			offsets[b] = pos
			pos += int(v)
		} else {
			offsets[b] = b * ts[1]
		}
	}
	plan = &ctcPlan{steps: steps, n: n, c: c, targetLengths: tl}
	meta := make([]int64, 5*n)
	var labels []int64
	limit := tensor.MaxElements()
	for b := range n {
		L := il[b]
		S := int(tl[b])
		lab := data[offsets[b] : offsets[b]+S]
		for _, v := range lab {
			if v < 0 || v >= int64(c) || v == blank {
				return nil, false
			}
		}
		w := 2*S + 1
		if int64(w) > int64(limit) || L > 0 && int64(w)*L > int64(limit) {
			return nil, false
		}
		meta[5*b] = int64(len(labels))
		meta[5*b+1] = int64(S)
		meta[5*b+2] = L
		meta[5*b+3] = int64(plan.alphaLen)
		meta[5*b+4] = int64(plan.states)
		labels = append(labels, lab...)
		plan.alphaLen += int(L) * w
		plan.states += w
		plan.maxStates = max(plan.maxStates, w)
		if plan.alphaLen > limit || 2*plan.states > limit {
			return nil, false
		}
	}
	plan.labBase = len(meta)
	meta = append(meta, labels...)
	plan.prevBase = len(meta)
	prev := make([]int64, plan.states)
	own := make([]int64, plan.states)
	last := map[int64]int{}
	for b := range n {
		S := int(meta[5*b+1])
		lab := labels[meta[5*b] : int(meta[5*b])+S]
		at := int(meta[5*b+4])
		clear(last)
		for s := 0; s < 2*S+1; s++ {
			cls := blank
			if s%2 == 1 {
				cls = lab[s/2]
			}
			prev[at+s] = -1
			if q, seen := last[cls]; seen {
				prev[at+s] = int64(q)
			}
			last[cls] = s
		}
		for _, s := range last {
			own[at+s] = 1
		}
	}
	meta = append(meta, prev...)
	plan.ownBase = len(meta)
	plan.meta = append(meta, own...)
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
	lp := args[0]
	ht, err := args[1].Detach().ToCPU()
	if err != nil {
		return nil, nil, true, err
	}
	il, err := ctcLengths(args[2])
	if err != nil {
		return nil, nil, true, err
	}
	tl, err := ctcLengths(args[3])
	if err != nil {
		return nil, nil, true, err
	}
	plan, ok := ctcLayout(lp, ht, il, tl, o.Blank)
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
	meta, err := tensor.MustFromData(plan.meta, []int{len(plan.meta)}).ToCUDA()
	if err != nil {
		return nil, nil, true, err
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
