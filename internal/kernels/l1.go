package kernels

// Sgn is ATen's sign of a real number, (0 < x) - (x < 0): 0 at ±0 and NaN.
// abs' backward multiplies by it, so |x| has subgradient 0 at a tie.
func Sgn[T Float](x T) T {
	var s T
	if 0 < x {
		s++
	}
	if x < 0 {
		s--
	}
	return s
}

// L1Forward writes out[i] = |x[i] - y[i]|.
func L1Forward[T Float](x, y, out []T) {
	if x32, ok := any(x).([]float32); ok {
		l1Forward32(x32, f32s(y), f32s(out))
		return
	}
	for i := range out {
		out[i] = Abs(x[i] - y[i])
	}
}

// L1Backward writes the gradients of |x - y| for the upstream gradient of
// each element, up(i): gx[i] = up(i)·sgn(x−y) and gy[i] = −gx[i]. Either
// gradient slice may be nil.
func L1Backward[T Float](x, y []T, up func(int) T, gx, gy []T) {
	for i := range x {
		g := up(i) * Sgn(x[i]-y[i])
		if gx != nil {
			gx[i] = g
		}
		if gy != nil {
			gy[i] = -g
		}
	}
}

// L1BackwardConst is L1Backward for the same upstream gradient u at every
// element, bit for bit.
func L1BackwardConst[T Float](x, y []T, u T, gx, gy []T) {
	if x32, ok := any(x).([]float32); ok {
		l1BackwardConst32(x32, f32s(y), float32(u), f32s(gx), f32s(gy))
		return
	}
	L1Backward(x, y, func(int) T { return u }, gx, gy)
}
