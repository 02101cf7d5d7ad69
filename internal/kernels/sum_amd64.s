//go:build amd64 && !purego

#include "textflag.h"

// func addRows32AVX2(acc *[4][8]float32, x []float32, rows int)
// acc[k][l] += x[(r*4+k)*8+l] for r < rows, k < 4, l < 8: four vector
// accumulators, one 8-lane add each per row, in row order (no FMA).
TEXT ·addRows32AVX2(SB), NOSPLIT, $0-40
	MOVQ acc+0(FP), DI
	MOVQ x_base+8(FP), SI
	MOVQ rows+32(FP), CX
	VMOVUPS 0(DI), Y0
	VMOVUPS 32(DI), Y1
	VMOVUPS 64(DI), Y2
	VMOVUPS 96(DI), Y3
	TESTQ CX, CX
	JZ done
loop:
	VADDPS 0(SI), Y0, Y0
	VADDPS 32(SI), Y1, Y1
	VADDPS 64(SI), Y2, Y2
	VADDPS 96(SI), Y3, Y3
	ADDQ $128, SI
	DECQ CX
	JNZ loop
done:
	VMOVUPS Y0, 0(DI)
	VMOVUPS Y1, 32(DI)
	VMOVUPS Y2, 64(DI)
	VMOVUPS Y3, 96(DI)
	VZEROUPPER
	RET
