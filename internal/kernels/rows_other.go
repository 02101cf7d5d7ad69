//go:build !amd64 || purego

package kernels

func dot3Rows32(p, s1, s2 *[4][8]float32, a, b []float32, rows int) { panic("unreachable") }
func cosGrad32(a, b, g []float32, gm, gp float32)                   { panic("unreachable") }
func cosGrad32NT(a, b, g []float32, gm, gp float32)                 { panic("unreachable") }
func dot3Sum32(a, b []float32, rows int, out *[3]float32)           { panic("unreachable") }
