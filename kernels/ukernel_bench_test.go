package kernels

import (
	"fmt"
	"testing"
)

// BenchmarkMicroKernel times one full MR×NR tile at k = 256 with the B
// panel laid out as the driver packs it (rows packWidth floats apart), all
// operands hot in cache; compare its GFLOP/s with BenchmarkPeak.
func BenchmarkMicroKernel(b *testing.B) {
	const k = 256
	for _, im := range impls {
		b.Run(fmt.Sprintf("%s/mr=%d", im.name, im.mr), func(b *testing.B) {
			a := make([]float32, k*im.mr)
			bp := make([]float32, k*packWidth)
			c := make([]float32, im.mr*im.nr)
			for i := range a {
				a[i] = float32(i%7) * 0.125
			}
			for i := range bp {
				bp[i] = float32(i%5) * 0.25
			}
			b.ReportAllocs()
			for b.Loop() {
				im.kernel(im.mr, k, &a[0], &bp[0], packWidth, &c[0], im.nr, 1, 1)
			}
			flops := 2 * float64(im.mr*im.nr*k) * float64(b.N)
			b.ReportMetric(flops/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

// BenchmarkPeak runs each path's FMA peak loop: the ceiling for the GEMM
// figures of the same run.
func BenchmarkPeak(b *testing.B) {
	for _, im := range impls {
		b.Run(im.name, func(b *testing.B) {
			if im.peak == nil {
				b.Skip("no peak loop")
			}
			var flops float64
			for b.Loop() {
				flops += PeakLoop(im.name, 1000)
			}
			b.ReportMetric(flops/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

// BenchmarkMacroKernel runs the driver's two inner loops (B micro-panels
// outer, A micro-panels inner) with the kernel alone over a packed mc×kc A
// block and kc×2048 B block, at the path's own mc and kc: the kernel under
// the cache traffic of a real product, without packing. Use it to tune
// mc/kc and tile shapes.
func BenchmarkMacroKernel(b *testing.B) {
	const nc = 2048
	for _, im := range impls {
		b.Run(fmt.Sprintf("%s/mc=%d/kc=%d", im.name, im.mc, im.kc), func(b *testing.B) {
			mc, kc := im.mc, im.kc
			a := make([]float32, mc*kc)
			bp := make([]float32, kc*nc)
			c := make([]float32, mc*nc)
			for i := range a {
				a[i] = float32(i%7) * 0.125
			}
			for i := range bp {
				bp[i] = float32(i%5) * 0.25
			}
			b.ReportAllocs()
			for b.Loop() {
				for jr := 0; jr < nc; jr += im.nr {
					bOff := (jr/packWidth)*kc*packWidth + jr%packWidth
					for ir := 0; ir < mc; ir += im.mr {
						im.kernel(im.mr, kc, &a[(ir/im.mr)*kc*im.mr], &bp[bOff], packWidth, &c[ir*nc+jr], nc, 1, 1)
					}
				}
			}
			flops := 2 * float64(mc*nc*kc) * float64(b.N)
			b.ReportMetric(flops/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}
