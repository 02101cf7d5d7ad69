package conformance

import (
	"testing"
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
