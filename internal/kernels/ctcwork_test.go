package kernels

import (
	"math"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/torchloss/torchloss/internal/parallel"
)

// bitsOf is v's bit pattern.
func bitsOf[T Float](v T) uint64 {
	switch f := any(v).(type) {
	case float32:
		return uint64(math.Float32bits(f))
	default:
		return math.Float64bits(any(v).(float64))
	}
}

// poison overwrites everything k holds, up to the capacities, with values
// no kernel may rely on (NaN, all-ones masks, true transitions).
func (k *CTCWork[T]) poison() {
	nan := T(math.NaN())
	for _, s := range []*[]T{&k.alpha, &k.buf, &k.vec, &k.lab, &k.tmp, &k.ea} {
		f := (*s)[:cap(*s)]
		for i := range f {
			f[i] = nan
		}
	}
	for i := range k.pr[:cap(k.pr)] {
		k.pr[:cap(k.pr)][i] = -7
	}
	for i := range k.skip[:cap(k.skip)] {
		k.skip[:cap(k.skip)][i] = true
	}
	for i := range k.mask[:cap(k.mask)] {
		k.mask[:cap(k.mask)][i] = ^uint32(0)
	}
	for _, s := range []*[]int32{&k.head, &k.cls} {
		f := (*s)[:cap(*s)]
		for i := range f {
			f[i] = 5
		}
	}
}

// ctcCase is one CTC problem: a (T, N, C) array and per-sample lengths and
// labels.
type ctcCase struct {
	T, N, C int
	S, L    []int
	labels  [][]int64
}

// ctcGen returns a random problem of the given sizes (every sample's
// target length at most maxS) and its log-probabilities in T: log-softmax
// rows, or, with raw, N(0, 3) values with a few -inf and NaN.
func ctcGen[T Float](r *rand.Rand, tt, n, c, maxS int, raw bool) (ctcCase, []T) {
	p := ctcCase{T: tt, N: n, C: c}
	lp := make([]T, tt*n*c)
	for row := 0; row < tt*n; row++ {
		v := lp[row*c : (row+1)*c]
		sum := 0.0
		for i := range v {
			x := r.NormFloat64()
			v[i] = T(x)
			sum += math.Exp(x)
		}
		for i := range v {
			if raw {
				v[i] = T(r.NormFloat64() * 3)
				switch r.IntN(300) {
				case 0:
					v[i] = Inf[T](-1)
				case 1:
					v[i] = T(math.NaN())
				}
			} else {
				v[i] -= T(math.Log(sum))
			}
		}
	}
	for b := 0; b < n; b++ {
		s := r.IntN(maxS + 1)
		l := r.IntN(tt + 1)
		if r.IntN(3) > 0 {
			l = tt
		}
		lab := make([]int64, s)
		for i := range lab {
			lab[i] = 1 + int64(r.IntN(c-1))
			if i > 0 && r.IntN(5) == 0 {
				lab[i] = lab[i-1]
			}
		}
		p.S = append(p.S, s)
		p.L = append(p.L, l)
		p.labels = append(p.labels, lab)
	}
	return p, lp
}

// ctcRun runs the forward and the backward of every sample of p with the
// workspace k (nil: fresh scratch, and fresh alpha tables), the tables
// taken from k.Alpha when k is not nil.
func ctcRun[T Float](p ctcCase, lp []T, zi bool, k *CTCWork[T], poison bool) ([]T, []T) {
	nll := make([]T, p.N)
	grad := make([]T, len(lp))
	for i := range grad {
		grad[i] = T(math.NaN()) // every entry must be written
	}
	for b := 0; b < p.N; b++ {
		x := CTCSample[T]{LP: lp, Off: b * p.C, Stride: p.N * p.C, C: p.C, L: p.L[b], Labels: p.labels[b], Blank: 0}
		n := CTCAlphaLen(x.L, len(x.Labels))
		var alpha []T
		if k == nil {
			alpha = make([]T, n)
		} else {
			if poison {
				k.poison()
			}
			alpha = k.Alpha(n)
		}
		nll[b] = CTCForward(&x, alpha, k)
		if k != nil && poison {
			// Poison everything but the table between the two calls.
			a := append([]T(nil), alpha...)
			k.poison()
			copy(k.Alpha(n), a)
			alpha = k.Alpha(n)
		}
		CTCBackward(&x, p.T, alpha, nll[b], 0.125, zi, grad, k)
	}
	return nll, grad
}

func ctcSameBits[T Float](t *testing.T, what string, got, want []T) {
	t.Helper()
	for i := range want {
		if bitsOf(got[i]) != bitsOf(want[i]) {
			t.Fatalf("%s[%d] = %v, want %v (bitwise)", what, i, got[i], want[i])
		}
	}
}

// The workspace gives, reused across problems of different sizes (larger
// targets, then smaller ones, then longer inputs, more classes) and even
// poisoned between uses, bitwise the results of fresh scratch.
func testCTCWorkReuse[T Float](t *testing.T) {
	sizes := []struct{ T, N, C, S int }{
		{60, 3, 9, 40}, {20, 2, 5, 6}, {150, 2, 30, 70}, {7, 4, 3, 9}, {90, 1, 17, 1}, {200, 2, 6, 90}, {33, 3, 12, 0}, {120, 2, 40, 50},
	}
	for _, avx := range []bool{true, false} {
		old := setAVX2(avx && hasAVX2)
		for _, poison := range []bool{false, true} {
			r := rand.New(rand.NewPCG(7, 8))
			k := new(CTCWork[T])
			for it := 0; it < 3; it++ {
				for i, sz := range sizes {
					raw := (i+it)%3 == 0
					p, lp := ctcGen[T](r, sz.T, sz.N, sz.C, sz.S, raw)
					zi := (i+it)%2 == 0
					n1, g1 := ctcRun(p, lp, zi, nil, false)
					n2, g2 := ctcRun(p, lp, zi, k, poison)
					ctcSameBits(t, "nll", n2, n1)
					ctcSameBits(t, "grad", g2, g1)
				}
			}
		}
		setAVX2(old)
	}
}

func TestCTCWorkReuse32(t *testing.T) { testCTCWorkReuse[float32](t) }
func TestCTCWorkReuse64(t *testing.T) { testCTCWorkReuse[float64](t) }

// Workspaces from the free list, used by several goroutines at once, give
// the results of fresh scratch.
func TestCTCWorkConcurrent(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	type job struct {
		p        ctcCase
		lp       []float32
		nll, grd []float32
	}
	var jobs []job
	for i := 0; i < 24; i++ {
		p, lp := ctcGen[float32](r, 20+r.IntN(120), 1+r.IntN(3), 3+r.IntN(30), r.IntN(60), i%4 == 0)
		n, g := ctcRun(p, lp, i%2 == 0, nil, false)
		jobs = append(jobs, job{p, lp, n, g})
	}
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for rep := 0; rep < 3; rep++ {
				for i := range jobs {
					j := jobs[(i+w*5)%len(jobs)]
					k := GetCTCWork[float32]()
					n, g := ctcRun(j.p, j.lp, (i+w*5)%len(jobs)%2 == 0, k, false)
					PutCTCWork(k)
					for b := range n {
						if bitsOf(n[b]) != bitsOf(j.nll[b]) {
							errs <- "nll differs"
							return
						}
					}
					for e := range g {
						if bitsOf(g[e]) != bitsOf(j.grd[e]) {
							errs <- "grad differs"
							return
						}
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Fatal(e)
	}
}

// The free list keeps at most 2·Threads() workspaces of a type, at most
// ctcWorkBytes bytes in all, and hands back what it keeps.
func TestCTCWorkFreeListBound(t *testing.T) {
	parallel.SetThreads(3)
	defer parallel.SetThreads(0)
	for {
		if _, ok := ctcWorks64.Get(); !ok {
			break
		}
	}
	var ks []*CTCWork[float64]
	mine := map[*CTCWork[float64]]bool{}
	for i := 0; i < 20; i++ {
		k := GetCTCWork[float64]()
		k.Alpha(1000)
		ks = append(ks, k)
		mine[k] = true
	}
	big := GetCTCWork[float64]()
	big.Alpha(ctcWorkBytes / 8) // alone over the bytes bound
	for _, k := range ks {
		PutCTCWork(k)
	}
	PutCTCWork(big)
	n, b := ctcWorks64.Len(), ctcWorks64.Bytes()
	if n > 6 || b > ctcWorkBytes {
		t.Fatalf("free list holds %d workspaces, %d bytes", n, b)
	}
	if n == 0 {
		t.Fatal("free list keeps nothing")
	}
	// What it keeps (not the big one) comes back before anything new is
	// made.
	for i := 0; i < n; i++ {
		if k := GetCTCWork[float64](); !mine[k] {
			t.Fatalf("GetCTCWork gave a workspace not put back (big: %v) with %d kept", k == big, n-i)
		}
	}
	if k := GetCTCWork[float64](); mine[k] || k == big || cap(k.alpha) != 0 {
		t.Fatal("GetCTCWork on an empty list did not make a new workspace")
	}
}

// The band a forward finds serves the backward that follows it, and no
// later call: after that backward (or PutCTCWork), log-probabilities that
// changed in place (here: a NaN that turns the band off) are scanned again.
func TestCTCWorkBandNotKept(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	p, lp := ctcGen[float32](r, 40, 1, 6, 12, false)
	p.L[0], p.S[0] = 40, 12
	p.labels[0] = p.labels[0][:0]
	for i := 0; i < 12; i++ {
		p.labels[0] = append(p.labels[0], 1+int64(i%5))
	}
	x := CTCSample[float32]{LP: lp, Off: 0, Stride: p.C, C: p.C, L: 40, Labels: p.labels[0]}
	pr, _ := new(CTCWork[float32]).primes(&x)
	if !ctcBandOf(&x, pr, new(CTCWork[float32])).on {
		t.Fatal("no band for log-softmax rows")
	}
	for _, put := range []bool{false, true} {
		k := GetCTCWork[float32]()
		ctcRun(p, lp, false, k, false) // a forward and a backward
		if put {
			ctcRun(p, lp, false, k, false)
			k.Alpha(CTCAlphaLen(40, 12))
			CTCForward(&x, k.alpha, k) // a forward without its backward
			PutCTCWork(k)
			k = GetCTCWork[float32]()
		}
		saved := lp[3*p.C+int(x.Labels[0])]
		lp[3*p.C+int(x.Labels[0])] = float32(math.NaN())
		n1, g1 := ctcRun(p, lp, false, nil, false)
		n2, g2 := ctcRun(p, lp, false, k, false)
		lp[3*p.C+int(x.Labels[0])] = saved
		ctcSameBits(t, "nll", n2, n1)
		ctcSameBits(t, "grad", g2, g1)
		PutCTCWork(k)
	}
}
