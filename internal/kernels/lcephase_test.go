package kernels

import (
	"math/rand/v2"
	"syscall"
	"testing"
	"time"
)

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func BenchmarkLCEPhases(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	nb, c, h, vc := 60, lceBenchC, 256, 510
	x := randSlice[float32](r, nb*h)
	w := randSlice[float32](r, c*h)
	z := randSlice[float32](r, nb*c)
	gw := make([]float32, c*h)
	gx := make([]float32, nb*h)
	var t0 time.Duration
	flops := func(b *testing.B) {
		b.ReportMetric(2*float64(nb*c*h)*float64(b.N)/(cpuTime()-t0).Seconds()/1e9, "cpuGFLOP/s")
	}
	b.Run("nt", func(b *testing.B) {
		t0 = cpuTime()
		for b.Loop() {
			for c0 := 0; c0 < c; c0 += vc {
				c1 := min(c, c0+vc)
				GemmNT(nb, c1-c0, h, x, h, w[c0*h:], h, z[c0:], c, nil)
			}
		}
		flops(b)
	})
	b.Run("gw", func(b *testing.B) {
		var buf GemmBuf[float32]
		t0 = cpuTime()
		for b.Loop() {
			for c0 := 0; c0 < c; c0 += vc {
				c1 := min(c, c0+vc)
				GemmNN(c1-c0, h, nb, z[c0:], 1, c, x, h, gw[c0*h:], h, true, true, &buf)
			}
		}
		flops(b)
	})
	for _, pack := range []bool{false, true} {
		name := "gx_direct"
		if pack {
			name = "gx_packed"
		}
		b.Run(name, func(b *testing.B) {
			var buf GemmBuf[float32]
			t0 = cpuTime()
			for b.Loop() {
				for c0 := 0; c0 < c; c0 += vc {
					c1 := min(c, c0+vc)
					GemmNN(nb, h, c1-c0, z[c0:], c, 1, w[c0*h:], h, gx, h, c0 > 0, pack, &buf)
				}
			}
			flops(b)
		})
	}
}

var lceBenchC = 32000
