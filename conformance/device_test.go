package conformance

import (
	"testing"

	"github.com/torchloss/torchloss/internal/fakedevice"
	"github.com/torchloss/torchloss/tensor"
)

// TestPublicOnFakeDevice runs every public case with its tensors on a
// host-backed fake device registered as fakedevice.Device: no fused kernel is
// registered in this test binary, so every loss takes the device hook's
// fallback (host copies, differentiable moves, output and gradients back on
// the device). Every case must pass as on the CPU, errors included.
func TestPublicOnFakeDevice(t *testing.T) {
	fakedevice.Register(fakedevice.New())
	defer tensor.RegisterBackend(fakedevice.Device, nil)
	f, err := Parse(PublicVectors)
	if err != nil {
		t.Fatal(err)
	}
	rep := RunOn(f, fakedevice.Device)
	for _, r := range rep.Results {
		if r.Status == Fail {
			t.Errorf("%s: %s", r.ID, r.Detail)
		}
	}
	tot := rep.Totals()
	t.Logf("%d passed, %d failed on the fake device", tot.Passed, tot.Failed)
}

// TestPublicOnFakeDeviceDeferred is TestPublicOnFakeDevice with the value
// checks of the kernels deferred, as on a GPU: a loss given out-of-range
// values returns an output, and its ErrValue comes at the copy of the
// output to the host.
func TestPublicOnFakeDeviceDeferred(t *testing.T) {
	b := fakedevice.New()
	b.DeferErrors = true
	dev := fakedevice.Register(b)
	defer tensor.RegisterBackend(dev, nil)
	f, err := Parse(PublicVectors)
	if err != nil {
		t.Fatal(err)
	}
	rep := RunOn(f, dev)
	for _, r := range rep.Results {
		if r.Status == Fail {
			t.Errorf("%s: %s", r.ID, r.Detail)
		}
	}
	if err := b.Err(); err != nil {
		t.Errorf("an error was left pending: %v", err)
	}
	if b.Stats().Deferred == 0 {
		t.Error("no value check was deferred")
	}
	t.Logf("%d value checks deferred", b.Stats().Deferred)
}
