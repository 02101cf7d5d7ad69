package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// The scalar CTC kernels as they were before the time steps' gradient
// accumulations were vectorized (with Expf and Logf for float32, as the
// kernels now): the reference the kernels must match bitwise.
func ctcForwardRef[T Float](x *CTCSample[T], alpha []T) T {
	S := len(x.Labels)
	if x.L == 0 {
		var z T
		if S == 0 {
			return -z // -0.0, as PyTorch's -(0) in T
		}
		return Inf[T](1)
	}
	neginf := Inf[T](-1)
	w := 2*S + 1
	row0 := alpha[:w]
	for s := range row0 {
		row0[s] = neginf
	}
	row0[0] = x.lp(0, x.Blank)
	if S > 0 {
		row0[1] = x.lp(0, x.prime(1))
	}
	// Each row is computed in four vectorizable steps (the exponentials and
	// logarithms of a whole row at once), with the same operations as
	//
	//	cur[s] = (Log((Exp(a1-m)+Exp(a2-m))+Exp(a3-m)) + m) + lp(t, l'(s))
	buf := make([]T, 4*w)
	e, ms := buf[:3*w], buf[3*w:]
	for t := 1; t < x.L; t++ {
		prev := alpha[(t-1)*w : t*w]
		cur := alpha[t*w : (t+1)*w]
		for s := 0; s < w; s++ {
			cp := x.prime(s)
			a1 := prev[s]
			m := a1
			a2, a3 := neginf, neginf
			if s > 0 {
				a2 = prev[s-1]
				if a2 > m {
					m = a2
				}
			}
			if s > 1 && x.prime(s-2) != cp {
				a3 = prev[s-2]
				if a3 > m {
					m = a3
				}
			}
			if m == neginf {
				m = 0
			}
			ms[s] = m
			e[s], e[w+s], e[2*w+s] = a1-m, a2-m, a3-m
		}
		Expfs(e, e)
		for s := 0; s < w; s++ {
			cur[s] = (e[s] + e[w+s]) + e[2*w+s]
		}
		Logfs(cur, cur)
		for s := 0; s < w; s++ {
			cur[s] = (cur[s] + ms[s]) + x.lp(t, x.prime(s))
		}
	}
	last := alpha[(x.L-1)*w : x.L*w]
	if S == 0 {
		return -last[0]
	}
	l1, l2 := last[2*S], last[2*S-1]
	m := Max(l1, l2)
	if m == neginf {
		m = 0
	}
	return -(Log(Exp(l1-m)+Exp(l2-m)) + m)
}

func ctcBackwardRef[T Float](x *CTCSample[T], steps int, alpha []T, nll, gr T, zeroInfinity bool, grad []T) {
	zeroRows := func(from int) {
		for t := from; t < steps; t++ {
			row := grad[x.Off+t*x.Stride : x.Off+t*x.Stride+x.C]
			for c := range row {
				row[c] = 0
			}
		}
	}
	if zeroInfinity && nll == Inf[T](1) {
		zeroRows(0)
		return
	}
	neginf := Inf[T](-1)
	S := len(x.Labels)
	w := 2*S + 1
	at := func(t, c int) *T { return &grad[x.Off+t*x.Stride+c] }
	for t := 0; t < x.L; t++ {
		for c := 0; c < x.C; c++ {
			*at(t, c) = neginf
		}
	}
	if x.L > 0 {
		L := x.L
		next := make([]T, w) // beta[t+1]
		cur := make([]T, w)  // beta[t]
		for s := range next {
			next[s] = neginf
		}
		la := alpha[(L-1)*w : L*w]
		next[2*S] = x.lp(L-1, x.Blank)
		*at(L-1, x.Blank) = la[2*S] + next[2*S]
		if S > 0 {
			cp := x.prime(2*S - 1)
			next[2*S-1] = x.lp(L-1, cp)
			*at(L-1, cp) = la[2*S-1] + next[2*S-1]
		}
		buf := make([]T, 4*w)
		e, ms := buf[:3*w], buf[3*w:]
		for t := L - 2; t >= 0; t-- {
			la = alpha[t*w : (t+1)*w]
			// beta[t] for every s first, vectorized as in CTCForward.
			for s := 2 * S; s >= 0; s-- {
				cp := x.prime(s)
				b1 := next[s]
				m := b1
				b2, b3 := neginf, neginf
				if s < 2*S {
					b2 = next[s+1]
					if b2 > m {
						m = b2
					}
				}
				if s < 2*S-1 && x.prime(s+2) != cp {
					b3 = next[s+2]
					if b3 > m {
						m = b3
					}
				}
				if m == neginf {
					m = 0
				}
				ms[s] = m
				e[s], e[w+s], e[2*w+s] = b1-m, b2-m, b3-m
			}
			Expfs(e, e)
			for s := 0; s < w; s++ {
				cur[s] = (e[s] + e[w+s]) + e[2*w+s]
			}
			Logfs(cur, cur)
			for s := 0; s < w; s++ {
				cur[s] = (cur[s] + ms[s]) + x.lp(t, x.prime(s))
			}
			for s := 2 * S; s >= 0; s-- {
				cp := x.prime(s)
				lab := la[s] + cur[s]
				g := at(t, cp)
				if *g == neginf {
					*g = lab
				} else {
					mx := Max(*g, lab)
					*g = logT(expT(*g-mx)+expT(lab-mx)) + mx
				}
			}
			next, cur = cur, next
		}
	}
	ea := make([]T, 2*x.C)
	eb := ea[x.C:]
	ea = ea[:x.C]
	for t := 0; t < x.L; t++ {
		row := grad[x.Off+t*x.Stride : x.Off+t*x.Stride+x.C]
		lps := x.LP[x.Off+t*x.Stride : x.Off+t*x.Stride+x.C]
		for c, lp := range lps {
			eb[c] = (row[c] + nll) - lp
		}
		Expfs(ea, lps)
		Expfs(eb, eb)
		for c := range row {
			row[c] = (ea[c] - eb[c]) * gr
		}
	}
	zeroRows(x.L)
}

// The kernels against the scalar reference, bitwise, for float32 (the
// eight-lane kernels where the CPU has them, and the scalar ones) and
// float64: raw N(0, 3) log-probabilities with -inf and NaN (the whole
// rows), and log-softmax rows, some with -inf and exact zeros (the band).
func testCTCMatchesScalar[F Float](t *testing.T, iters int) {
	r := rand.New(rand.NewPCG(1, 2))
	for it := 0; it < iters; it++ {
		C := 2 + r.IntN(12)
		N := 1 + r.IntN(3)
		T := 1 + r.IntN(150)
		norm := it%2 == 1
		lp := make([]F, T*N*C)
		for i := range lp {
			lp[i] = F(r.NormFloat64() * 3)
			switch r.IntN(200) {
			case 0:
				lp[i] = Inf[F](-1)
			case 1:
				if it%5 == 0 {
					lp[i] = F(math.NaN())
				}
			case 2:
				if norm {
					lp[i] = 200 // its row: lp = 0 there, tiny or -inf elsewhere
				}
			}
		}
		if norm {
			for row := 0; row < T*N; row++ {
				v := lp[row*C : (row+1)*C]
				m := RowMax(v)
				sum := F(0)
				for _, x := range v {
					sum += expT(x - m)
				}
				for i := range v {
					v[i] = (v[i] - m) - logT(sum)
					switch r.IntN(40) {
					case 0:
						v[i] = F(math.Copysign(0, -1)) // -0: the sign of zeros
					case 1:
						v[i] = 0
					}
				}
			}
		}
		for b := 0; b < N; b++ {
			S := r.IntN(min(T, 70) + 1)
			if it%7 == 0 {
				S = r.IntN(T + 3) // possibly impossible alignments
			}
			labels := make([]int64, S)
			for i := range labels {
				labels[i] = 1 + int64(r.IntN(C-1))
				if r.IntN(4) == 0 && i > 0 {
					labels[i] = labels[i-1]
				}
			}
			L := r.IntN(T + 1)
			if r.IntN(2) == 0 {
				L = max(L, min(T, S+r.IntN(3))) // S <= L, often close
			}
			x := CTCSample[F]{LP: lp, Off: b * C, Stride: N * C, C: C, L: L, Labels: labels, Blank: 0}
			// The kernels (the AVX2 path where the CPU has it, then the
			// scalar one) against the reference.
			for _, avx := range []bool{true, false} {
				old := setAVX2(avx && hasAVX2)
				a1 := make([]F, CTCAlphaLen(x.L, S))
				a2 := make([]F, len(a1))
				n1, n2 := CTCForward(&x, a1, nil), ctcForwardRef(&x, a2)
				if bitsOf(n1) != bitsOf(n2) && !(n1 != n1 && n2 != n2) {
					setAVX2(old)
					t.Fatalf("it %d avx %v: nll %v, want %v", it, avx, n1, n2)
				}
				for _, zi := range []bool{false, true} {
					g1 := make([]F, len(lp))
					g2 := make([]F, len(lp))
					CTCBackward(&x, T, a1, n1, 0.25, zi, g1, nil)
					ctcBackwardRef(&x, T, a2, n2, 0.25, zi, g2)
					for i := range g1 {
						if bitsOf(g1[i]) != bitsOf(g2[i]) && !(g1[i] != g1[i] && g2[i] != g2[i]) {
							setAVX2(old)
							t.Fatalf("it %d avx %v: grad[%d] = %v, want %v", it, avx, i, g1[i], g2[i])
						}
					}
				}
				setAVX2(old)
			}
		}
	}
}

func TestCTCMatchesScalar(t *testing.T) { testCTCMatchesScalar[float32](t, 600) }

func TestCTCMatchesScalar64(t *testing.T) { testCTCMatchesScalar[float64](t, 200) }

// The band (ctcBand) is on for log-softmax samples and off for the others.
func TestCTCBandChoice(t *testing.T) {
	lp := []float32{-1, -0.5, 0, -2, float32(math.Inf(-1)), -3}
	k := new(CTCWork[float32])
	on := func(lp []float32, L int, labels ...int64) bool {
		x := CTCSample[float32]{LP: lp, Off: 0, Stride: 3, C: 3, L: L, Labels: labels}
		pr, _ := k.primes(&x)
		return k.band(&x, pr).on
	}
	if !on(lp, 2, 1) || !on(lp, 2, 2) || !on(lp, 2, 1, 2) {
		t.Error("band off for log-probabilities <= 0")
	}
	if on(lp, 1, 1, 2) {
		t.Error("band on with S > L")
	}
	for _, v := range []float32{float32(math.NaN()), float32(math.Inf(1)), 1e-30} {
		bad := append([]float32(nil), lp...)
		bad[4] = v
		if on(bad, 2, 1) {
			t.Errorf("band on with a log-probability %v", v)
		}
		if !on(bad, 1, 1) || !on(bad, 2, 2) {
			t.Errorf("band off with %v outside the sample's rows or classes", v)
		}
	}
}

// rowBlank's fast form (ctcAcc32AVX2 plus the blank's log-probability) is
// bitwise row's recursion without a third term, for the band's values:
// finite, -inf, ±0, log-probabilities <= 0 (-0 included).
func TestCTCRowBlank(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 5))
	val := func() float32 {
		switch r.IntN(6) {
		case 0:
			return float32(math.Inf(-1))
		case 1:
			return float32(math.Copysign(0, -1))
		case 2:
			return 0
		}
		return float32(r.NormFloat64() * 5)
	}
	k := new(CTCWork[float32])
	rows := k.newRows(40)
	for it := 0; it < 2000; it++ {
		n := 1 + r.IntN(40)
		a, l := make([]float32, n+8), make([]float32, n+8)
		for i := range a {
			a[i], l[i] = val(), val()
		}
		lpb := -float32(r.ExpFloat64())
		if it%3 == 0 {
			lpb = float32(math.Copysign(0, -1))
		}
		want := make([]float32, n+8)
		lpg := make([]float32, n+8)
		for i := range lpg {
			lpg[i] = lpb
		}
		k.row(a, l, a, make([]uint32, n+8), lpg, want, n)
		for _, fast := range []bool{false, true} {
			got := make([]float32, n+8)
			k.rowBlank(&rows, a, l, got, n, lpb, fast)
			for i := 0; i < n; i++ {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
					t.Fatalf("it %d fast %v lane %d: a %v l %v lpb %v: %v, want %v", it, fast, i, a[i], l[i], lpb, got[i], want[i])
				}
			}
		}
	}
}
