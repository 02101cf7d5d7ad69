package kernels

import "math"

// Branch-free float32 versions of kernels whose comparisons depend on the
// data (a random sign, a random ±1 target): a mispredicted branch costs more
// than the arithmetic. Each gives bitwise the result of the generic kernel
// it replaces; selections are made with bit masks.

const signBit32 = 1 << 31

// mask32 returns all ones when b, else 0 (compiled without a branch).
func mask32(b bool) uint32 {
	var m uint32
	if b {
		m = ^uint32(0)
	}
	return m
}

// l1Forward32 is L1Forward: |x − y| (math.Abs clears the sign bit).
func l1Forward32(x, y, out []float32) {
	y, out = y[:len(x)], out[:len(x)]
	for i := range x {
		out[i] = math.Float32frombits(math.Float32bits(x[i]-y[i]) &^ signBit32)
	}
}

// sgn32 is Sgn: ±1 by the sign of d, 0 at ±0 and NaN.
func sgn32(d float32) float32 {
	b := math.Float32bits(d)
	a := b &^ signBit32
	return math.Float32frombits((b&signBit32 | 0x3f800000) & mask32(a != 0) & mask32(a <= 0x7f800000))
}

// l1BackwardConst32 is L1Backward for the constant upstream gradient u.
func l1BackwardConst32(x, y []float32, u float32, gx, gy []float32) {
	y = y[:len(x)]
	if gx != nil {
		gx = gx[:len(x)]
		for i := range x {
			gx[i] = u * sgn32(x[i]-y[i])
		}
	}
	if gy != nil {
		gy = gy[:len(x)]
		for i := range x {
			gy[i] = -(u * sgn32(x[i]-y[i]))
		}
	}
}

// clampMin0 is ClampMin(v, 0): 0 where v < 0, v otherwise (NaN and −0 kept).
func clampMin0(v float32) float32 {
	return math.Float32frombits(math.Float32bits(v) & mask32(!(v < 0)))
}

// hingeForward32 is HingeForward.
func hingeForward32(x []float32, cls []int8, margin float32, out []float32) {
	cls, out = cls[:len(x)], out[:len(x)]
	for i, v := range x {
		a := math.Float32frombits(math.Float32bits(clampMin0(margin-v)) & mask32(cls[i] != TargetPos))
		b := math.Float32frombits(math.Float32bits(v) & mask32(cls[i] != TargetNeg))
		out[i] = a + b
	}
}

// hingeBackwardConst32 is HingeBackwardConst.
func hingeBackwardConst32(x []float32, cls []int8, margin, up float32, gx []float32) {
	cls, gx = cls[:len(x)], gx[:len(x)]
	ub := math.Float32bits(up)
	for i, v := range x {
		gs := math.Float32frombits(ub & mask32(cls[i] != TargetNeg))
		gm := math.Float32frombits(ub & mask32(cls[i] != TargetPos) & mask32(margin-v >= 0))
		gx[i] = gs + -gm
	}
}
