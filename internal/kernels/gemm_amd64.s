//go:build amd64 && !purego

#include "textflag.h"

// The float32 GEMM micro-kernels of gemm.go (AVX2 + FMA). Each is the
// same arithmetic as its pure-Go version (gemmNNGo, gemmNTGo): one fused
// multiply-add per product, in the same order per output element, so the
// two agree bit for bit (TestGemmKernelsMatchGo).

// func gemmNN6x16(kc int, a *float32, ars, aks int, b *float32, bks int, c *float32, ldc int, acc bool)
// C[r][j] (+)= Σ_k A(r, k)·B(k, j) for r < 6, j < 16, k < kc, the sum a
// chain of FMAs in k order starting from 0, added to C last when acc.
// A(r, k) is a[r·ars + k·aks], B(k, j) is b[k·bks + j], C[r][j] is
// c[r·ldc + j] (strides in elements).
TEXT ·gemmNN6x16(SB), NOSPLIT, $0-65
	MOVQ kc+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ ars+16(FP), R8
	SHLQ $2, R8
	MOVQ aks+24(FP), R9
	SHLQ $2, R9
	MOVQ b+32(FP), DI
	MOVQ bks+40(FP), R11
	SHLQ $2, R11
	MOVQ c+48(FP), BX
	MOVQ ldc+56(FP), R10
	SHLQ $2, R10
	LEAQ (SI)(R8*2), DX
	ADDQ R8, DX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11
	TESTQ CX, CX
	JZ nnstore

nnloop:
	VMOVUPS (DI), Y12
	VMOVUPS 32(DI), Y13
	VBROADCASTSS (SI), Y14
	VFMADD231PS Y12, Y14, Y0
	VFMADD231PS Y13, Y14, Y1
	VBROADCASTSS (SI)(R8*1), Y15
	VFMADD231PS Y12, Y15, Y2
	VFMADD231PS Y13, Y15, Y3
	VBROADCASTSS (SI)(R8*2), Y14
	VFMADD231PS Y12, Y14, Y4
	VFMADD231PS Y13, Y14, Y5
	VBROADCASTSS (DX), Y15
	VFMADD231PS Y12, Y15, Y6
	VFMADD231PS Y13, Y15, Y7
	VBROADCASTSS (DX)(R8*1), Y14
	VFMADD231PS Y12, Y14, Y8
	VFMADD231PS Y13, Y14, Y9
	VBROADCASTSS (DX)(R8*2), Y15
	VFMADD231PS Y12, Y15, Y10
	VFMADD231PS Y13, Y15, Y11
	ADDQ R11, DI
	ADDQ R9, SI
	ADDQ R9, DX
	DECQ CX
	JNZ nnloop

nnstore:
	LEAQ (BX)(R10*2), R12
	ADDQ R10, R12
	MOVBLZX acc+64(FP), AX
	TESTQ AX, AX
	JZ nnput
	VADDPS (BX), Y0, Y0
	VADDPS 32(BX), Y1, Y1
	VADDPS (BX)(R10*1), Y2, Y2
	VADDPS 32(BX)(R10*1), Y3, Y3
	VADDPS (BX)(R10*2), Y4, Y4
	VADDPS 32(BX)(R10*2), Y5, Y5
	VADDPS (R12), Y6, Y6
	VADDPS 32(R12), Y7, Y7
	VADDPS (R12)(R10*1), Y8, Y8
	VADDPS 32(R12)(R10*1), Y9, Y9
	VADDPS (R12)(R10*2), Y10, Y10
	VADDPS 32(R12)(R10*2), Y11, Y11

nnput:
	VMOVUPS Y0, (BX)
	VMOVUPS Y1, 32(BX)
	VMOVUPS Y2, (BX)(R10*1)
	VMOVUPS Y3, 32(BX)(R10*1)
	VMOVUPS Y4, (BX)(R10*2)
	VMOVUPS Y5, 32(BX)(R10*2)
	VMOVUPS Y6, (R12)
	VMOVUPS Y7, 32(R12)
	VMOVUPS Y8, (R12)(R10*1)
	VMOVUPS Y9, 32(R12)(R10*1)
	VMOVUPS Y10, (R12)(R10*2)
	VMOVUPS Y11, 32(R12)(R10*2)
	VZEROUPPER
	RET

// func gemmNT4x3(k8 int, mask *[8]int32, a *float32, lda int, b *float32, ldb int, ntrip int, c *float32, ldc int, bias *float32)
// For t < ntrip, r < 4, j < 3: C[r][3t+j] = Σ_k A[r][k]·B[3t+j][k] (+
// bias[3t+j] when bias is not nil), A[r][k] = a[r·lda + k], B[j][k] =
// b[j·ldb + k], C[r][j] = c[r·ldc + j]. Each sum runs in eight lanes
// (lane l takes k ≡ l mod 8, one FMA per product in k order) over k8
// blocks of eight and, when mask is not nil, one more block of eight
// whose lanes with mask 0 are skipped; the lanes are then combined as
// nt8Lanes does.
TEXT ·gemmNT4x3(SB), NOSPLIT, $0-80
	MOVQ lda+24(FP), R8
	SHLQ $2, R8
	MOVQ ldb+40(FP), R9
	SHLQ $2, R9
	MOVQ b+32(FP), R12
	MOVQ c+56(FP), BX
	MOVQ ldc+64(FP), R10
	SHLQ $2, R10
	MOVQ bias+72(FP), R11
	MOVQ ntrip+48(FP), AX
	TESTQ AX, AX
	JZ ntdone

nttrip:
	MOVQ a+16(FP), SI
	LEAQ (SI)(R8*2), DX
	ADDQ R8, DX
	MOVQ R12, DI
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11
	MOVQ k8+0(FP), CX
	TESTQ CX, CX
	JZ nttail

ntloop:
	VMOVUPS (DI), Y12
	VMOVUPS (DI)(R9*1), Y13
	VMOVUPS (DI)(R9*2), Y14
	VMOVUPS (SI), Y15
	VFMADD231PS Y12, Y15, Y0
	VFMADD231PS Y13, Y15, Y1
	VFMADD231PS Y14, Y15, Y2
	VMOVUPS (SI)(R8*1), Y15
	VFMADD231PS Y12, Y15, Y3
	VFMADD231PS Y13, Y15, Y4
	VFMADD231PS Y14, Y15, Y5
	VMOVUPS (SI)(R8*2), Y15
	VFMADD231PS Y12, Y15, Y6
	VFMADD231PS Y13, Y15, Y7
	VFMADD231PS Y14, Y15, Y8
	VMOVUPS (DX), Y15
	VFMADD231PS Y12, Y15, Y9
	VFMADD231PS Y13, Y15, Y10
	VFMADD231PS Y14, Y15, Y11
	ADDQ $32, DI
	ADDQ $32, SI
	ADDQ $32, DX
	DECQ CX
	JNZ ntloop

nttail:
	MOVQ mask+8(FP), CX
	TESTQ CX, CX
	JZ ntsum
	// The last partial block: B rows 0 and 1 with the four A rows, then
	// B row 2 (masked loads read only the lanes of the mask).
	VMOVDQU (CX), Y15
	VMASKMOVPS (DI), Y15, Y12
	VMASKMOVPS (DI)(R9*1), Y15, Y13
	VMASKMOVPS (SI), Y15, Y14
	VFMADD231PS Y12, Y14, Y0
	VFMADD231PS Y13, Y14, Y1
	VMASKMOVPS (SI)(R8*1), Y15, Y14
	VFMADD231PS Y12, Y14, Y3
	VFMADD231PS Y13, Y14, Y4
	VMASKMOVPS (SI)(R8*2), Y15, Y14
	VFMADD231PS Y12, Y14, Y6
	VFMADD231PS Y13, Y14, Y7
	VMASKMOVPS (DX), Y15, Y14
	VFMADD231PS Y12, Y14, Y9
	VFMADD231PS Y13, Y14, Y10
	VMASKMOVPS (DI)(R9*2), Y15, Y12
	VMASKMOVPS (SI), Y15, Y14
	VFMADD231PS Y12, Y14, Y2
	VMASKMOVPS (SI)(R8*1), Y15, Y14
	VFMADD231PS Y12, Y14, Y5
	VMASKMOVPS (SI)(R8*2), Y15, Y14
	VFMADD231PS Y12, Y14, Y8
	VMASKMOVPS (DX), Y15, Y14
	VFMADD231PS Y12, Y14, Y11

ntsum:
	// Row r's three sums: (Y(3r), Y(3r+1), Y(3r+2)) → X(3r) = [s0, s1, s2, s2],
	// each lane sum ((l0+l1)+(l2+l3)) + ((l4+l5)+(l6+l7)).
	VHADDPS Y1, Y0, Y12
	VHADDPS Y2, Y2, Y13
	VHADDPS Y13, Y12, Y12
	VEXTRACTF128 $1, Y12, X13
	VADDPS X13, X12, X0
	VHADDPS Y4, Y3, Y12
	VHADDPS Y5, Y5, Y13
	VHADDPS Y13, Y12, Y12
	VEXTRACTF128 $1, Y12, X13
	VADDPS X13, X12, X3
	VHADDPS Y7, Y6, Y12
	VHADDPS Y8, Y8, Y13
	VHADDPS Y13, Y12, Y12
	VEXTRACTF128 $1, Y12, X13
	VADDPS X13, X12, X6
	VHADDPS Y10, Y9, Y12
	VHADDPS Y11, Y11, Y13
	VHADDPS Y13, Y12, Y12
	VEXTRACTF128 $1, Y12, X13
	VADDPS X13, X12, X9
	TESTQ R11, R11
	JZ ntput
	VMOVSD (R11), X14
	VINSERTPS $0x20, 8(R11), X14, X14
	VADDPS X14, X0, X0
	VADDPS X14, X3, X3
	VADDPS X14, X6, X6
	VADDPS X14, X9, X9
	ADDQ $12, R11

ntput:
	LEAQ (BX)(R10*2), R13
	ADDQ R10, R13
	VMOVSD X0, (BX)
	VEXTRACTPS $2, X0, 8(BX)
	VMOVSD X3, (BX)(R10*1)
	VEXTRACTPS $2, X3, 8(BX)(R10*1)
	VMOVSD X6, (BX)(R10*2)
	VEXTRACTPS $2, X6, 8(BX)(R10*2)
	VMOVSD X9, (R13)
	VEXTRACTPS $2, X9, 8(R13)
	ADDQ $12, BX
	LEAQ (R12)(R9*2), R12
	ADDQ R9, R12
	DECQ AX
	JNZ nttrip

ntdone:
	VZEROUPPER
	RET
