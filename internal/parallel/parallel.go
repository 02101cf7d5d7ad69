// Package parallel runs torchloss's loops on a bounded number of worker
// goroutines. The work of a loop is cut into chunks whose boundaries depend
// only on the loop's length and grain, never on the number of workers, so a
// kernel that computes a value per chunk and combines the chunks in index
// order gives bitwise identical results for any thread count.
package parallel

import (
	"runtime"
	"sync"
	"sync/atomic"
)

var threads atomic.Int32

// SetThreads bounds the number of goroutines a loop uses (n < 1 restores the
// default, runtime.GOMAXPROCS(0) at the time of each call).
func SetThreads(n int) {
	if n < 1 {
		n = 0
	}
	threads.Store(int32(n))
}

// Threads returns the number of goroutines a loop may use.
func Threads() int {
	if n := int(threads.Load()); n > 0 {
		return n
	}
	return runtime.GOMAXPROCS(0)
}

// Chunks returns the number of chunks of a loop over n items with the given
// grain: ceil(n/grain), at least 1 when n > 0.
func Chunks(n, grain int) int {
	if n <= 0 {
		return 0
	}
	if grain < 1 {
		grain = 1
	}
	return (n + grain - 1) / grain
}

// For calls f(c, lo, hi) for every chunk c of [0, n): chunk c covers
// [c·grain, min((c+1)·grain, n)). Chunks run on up to Threads() goroutines
// (the caller's included); For returns when all are done. f must not depend
// on which goroutine runs it.
func For(n, grain int, f func(c, lo, hi int)) {
	nc := Chunks(n, grain)
	if nc == 0 {
		return
	}
	if grain < 1 {
		grain = 1
	}
	w := min(Threads(), nc)
	if w <= 1 {
		for c := 0; c < nc; c++ {
			f(c, c*grain, min((c+1)*grain, n))
		}
		return
	}
	var next atomic.Int64
	work := func() {
		for {
			c := int(next.Add(1) - 1)
			if c >= nc {
				return
			}
			f(c, c*grain, min((c+1)*grain, n))
		}
	}
	var wg sync.WaitGroup
	wg.Add(w - 1)
	for i := 0; i < w-1; i++ {
		go func() {
			defer wg.Done()
			work()
		}()
	}
	work()
	wg.Wait()
}
