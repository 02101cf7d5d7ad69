package kernels

// The activations the tutorial chains into losses: sigmoid, softmax and
// log_softmax. Softmax kernels work on a tensor viewed as (outer, n, inner),
// reducing over the middle dimension, with element (o, j, i) at
// (o*n + j)*inner + i.

// SigmoidForward writes y[i] = 1/(1 + exp(−x[i])).
func SigmoidForward[T Float](x, y []T) {
	y = y[:len(x)]
	for i, v := range x {
		y[i] = -v
	}
	ExpSlice(y, y)
	for i, e := range y {
		y[i] = 1 / (1 + e)
	}
}

// SigmoidBackward writes gx[i] = g[i]·(1 − y[i])·y[i] (ATen's
// sigmoid_backward) from the output y.
func SigmoidBackward[T Float](g, y, gx []T) {
	for i := range gx {
		gx[i] = g[i] * (1 - y[i]) * y[i]
	}
}

// LogSoftmaxForward writes out = (x − max) − log(Σ exp(x − max)) along the
// middle dimension, in ATen's order of operations.
func LogSoftmaxForward[T Float](x, out []T, outer, n, inner int) {
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
