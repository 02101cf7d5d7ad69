//go:build amd64 && !purego

package kernels

import "golang.org/x/sys/cpu"

// The float32 GEMM micro-kernels (gemm_amd64.s), used when the CPU has
// AVX2 and FMA (gemmAsm).

//go:noescape
func gemmNN6x16(kc int, a *float32, ars, aks int, b *float32, bks int, c *float32, ldc int, acc bool)

//go:noescape
func gemmNT4x3(k8 int, mask *[8]int32, a *float32, lda int, b *float32, ldb int, ntrip int, c *float32, ldc int, bias *float32)

var hasFMA = cpu.X86.HasFMA

// gemmAsm reports whether the assembly micro-kernels run (setAVX2 turns
// them off in tests).
func gemmAsm() bool { return hasAVX2 && hasFMA }
