package kernels

// The regression losses: mse_loss, smooth_l1_loss and huber_loss.
//
// The forward kernels are ATen's elementwise kernels
// (aten/src/ATen/native/cpu/BinaryOpsKernel.cpp); their scalar and vector
// formulas agree. The backward kernels are ATen's scalar formulas
// (aten/src/ATen/native/cpu/PointwiseOpsKernel.cpp). PyTorch runs a vector
// formula on blocks of elements and the scalar one on the tail; the two
// differ by about an ULP where the threshold (β or δ) is involved, never
// more. Products are rounded to T explicitly (T(a*b)) so that the Go
// compiler cannot fuse them into an FMA that ATen's kernels do not use.

// MSEForward writes out[i] = d·d with d = x[i] − y[i] (ATen's mse_kernel).
func MSEForward[T Float](x, y, out []T) {
	for i := range out {
		d := x[i] - y[i]
		out[i] = d * d
	}
}

// MSEBackward is ATen's mse_backward kernel: gx[i] = (norm·(x−y))·up(i) and
// gy[i] = (norm·(y−x))·up(i), the target gradient being the same kernel with
// the arguments swapped (derivatives.yaml). norm is 2/N for a mean (computed
// in float64 and rounded to T by the caller) and 2 otherwise. Either
// gradient slice may be nil.
func MSEBackward[T Float](x, y []T, norm T, up func(int) T, gx, gy []T) {
	for i := range x {
		g := up(i)
		if gx != nil {
			gx[i] = T(norm*(x[i]-y[i])) * g
		}
		if gy != nil {
			gy[i] = T(norm*(y[i]-x[i])) * g
		}
	}
}

// MSEBackwardOne is MSEBackward for the upstream gradient 1:
// gx[i] = T(norm·(x−y))·1, bit for bit.
func MSEBackwardOne[T Float](x, y []T, norm T, gx, gy []T) {
	if gx != nil {
		gx = gx[:len(x)]
		y := y[:len(x)]
		for i := range x {
			gx[i] = T(norm * (x[i] - y[i]))
		}
	}
	if gy != nil {
		gy = gy[:len(x)]
		y := y[:len(x)]
		for i := range x {
			gy[i] = T(norm * (y[i] - x[i]))
		}
	}
}

// SquareBackward is the autograd of pow(x − y, 2), the weighted mse_loss
// path of torch.nn.functional: gx[i] = up(i)·(2·d) (pow's backward,
// grad·(2·d^1)) and gy[i] = −gx[i] (sub's backward). Either gradient slice
// may be nil.
func SquareBackward[T Float](x, y []T, up func(int) T, gx, gy []T) {
	for i := range x {
		g := up(i) * (2 * (x[i] - y[i]))
		if gx != nil {
			gx[i] = g
		}
		if gy != nil {
			gy[i] = -g
		}
	}
}

// SmoothL1Forward writes ATen's smooth_l1 kernel, with z = |x − y| and
// b = T(beta):
//
//	z < b ? 0.5·z·z/b : z − 0.5·b
//
// beta must be > 0 (beta == 0 is l1_loss, which the caller runs instead).
func SmoothL1Forward[T Float](x, y, out []T, beta float64) {
	b := T(beta)
	for i := range out {
		z := Abs(x[i] - y[i])
		if z < b {
			out[i] = T(T(T(0.5)*z)*z) / b
		} else {
			out[i] = z - T(T(0.5)*b)
		}
	}
}

// SmoothL1Backward is ATen's smooth_l1_backward scalar formula, with
// d = x − y, the comparison and the division made with the float64 beta:
//
//	d ≤ −β: −norm·g    d ≥ β: norm·g    else: ((norm·d)·g)/β
//
// and the target gradient the same formula with x and y swapped. norm is
// 1/N for a mean (rounded to T by the caller), else 1. At |d| == β the
// gradient is ±norm·g; at d == 0 it is 0. Either gradient slice may be nil.
func SmoothL1Backward[T Float](x, y []T, norm T, beta float64, up func(int) T, gx, gy []T) {
	f := func(d, g T) T {
		switch {
		case float64(d) <= -beta:
			return -norm * g
		case float64(d) >= beta:
			return norm * g
		default:
			return T(float64(T(T(norm*d)*g)) / beta)
		}
	}
	for i := range x {
		g := up(i)
		if gx != nil {
			gx[i] = f(x[i]-y[i], g)
		}
		if gy != nil {
			gy[i] = f(y[i]-x[i], g)
		}
	}
}

// HuberForward writes ATen's huber kernel, with z = |x − y| and
// δ = T(delta):
//
//	z < δ ? 0.5·z·z : δ·(z − 0.5·δ)
func HuberForward[T Float](x, y, out []T, delta float64) {
	dl := T(delta)
	for i := range out {
		z := Abs(x[i] - y[i])
		if z < dl {
			out[i] = T(T(0.5)*z) * z
		} else {
			out[i] = dl * (z - T(T(0.5)*dl))
		}
	}
}

// HuberBackward is ATen's huber_backward scalar formula, with d = x − y and
// the comparison and the final product made with the float64 delta:
//
//	d ≤ −δ: (−norm·g)·δ    d ≥ δ: (norm·g)·δ    else: (norm·d)·g
//
// and the target gradient the same formula with x and y swapped. norm is
// 1/N for a mean (rounded to T by the caller), else 1. At |d| == δ the
// gradient is ±δ·norm·g. Either gradient slice may be nil.
func HuberBackward[T Float](x, y []T, norm T, delta float64, up func(int) T, gx, gy []T) {
	f := func(d, g T) T {
		switch {
		case float64(d) <= -delta:
			return T(float64(-norm*g) * delta)
		case float64(d) >= delta:
			return T(float64(norm*g) * delta)
		default:
			return T(norm*d) * g
		}
	}
	for i := range x {
		g := up(i)
		if gx != nil {
			gx[i] = f(x[i]-y[i], g)
		}
		if gy != nil {
			gy[i] = f(y[i]-x[i], g)
		}
	}
}
