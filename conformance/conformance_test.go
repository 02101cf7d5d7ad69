package conformance

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/torchloss/torchloss/internal/losses"
)

// TestPublic runs the embedded PyTorch 2.11 vector file: every case of an
// implemented function must pass. Each function is a subtest, so one family
// runs with -run 'TestPublic/cross_entropy$'.
func TestPublic(t *testing.T) {
	f, err := Parse(PublicVectors)
	if err != nil {
		t.Fatal(err)
	}
	byFn := map[string][]*Case{}
	for i := range f.Cases {
		c := &f.Cases[i]
		byFn[c.Fn] = append(byFn[c.Fn], c)
	}
	for _, fn := range sortedKeys(byFn) {
		t.Run(fn, func(t *testing.T) {
			if !Supported(fn) {
				t.Skipf("%s is not implemented", fn)
			}
			passed := 0
			for _, c := range byFn[fn] {
				r := RunCase(c)
				if r.Status != Pass {
					t.Errorf("%s: %s", c.ID, r.Detail)
					continue
				}
				passed++
			}
			t.Logf("%d of %d cases passed", passed, len(byFn[fn]))
		})
	}
}

// TestScalarParamsAmongArgs checks that scalar parameters recorded among a
// case's args (as PyTorch names them positionally) are used like keywords.
func TestScalarParamsAmongArgs(t *testing.T) {
	c := &Case{
		ID: "margin_ranking_loss/positional", Fn: "margin_ranking_loss",
		Args: map[string]json.RawMessage{
			"input1": json.RawMessage(`{"dtype":"float64","shape":[2],"data":[0.5,0.1]}`),
			"input2": json.RawMessage(`{"dtype":"float64","shape":[2],"data":[0.2,0.3]}`),
			"target": json.RawMessage(`{"dtype":"float64","shape":[2],"data":[1,1]}`),
			"margin": json.RawMessage(`0.5`),
		},
		Kwargs: map[string]json.RawMessage{"reduction": json.RawMessage(`"sum"`)},
		// max(0, −(0.5−0.2)+0.5) + max(0, −(0.1−0.3)+0.5) = 0.2 + 0.7
		Output: &Tensor{DType: "float64", Shape: []int{}, Data: json.RawMessage(`[0.9]`)},
	}
	if r := RunCase(c); r.Status != Pass {
		t.Errorf("%s: %s", c.ID, r.Detail)
	}
}

// TestEveryLossAdapted checks that the runner has an adapter for every loss
// of the table and for nothing else.
func TestEveryLossAdapted(t *testing.T) {
	want := losses.Names()
	got := Functions()
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("Functions() = %v, the table has %v", got, want)
	}
}
