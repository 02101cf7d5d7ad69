package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// sumInput is x[i] = ((i·7919) mod 10007)/1000 − 5, computed in float64 and
// rounded to T: exact on both sides, so PyTorch sees the same values.
func sumInput[T Float](n int) []T {
	x := make([]T, n)
	for i := range x {
		x[i] = T(float64((i*7919)%10007)/1000.0 - 5.0)
	}
	return x
}

// TestSumMatchesTorch checks Sum bit for bit against torch.sum of the same
// data (PyTorch 1.13, CPU, one thread; the algorithm was verified on 2.11
// for the same sizes, docs/semantics.md §1.3).
func TestSumMatchesTorch(t *testing.T) {
	cases := []struct {
		n        int
		f32, f64 float64
	}{
		{3, -1.2500001192092896, -1.25},
		{5, -5.852000713348389, -5.8519999999999985},
		{6, -1.2780004739761353, -1.278},
		{7, 1.2079997062683105, 1.2079999999999997},
		{8, 1.6059997081756592, 1.6060000000000003},
		{31, 4.870999336242676, 4.870999999999996},
		{64, 3.763000965118408, 3.7629999999999955},
		{100, 1.9810004234313965, 1.9809999999999963},
		{257, -2.9039947986602783, -2.904000000000019},
		{1000, 7.060992240905762, 7.061000000000022},
		{4096, 26.28598403930664, 26.28599999999991},
		{10007, 30.020973205566406, 30.020999999999738},
		{32768, 97.90786743164062, 97.90799999999919},
		{100000, 304.9175720214844, 304.9179999999976},
		{1000003, 3007.688720703125, 3007.6919999999773},
	}
	for _, c := range cases {
		if got := Sum(sumInput[float32](c.n)); got != float32(c.f32) {
			t.Errorf("float32 n=%d: Sum = %.9g, torch %.9g", c.n, got, c.f32)
		}
		if got := Sum(sumInput[float64](c.n)); got != c.f64 {
			t.Errorf("float64 n=%d: Sum = %.17g, torch %.17g", c.n, got, c.f64)
		}
	}
}

func TestMeanEmptyIsNaN(t *testing.T) {
	if m := Mean([]float32{}); !math.IsNaN(float64(m)) {
		t.Errorf("Mean(empty) = %v, want NaN", m)
	}
	if s := Sum([]float64{}); s != 0 {
		t.Errorf("Sum(empty) = %v, want 0", s)
	}
}

func TestMaxMinNaN(t *testing.T) {
	nan := math.NaN()
	tests := []struct {
		name string
		got  float64
		nan  bool
		want float64
	}{
		{"Max(NaN, 1)", Max(nan, 1.0), true, 0},
		{"Max(1, NaN)", Max(1.0, nan), false, 1},
		{"ClampMin(NaN, 0)", ClampMin(nan, 0.0), true, 0},
		{"ClampMin(-1, 0)", ClampMin(-1.0, 0.0), false, 0},
		{"Sgn(-0)", Sgn(math.Copysign(0, -1)), false, 0},
		{"Sgn(NaN)", Sgn(nan), false, 0},
		{"Sgn(-3)", Sgn(-3.0), false, -1},
	}
	for _, tt := range tests {
		if tt.nan != math.IsNaN(tt.got) || (!tt.nan && tt.got != tt.want) {
			t.Errorf("%s = %v, want %v (NaN: %v)", tt.name, tt.got, tt.want, tt.nan)
		}
	}
}

// TestSum32MatchesGeneric checks Sum's AVX2 row additions (float32) against
// its pure-Go loop, bit for bit.
func TestSum32MatchesGeneric(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 9))
	for _, n := range []int{0, 1, 7, 8, 9, 31, 32, 33, 127, 128, 1000, 4096, 65537, 1 << 20} {
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(r.NormFloat64() * 1e3)
		}
		got := Sum(x)
		old := setAVX2(false)
		want := Sum(x)
		setAVX2(old)
		if math.Float32bits(got) != math.Float32bits(want) {
			t.Fatalf("n=%d: %v, generic %v", n, got, want)
		}
	}
}
