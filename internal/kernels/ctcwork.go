package kernels

import (
	"unsafe"

	"github.com/torchloss/torchloss/internal/parallel"
)

// CTCWork is the scratch memory of the CTC kernels for one sample at a
// time: an alpha table (Alpha) and every buffer CTCForward and CTCBackward
// use, grown on demand and reused from sample to sample. A workspace serves
// one goroutine at a time. GetCTCWork and PutCTCWork keep a bounded free
// list of them.
//
// Reuse never changes a result: every buffer whose initial contents the
// kernels read is (re)initialized by the kernel that uses it (the padded
// recursion rows to -inf, the transition masks and the log-probability
// rows to 0, the band's class marks to 0, the per-class rows of a block's
// sums to none); the others are written before they are read (the
// products of a block, for every state and time step the block sums).
// The band a forward found is kept for the backward that follows it and
// forgotten then (see band).
type CTCWork[T Float] struct {
	alpha []T      // Alpha's table
	pr    []int32  // l'(s)
	skip  []bool   // the s-2 transitions
	buf   []T      // row's scalar operations: 3n exponentials, n maxima
	vec   []T      // the rows of the recursions (ctcRows), lpg and lpb
	mask  []uint32 // their transition masks
	lab   []T      // CTCBackward's products alpha·beta of a block
	tmp   []T      // accumulate's scratch
	ea    []T      // finish's sums and exponentials, 3C per row
	head  []int32  // per class: accumulate's rows of lab, band's marks
	cls   []int32  // band's distinct classes
	last  struct { // the last band found (see band)
		ok   bool
		key  ctcKey[T]
		band ctcBand
	}
}

// grow returns s resized to n elements, reallocated when its capacity is
// short, with room for 2n (a workspace then serves every later sample up
// to twice the size that grew it without reallocating: in a training
// loop, whose samples' sizes vary within a factor 2, workspaces stop
// growing after the first step whatever sample each worker gets); the
// contents are unspecified.
func grow[E any](s []E, n int) []E {
	if cap(s) < n {
		return make([]E, n, 2*n)
	}
	return s[:n]
}

// Alpha returns the workspace's alpha table resized to n elements (its
// contents unspecified: CTCForward writes every entry it reads).
func (k *CTCWork[T]) Alpha(n int) []T {
	k.alpha = grow(k.alpha, n)
	return k.alpha
}

// bytes is the memory the workspace holds.
func (k *CTCWork[T]) bytes() int {
	var z T
	f := cap(k.alpha) + cap(k.buf) + cap(k.vec) + cap(k.lab) + cap(k.tmp) + cap(k.ea)
	return f*int(unsafe.Sizeof(z)) + 4*(cap(k.pr)+cap(k.mask)+cap(k.head)+cap(k.cls)) + cap(k.skip)
}

// primes returns l'(s) for s < 2S+1 and, for each s, whether the recursion
// takes the transition from s-2 (s > 1 and l'(s-2) != l'(s)), every entry
// written.
func (k *CTCWork[T]) primes(x *CTCSample[T]) ([]int32, []bool) {
	w := 2*len(x.Labels) + 1
	k.pr = grow(k.pr, w)
	k.skip = grow(k.skip, w)
	pr, skip := k.pr, k.skip
	for s := range pr {
		pr[s] = int32(x.prime(s))
		skip[s] = s > 1 && x.prime(s-2) != x.prime(s)
	}
	return pr, skip
}

// rowScratch returns the scratch of row's scalar operations on n lanes:
// e (3n) and ms (n), written before they are read.
func (k *CTCWork[T]) rowScratch(n int) (e, ms []T) {
	k.buf = grow(k.buf, 4*n)
	return k.buf[:3*n], k.buf[3*n:]
}

// ctcWorkBytes bounds, with a count, the free list of each element type:
// it keeps at most 2·parallel.Threads() workspaces (what the most
// concurrent use takes, one per worker goroutine, with room to spare) and
// at most ctcWorkBytes bytes in all. A workspace that would go past either
// bound (more workers than that, or one grown by a giant sample) is
// dropped for the garbage collector instead of kept.
const ctcWorkBytes = 64 << 20

// ctcWorks32 and ctcWorks64 are the free lists of workspaces.
var (
	ctcWorks32 = FreeList[*CTCWork[float32]]{MaxItems: ctcWorkCount, MaxBytes: ctcWorkBytes}
	ctcWorks64 = FreeList[*CTCWork[float64]]{MaxItems: ctcWorkCount, MaxBytes: ctcWorkBytes}
)

func ctcWorkCount() int { return 2 * parallel.Threads() }

// ctcWorks returns the free list of T's workspaces.
func ctcWorks[T Float]() *FreeList[*CTCWork[T]] {
	if Is32[T]() {
		return any(&ctcWorks32).(*FreeList[*CTCWork[T]])
	}
	return any(&ctcWorks64).(*FreeList[*CTCWork[T]])
}

// GetCTCWork returns a workspace from the free list, or a new one.
func GetCTCWork[T Float]() *CTCWork[T] {
	if k, ok := ctcWorks[T]().Get(); ok {
		return k
	}
	return new(CTCWork[T])
}

// PutCTCWork returns k to the free list (or drops it, see ctcWorkBytes).
// The caller must not use k afterwards.
func PutCTCWork[T Float](k *CTCWork[T]) {
	if k == nil {
		return
	}
	k.last.ok = false
	ctcWorks[T]().Put(k, k.bytes())
}
