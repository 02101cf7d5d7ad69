package tensor

import (
	"math"
	"sync/atomic"

	"github.com/torchloss/torchloss"
)

// DefaultMaxElements is MaxElements' initial value: 2^31 on 64-bit platforms
// (math.MaxInt on 32-bit ones), which is 8 GiB of float32 or 16 GiB of
// float64.
const DefaultMaxElements = int(min(1<<31, math.MaxInt))

var maxElements atomic.Int64

func init() { maxElements.Store(int64(DefaultMaxElements)) }

// MaxElements returns the most elements torchloss will allocate for one
// tensor, one broadcast shape or one loss's scratch table (ctc_loss's alpha
// tables); DefaultMaxElements unless changed with SetMaxElements. A shape, a
// broadcast of shapes or a scratch table with more elements is rejected with
// an ErrLimit error before anything of that size is allocated, so that a
// hostile shape such as (1e6, 1) broadcast against (1, 1e6) fails fast
// instead of exhausting memory.
func MaxElements() int { return int(maxElements.Load()) }

// SetMaxElements sets the limit MaxElements returns and returns the
// previous one. Programs that need larger tensors may raise it, and programs
// that serve untrusted input may lower it. It is safe to call while losses
// run on other goroutines: each check reads the limit once, so a call in
// flight sees either the old or the new value. A negative n is taken as 0.
func SetMaxElements(n int) (previous int) {
	return int(maxElements.Swap(int64(max(n, 0))))
}

// CheckElements returns an ErrLimit error, naming op and arg, when n
// (the element count of what is about to be allocated, described by what)
// exceeds MaxElements.
func CheckElements(op, arg string, n int, what string) error {
	if limit := MaxElements(); n > limit {
		return torchloss.Errorf(torchloss.ErrLimit, op, arg, "%s has %d elements, more than tensor.MaxElements (%d)", what, n, limit)
	}
	return nil
}
