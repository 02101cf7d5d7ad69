package tensor

import (
	"errors"
	"sync"
	"testing"

	"github.com/torchloss/torchloss"
)

// TestSetMaxElements lowers and restores the limit; run with -race it also
// checks that setting the limit while other goroutines allocate is safe.
func TestSetMaxElements(t *testing.T) {
	if MaxElements() != DefaultMaxElements {
		t.Fatalf("MaxElements() = %d, want the default %d", MaxElements(), DefaultMaxElements)
	}
	prev := SetMaxElements(10)
	defer SetMaxElements(prev)
	if prev != DefaultMaxElements {
		t.Errorf("SetMaxElements returned %d, want %d", prev, DefaultMaxElements)
	}
	if _, err := Zeros(Float32, 11); !errors.Is(err, torchloss.ErrLimit) {
		t.Errorf("Zeros(11) under a limit of 10: %v, want ErrLimit", err)
	}
	if _, err := Zeros(Float32, 10); err != nil {
		t.Errorf("Zeros(10) under a limit of 10: %v", err)
	}
	if got := SetMaxElements(-5); got != 10 || MaxElements() != 0 {
		t.Errorf("SetMaxElements(-5): previous %d, now %d; want 10 and 0", got, MaxElements())
	}
	SetMaxElements(prev)

	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			SetMaxElements(DefaultMaxElements - i%2)
		}
	}()
	for range 1000 {
		if _, err := Zeros(Float32, 4, 4); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
}
