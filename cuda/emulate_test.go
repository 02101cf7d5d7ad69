package cuda

// Host emulations of the row and CTC kernels of kernels/losses.cu: the same
// operations in the same order (double accumulation per thread over strided
// columns, then the block's tree), the block size from threadsFor and, for
// ctc_loss, the kernels' layout (ctcPlanFor's head, ctc_layout's regions). They check the kernels'
// algorithms and orders against the CPU implementations, with the
// conformance tolerances, on a machine without a GPU. They do not check the
// CUDA code itself (a transcription): the GPU tests do.

import (
	"math"
	"slices"
	"testing"

	"github.com/torchloss/torchloss/internal/kernels"
	"github.com/torchloss/torchloss/tensor"
)

func emuExp[T kernels.Float](x T) T { return T(math.Exp(float64(x))) }
func emuLog[T kernels.Float](x T) T { return T(math.Log(float64(x))) }

// emuBlockSum is block_sum over the threads' values (a power of two, at
// least a warp): each warp halves its lanes (the shuffles), then the warp
// sums are halved the same way.
func emuBlockSum(part []float64) float64 {
	nw := len(part) / 32
	red := make([]float64, nw)
	for w := range nw {
		lane := part[32*w : 32*w+32]
		for h := 16; h > 0; h >>= 1 {
			for i := 0; i < h; i++ {
				lane[i] += lane[i+h]
			}
		}
		red[w] = lane[0]
	}
	for h := nw / 2; h > 0; h >>= 1 {
		for i := 0; i < h; i++ {
			red[i] += red[i+h]
		}
	}
	return red[0]
}

// emuRowSum is a kernel's row sum: thread k accumulates f(k), f(k+threads),
// … in double, then block_sum.
func emuRowSum(n, threads int, f func(j int) float64) float64 {
	part := make([]float64, threads)
	for k := range threads {
		for j := k; j < n; j += threads {
			part[k] += f(j)
		}
	}
	return emuBlockSum(part)
}

// emuPointwiseSum is the sum of the per-element losses l of a pointwise
// kernel and reduce_final: the grid of pointwiseGrid, each thread's groups
// of 16 bytes in order, block_sum per block, then the partials.
func emuPointwiseSum[T kernels.Float](l []T) T {
	n := len(l)
	f32 := kernels.Is32[T]()
	w := 2
	if f32 {
		w = 4
	}
	grid := pointwiseGrid(n, f32)
	groups, stride := (n+w-1)/w, grid*block
	partial := make([]float64, grid)
	part := make([]float64, block)
	for b := range grid {
		for t := range block {
			part[t] = 0
			for g := b*block + t; g < groups; g += stride {
				for i := g * w; i < min(g*w+w, n); i++ {
					part[t] += float64(l[i])
				}
			}
		}
		partial[b] = emuBlockSum(part)
	}
	return T(emuRowSum(grid, block, func(i int) float64 { return partial[i] }))
}

// emuCEStats is ce_stats: the online max and sum of exponentials of each
// thread over its strided columns, then block_max and block_sum.
func emuCEStats[T kernels.Float](row []T, th int) (m, ls T) {
	m, sum := emuRowStats(row, th)
	return m, emuLog(sum)
}

// emuBlockMax is block_max: block_sum's order with a NaN-propagating max.
func emuBlockMax(part []float64) float64 {
	nm := func(a, b float64) float64 {
		if a != a {
			return a
		}
		if b != b {
			return b
		}
		return max(a, b)
	}
	nw := len(part) / 32
	red := make([]float64, nw)
	for w := range nw {
		lane := part[32*w : 32*w+32]
		for h := 16; h > 0; h >>= 1 {
			for i := 0; i < h; i++ {
				lane[i] = nm(lane[i], lane[i+h])
			}
		}
		red[w] = lane[0]
	}
	for h := nw / 2; h > 0; h >>= 1 {
		for i := 0; i < h; i++ {
			red[i] = nm(red[i], red[i+h])
		}
	}
	return red[0]
}

// emuCE emulates ce_fwd, ce_final and ce_grad: the output and the gradient
// for the upstream gradient up (one value when reduced, one per row for
// none).
func emuCE[T kernels.Float](x []T, tgt []int64, w []T, rows, cols int, ignore int64, ls float64, red string, up []T) (out, gx []T) {
	th := threadsFor(cols)
	smoothing := ls > 0
	keep, share := T(1-ls), T(ls/float64(cols))
	stat := make([]T, 2*rows)
	part := make([]float64, 3*rows)
	out = make([]T, rows)
	for r := range rows {
		row := x[r*cols : (r+1)*cols]
		m, ls := emuCEStats(row, th)
		t := tgt[r]
		ign := t == ignore
		var sm T
		if smoothing {
			sm = -T(emuRowSum(cols, th, func(j int) float64 {
				lp := (row[j] - m) - ls
				if w != nil {
					return float64(lp * w[j])
				}
				return float64(lp)
			}))
			if ign {
				sm = 0
			}
		}
		stat[2*r], stat[2*r+1] = m, ls
		var nl, wt T
		if !ign {
			lpt := (row[t] - m) - ls
			wt = 1
			nl = -lpt
			if w != nil {
				wt = w[t]
				nl = -(lpt * wt)
			}
		}
		o := nl
		if smoothing {
			o = nl*keep + sm*share
		}
		out[r] = o
		part[3*r], part[3*r+1], part[3*r+2] = float64(nl), float64(wt), float64(sm)
	}
	var tw T
	if red != "none" {
		loss := T(emuRowSum(rows, block, func(r int) float64 { return part[3*r] }))
		tw = T(emuRowSum(rows, block, func(r int) float64 { return part[3*r+1] }))
		sm := T(emuRowSum(rows, block, func(r int) float64 { return part[3*r+2] }))
		nv := loss
		if red == "mean" {
			nv = loss / tw
		}
		o := nv
		if smoothing {
			st := sm
			if red == "mean" {
				st = sm / tw
			}
			o = nv*keep + st*share
		}
		out = []T{o}
	}
	gx = make([]T, rows*cols)
	f32 := kernels.Is32[T]()
	var sN, gsv float64
	if red != "none" {
		sN, gsv = ceScalars(float64(up[0]), float64(tw), float64(keep), float64(share), smoothing, red == "mean", f32)
	}
	for r := range rows {
		row := x[r*cols : (r+1)*cols]
		m, ls := stat[2*r], stat[2*r+1]
		t := tgt[r]
		ign := t == ignore
		wt := T(1)
		if w != nil && !ign {
			wt = w[t]
		}
		var nv, gs T
		if red == "none" {
			g := up[r]
			gn := g
			if smoothing {
				gn = g * keep
			}
			nv = -wt * gn
			if smoothing && !ign {
				gs = -(g * share)
			}
		} else {
			nv = T(sN)
			if w != nil {
				nv = wt * T(sN)
			}
			if smoothing && !ign {
				gs = T(gsv)
			}
		}
		if ign {
			nv = 0
		}
		gOf := func(j int) T {
			if !smoothing {
				if !ign && int64(j) == t {
					return nv
				}
				return 0
			}
			v := gs
			if w != nil {
				v = gs * w[j]
			}
			if !ign && int64(j) == t {
				return nv + v
			}
			return 0 + v
		}
		S := nv
		if smoothing {
			S = T(emuRowSum(cols, th, func(j int) float64 { return float64(gOf(j)) }))
		}
		for j := range cols {
			lp := (row[j] - m) - ls
			gx[r*cols+j] = gOf(j) - emuExp(lp)*S
		}
	}
	return out, gx
}

// emuCosine emulates the cosine_embedding_loss kernel and reduce_final.
func emuCosine[T kernels.Float](x1, x2 []T, cls []T, rows, d int, margin T, red string, up []T) (out, g1, g2 []T) {
	th := threadsFor(d)
	eps := T(float32(1e-12))
	loss := make([]T, rows)
	g1, g2 = make([]T, rows*d), make([]T, rows*d)
	s := T(0)
	if red != "none" {
		s = up[0]
		if red == "mean" {
			s = up[0] / T(rows)
		}
	}
	for r := range rows {
		a, b := x1[r*d:(r+1)*d], x2[r*d:(r+1)*d]
		prod := T(emuRowSum(d, th, func(j int) float64 { return float64(a[j] * b[j]) }))
		m1 := T(emuRowSum(d, th, func(j int) float64 { return float64(a[j] * a[j]) })) + eps
		m2 := T(emuRowSum(d, th, func(j int) float64 { return float64(b[j] * b[j]) })) + eps
		den := T(math.Sqrt(float64(m1 * m2)))
		cos := prod / den
		switch cls[r] {
		case 1:
			loss[r] = 1 - cos
		case -1:
			loss[r] = kernels.ClampMin(cos-margin, 0)
		}
		u := s
		if red == "none" {
			u = up[r]
		}
		var gpos, gn T
		if cls[r] == 1 {
			gpos = u
		}
		if cls[r] == -1 {
			gn = u
		}
		if !(cos-margin >= 0) {
			gn = 0
		}
		gc := -gpos + gn
		gprod := gc / den
		gden := -gc * ((prod / den) / den)
		gp := gden / (2 * den)
		gm1, gm2 := gp*m2, gp*m1
		for j := range d {
			rr := gm1 * a[j]
			g1[r*d+j] = (rr + rr) + gprod*b[j]
			rr = gm2 * b[j]
			g2[r*d+j] = (rr + rr) + gprod*a[j]
		}
	}
	if red == "none" {
		return loss, g1, g2
	}
	v := T(emuRowSum(rows, block, func(r int) float64 { return float64(loss[r]) }))
	if red == "mean" {
		v /= T(rows)
	}
	return []T{v}, g1, g2
}

// emuCTCLayout emulates ctc_layout on plan's head and the targets: the
// layout (meta) and whether the flag was set. Each state's values depend
// on the targets only (no thread reads another's writes), so the order of
// the threads does not matter.
func emuCTCLayout(plan *ctcPlan, tg []int64, blank int64) (meta []int64, flag bool) {
	meta = make([]int64, plan.metaLen)
	copy(meta, plan.head)
	c := int64(plan.c)
	bad := func(v int64) bool { return v < 0 || v >= c || v == blank }
	labAt := func(at int64) int64 {
		if bad(tg[at]) {
			return blank
		}
		return tg[at]
	}
	for b := range int64(plan.n) {
		mb := meta[5*b:]
		S, to := mb[1], meta[int64(plan.tgtBase)+b]
		lab := meta[int64(plan.labBase)+mb[0]:]
		prev, own := meta[int64(plan.prevBase)+mb[4]:], meta[int64(plan.ownBase)+mb[4]:]
		for s := range 2*S + 1 {
			if s%2 == 0 {
				prev[s] = -1
				if s >= 2 {
					prev[s] = s - 2
				}
				own[s] = 0
				if s == 2*S {
					own[s] = 1
				}
				continue
			}
			k := s / 2
			if bad(tg[to+k]) {
				flag = true
			}
			v := labAt(to + k)
			lab[k] = v
			prev[s] = -1
			for j := k - 1; j >= 0; j-- {
				if labAt(to+j) == v {
					prev[s] = 2*j + 1
					break
				}
			}
			own[s] = 1
			for j := k + 1; j < S; j++ {
				if labAt(to+j) == v {
					own[s] = 0
					break
				}
			}
		}
	}
	return meta, flag
}

// emuCTC emulates the ctc_ab and ctc_grad kernels and reduce_final on the
// layout of plan, lp being the (T, N, C) array.
func emuCTC[T kernels.Float](lp []T, plan *ctcPlan, meta []int64, blank int64, zeroInf bool, red string, up []T) (out, grad []T) {
	n, C, steps := plan.n, plan.c, plan.steps
	NC := n * C
	ninf := T(math.Inf(-1))
	inf := T(math.Inf(1))
	alpha := make([]T, max(plan.alphaLen, 1))
	beta := make([]T, max(plan.alphaLen, 1))
	grad = make([]T, len(lp))
	loss := make([]T, n)
	part := make([]float64, n)
	lse3 := func(a1, a2, a3 T) T {
		m := a1
		if a2 > m {
			m = a2
		}
		if a3 > m {
			m = a3
		}
		if m == ninf {
			m = 0
		}
		return emuLog((emuExp(a1-m)+emuExp(a2-m))+emuExp(a3-m)) + m
	}
	for b := range n {
		mb := meta[5*b:]
		S, L := int(mb[1]), int(mb[2])
		w := 2*S + 1
		lab := meta[plan.labBase+int(mb[0]):]
		prev := meta[plan.prevBase+int(mb[4]):]
		own := meta[plan.ownBase+int(mb[4]):]
		al := alpha[mb[3]:]
		lpb := lp[b*C:]
		prime := func(s int) int64 {
			if s%2 == 0 {
				return blank
			}
			return lab[s/2]
		}
		if L > 0 {
			for s := range w {
				al[s] = ninf
			}
			al[0] = lpb[blank]
			if S > 0 {
				al[1] = lpb[prime(1)]
			}
			for t := 1; t < L; t++ {
				pr, cur := al[(t-1)*w:], al[t*w:]
				for s := range w {
					cp := prime(s)
					a2, a3 := ninf, ninf
					if s > 0 {
						a2 = pr[s-1]
					}
					if s > 1 && prime(s-2) != cp {
						a3 = pr[s-2]
					}
					cur[s] = lse3(pr[s], a2, a3) + lpb[t*NC+int(cp)]
				}
			}
		}
		var nll T
		switch {
		case L == 0 && S == 0:
			nll = -T(0)
		case L == 0:
			nll = inf
		case S == 0:
			nll = -al[(L-1)*w]
		default:
			last := al[(L-1)*w:]
			l1, l2 := last[2*S], last[2*S-1]
			m := kernels.Max(l1, l2)
			if m == ninf {
				m = 0
			}
			nll = -(emuLog(emuExp(l1-m)+emuExp(l2-m)) + m)
		}
		res := nll
		if zeroInf && nll == inf {
			res = 0
		}
		loss[b] = res
		part[b] = float64(res)
		if red == "mean" {
			part[b] = float64(res / T(max(S, 1)))
		}
		// ctc_grad: the beta table of ctc_ab, then per step t (the kernel's
		// time chunks run in parallel; each (t, class) cell is written by
		// one thread) the class sums over the states from the last down.
		gr := T(0)
		switch red {
		case "none":
			gr = up[b]
		case "sum":
			gr = up[0]
		default:
			gr = up[0] / T(n) / T(max(S, 1))
		}
		zero := zeroInf && nll == inf
		G := grad[b*C:]
		te := L
		if zero {
			te = 0
		}
		for t := range steps {
			for c := range C {
				G[t*NC+c] = 0
				if t < te {
					G[t*NC+c] = ninf
				}
			}
		}
		if te == 0 {
			continue
		}
		be := beta[mb[3]:]
		for s := range w {
			be[(L-1)*w+s] = ninf
		}
		be[(L-1)*w+2*S] = lpb[(L-1)*NC+int(blank)]
		if S > 0 {
			be[(L-1)*w+2*S-1] = lpb[(L-1)*NC+int(prime(2*S-1))]
		}
		for t := L - 2; t >= 0; t-- {
			next, cur := be[(t+1)*w:], be[t*w:]
			for s := range w {
				cp := prime(s)
				b2, b3 := ninf, ninf
				if s < 2*S {
					b2 = next[s+1]
				}
				if s < 2*S-1 && prime(s+2) != cp {
					b3 = next[s+2]
				}
				cur[s] = lse3(next[s], b2, b3) + lpb[t*NC+int(cp)]
			}
		}
		for t := range te {
			la, lb := al[t*w:], be[t*w:]
			for s := range w {
				if own[s] == 0 {
					continue
				}
				acc := ninf
				for q := int64(s); q >= 0; q = prev[q] {
					v := la[q] + lb[q]
					if acc == ninf {
						acc = v
					} else {
						mx := kernels.Max(acc, v)
						acc = emuLog(emuExp(acc-mx)+emuExp(v-mx)) + mx
					}
				}
				G[t*NC+int(prime(s))] = acc
			}
		}
		for t := range te {
			for c := range C {
				l := lpb[t*NC+c]
				g := &G[t*NC+c]
				*g = (emuExp(l) - emuExp((*g+nll)-l)) * gr
			}
		}
	}
	if red == "none" {
		return loss, grad
	}
	v := T(emuRowSum(n, block, func(b int) float64 { return part[b] }))
	if red == "mean" {
		v /= T(n)
	}
	return []T{v}, grad
}

// closeTo compares got with want at the conformance tolerance of T.
func closeTo[T kernels.Float](t *testing.T, what string, got, want []T) {
	t.Helper()
	rtol, atol := 1e-10, 1e-12
	if kernels.Is32[T]() {
		rtol, atol = 1e-5, 1e-6
	}
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	for i := range got {
		g, w := float64(got[i]), float64(want[i])
		if math.IsNaN(g) && math.IsNaN(w) || g == w {
			continue
		}
		if !(math.Abs(g-w) <= atol+rtol*math.Abs(w)) {
			t.Errorf("%s[%d] = %v, want %v", what, i, g, w)
			return
		}
	}
}

func hostValues[T kernels.Float](t *tensor.Tensor) []T {
	return tensor.Data[T](t)
}

// emuSoftmax emulates the softmax and log_softmax row kernels (forward:
// ce_stats, then each value; backward: the row sum by block_sum).
func emuSoftmax[T kernels.Float](x, g []T, rows, cols int, log bool) (y, gx []T) {
	th := threadsFor(cols)
	y, gx = make([]T, len(x)), make([]T, len(x))
	for r := range rows {
		row, out := x[r*cols:(r+1)*cols], y[r*cols:(r+1)*cols]
		m, sum := emuRowStats(row, th)
		ls := emuLog(sum)
		for j, v := range row {
			if log {
				out[j] = (v - m) - ls
			} else {
				out[j] = emuExp(v-m) / sum
			}
		}
		gr, gxr := g[r*cols:(r+1)*cols], gx[r*cols:(r+1)*cols]
		s := T(emuRowSum(cols, th, func(j int) float64 {
			if log {
				return float64(gr[j])
			}
			return float64(gr[j] * out[j])
		}))
		for j := range gxr {
			if log {
				gxr[j] = gr[j] - emuExp(out[j])*s
			} else {
				gxr[j] = (gr[j] - s) * out[j]
			}
		}
	}
	return y, gx
}

// emuRowStats is ce_stats's maximum and sum of exponentials.
func emuRowStats[T kernels.Float](row []T, th int) (m, sum T) {
	ninf := T(math.Inf(-1))
	mt, sc := make([]float64, th), make([]float64, th)
	for k := range th {
		m, s := ninf, 0.0
		for j := k; j < len(row); j += th {
			v := row[j]
			if v != v {
				m = v
			}
			if v > m {
				s *= math.Exp(float64(m) - float64(v))
				m = v
			}
			if v != ninf {
				s += float64(emuExp(v - m))
			}
		}
		mt[k], sc[k] = float64(m), s
	}
	mx := emuBlockMax(slices.Clone(mt))
	for k := range th {
		if T(mt[k]) == ninf {
			sc[k] = 0
		} else {
			sc[k] *= math.Exp(mt[k] - mx)
		}
	}
	return T(mx), T(emuBlockSum(sc))
}
