package functional

import "github.com/torchloss/torchloss/internal/parallel"

// SetNumThreads bounds the number of goroutines torchloss's kernels use for
// one call, like torch.set_num_threads; n < 1 restores the default,
// runtime.GOMAXPROCS(0). It is safe to call at any time; a call in
// progress keeps the count it started with.
//
// The results do not depend on it: loops are cut into chunks whose
// boundaries depend only on the sizes, and partial results are combined in
// a fixed order, so every thread count gives bitwise identical losses and
// gradients.
func SetNumThreads(n int) { parallel.SetThreads(n) }

// NumThreads returns the number of goroutines torchloss's kernels may use.
func NumThreads() int { return parallel.Threads() }
