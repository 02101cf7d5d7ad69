package main

import (
	"io"
	"testing"
)

// TestTrainLossFalls runs four epochs and checks the loss fell each epoch
// and by at least 5% overall.
func TestTrainLossFalls(t *testing.T) {
	losses, err := train(4, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i < len(losses); i++ {
		if losses[i] >= losses[i-1] {
			t.Errorf("epoch %d: loss %v did not fall from %v", i+1, losses[i], losses[i-1])
		}
	}
	if losses[len(losses)-1] > 0.95*losses[0] {
		t.Errorf("loss fell from %v to %v only", losses[0], losses[len(losses)-1])
	}
}
