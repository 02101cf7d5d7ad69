package kernels

// The activations the tutorial chains into losses: sigmoid, softmax and
// log_softmax. Softmax kernels work on a tensor viewed as (outer, n, inner),
// reducing over the middle dimension, with element (o, j, i) at
// (o*n + j)*inner + i.

// SigmoidForward writes y[i] = 1/(1 + exp(−x[i])); for float32 with Expf,
// eight lanes at a time (Sigmoidf).
func SigmoidForward[T Float](x, y []T) {
	if x32, ok := any(x).([]float32); ok {
		Sigmoidfs(f32s(y), x32)
		return
	}
	y = y[:len(x)]
	for i, v := range x {
		y[i] = 1 / (1 + Exp(-v))
	}
}

// Sigmoidf returns 1/(1 + Expf(−x)): within about 2 ULP of the exact value
// (Expf's error below 1 ULP, the addition's and the division's half ULP
// each, and 1 + e shrinks Expf's relative error).
func Sigmoidf(x float32) float32 {
	return 1 / (1 + Expf(-x))
}

// Sigmoidfs writes y[i] = Sigmoidf(x[i]) (AVX2 where present, bitwise the
// same).
func Sigmoidfs(y, x []float32) {
	y = y[:len(x)]
	i := 0
	if hasAVX2 {
		i = len(x) &^ 7
		sigmoid32AVX2(y[:i], x[:i])
	}
	sigmoidfsGeneric(y[i:], x[i:])
}

// sigmoidfsGeneric is Sigmoidfs' pure-Go reference.
func sigmoidfsGeneric(y, x []float32) {
	for i, v := range x {
		y[i] = Sigmoidf(v)
	}
}

// SigmoidBackward writes gx[i] = g[i]·(1 − y[i])·y[i] (ATen's
// sigmoid_backward) from the output y, in that order (AVX2 for float32,
// bitwise the same).
func SigmoidBackward[T Float](g, y, gx []T) {
	i := 0
	if gx32, ok := avx2F32(gx); ok {
		i = len(gx) &^ 7
		if streamable(gx32[:i]) {
			sigmoidBwd32NTAVX2(f32s(g)[:i], f32s(y)[:i], gx32[:i])
		} else {
			sigmoidBwd32AVX2(f32s(g)[:i], f32s(y)[:i], gx32[:i])
		}
	}
	sigmoidBackwardGeneric(g[i:], y[i:], gx[i:])
}

// sigmoidBackwardGeneric is SigmoidBackward's pure-Go reference.
func sigmoidBackwardGeneric[T Float](g, y, gx []T) {
	for i := range gx {
		gx[i] = g[i] * (1 - y[i]) * y[i]
	}
}

// SumLanes returns Σ x in the order of ATen's vec::reduce_all (the order
// its log_softmax sums a contiguous row in): lane l of a vector of 8
// float32 (4 float64) accumulates x[l], x[l+8], … in order, the last
// partial vector only into its first lanes, and the lanes are combined by
// halving, e.g. ((a0+a4)+(a2+a6))+((a1+a5)+(a3+a7)). The lanes are
// independent chains, so it runs several times faster than a sequential sum.
func SumLanes[T Float](x []T) T {
	if Is32[T]() {
		var a [8]T
		n := copy(a[:], x)
		d := n
		for ; d+8 <= len(x); d += 8 {
			v := x[d : d+8]
			a[0] += v[0]
			a[1] += v[1]
			a[2] += v[2]
			a[3] += v[3]
			a[4] += v[4]
			a[5] += v[5]
			a[6] += v[6]
			a[7] += v[7]
		}
		for l := 0; d+l < len(x); l++ {
			a[l] += x[d+l]
		}
		return ((a[0] + a[4]) + (a[2] + a[6])) + ((a[1] + a[5]) + (a[3] + a[7]))
	}
	var a [4]T
	n := copy(a[:], x)
	d := n
	for ; d+4 <= len(x); d += 4 {
		v := x[d : d+4]
		a[0] += v[0]
		a[1] += v[1]
		a[2] += v[2]
		a[3] += v[3]
	}
	for l := 0; d+l < len(x); l++ {
		a[l] += x[d+l]
	}
	return (a[0] + a[2]) + (a[1] + a[3])
}

// RowMax returns the maximum of a non-empty row with Max (NaN propagating
// only from the running maximum), taken over 8 interleaved lanes then
// combined: the same value as a sequential Max for rows without NaN (up to
// the sign of a zero maximum); with a NaN in the row every log_softmax
// output is NaN either way.
func RowMax[T Float](x []T) T {
	if len(x) < 16 {
		m := x[0]
		for _, v := range x[1:] {
			m = Max(m, v)
		}
		return m
	}
	var a [8]T
	copy(a[:], x)
	d := 8
	for ; d+8 <= len(x); d += 8 {
		v := x[d : d+8]
		a[0] = Max(a[0], v[0])
		a[1] = Max(a[1], v[1])
		a[2] = Max(a[2], v[2])
		a[3] = Max(a[3], v[3])
		a[4] = Max(a[4], v[4])
		a[5] = Max(a[5], v[5])
		a[6] = Max(a[6], v[6])
		a[7] = Max(a[7], v[7])
	}
	for l := 0; d+l < len(x); l++ {
		a[l] = Max(a[l], x[d+l])
	}
	return Max(Max(Max(a[0], a[4]), Max(a[2], a[6])), Max(Max(a[1], a[5]), Max(a[3], a[7])))
}

// LogSoftmaxForward writes out = (x − max) − log(Σ exp(x − max)) along the
// middle dimension, in ATen's order of operations.
func LogSoftmaxForward[T Float](x, out []T, outer, n, inner int) {
	var e []T // exponentials of a contiguous row
	for o := 0; o < outer; o++ {
		for i := 0; i < inner; i++ {
			base := o*n*inner + i
			if n == 0 {
				continue
			}
			m := x[base]
			for j := 1; j < n; j++ {
				m = Max(m, x[base+j*inner])
			}
			if inner == 1 {
				// A contiguous row: the maximum and the sum by lanes.
				m := RowMax(x[base : base+n])
				row := out[base : base+n]
				for j := range row {
					row[j] = x[base+j] - m
				}
				if len(e) < n {
					e = make([]T, n)
				}
				Exps(e[:n], row)
				e := e[:n]
				ls := Log(SumLanes(e))
				for j := range row {
					row[j] -= ls
				}
				continue
			}
			var s T
			for j := 0; j < n; j++ {
				s += Exp(x[base+j*inner] - m)
			}
			ls := Log(s)
			for j := 0; j < n; j++ {
				out[base+j*inner] = (x[base+j*inner] - m) - ls
			}
		}
	}
}

// LogSoftmaxBackward writes gx = g − exp(out)·Σ g along the middle
// dimension.
func LogSoftmaxBackward[T Float](g, out, gx []T, outer, n, inner int) {
	for o := 0; o < outer; o++ {
		for i := 0; i < inner; i++ {
			base := o*n*inner + i
			var s T
			for j := 0; j < n; j++ {
				s += g[base+j*inner]
			}
			for j := 0; j < n; j++ {
				k := base + j*inner
				gx[k] = g[k] - Exp(out[k])*s
			}
		}
	}
}

// SoftmaxForward writes out = exp(x − max)/Σ exp(x − max) along the middle
// dimension.
func SoftmaxForward[T Float](x, out []T, outer, n, inner int) {
	for o := 0; o < outer; o++ {
		for i := 0; i < inner; i++ {
			base := o*n*inner + i
			if n == 0 {
				continue
			}
			m := x[base]
			for j := 1; j < n; j++ {
				m = Max(m, x[base+j*inner])
			}
			var s T
			for j := 0; j < n; j++ {
				e := Exp(x[base+j*inner] - m)
				out[base+j*inner] = e
				s += e
			}
			for j := 0; j < n; j++ {
				out[base+j*inner] /= s
			}
		}
	}
}

// SoftmaxBackward writes gx = (g − Σ g·out)·out along the middle dimension.
func SoftmaxBackward[T Float](g, out, gx []T, outer, n, inner int) {
	for o := 0; o < outer; o++ {
		for i := 0; i < inner; i++ {
			base := o*n*inner + i
			var s T
			for j := 0; j < n; j++ {
				s += g[base+j*inner] * out[base+j*inner]
			}
			for j := 0; j < n; j++ {
				k := base + j*inner
				gx[k] = (g[k] - s) * out[k]
			}
		}
	}
}
