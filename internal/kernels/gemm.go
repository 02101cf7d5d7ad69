package kernels

import (
	"math"

	"github.com/torchloss/torchloss/internal/parallel"
)

// Dense matrix products for Linear, MatMul and linear_cross_entropy: a
// cache-blocked GEMM in two forms, each on a register-tiled micro-kernel
// (AVX2 + FMA assembly for float32 on amd64, gemm_amd64.s; the same
// arithmetic in Go otherwise, and for float64):
//
//   - GemmNN: C (+)= A·B with B's rows contiguous. The k dimension runs in
//     blocks of gemmKC; per block and output element the products are one
//     chain of fused multiply-adds in k order starting from 0, and the
//     block's sum is then added to C (the first block of a call without
//     acc overwrites C). The 6×16 micro-tile reads A in place through its
//     two strides (row-major or, packed, column panels) and B from packed
//     16-column panels or in place.
//   - GemmNT: C = A·Bᵀ (+ bias) with the rows of both contiguous, as
//     nn.Linear's weight is stored: each output is a dot product over all
//     of k in eight lanes (lane l takes the p ≡ l mod 8, one FMA each)
//     combined by halving, then bias added. The 4×3 micro-tile needs no
//     packing.
//
// Every output element's arithmetic depends only on the shapes (and
// gemmKC), never on the tile it falls in or on the thread that computes
// it: the parallel forms cut C into fixed tiles (parallel.For), so results
// are identical for any thread count.

const (
	gemmMR = 6   // rows of an NN micro-tile
	gemmNR = 16  // columns of an NN micro-tile
	gemmKC = 256 // k block of GemmNN
	gemmNC = 512 // column block of GemmNN (a packed B block of gemmKC×gemmNC)
	// The fixed tiles of the parallel forms.
	gemmTileM = 192
	gemmTileN = 512
)

// fma32 returns a·b + c rounded once to float32, as VFMADD231PS does: the
// product is exact in float64, and the float64 sum is corrected when
// rounding it to float32 would round a second time at a tie (normal
// range; subnormal float32 results may round twice).
func fma32(a, b, c float32) float32 {
	p := float64(a) * float64(b)
	cc := float64(c)
	s := p + cc
	bb := s - p
	r := (p - (s - bb)) + (cc - bb) // s + r == p + c exactly (TwoSum)
	if r != 0 {
		bits := math.Float64bits(s)
		if bits&(1<<29-1) == 1<<28 { // s lies exactly halfway between two float32
			if (r > 0) == (s > 0) {
				bits++
			} else {
				bits--
			}
			s = math.Float64frombits(bits)
		}
	}
	return float32(s)
}

// fmaT is a·b + c rounded once to T.
func fmaT[T Float](a, b, c T) T {
	if Is32[T]() {
		return T(fma32(float32(a), float32(b), float32(c)))
	}
	return T(math.FMA(float64(a), float64(b), float64(c)))
}

// gemmNNGo is gemmNN6x16 in Go: C[r][j] (+)= Σ_k A(r, k)·B(k, j) for the
// 6×16 tile at c[co:], A(r, k) = a[ao + r·ars + k·aks], B(k, j) =
// b[bo + k·bks + j].
func gemmNNGo[T Float](kc int, a []T, ao, ars, aks int, b []T, bo, bks int, c []T, co, ldc int, acc bool) {
	var t [gemmMR][gemmNR]T
	if a64, ok := any(a).([]float64); ok {
		// float64 without the generic dispatch per product.
		b64, t64 := any(b).([]float64), any(&t).(*[gemmMR][gemmNR]float64)
		for k := 0; k < kc; k++ {
			bk := b64[bo+k*bks : bo+k*bks+gemmNR]
			for r := range gemmMR {
				av := a64[ao+r*ars+k*aks]
				tr := &t64[r]
				for j, bv := range bk {
					tr[j] = math.FMA(av, bv, tr[j])
				}
			}
		}
	} else {
		for k := 0; k < kc; k++ {
			bk := b[bo+k*bks : bo+k*bks+gemmNR]
			for r := range gemmMR {
				av := a[ao+r*ars+k*aks]
				tr := &t[r]
				for j, bv := range bk {
					tr[j] = fmaT(av, bv, tr[j])
				}
			}
		}
	}
	for r := range gemmMR {
		row := c[co+r*ldc : co+r*ldc+gemmNR]
		for j := range row {
			if acc {
				row[j] += t[r][j]
			} else {
				row[j] = t[r][j]
			}
		}
	}
}

// nnTile runs the 6×16 micro-kernel (assembly for float32 when
// available), after checking that every element it touches is in range.
func nnTile[T Float](kc int, a []T, ao, ars, aks int, b []T, bo, bks int, c []T, co, ldc int, acc bool) {
	if kc > 0 {
		_ = a[ao+(gemmMR-1)*ars+(kc-1)*aks]
		_ = a[ao]
		_ = b[bo+(kc-1)*bks+gemmNR-1]
	}
	_ = c[co+(gemmMR-1)*ldc+gemmNR-1]
	if a32, ok := any(a).([]float32); ok && gemmAsm() {
		b32, c32 := any(b).([]float32), any(c).([]float32)
		var ap, bp *float32
		if kc > 0 {
			ap, bp = &a32[ao], &b32[bo]
		}
		gemmNN6x16(kc, ap, ars, aks, bp, bks, &c32[co], ldc, acc)
		return
	}
	gemmNNGo(kc, a, ao, ars, aks, b, bo, bks, c, co, ldc, acc)
}

// GemmBuf holds one goroutine's packing buffers for GemmNN.
type GemmBuf[T Float] struct {
	bp   []T // a packed block of B: panels of gemmKC×gemmNR
	ap   []T // a packed panel of A: gemmKC×gemmMR
	tile [gemmMR * gemmNR]T
}

// GemmNN computes C (+)= A·B for an m×k A, a k×n B and an m×n C with
// A(i, p) = a[i·ars + p·aks], B(p, j) = b[p·brs + j], C(i, j) =
// c[i·ldc + j]: C is overwritten unless acc. packB copies each gemmKC×
// gemmNC block of B into 16-column panels first (worth it when the block
// serves many rows of A); otherwise B is read in place. A is read in place
// when its rows are contiguous (aks == 1), else packed per 6-row panel.
// buf may be nil.
func GemmNN[T Float](m, n, k int, a []T, ars, aks int, b []T, brs int, c []T, ldc int, acc, packB bool, buf *GemmBuf[T]) {
	gemmNN(m, n, k, a, ars, aks, b, brs, c, ldc, acc, packB, nil, buf)
}

// PackB packs a k×n B with B(p, j) = b[p·brs + j], k ≤ 256, into the
// 16-column panels GemmNNPacked reads (zero-padded to a multiple of 16
// columns).
func PackB[T Float](b []T, brs, k, n int) []T { return PackBInto(nil, b, brs, k, n) }

// PackBInto is PackB into dst's storage when it is large enough.
func PackBInto[T Float](dst, b []T, brs, k, n int) []T {
	panels := (n + gemmNR - 1) / gemmNR
	bp := grow(dst, panels*k*gemmNR)
	for q := range panels {
		packBPanel(bp[q*k*gemmNR:], b, 0, q*gemmNR, k, min(gemmNR, n-q*gemmNR), brs)
	}
	return bp
}

// GemmNNPacked is GemmNN with B given by PackB (the same k and n), for a B
// shared by many products: the same arithmetic, without packing B again.
func GemmNNPacked[T Float](m, n, k int, a []T, ars, aks int, bp []T, c []T, ldc int, acc bool, buf *GemmBuf[T]) {
	if k > gemmKC {
		panic("kernels: GemmNNPacked with k > 256")
	}
	gemmNN(m, n, k, a, ars, aks, nil, 0, c, ldc, acc, true, bp, buf)
}

// gemmNN is GemmNN, with B's panels read from prepacked (PackB) when it
// is not nil.
func gemmNN[T Float](m, n, k int, a []T, ars, aks int, b []T, brs int, c []T, ldc int, acc, packB bool, prepacked []T, buf *GemmBuf[T]) {
	if m <= 0 || n <= 0 {
		return
	}
	if k <= 0 {
		if !acc {
			for i := range m {
				clear(c[i*ldc : i*ldc+n])
			}
		}
		return
	}
	if buf == nil {
		buf = new(GemmBuf[T])
	}
	for jc := 0; jc < n; jc += gemmNC {
		nb := min(gemmNC, n-jc)
		panels := (nb + gemmNR - 1) / gemmNR
		for pc := 0; pc < k; pc += gemmKC {
			kb := min(gemmKC, k-pc)
			accBlk := acc || pc > 0
			edge := nb % gemmNR // columns of a partial last panel (0: none)
			switch {
			case prepacked != nil: // B's panels are ready
			case packB:
				buf.bp = grow(buf.bp, panels*kb*gemmNR)
				for q := range panels {
					packBPanel(buf.bp[q*kb*gemmNR:], b, pc, jc+q*gemmNR, kb, min(gemmNR, nb-q*gemmNR), brs)
				}
			case edge != 0:
				buf.bp = grow(buf.bp, kb*gemmNR)
				packBPanel(buf.bp, b, pc, jc+(panels-1)*gemmNR, kb, edge, brs)
			}
			for ir := 0; ir < m; ir += gemmMR {
				mr := min(gemmMR, m-ir)
				asl, ao, ar, ak := a, ir*ars+pc*aks, ars, aks
				if mr < gemmMR || aks != 1 {
					buf.ap = grow(buf.ap, kb*gemmMR)
					packAPanel(buf.ap, a, ir, pc, mr, kb, ars, aks)
					asl, ao, ar, ak = buf.ap, 0, 1, gemmMR
				}
				for q := range panels {
					nr := min(gemmNR, nb-q*gemmNR)
					bsl, bo, bk := b, pc*brs+jc+q*gemmNR, brs
					switch {
					case prepacked != nil:
						bsl, bo, bk = prepacked, (jc/gemmNR+q)*kb*gemmNR, gemmNR
					case packB:
						bsl, bo, bk = buf.bp, q*kb*gemmNR, gemmNR
					case nr < gemmNR:
						bsl, bo, bk = buf.bp, 0, gemmNR
					}
					co := ir*ldc + jc + q*gemmNR
					if mr == gemmMR && nr == gemmNR {
						nnTile(kb, asl, ao, ar, ak, bsl, bo, bk, c, co, ldc, accBlk)
						continue
					}
					t := buf.tile[:]
					nnTile(kb, asl, ao, ar, ak, bsl, bo, bk, t, 0, gemmNR, false)
					for r := range mr {
						row := c[co+r*ldc : co+r*ldc+nr]
						for j := range row {
							if accBlk {
								row[j] += t[r*gemmNR+j]
							} else {
								row[j] = t[r*gemmNR+j]
							}
						}
					}
				}
			}
		}
	}
}

// packBPanel copies B(p0+p, j0+j) for p < kb, j < nr into dst[p·16 + j],
// zero for nr ≤ j < 16.
func packBPanel[T Float](dst, b []T, p0, j0, kb, nr, brs int) {
	for p := range kb {
		d := dst[p*gemmNR : p*gemmNR+gemmNR]
		s := b[(p0+p)*brs+j0:]
		copy(d[:nr], s[:nr])
		clear(d[nr:])
	}
}

// packAPanel copies A(i0+r, p0+p) for r < mr, p < kb into dst[p·6 + r],
// zero for mr ≤ r < 6.
func packAPanel[T Float](dst, a []T, i0, p0, mr, kb, ars, aks int) {
	for p := range kb {
		d := dst[p*gemmMR : p*gemmMR+gemmMR]
		base := i0*ars + (p0+p)*aks
		for r := range gemmMR {
			if r < mr {
				d[r] = a[base+r*ars]
			} else {
				d[r] = 0
			}
		}
	}
}

// ParGemmNN is GemmNN (B packed) over fixed tiles of C, run in parallel.
func ParGemmNN[T Float](m, n, k int, a []T, ars, aks int, b []T, brs int, c []T, ldc int, acc bool) {
	if m <= 0 || n <= 0 {
		return
	}
	tm, tn := (m+gemmTileM-1)/gemmTileM, (n+gemmTileN-1)/gemmTileN
	parallel.For(tm*tn, 1, func(_, lo, hi int) {
		var buf GemmBuf[T]
		for t := lo; t < hi; t++ {
			i0, j0 := (t/tn)*gemmTileM, (t%tn)*gemmTileN
			mb, nb := min(gemmTileM, m-i0), min(gemmTileN, n-j0)
			GemmNN(mb, nb, k, a[i0*ars:], ars, aks, b[j0:], brs, c[i0*ldc+j0:], ldc, acc, true, &buf)
		}
	})
}

// ntLanes combines eight lane sums as gemmNT4x3 does.
func ntLanes[T Float](l *[8]T) T {
	return ((l[0] + l[1]) + (l[2] + l[3])) + ((l[4] + l[5]) + (l[6] + l[7]))
}

// ntDot is one output of GemmNT: Σ_p x[p]·y[p] in eight lanes (lane l
// takes p ≡ l mod 8, one FMA each, in p order; the lanes of a last
// partial block beyond k add 0·0), combined by ntLanes.
func ntDot[T Float](x, y []T) T {
	var l [8]T
	k := len(x)
	y = y[:k]
	p := 0
	if x64, ok := any(x).([]float64); ok {
		y64, l64 := any(y).([]float64), any(&l).(*[8]float64)
		for ; p+8 <= k; p += 8 {
			for j := range 8 {
				l64[j] = math.FMA(x64[p+j], y64[p+j], l64[j])
			}
		}
	}
	for ; p+8 <= k; p += 8 {
		for j := range 8 {
			l[j] = fmaT(x[p+j], y[p+j], l[j])
		}
	}
	if p < k {
		for j := range 8 {
			var xv, yv T
			if p+j < k {
				xv, yv = x[p+j], y[p+j]
			}
			l[j] = fmaT(xv, yv, l[j])
		}
	}
	return ntLanes(&l)
}

// ntNC is the column block of GemmNT: about 128 KiB of B's rows.
func ntNC(k, size int) int {
	return max(3, (1<<17)/(max(k, 1)*size)/3*3)
}

// GemmNT computes C(i, j) = Σ_p A(i, p)·B(j, p) + bias[j] for an m×k A
// with rows a[i·lda:], an n×k B with rows b[j·ldb:] and C(i, j) =
// c[i·ldc + j]; bias may be nil. See ntDot for the order of the sums.
func GemmNT[T Float](m, n, k int, a []T, lda int, b []T, ldb int, c []T, ldc int, bias []T) {
	if m <= 0 || n <= 0 {
		return
	}
	if a32, ok := any(a).([]float32); ok && gemmAsm() && k > 0 {
		var b32, c32, bias32 []float32 = any(b).([]float32), any(c).([]float32), nil
		if bias != nil {
			bias32 = any(bias).([]float32)
		}
		gemmNT32(m, n, k, a32, lda, b32, ldb, c32, ldc, bias32)
		return
	}
	for i := range m {
		for j := range n {
			v := ntDot(a[i*lda:i*lda+k], b[j*ldb:j*ldb+k])
			if bias != nil {
				v += bias[j]
			}
			c[i*ldc+j] = v
		}
	}
}

// gemmNT32 is GemmNT on the 4×3 assembly micro-kernel (k > 0). Rows of A
// beyond the last multiple of 4 and rows of B beyond the last multiple of
// 3 are copied into zero-padded buffers, so every output is computed by
// the same kernel (bitwise ntDot).
func gemmNT32(m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, bias []float32) {
	var mask *[8]int32
	if k%8 != 0 {
		mask = new([8]int32)
		for l := range k % 8 {
			mask[l] = -1
		}
	}
	// kern runs the kernel on 4 rows of A (ap, stride lda) against nt
	// triples of B (bp, stride ldb) into C at cp (stride ldc).
	kern := func(ap []float32, lda int, bp []float32, ldb, nt int, cp []float32, ldc int, bias []float32) {
		_ = ap[3*lda+k-1]
		_ = bp[(3*nt-1)*ldb+k-1]
		_ = cp[3*ldc+3*nt-1]
		var bb *float32
		if bias != nil {
			_ = bias[3*nt-1]
			bb = &bias[0]
		}
		gemmNT4x3(k/8, mask, &ap[0], lda, &bp[0], ldb, nt, &cp[0], ldc, bb)
	}
	var apad, bpad []float32 // zero-padded copies of the edge rows
	var bbias [3]float32
	var ctmp []float32
	nc := ntNC(k, 4)
	for jc := 0; jc < n; jc += nc {
		nb := min(nc, n-jc)
		nt, rem := nb/3, nb%3
		var bs []float32
		if bias != nil {
			bs = bias[jc:]
		}
		if rem > 0 && bpad == nil {
			bpad = make([]float32, 3*k)
			for j := range rem {
				copy(bpad[j*k:j*k+k], b[(jc+3*nt+j)*ldb:])
				if bias != nil {
					bbias[j] = bias[jc+3*nt+j]
				}
			}
		}
		var bbs []float32
		if bias != nil {
			bbs = bbias[:]
		}
		for i := 0; i < m; i += 4 {
			ap, al := a[i*lda:], lda
			cp, cl := c[i*ldc+jc:], ldc
			full := i+4 <= m
			if !full {
				if apad == nil {
					apad = make([]float32, 4*k)
					for r := range m - i {
						copy(apad[r*k:r*k+k], a[(i+r)*lda:])
					}
				}
				ap, al = apad, k
				ctmp = make([]float32, 4*(nb+3))
				cp, cl = ctmp, nb+3
			}
			if nt > 0 {
				kern(ap, al, b[jc*ldb:], ldb, nt, cp, cl, bs)
			}
			if rem > 0 {
				var t [12]float32
				kern(ap, al, bpad, k, 1, t[:], 3, bbs)
				for r := range 4 {
					copy(cp[r*cl+3*nt:r*cl+3*nt+rem], t[r*3:r*3+rem])
				}
			}
			if !full {
				for r := range m - i {
					copy(c[(i+r)*ldc+jc:(i+r)*ldc+jc+nb], ctmp[r*cl:r*cl+nb])
				}
			}
		}
	}
}

// ParGemmNT is GemmNT over fixed tiles of C, run in parallel.
func ParGemmNT[T Float](m, n, k int, a []T, lda int, b []T, ldb int, c []T, ldc int, bias []T) {
	if m <= 0 || n <= 0 {
		return
	}
	tm, tn := (m+gemmTileM-1)/gemmTileM, (n+gemmTileN-1)/gemmTileN
	parallel.For(tm*tn, 1, func(_, lo, hi int) {
		for t := lo; t < hi; t++ {
			i0, j0 := (t/tn)*gemmTileM, (t%tn)*gemmTileN
			mb, nb := min(gemmTileM, m-i0), min(gemmTileN, n-j0)
			var bs []T
			if bias != nil {
				bs = bias[j0:]
			}
			GemmNT(mb, nb, k, a[i0*lda:], lda, b[j0*ldb:], ldb, c[i0*ldc+j0:], ldc, bs)
		}
	})
}
