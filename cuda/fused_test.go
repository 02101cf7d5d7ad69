package cuda

import (
	"slices"
	"testing"

	"github.com/torchloss/torchloss/internal/losses"
)

// TestFusedListsRegistered checks that Fused names every loss with a
// registered fused kernel (the pointwise specs, cross_entropy,
// cosine_embedding_loss, ctc_loss), in the table's order.
func TestFusedListsRegistered(t *testing.T) {
	want := map[string]bool{"cross_entropy": true, "cosine_embedding_loss": true, "ctc_loss": true}
	for _, sp := range specs {
		want[sp.op] = true
	}
	if len(Fused) != len(want) {
		t.Errorf("Fused = %v, want the %d losses %v", Fused, len(want), want)
	}
	last := -1
	for _, name := range Fused {
		i := slices.Index(losses.Names(), name)
		if !want[name] || i <= last {
			t.Errorf("Fused = %v: %s unexpected or out of the table's order", Fused, name)
		}
		last = i
	}
}
