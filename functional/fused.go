package functional

import (
	"slices"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/torchloss/torchloss/internal/kernels"
	"github.com/torchloss/torchloss/internal/parallel"
	"github.com/torchloss/torchloss/tensor"
)

// This file is the fused, parallel evaluation of elementwise losses: one
// pass over the inputs, in chunks of sumGrain elements run on up to
// NumThreads goroutines, computes each chunk's per-element losses into a
// small scratch buffer, sums them (kernels.Sum, PyTorch's order within the
// chunk), and, when a gradient will be wanted, computes the gradient of the
// chunk for an output gradient of 1 while the chunk is in cache. The chunk
// sums are combined in chunk order, so the result does not depend on the
// thread count; an input of at most sumGrain elements is one chunk, summed
// exactly as kernels.Sum sums it.
//
// The backward function hands out the precomputed gradient when the output
// gradient is 1 (loss.Backward()), once; any other output gradient, or a
// second backward, recomputes it with the loss's own backward kernels.

// sumGrain is the chunk length of the fused elementwise losses.
const sumGrain = 1 << 15

// scratch32 and scratch64 are free lists of sumGrain-element buffers. They
// hold at most what the most concurrent use needed: a few buffers per
// worker goroutine.
var (
	scratch32 kernels.FreeList[*[]float32]
	scratch64 kernels.FreeList[*[]float64]
)

// scratchMade32 and scratchMade64 count the scratch buffers made.
var scratchMade32, scratchMade64 atomic.Int64

// scratchPerWorker is the most scratch buffers one chunk of a fused pass
// holds at a time.
const scratchPerWorker = 4

// getScratch returns a scratch slice of sumGrain elements of T. The first
// time the free list runs dry it is stocked for scratchPerWorker buffers
// per worker goroutine, so that the steps of a training loop after the
// first find all they need whatever the workers' timing (a peak of
// concurrent chunks may come late).
func getScratch[T kernels.Float]() *[]T {
	l := scratchList[T]()
	if s, ok := l.Get(); ok {
		return s
	}
	made := &scratchMade64
	if kernels.Is32[T]() {
		made = &scratchMade32
	}
	for want := int64(scratchPerWorker * parallel.Threads()); made.Load() < want-1; {
		made.Add(1)
		s := make([]T, sumGrain)
		l.Put(&s, 0)
	}
	made.Add(1)
	s := make([]T, sumGrain)
	return &s
}

// putScratch returns s to the free list.
func putScratch[T kernels.Float](s *[]T) { scratchList[T]().Put(s, 0) }

func scratchList[T kernels.Float]() *kernels.FreeList[*[]T] {
	if kernels.Is32[T]() {
		return any(&scratch32).(*kernels.FreeList[*[]T])
	}
	return any(&scratch64).(*kernels.FreeList[*[]T])
}

// rows32 and rows64 are free lists of per-sample scratch slices of any
// length (a row loss's per-sample values when its output is reduced), so
// that a training loop's steady state allocates none; at most 64 MB each.
var (
	rows32 = kernels.FreeList[*[]float32]{MaxBytes: 64 << 20}
	rows64 = kernels.FreeList[*[]float64]{MaxBytes: 64 << 20}
)

// getRows returns a zeroed scratch slice of n elements of T, from the free
// list when it holds one large enough; give it back with putRows.
func getRows[T kernels.Float](n int) *[]T {
	l := rowsList[T]()
	if s, ok := l.Get(); ok && cap(*s) >= n {
		*s = (*s)[:n]
		clear(*s)
		return s
	}
	s := make([]T, n)
	return &s
}

// putRows returns s to the free list; s must not be used afterwards.
func putRows[T kernels.Float](s *[]T) {
	var z T
	rowsList[T]().Put(s, cap(*s)*int(unsafe.Sizeof(z)))
}

func rowsList[T kernels.Float]() *kernels.FreeList[*[]T] {
	if kernels.Is32[T]() {
		return any(&rows32).(*kernels.FreeList[*[]T])
	}
	return any(&rows64).(*kernels.FreeList[*[]T])
}

// fusedElementwise describes an elementwise loss over n elements for
// runFused.
type fusedElementwise[T kernels.Float] struct {
	n     int
	shape []int
	r     Reduction
	// fwd writes the per-element losses of elements [lo, hi) into loss
	// (len hi − lo).
	fwd func(lo, hi int, loss []T)
	// grad, when not nil, writes the gradients of elements [lo, hi) for
	// the output gradient 1 (the reductions Sum and Mean only).
	grad func(lo, hi int)
	// sum, when not nil, replaces fwd and kernels.Sum for the reductions:
	// it returns kernels.Sum of the losses of elements [lo, hi), bit for
	// bit, without writing them out (and may write the gradients too).
	sum func(lo, hi int) T
	// alloc, when not nil, allocates the gradient buffers that grad (and
	// sum) write, from the first chunk to run: see lateAlloc.
	alloc func()
	// gradLate writes the gradients of [lo, hi) of a chunk whose loss ran
	// while alloc was running (nil: grad does).
	gradLate func(lo, hi int)
}

// lateAlloc allocates the buffers of gradients computed in a fused forward
// pass while that pass runs. Go zeroes a large allocation on the
// allocating goroutine (about 0.6 ms for 16 MB, with the other workers
// idle when it precedes the parallel pass); here the first chunk to run
// allocates, and the chunks that other workers run meanwhile compute their
// losses and leave their gradients for a parallel pass after the loop
// (finish), reading their inputs again. The gradients are elementwise, so
// the results do not depend on which chunks were deferred; with one worker
// none is. It pays where the pass is compute-bound (binary_cross_entropy,
// kl_div); mse_loss and l1_loss, bound by memory bandwidth, allocate first:
// re-reading a deferred chunk's inputs cost more there than the zeroing
// (measured at 2 threads).
type lateAlloc struct {
	alloc   func()
	state   atomic.Int32 // 0: not allocated, 1: allocating, 2: allocated
	mu      sync.Mutex
	pending [][2]int // chunks whose gradients are left for finish
}

// ready reports whether the buffers are allocated, allocating them when no
// worker has started to; false: another worker is allocating them.
func (l *lateAlloc) ready() bool {
	if l.state.Load() == 2 {
		return true
	}
	if l.state.CompareAndSwap(0, 1) {
		l.alloc()
		if lateAllocHook != nil {
			lateAllocHook()
		}
		l.state.Store(2)
		return true
	}
	return l.state.Load() == 2
}

// lateAllocHook, when set (by tests), runs after a late allocation: a slow
// one makes the other workers defer their chunks' gradients.
var lateAllocHook func()

// later leaves the gradients of the chunk [lo, hi) for finish.
func (l *lateAlloc) later(lo, hi int) {
	l.mu.Lock()
	l.pending = append(l.pending, [2]int{lo, hi})
	l.mu.Unlock()
}

// finish allocates the buffers if no chunk did (an empty loss) and writes
// the deferred chunks' gradients with grad, in parallel.
func (l *lateAlloc) finish(grad func(lo, hi int)) {
	if l.state.Load() == 0 {
		l.alloc()
		l.state.Store(2)
	}
	p := l.pending
	l.pending = nil
	parallelFor(len(p), 1, func(lo, hi int) {
		for _, c := range p[lo:hi] {
			grad(c[0], c[1])
		}
	})
}

// runFused evaluates the loss and returns its reduced (or, for None,
// unreduced) output, and whether grad ran.
func runFused[T kernels.Float](e fusedElementwise[T]) (*tensor.Tensor, bool) {
	var late *lateAlloc
	if e.alloc != nil {
		late = &lateAlloc{alloc: e.alloc}
		defer func() {
			g := e.gradLate
			if g == nil {
				g = e.grad
			}
			late.finish(g)
		}()
	}
	if e.r == None {
		loss := make([]T, e.n)
		parallel.For(e.n, sumGrain, func(_, lo, hi int) { e.fwd(lo, hi, loss[lo:hi]) })
		return tensor.MustFromData(loss, e.shape), false
	}
	if e.n == 0 {
		return reduce([]T{}, e.shape, e.r), false
	}
	nc := parallel.Chunks(e.n, sumGrain)
	var one [1]T
	partial := one[:]
	if nc > 1 {
		partial = make([]T, nc)
	}
	fwdSum := func(lo, hi int) T {
		buf := getScratch[T]()
		l := (*buf)[:hi-lo]
		e.fwd(lo, hi, l)
		s := kernels.Sum(l)
		putScratch(buf)
		return s
	}
	parallel.For(e.n, sumGrain, func(c, lo, hi int) {
		if late != nil && !late.ready() {
			partial[c] = fwdSum(lo, hi)
			late.later(lo, hi)
			return
		}
		if e.sum != nil {
			partial[c] = e.sum(lo, hi)
		} else {
			partial[c] = fwdSum(lo, hi)
		}
		if e.grad != nil {
			e.grad(lo, hi)
		}
	})
	s := partial[0]
	if nc > 1 {
		s = kernels.Sum(partial)
	}
	if e.r == Mean {
		s /= T(e.n)
	}
	return tensor.Scalar(s), e.grad != nil
}

// eagerGrads holds gradients computed in the forward pass for an output
// gradient of 1, handed out once.
type eagerGrads[T kernels.Float] struct {
	mu    sync.Mutex
	ready bool
	gs    [][]T
	// claims are the leaves' gradient buffers among gs (gradBuf): the
	// gradients are handed out only while every claim holds.
	claims []*tensor.GradClaim
}

// written tells the claims that the forward pass is done writing into
// their buffers (tensor.GradClaim.Written); e may be nil.
func (e *eagerGrads[T]) written() {
	if e == nil {
		return
	}
	for _, c := range e.claims {
		c.Written()
	}
}

// gradBuf returns the n-element buffer a forward pass writes argument a's
// gradient into (computed over shape): a's own gradient buffer when a is
// a leaf whose zeroed buffer can be claimed (tensor.ClaimGrad: a training
// loop's steady state allocates no gradient), its shape is shape and it
// overlaps none of the slices the pass reads; else a new slice. A claim is
// recorded in *claims (the eagerGrads' claims).
func gradBuf[T kernels.Float](claims *[]*tensor.GradClaim, a *tensor.Tensor, shape []int, n int, reads ...[]T) []T {
	if s, c := tensor.ClaimGrad[T](a); c != nil {
		ok := len(s) == n && slices.Equal(a.Shape(), shape)
		for _, r := range reads {
			ok = ok && !overlaps(s, r)
		}
		if ok {
			*claims = append(*claims, c)
			return s
		}
		c.Cancel()
	}
	return make([]T, n)
}

// overlaps reports whether slices a and b share an element.
func overlaps[T any](a, b []T) bool {
	if len(a) == 0 || len(b) == 0 {
		return false
	}
	sz := unsafe.Sizeof(a[0])
	a0, b0 := uintptr(unsafe.Pointer(unsafe.SliceData(a))), uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	return a0 < b0+uintptr(len(b))*sz && b0 < a0+uintptr(len(a))*sz
}

// take returns the precomputed gradients if they are ready, g is 1, and
// they were not taken before.
func (e *eagerGrads[T]) take(g *tensor.Tensor) ([][]T, bool) {
	if e == nil {
		return nil, false
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.ready || g.Numel() != 1 || g0[T](g) != 1 {
		return nil, false
	}
	for _, c := range e.claims {
		if !c.Valid() {
			// The buffer was zeroed or overwritten since: recompute.
			return nil, false
		}
	}
	e.ready = false
	gs := e.gs
	e.gs = nil
	return gs, true
}

// wantEager reports whether a loss should compute its gradients in the
// forward pass: a reduced loss of some argument that requires a gradient.
func wantEager(r Reduction, args ...*tensor.Tensor) bool {
	return r != None && tensor.AnyRequiresGrad(args...)
}

// parallelFor runs f over chunks of [0, n) of grain elements in parallel:
// for elementwise work whose results do not depend on the chunking.
func parallelFor(n, grain int, f func(lo, hi int)) {
	parallel.For(n, grain, func(_, lo, hi int) { f(lo, hi) })
}

// sub returns s[lo:hi], or nil for a nil s (a gradient not wanted).
func sub[T any](s []T, lo, hi int) []T {
	if s == nil {
		return nil
	}
	return s[lo:hi]
}

// offset returns the upstream gradient of the elements from lo on, as a
// function of the index relative to lo.
func (u upstream[T]) offset(lo int) func(int) T {
	if u.vec != nil {
		v := u.vec[lo:]
		return func(i int) T { return v[i] }
	}
	s := u.s
	return func(int) T { return s }
}

// ownGrads marks out's node (if any) as returning fresh gradients: true of
// every loss whose backward returns gradsTo's results.
func ownGrads(out *tensor.Tensor) {
	if n := out.GradFn(); n != nil {
		n.OwnsGrads = true
	}
}
