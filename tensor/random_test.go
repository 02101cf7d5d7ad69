package tensor

import (
	"math"
	"reflect"
	"testing"
)

func TestGeneratorIsSeeded(t *testing.T) {
	a, _ := NewGenerator(7).Randn(4, 5)
	b, _ := NewGenerator(7).Randn(4, 5)
	c, _ := NewGenerator(8).Randn(4, 5)
	if !reflect.DeepEqual(a.Float32s(), b.Float32s()) {
		t.Error("same seed, different tensors")
	}
	if reflect.DeepEqual(a.Float32s(), c.Float32s()) {
		t.Error("different seeds, same tensors")
	}
}

// TestGeneratorRanges checks the support of each distribution and, over
// 100,000 draws, the sample mean and variance within 5 standard errors of
// the distribution's.
func TestGeneratorRanges(t *testing.T) {
	g := NewGenerator(1)
	const n = 100000
	moments := func(v []float64) (mean, variance float64) {
		for _, x := range v {
			mean += x
		}
		mean /= float64(len(v))
		for _, x := range v {
			variance += (x - mean) * (x - mean)
		}
		return mean, variance / float64(len(v)-1)
	}
	rn, _ := g.Randn(n)
	if m, v := moments(rn.Values()); math.Abs(m) > 5/math.Sqrt(n) || math.Abs(v-1) > 5*math.Sqrt(2.0/n) {
		t.Errorf("Randn: mean %v variance %v", m, v)
	}
	ru, _ := g.Rand(n)
	for _, x := range ru.Float32s() {
		if x < 0 || x >= 1 {
			t.Fatalf("Rand gave %v", x)
		}
	}
	if m, _ := moments(ru.Values()); math.Abs(m-0.5) > 5*math.Sqrt(1.0/12/n) {
		t.Errorf("Rand: mean %v", m)
	}
	ri, _ := g.RandInt(10, 30, n)
	for _, x := range ri.Int64s() {
		if x < 10 || x >= 30 {
			t.Fatalf("RandInt(10, 30) gave %v", x)
		}
	}
	rb, _ := g.Random(2, 1000)
	seen := map[float32]bool{}
	for _, x := range rb.Float32s() {
		seen[x] = true
	}
	if len(seen) != 2 || !seen[0] || !seen[1] {
		t.Errorf("Random(2) values %v, want {0, 1}", seen)
	}
	if _, err := g.RandInt(3, 3, 2); err == nil {
		t.Error("RandInt(3, 3): want an error")
	}
}
