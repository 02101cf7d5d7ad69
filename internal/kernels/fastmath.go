package kernels

import "math"

// Fast float32 transcendentals. Exp32, Log32 and Log1p32 evaluate a
// polynomial in float64 (whose own error is below 1e-10 relative) and round
// the result once to float32, so each is within 1 ULP of the correctly
// rounded float32 result, and within 1 ULP of float32(math.Exp(float64(x)))
// (resp. math.Log, math.Log1p), which TestFast32 checks over 2^24 inputs
// spread over every binade, subnormals, ±0, ±inf and NaN included: at most
// 2 ULP from the exact value, as ATen's vectorized (SLEEF u10) functions
// are. They have no table lookups and no calls, so the compiler keeps them
// inline in the kernels' loops, about 3–5× faster than the math package's.
//
// float64 kernels keep the math package's functions (≤ 1 ULP).

const (
	ln2    = 0.693147180559945309417232121458176568
	log2e  = 1.44269504088896340735992468100189214
	round  = 0x1.8p52 // adding it rounds a float64 of magnitude < 2^51 to an integer
	sqrt2  = 1.41421356237309504880168872420969808
	fmask  = 1<<52 - 1
	onebit = 1023 << 52
)

// f32to64 converts a normal (nonzero, finite, not subnormal) float32 with
// integer operations: the conversion instruction's false dependency on its
// destination register would otherwise chain the iterations of a loop.
func f32to64(b uint32) float64 {
	return math.Float64frombits(uint64(b>>31)<<63 | uint64((b>>23)&0xff+(1023-127))<<52 | uint64(b&0x7fffff)<<29)
}

// Exp32 returns e**x rounded to float32 (see above for the bound).
func Exp32(x float32) float32 {
	b := math.Float32bits(x)
	switch e := (b >> 23) & 0xff; {
	case e == 0: // ±0, subnormal: e**x rounds to 1
		return 1
	case e == 0xff: // ±inf, NaN
		if x != x {
			return x
		}
		if x > 0 {
			return x
		}
		return 0
	}
	d := f32to64(b)
	if d > 88.8 {
		return float32(math.Inf(1))
	}
	if d < -104 {
		return 0
	}
	t := d*log2e + round
	k := t - round
	r := d - k*ln2
	// e^r on |r| ≤ ln2/2: Taylor to degree 8, error < 3e-10 relative.
	p := 1 + r*(1+r*(1.0/2+r*(1.0/6+r*(1.0/24+r*(1.0/120+r*(1.0/720+r*(1.0/5040+r*(1.0/40320))))))))
	return float32(p * math.Float64frombits(uint64(int64(k)+1023)<<52))
}

// logCore returns log(u) for a positive, finite, normal float64 u with an
// error below 1e-10 relative (and absolute accuracy near u = 1: log(1+f)
// is computed from f = u − 1 exactly there).
func logCore(u float64) float64 {
	b := math.Float64bits(u)
	e := int64(b>>52) - 1023
	m := math.Float64frombits(b&fmask | onebit) // [1, 2)
	if m > sqrt2 {
		m *= 0.5
		e++
	}
	f := m - 1
	s := f / (2 + f)
	z := s * s
	// log(1+f) = 2s + 2s·(z/3 + z²/5 + … + z⁵/11), |s| ≤ 0.1716.
	r := z * (1.0/3 + z*(1.0/5+z*(1.0/7+z*(1.0/9+z*(1.0/11+z*(1.0/13))))))
	return float64(e)*ln2 + (2*s + 2*s*r)
}

// Log32 returns the natural logarithm of x rounded to float32.
func Log32(x float32) float32 {
	b := math.Float32bits(x)
	if e := (b >> 23) & 0xff; b>>31 == 0 && e != 0 && e != 0xff {
		return float32(logCore(f32to64(b)))
	}
	d := float64(x)
	switch {
	case d > 0 && d <= math.MaxFloat32: // subnormal
		return float32(logCore(d))
	case d == 0:
		return float32(math.Inf(-1))
	case d > 0: // +inf
		return x
	}
	return float32(math.NaN()) // negative or NaN
}

// Log1p32 returns log(1 + x) rounded to float32.
func Log1p32(x float32) float32 {
	b := math.Float32bits(x)
	e := (b >> 23) & 0xff
	if e < 127-29 {
		// |x| < 2^-29: log1p(x) = x − x²/2 + …, and x²/2 is below half an
		// ULP of x (±0 and subnormals included).
		return x
	}
	if e != 0xff {
		d := f32to64(b)
		if d > -1 {
			// 1 + x is exact in float64 for |x| ≥ 2^-29.
			return float32(logCore(1 + d))
		}
		if d == -1 {
			return float32(math.Inf(-1))
		}
		return float32(math.NaN())
	}
	if x > 0 { // +inf
		return x
	}
	return float32(math.NaN())
}
