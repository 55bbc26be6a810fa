package kernels

import (
	"fmt"
	"testing"
)

// benchShape is one product of the network (784-128-64-10) or the square one.
type benchShape struct {
	tA, tB  Op
	m, n, k int
}

func (s benchShape) String() string { return fmt.Sprintf("%dx%dx%d_%s%s", s.m, s.n, s.k, s.tA, s.tB) }

func (s benchShape) flops() float64 { return 2 * float64(s.m) * float64(s.n) * float64(s.k) }

// stepShapes are the eight products of one training step at batch b:
// forward (NT), weight gradients (TN), input gradients (NN).
func stepShapes(b int) []benchShape {
	return []benchShape{
		{NoTrans, Trans, b, 128, 784}, {NoTrans, Trans, b, 64, 128}, {NoTrans, Trans, b, 10, 64},
		{Trans, NoTrans, 128, 784, b}, {Trans, NoTrans, 64, 128, b}, {Trans, NoTrans, 10, 64, b},
		{NoTrans, NoTrans, b, 64, 10}, {NoTrans, NoTrans, b, 128, 64},
	}
}

// benchOperands allocates the operands of s with random contents.
func benchOperands(s benchShape) (a, b, c []float32, lda, ldb int) {
	ar, ac := stored(s.tA, s.m, s.k)
	br, bc := stored(s.tB, s.k, s.n)
	a, b, c = make([]float32, ar*ac), make([]float32, br*bc), make([]float32, s.m*s.n)
	for i := range a {
		a[i] = float32(i%17) * 0.01
	}
	for i := range b {
		b[i] = float32(i%13) * 0.01
	}
	return a, b, c, max(1, ac), max(1, bc)
}

// BenchmarkGemm: single-threaded GEMM at the network's shapes, every path.
// Compare GFLOP/s with BenchmarkPeak of the same run.
func BenchmarkGemm(b *testing.B) {
	var shapes []benchShape
	for _, batch := range []int{16, 64, 100, 1000} {
		shapes = append(shapes, stepShapes(batch)...)
	}
	shapes = append(shapes, benchShape{NoTrans, NoTrans, 1024, 1024, 1024})
	defer SetThreads(1)()
	for _, s := range shapes {
		b.Run(s.String(), func(b *testing.B) {
			a, bm, c, lda, ldb := benchOperands(s)
			forEachImplB(b, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					Gemm(s.tA, s.tB, s.m, s.n, s.k, 1, a, lda, bm, ldb, 0, c, s.n)
				}
				b.ReportMetric(s.flops()*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		})
	}
}

// BenchmarkGemmPacked: the forward products with the weights kept packed.
func BenchmarkGemmPacked(b *testing.B) {
	defer SetThreads(1)()
	for _, batch := range []int{16, 100} {
		for _, s := range stepShapes(batch)[:3] {
			b.Run(s.String(), func(b *testing.B) {
				a, bm, c, lda, ldb := benchOperands(s)
				pb := NewPackedB(s.k, s.n)
				pb.Pack(s.tB, bm, ldb)
				forEachImplB(b, func(b *testing.B) {
					b.ReportAllocs()
					for b.Loop() {
						GemmPacked(s.tA, s.m, 1, a, lda, pb, 0, c, s.n)
					}
					b.ReportMetric(s.flops()*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
				})
			})
		}
	}
}

// BenchmarkGemmStep: the eight products of one training step taken together,
// single-threaded, forward weights packed as the mlp package keeps them.
func BenchmarkGemmStep(b *testing.B) {
	defer SetThreads(1)()
	for _, batch := range []int{16, 100} {
		shapes := stepShapes(batch)
		type ops struct {
			a, b, c  []float32
			lda, ldb int
			pb       *PackedB
		}
		var all []ops
		var flops float64
		for i, s := range shapes {
			a, bm, c, lda, ldb := benchOperands(s)
			o := ops{a: a, b: bm, c: c, lda: lda, ldb: ldb}
			if i < 3 {
				o.pb = NewPackedB(s.k, s.n)
				o.pb.Pack(s.tB, bm, ldb)
			}
			all = append(all, o)
			flops += s.flops()
		}
		b.Run(fmt.Sprintf("b=%d", batch), func(b *testing.B) {
			forEachImplB(b, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					for i, s := range shapes {
						o := &all[i]
						if o.pb != nil {
							GemmPacked(s.tA, s.m, 1, o.a, o.lda, o.pb, 0, o.c, s.n)
						} else {
							Gemm(s.tA, s.tB, s.m, s.n, s.k, 1, o.a, o.lda, o.b, o.ldb, 0, o.c, s.n)
						}
					}
				}
				b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		})
	}
}

// BenchmarkGemmThreads: the square product on all threads.
func BenchmarkGemmThreads(b *testing.B) {
	s := benchShape{NoTrans, NoTrans, 1024, 1024, 1024}
	a, bm, c, lda, ldb := benchOperands(s)
	for _, th := range []int{1, 2} {
		b.Run(fmt.Sprintf("%v/threads=%d", s, th), func(b *testing.B) {
			defer SetThreads(th)()
			forEachImplB(b, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					Gemm(s.tA, s.tB, s.m, s.n, s.k, 1, a, lda, bm, ldb, 0, c, s.n)
				}
				b.ReportMetric(s.flops()*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		})
	}
}
