//go:build amd64 && !purego

#include "textflag.h"

DATA bceone<>+0(SB)/4, $0x3f800000
GLOBL bceone<>(SB), RODATA|NOPTR, $4

// func bceGrad32AVX2(x, y, gx []float32, eps, d float32, div bool)
// gx[i] = (x−y) / max((1−x)·x, eps), then / d when div: BCEBackwardInputMean
// for len(x) a multiple of 8 (IEEE operations, no FMA: bitwise the scalar
// kernel's). max keeps a NaN product, as Max(a, eps) does.
TEXT ·bceGrad32AVX2(SB), NOSPLIT, $0-81
	MOVQ x_base+0(FP), SI
	MOVQ x_len+8(FP), CX
	MOVQ y_base+24(FP), BX
	MOVQ gx_base+48(FP), DI
	VBROADCASTSS eps+72(FP), Y6
	VBROADCASTSS d+76(FP), Y7
	VBROADCASTSS bceone<>(SB), Y5
	MOVBLZX div+80(FP), DX
	SHRQ $3, CX
	TESTQ CX, CX
	JZ bdone
bloop:
	VMOVUPS (SI), Y0
	VSUBPS (BX), Y0, Y1
	VSUBPS Y0, Y5, Y2
	VMULPS Y0, Y2, Y2
	VMAXPS Y2, Y6, Y2
	VDIVPS Y2, Y1, Y1
	TESTQ DX, DX
	JZ bstore
	VDIVPS Y7, Y1, Y1
bstore:
	VMOVUPS Y1, (DI)
	ADDQ $32, SI
	ADDQ $32, BX
	ADDQ $32, DI
	DECQ CX
	JNZ bloop
bdone:
	VZEROUPPER
	RET

// func inUnit32AVX2(x, y []float32) bool
// Reports whether every x[i] and y[i] (i < len(x)&^7; y at least as long)
// is in [0, 1] (NaN is not).
TEXT ·inUnit32AVX2(SB), NOSPLIT, $0-49
	MOVQ x_base+0(FP), SI
	MOVQ y_base+24(FP), DI
	MOVQ x_len+8(FP), CX
	SHRQ $3, CX
	VXORPS Y0, Y0, Y0
	MOVL $0x3f800000, AX
	MOVD AX, X1
	VBROADCASTSS X1, Y1
	VPCMPEQD Y7, Y7, Y7
	TESTQ CX, CX
	JZ unit_done
unit_loop:
	VMOVUPS (SI), Y2
	VMOVUPS (DI), Y3
	VCMPPS $0x1D, Y0, Y2, Y4
	VCMPPS $0x12, Y1, Y2, Y5
	VANDPS Y5, Y4, Y4
	VCMPPS $0x1D, Y0, Y3, Y5
	VANDPS Y5, Y4, Y4
	VCMPPS $0x12, Y1, Y3, Y5
	VANDPS Y5, Y4, Y4
	VANDPS Y4, Y7, Y7
	ADDQ $32, SI
	ADDQ $32, DI
	DECQ CX
	JNZ unit_loop
unit_done:
	VMOVMSKPS Y7, AX
	CMPL AX, $0xFF
	SETEQ ret+48(FP)
	VZEROUPPER
	RET

// func bceSigGrad32AVX2(p, y, gx []float32, eps, d float32, div, nt bool)
// For i < len(p)&^7: g = (p−y) / max((1−p)·p, eps), then / d when div
// (bceGrad32AVX2), and gx[i] = g·(1−p)·p (sigmoidBwd32AVX2 with p the
// sigmoid's output): BCESigmoidGradMean, IEEE operations in the scalar
// kernel's order, no FMA. nt: non-temporal stores (gx 32-byte aligned).
TEXT ·bceSigGrad32AVX2(SB), NOSPLIT, $0-82
	MOVQ p_base+0(FP), SI
	MOVQ p_len+8(FP), CX
	MOVQ y_base+24(FP), BX
	MOVQ gx_base+48(FP), DI
	VBROADCASTSS eps+72(FP), Y6
	VBROADCASTSS d+76(FP), Y7
	VBROADCASTSS bceone<>(SB), Y5
	MOVBLZX div+80(FP), DX
	MOVBLZX nt+81(FP), R9
	SHRQ $3, CX
	TESTQ CX, CX
	JZ sgdone
sgloop:
	VMOVUPS (SI), Y0
	VSUBPS (BX), Y0, Y1
	VSUBPS Y0, Y5, Y3
	VMULPS Y0, Y3, Y2
	VMAXPS Y2, Y6, Y2
	VDIVPS Y2, Y1, Y1
	TESTQ DX, DX
	JZ sgmul
	VDIVPS Y7, Y1, Y1
sgmul:
	VMULPS Y3, Y1, Y1
	VMULPS Y0, Y1, Y1
	TESTQ R9, R9
	JNZ sgnt
	VMOVUPS Y1, (DI)
	JMP sgnext
sgnt:
	VMOVNTPS Y1, (DI)
sgnext:
	ADDQ $32, SI
	ADDQ $32, BX
	ADDQ $32, DI
	DECQ CX
	JNZ sgloop
	SFENCE
sgdone:
	VZEROUPPER
	RET
