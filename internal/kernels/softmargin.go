package kernels

// This file holds the kernels of margin_ranking_loss, soft_margin_loss and
// multilabel_soft_margin_loss (with the log_sigmoid it is built from).

// MarginRankingForward writes u = −t·d + margin and out = clamp_min(u, 0),
// with d = x1 − x2 already computed: margin_ranking_loss's
// (−target * (input1 − input2) + margin).clamp_min_(0). u is kept for the
// backward pass.
func MarginRankingForward[T Float](d, t []T, margin T, u, out []T) {
	for i := range out {
		u[i] = (-t[i])*d[i] + margin
		out[i] = ClampMin(u[i], 0)
	}
}

// MarginRankingBackward writes, for the upstream gradient up(i), the
// gradients of p = (−t)·d before they are summed to the arguments' shapes:
// gu = (u ≥ 0 ? up : 0) (clamp_min passes the gradient at the kink),
// gd = gu·(−t) and gnt = gu·d (the gradient of −t; the target's is its
// negation). Either output slice may be nil.
func MarginRankingBackward[T Float](d, t, u []T, up func(int) T, gd, gnt []T) {
	for i := range u {
		var gu T
		if u[i] >= 0 {
			gu = up(i)
		}
		if gd != nil {
			gd[i] = gu * -t[i]
		}
		if gnt != nil {
			gnt[i] = gu * d[i]
		}
	}
}

// SoftMarginForward writes out = log1p(exp(p)) for p = (−x)·t already
// computed (and rounded to the input's dtype): soft_margin_loss's
// neg_out(input).mul_(target).exp_().log1p_(). A large p overflows exp to
// inf and the loss is inf, as in PyTorch.
func SoftMarginForward[T Float](p, out []T) {
	for i := range out {
		out[i] = Log1p(Exp(p[i]))
	}
}

// LogSigmoidForward writes log σ(x) = min(x, 0) − log1p(exp(−|x|)) and the
// buffer exp(−|x|) that the backward pass reuses, as ATen's CPU
// log_sigmoid kernel does (NaN propagates through the minimum).
func LogSigmoidForward[T Float](x, out, buf []T) {
	for i, v := range x {
		m := v
		if !(v < 0) && v == v {
			m = 0
		}
		b := Exp(-Abs(v))
		buf[i] = b
		out[i] = m - Log1p(b)
	}
}

// LogSigmoidBackward is ATen's CPU log_sigmoid backward for input x, buffer
// b = exp(−|x|) and upstream gradient g:
//
//	(max_deriv − sign·(b/(1 + b)))·g, with max_deriv = 1, sign = 1 for x < 0
//	and max_deriv = 0, sign = −1 otherwise.
func LogSigmoidBackward[T Float](x, b, g, gx []T) {
	for i, v := range x {
		var maxDeriv, sign T = 0, -1
		if v < 0 {
			maxDeriv, sign = 1, 1
		}
		gx[i] = (maxDeriv - sign*(b[i]/(1+b[i]))) * g[i]
	}
}

// SoftMarginBackward is soft_margin_loss_backward for an input of dtype X
// computed in the promoted dtype P = T (narrowX: X is float32 while T is
// float64, a float64 target; the steps that PyTorch writes into the
// X-typed gradient are rounded to X):
//
//	z  = exp((−t)·x)                          (in P)
//	gi = X(t·z); gi = gi·X(−norm); gi = X(gi/(z + 1)); gi = gi·g
//
// with negNorm = −1/N for mean (N the input's element count) or −1. It is
// NaN where z overflows to inf, as in PyTorch.
func SoftMarginBackward[T Float](x, t []T, negNorm T, narrowX bool, up func(int) T, gx []T) {
	nn := Narrow(negNorm, narrowX)
	for i := range gx {
		z := Exp((-t[i]) * x[i])
		gi := Narrow(t[i]*z, narrowX)
		gi = Narrow(gi*nn, narrowX)
		gi = Narrow(gi/(z+1), narrowX)
		gx[i] = Narrow(gi*up(i), narrowX)
	}
}
