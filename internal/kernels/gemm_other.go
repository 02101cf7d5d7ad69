//go:build !amd64 || purego

package kernels

func gemmNN6x16(kc int, a *float32, ars, aks int, b *float32, bks int, c *float32, ldc int, acc bool) {
	panic("unreachable")
}

func gemmNT4x3(k8 int, mask *[8]int32, a *float32, lda int, b *float32, ldb int, ntrip int, c *float32, ldc int, bias *float32) {
	panic("unreachable")
}

func gemmAsm() bool { return false }
