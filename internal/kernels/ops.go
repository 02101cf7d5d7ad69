package kernels

import "math"

// Kernels of the differentiable tensor operations in functional/ops.go that
// need more than one line: pow with a scalar exponent and the vector norm
// along a dimension, forward and backward, in ATen's CPU order of
// operations. Reductions view a tensor as (outer, n, inner) and reduce the
// middle dimension; element (o, j, i) is at (o*n + j)*inner + i.

// PowScalar is ATen's pow(x, e) for a scalar exponent
// (aten/src/ATen/native/Pow.cpp, cpu/PowKernel.cpp): 1 for e = 0, x for
// e = 1, sqrt for 0.5, 1/sqrt for −0.5, 1/x for −1, x·x for 2, x·x·x for 3,
// 1/(x·x) for −2, and the double-precision std::pow rounded to T otherwise.
func PowScalar[T Float](x T, e float64) T {
	switch e {
	case 0:
		return 1
	case 1:
		return x
	case 0.5:
		return Sqrt(x)
	case -0.5:
		return 1 / Sqrt(x)
	case -1:
		return 1 / x
	case 2:
		return T(x * x)
	case 3:
		return T(T(x*x) * x)
	case -2:
		return 1 / T(x*x)
	}
	return T(math.Pow(float64(x), e))
}

// maxNaN and minNaN are ATen's max_propagate_nan / min_propagate_nan.
func maxNaN[T Float](a, b T) T {
	if a != a {
		return a
	}
	if b != b || b > a {
		return b
	}
	return a
}

func minNaN[T Float](a, b T) T {
	if a != a {
		return a
	}
	if b != b || b < a {
		return b
	}
	return a
}

// NormForward writes out[o*inner+i] = ‖x[o, :, i]‖_p, ATen's vector norm
// (linalg_vector_norm's CPU reduction, aten/src/ATen/native/cpu/
// ReduceOpsKernel.cpp and SharedReduceOps.h), accumulated in T in index
// order:
//
//	p = 0:     the count of non-zero entries (NaN counts)
//	p = 1:     Σ|x|
//	p = 2:     sqrt(Σ x·x)
//	p = +inf:  max |x| (NaN propagates);  p = −inf: min |x|
//	otherwise: (Σ |x|^p)^(1/p), p and 1/p rounded to T
//
// An empty reduction (n = 0) gives 0.
func NormForward[T Float](x []T, p float64, outer, n, inner int, out []T) {
	pt := T(p)
	for o := 0; o < outer; o++ {
		for i := 0; i < inner; i++ {
			base := o*n*inner + i
			var acc T
			switch {
			case p == 0:
				for j := 0; j < n; j++ {
					if x[base+j*inner] != 0 {
						acc++
					}
				}
			case p == 1:
				for j := 0; j < n; j++ {
					acc += Abs(x[base+j*inner])
				}
			case p == 2:
				for j := 0; j < n; j++ {
					v := x[base+j*inner]
					acc += T(v * v)
				}
				acc = Sqrt(acc)
			case math.IsInf(p, 1):
				for j := 0; j < n; j++ {
					acc = maxNaN(acc, Abs(x[base+j*inner]))
				}
			case math.IsInf(p, -1):
				acc = Inf[T](1)
				if n == 0 {
					acc = 0
				}
				for j := 0; j < n; j++ {
					acc = minNaN(acc, Abs(x[base+j*inner]))
				}
			default:
				for j := 0; j < n; j++ {
					acc += T(math.Pow(float64(Abs(x[base+j*inner])), float64(pt)))
				}
				acc = T(math.Pow(float64(acc), float64(1/pt)))
			}
			out[o*inner+i] = acc
		}
	}
}

// NormBackward writes the gradient of the norm (ATen's norm_backward,
// torch/csrc/autograd/FunctionsManual.cpp) into gx for the forward input x,
// its result nrm and the upstream gradient g (both indexed o*inner+i):
//
//	p = 0:     0
//	p = 1:     sgn(x)·g
//	p = 2:     g·(x/‖x‖), 0 where ‖x‖ = 0
//	p = ±inf:  sgn(x)·((g/k)·[|x| = ‖x‖ or |x| is NaN]), k the count of such entries
//	p < 1:     (sgn(x)·|x|^(p−1) (0 where x = 0))·g·‖x‖^(1−p)
//	p < 2:     sgn(x)·|x|^(p−1) · (g/‖x‖^(p−1), 0 where ‖x‖ = 0)
//	otherwise: x·|x|^(p−2) · (g/‖x‖^(p−1), 0 where ‖x‖ = 0)
//
// with the powers computed as PowScalar.
func NormBackward[T Float](x []T, p float64, outer, n, inner int, nrm, g, gx []T) {
	for o := 0; o < outer; o++ {
		for i := 0; i < inner; i++ {
			base := o*n*inner + i
			N, gg := nrm[o*inner+i], g[o*inner+i]
			switch {
			case p == 0:
				for j := 0; j < n; j++ {
					gx[base+j*inner] = 0
				}
			case p == 1:
				for j := 0; j < n; j++ {
					gx[base+j*inner] = Sgn(x[base+j*inner]) * gg
				}
			case p == 2:
				for j := 0; j < n; j++ {
					q := x[base+j*inner] / N
					if N == 0 {
						q = 0
					}
					gx[base+j*inner] = gg * q
				}
			case math.IsInf(p, 0):
				var k int64
				for j := 0; j < n; j++ {
					a := Abs(x[base+j*inner])
					if a == N || a != a {
						k++
					}
				}
				share := gg / T(k)
				for j := 0; j < n; j++ {
					v := x[base+j*inner]
					a := Abs(v)
					var m T
					if a == N || a != a {
						m = 1
					}
					gx[base+j*inner] = Sgn(v) * T(share*m)
				}
			case p < 1:
				scale := PowScalar(N, 1-p)
				for j := 0; j < n; j++ {
					v := x[base+j*inner]
					s := PowScalar(Abs(v), p-1)
					if v == 0 {
						s = 0
					}
					gx[base+j*inner] = T(T(Sgn(v)*s)*gg) * scale
				}
			default:
				sv := gg / PowScalar(N, p-1)
				if N == 0 {
					sv = 0
				}
				for j := 0; j < n; j++ {
					v := x[base+j*inner]
					var s T
					if p < 2 {
						s = Sgn(v) * PowScalar(Abs(v), p-1)
					} else {
						s = v * PowScalar(Abs(v), p-2)
					}
					gx[base+j*inner] = s * sv
				}
			}
		}
	}
}
