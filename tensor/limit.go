package tensor

import (
	"math"

	"github.com/torchloss/torchloss"
)

// MaxElements is the most elements torchloss will allocate for one tensor,
// one broadcast shape or one loss's scratch table (ctc_loss's alpha tables):
// 2^31 (on 64-bit platforms; math.MaxInt on 32-bit ones), which is 8 GiB of
// float32 or 16 GiB of float64. A shape, a broadcast of shapes or a scratch
// table with more elements is rejected with an ErrLimit error before
// anything of that size is allocated, so that a hostile shape such as
// (1e6, 1) broadcast against (1, 1e6) fails fast instead of exhausting
// memory.
//
// Programs that need larger tensors may raise it, and programs that serve
// untrusted input may lower it; set it once, before any goroutine uses
// torchloss (it is read without synchronization).
var MaxElements = int(min(1<<31, math.MaxInt))

// CheckElements returns an ErrLimit error, naming op and arg, when n
// (the element count of what is about to be allocated, described by what)
// exceeds MaxElements.
func CheckElements(op, arg string, n int, what string) error {
	if n > MaxElements {
		return torchloss.Errorf(torchloss.ErrLimit, op, arg, "%s has %d elements, more than tensor.MaxElements (%d)", what, n, MaxElements)
	}
	return nil
}
