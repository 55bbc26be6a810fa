package bench

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/simdmlp/simdmlp/kernels"
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// shape is one product C (m×n) = op(A)·op(B) with inner dimension k.
type shape struct {
	tA, tB  kernels.Op
	m, n, k int
}

// String names a shape as the kernels package does: 16x128x784_NT.
func (s shape) String() string { return fmt.Sprintf("%dx%dx%d_%s%s", s.m, s.n, s.k, s.tA, s.tB) }

func (s shape) flops() float64 { return 2 * float64(s.m) * float64(s.n) * float64(s.k) }

// stepShapes are the eight products of one training step of the
// 784-128-64-10 network at batch b: forward (NT), weight gradients (TN),
// input gradients (NN; the input layer's is not needed).
func stepShapes(b int) []shape {
	N, T := kernels.NoTrans, kernels.Trans
	return []shape{
		{N, T, b, 128, 784}, {N, T, b, 64, 128}, {N, T, b, 10, 64},
		{T, N, 128, 784, b}, {T, N, 64, 128, b}, {T, N, 10, 64, b},
		{N, N, b, 64, 10}, {N, N, b, 128, 64},
	}
}

var batches = []int{16, 64, 100, 1000}

func gemmShapes() []shape {
	var s []shape
	for _, b := range batches {
		s = append(s, stepShapes(b)...)
	}
	return append(s, shape{kernels.NoTrans, kernels.NoTrans, 1024, 1024, 1024})
}

// BenchmarkGemmStep: the eight products of one training step (stepShapes)
// taken together, each implementation through the same Gemm call (no
// operand kept packed between calls, as OpenBLAS and gonum cannot), named
// step_b=<B>/<impl>; the summary lists them with the single shapes.
func BenchmarkGemmStep(b *testing.B) {
	impls := gemmImpls()
	for _, batch := range batches[:3] {
		shapes := stepShapes(batch)
		type operandSet struct {
			a, b, c       []float32
			lda, ldb, ldc int
		}
		sets := make([]operandSet, len(shapes))
		var flops float64
		rng := rand.New(rand.NewPCG(1, uint64(batch)))
		for i, s := range shapes {
			o := &sets[i]
			o.a, o.lda, o.b, o.ldb, o.c, o.ldc = operands(rng, s, 0)
			flops += s.flops()
		}
		name := fmt.Sprintf("step_b=%d", batch)
		b.Run(name, func(b *testing.B) {
			for _, im := range impls {
				b.Run(im.name, func(b *testing.B) {
					defer im.use()()
					step := func() {
						for i, s := range shapes {
							o := &sets[i]
							im.gemm(s.tA, s.tB, s.m, s.n, s.k, 1, o.a, o.lda, o.b, o.ldb, 0, o.c, o.ldc)
						}
					}
					step()
					b.ReportAllocs()
					for b.Loop() {
						step()
					}
					recordGemm(name, im.name, reportSpeed(b, im.name, flops))
				})
			}
		})
	}
}

// gemmFunc has kernels.Gemm's signature and semantics (row-major, BLAS
// arguments).
type gemmFunc func(tA, tB kernels.Op, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int)

// gemmImpl is one implementation of the product: each of our paths, gonum's
// pure-Go Sgemm, and OpenBLAS's cblas_sgemm under -tags openblas.
type gemmImpl struct {
	name string
	// use readies the implementation (selects our path; keeps gonum on one
	// thread) and returns what undoes it.
	use  func() (restore func())
	gemm gemmFunc
}

func gemmImpls() []gemmImpl {
	var list []gemmImpl
	for _, name := range kernels.Available() {
		list = append(list, gemmImpl{name: name,
			use:  func() func() { return must(kernels.Use(name)) },
			gemm: kernels.Gemm})
	}
	list = append(list, gemmImpl{name: "gonum",
		// gonum splits large products across GOMAXPROCS goroutines.
		use:  func() func() { p := runtime.GOMAXPROCS(1); return func() { runtime.GOMAXPROCS(p) } },
		gemm: gonumSgemm})
	if haveOpenBLAS {
		list = append(list, gemmImpl{name: "openblas", use: func() func() { return func() {} }, gemm: openblasSgemm})
	}
	return list
}

// gonumSgemm is kernels.Gemm through gonum's pure-Go BLAS, which is
// row-major too.
func gonumSgemm(tA, tB kernels.Op, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	gonum.Implementation{}.Sgemm(blasOp(tA), blasOp(tB), m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

func blasOp(o kernels.Op) blas.Transpose {
	if o == kernels.Trans {
		return blas.Trans
	}
	return blas.NoTrans
}

// operands returns random A and B for s stored with leading dimensions
// wider than their rows by pad, and a C of ldc = n+pad.
func operands(rng *rand.Rand, s shape, pad int) (a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	ar, ac := s.m, s.k
	if s.tA == kernels.Trans {
		ar, ac = ac, ar
	}
	br, bc := s.k, s.n
	if s.tB == kernels.Trans {
		br, bc = bc, br
	}
	lda, ldb, ldc = ac+pad, bc+pad, s.n+pad
	a, b, c = randoms(rng, ar*lda), randoms(rng, br*ldb), randoms(rng, s.m*ldc)
	return a, lda, b, ldb, c, ldc
}

func randoms(rng *rand.Rand, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = rng.Float32()*2 - 1
	}
	return x
}

// BenchmarkGemm: single-threaded C = op(A)·op(B) at the network's shapes,
// every path of ours next to gonum (and OpenBLAS under -tags openblas), all
// on the same operands.
func BenchmarkGemm(b *testing.B) {
	impls := gemmImpls()
	for _, s := range gemmShapes() {
		b.Run(s.String(), func(b *testing.B) {
			a, lda, bm, ldb, c, ldc := operands(rand.New(rand.NewPCG(1, 2)), s, 0)
			for _, im := range impls {
				b.Run(im.name, func(b *testing.B) {
					defer im.use()()
					// Warm: first-call set-up (workspaces, thread pools) is not
					// part of the figure.
					im.gemm(s.tA, s.tB, s.m, s.n, s.k, 1, a, lda, bm, ldb, 0, c, ldc)
					b.ReportAllocs()
					for b.Loop() {
						im.gemm(s.tA, s.tB, s.m, s.n, s.k, 1, a, lda, bm, ldb, 0, c, ldc)
					}
					recordGemm(s.String(), im.name, reportSpeed(b, im.name, s.flops()))
				})
			}
		})
	}
}

// TestGemmAgree: every implementation the suite times computes the same
// product — each op combination, leading dimensions wider than the rows,
// alpha and beta not 1 — within rounding of a float64 reference.
func TestGemmAgree(t *testing.T) {
	N, T := kernels.NoTrans, kernels.Trans
	shapes := []shape{{N, T, 100, 128, 784}, {T, N, 64, 128, 100}, {N, N, 100, 128, 64}, {T, T, 37, 19, 53}}
	const alpha, beta = 0.75, -0.5
	for _, s := range shapes {
		rng := rand.New(rand.NewPCG(3, uint64(s.m)))
		a, lda, bm, ldb, c0, ldc := operands(rng, s, 3)
		want, bound := reference(s, alpha, a, lda, bm, ldb, beta, c0, ldc)
		for _, im := range gemmImpls() {
			t.Run(s.String()+"/"+im.name, func(t *testing.T) {
				defer im.use()()
				c := append([]float32(nil), c0...)
				im.gemm(s.tA, s.tB, s.m, s.n, s.k, alpha, a, lda, bm, ldb, beta, c, ldc)
				for i := 0; i < s.m; i++ {
					for j := 0; j < ldc; j++ {
						got, w := float64(c[i*ldc+j]), want[i*ldc+j]
						if j >= s.n {
							// Padding between rows: untouched.
							if c[i*ldc+j] != c0[i*ldc+j] {
								t.Fatalf("C[%d][%d] (padding) changed to %v", i, j, got)
							}
							continue
						}
						if math.Abs(got-w) > bound[i*ldc+j] {
							t.Fatalf("C[%d][%d] = %v, want %v ± %.3g", i, j, got, w, bound[i*ldc+j])
						}
					}
				}
			})
		}
	}
}

// reference returns alpha·op(A)·op(B) + beta·C accumulated in float64, and
// per element the bound 2·(k+2)·ε·(|alpha|·Σ|a||b| + |beta·c|) that a float32
// product with any summation order stays within.
func reference(s shape, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) (want, bound []float64) {
	at := func(i, p int) float64 {
		if s.tA == kernels.Trans {
			return float64(a[p*lda+i])
		}
		return float64(a[i*lda+p])
	}
	bt := func(p, j int) float64 {
		if s.tB == kernels.Trans {
			return float64(b[j*ldb+p])
		}
		return float64(b[p*ldb+j])
	}
	const eps = 0x1p-24
	want, bound = make([]float64, len(c)), make([]float64, len(c))
	for i := 0; i < s.m; i++ {
		for j := 0; j < s.n; j++ {
			var sum, abs float64
			for p := 0; p < s.k; p++ {
				x, y := at(i, p), bt(p, j)
				sum += x * y
				abs += math.Abs(x * y)
			}
			cv := float64(beta) * float64(c[i*ldc+j])
			want[i*ldc+j] = float64(alpha)*sum + cv
			bound[i*ldc+j] = 2 * float64(s.k+2) * eps * (math.Abs(float64(alpha))*abs + math.Abs(cv))
		}
	}
	return want, bound
}
