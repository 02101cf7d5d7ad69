package functional

import (
	"github.com/torchloss/torchloss"
	"github.com/torchloss/torchloss/tensor"
)

// This file holds the hostile-size checks: every loss broadcasts through
// tensor.BroadcastShapes and allocates through tensor.Numel, which reject
// more than tensor.MaxElements elements (ErrLimit); the losses with scratch
// tables of their own (ctc_loss) check them here before allocating.

// broadcastErr re-labels an error of tensor.BroadcastShapes with the loss
// and the argument that did not broadcast, keeping its kind (ErrShape for
// incompatible sizes, ErrLimit for a broadcast shape that is too large).
func broadcastErr(op, name string, err error) error {
	te, ok := err.(*torchloss.Error)
	if !ok {
		return torchloss.Errorf(torchloss.ErrShape, op, name, "%v", err)
	}
	return torchloss.Errorf(te.Kind, op, name, "%s", te.Msg)
}

// ctcTableLimit checks the alpha tables ctc_loss is about to allocate: all
// of them (total elements) when the backward keeps them, else the largest
// (maxOne), which is reused as scratch.
func ctcTableLimit(op string, total, maxOne int, keep bool) error {
	n := maxOne
	if keep {
		n = total
	}
	return tensor.CheckElements(op, "targets", n, "the CTC alpha tables (input_lengths x (2*target_lengths+1))")
}
