package cuda

import (
	"sync"
	"sync/atomic"

	"github.com/torchloss/torchloss"
	drv "github.com/torchloss/torchloss/internal/cuda"
	"github.com/torchloss/torchloss/internal/devhook"
	"github.com/torchloss/torchloss/tensor"
)

// Deferred value checks (tensor.Checker). A kernel that checks values
// (binary_cross_entropy's range, gaussian_nll_loss's variance) writes its
// failure flag to a word of mapped pinned host memory instead of device
// memory: no copy and no synchronization per call. The backend looks at
// the words when the host reads from the device (the copy waits for the
// stream, so every earlier kernel is done) and at the end of Backward
// (what has finished by then), and reports a failure as the error of the
// host implementation on host copies of the call's arguments
// (devhook.Call.Reference): the CPU's typed error, message included. A
// word whose kernel is known done and clean is reused.

const checkSlots = 1024

type pendingCheck struct {
	slot int
	seq  uint64 // the launch's number: done once doneSeq >= seq
	call *devhook.Call
}

var checks struct {
	once    sync.Once
	err     error
	mu      sync.Mutex
	words   []int32 // host view of the mapped words
	dev     uintptr // their device address
	free    []int
	pending []pendingCheck
	seq     uint64 // launches registered
	doneSeq uint64 // every launch up to this one is done
}

// beforeSync returns the number of the last registered launch, for
// afterSync once the stream has been waited for.
func beforeSync() uint64 {
	checks.mu.Lock()
	defer checks.mu.Unlock()
	return checks.seq
}

// afterSync records that every launch up to seq is done.
func afterSync(seq uint64) {
	checks.mu.Lock()
	checks.doneSeq = max(checks.doneSeq, seq)
	checks.mu.Unlock()
}

// checkWord returns the device address of a cleared flag word for a
// kernel of call c, registering the check; ok is false when mapped memory
// is not available (the kernel then reads its flag back and declines).
func checkWord(c *devhook.Call) (uintptr, bool) {
	checks.once.Do(func() {
		checks.words, checks.dev, checks.err = drv.HostWords(checkSlots)
		for i := checkSlots - 1; i >= 0; i-- {
			checks.free = append(checks.free, i)
		}
	})
	if checks.err != nil {
		return 0, false
	}
	checks.mu.Lock()
	if len(checks.free) == 0 {
		// Every word belongs to a kernel not known to be done: wait for
		// them (rare: a thousand checking calls without a read). Failed
		// checks stay pending for the next synchronizing point.
		seq := checks.seq
		checks.mu.Unlock()
		if drv.Synchronize() != nil {
			return 0, false
		}
		afterSync(seq)
		checks.mu.Lock()
		reclaimLocked()
		if len(checks.free) == 0 {
			checks.mu.Unlock()
			return 0, false
		}
	}
	slot := checks.free[len(checks.free)-1]
	checks.free = checks.free[:len(checks.free)-1]
	atomic.StoreInt32(&checks.words[slot], 0)
	checks.seq++
	checks.pending = append(checks.pending, pendingCheck{slot: slot, seq: checks.seq, call: c})
	checks.mu.Unlock()
	return checks.dev + uintptr(4*slot), true
}

// reclaimLocked frees the words of the checks done and passed.
func reclaimLocked() {
	keep := checks.pending[:0]
	for _, p := range checks.pending {
		if p.seq <= checks.doneSeq && atomic.LoadInt32(&checks.words[p.slot]) == 0 {
			checks.free = append(checks.free, p.slot)
			continue
		}
		keep = append(keep, p)
	}
	checks.pending = keep
}

// deferredErr returns the error of the first failed check (tensor.Checker)
// and forgets every failed one; it frees the words of the checks done.
func deferredErr() error {
	var failed []*devhook.Call
	checks.mu.Lock()
	if checks.err != nil || checks.words == nil {
		checks.mu.Unlock()
		return nil
	}
	keep := checks.pending[:0]
	for _, p := range checks.pending {
		switch {
		case atomic.LoadInt32(&checks.words[p.slot]) != 0:
			failed = append(failed, p.call)
			checks.free = append(checks.free, p.slot)
		case p.seq <= checks.doneSeq:
			checks.free = append(checks.free, p.slot)
		default:
			keep = append(keep, p)
		}
	}
	checks.pending = keep
	checks.mu.Unlock()
	var first error
	for _, c := range failed {
		if err := hostError(c); first == nil {
			first = err
		}
	}
	return first
}

// hostError is the error the host implementation gives for call c (run on
// host copies of its arguments).
func hostError(c *devhook.Call) error {
	host := func(t *tensor.Tensor) (*tensor.Tensor, error) {
		if t == nil {
			return nil, nil
		}
		return t.Detach().ToCPU()
	}
	args := make([]*tensor.Tensor, len(c.Args))
	for i, a := range c.Args {
		h, err := host(a)
		if err != nil {
			return err
		}
		args[i] = h
	}
	w, err := host(c.Options.Weight)
	if err != nil {
		return err
	}
	pw, err := host(c.Options.PosWeight)
	if err != nil {
		return err
	}
	if _, err := c.Reference(args, w, pw); err != nil {
		return err
	}
	return torchloss.Errorf(torchloss.ErrDevice, c.Op, "", "a value check of the device kernel failed, but the host implementation accepts the values")
}
