package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

var ops = []Op{NoTrans, Trans}

// gemmCase is one product with its operand layouts.
type gemmCase struct {
	tA, tB      Op
	m, n, k     int
	alpha, beta float32
	// extra columns of row padding and start offsets per operand
	padA, padB, padC int
	offA, offB, offC int
}

func (gc gemmCase) String() string {
	return fmt.Sprintf("%s%s/%dx%dx%d/a=%g/b=%g/pad=%d,%d,%d/off=%d,%d,%d", gc.tA, gc.tB, gc.m, gc.n, gc.k,
		gc.alpha, gc.beta, gc.padA, gc.padB, gc.padC, gc.offA, gc.offB, gc.offC)
}

// stored returns the stored shape of op(X) = r×c.
func stored(op Op, r, c int) (rows, cols int) {
	if op == Trans {
		return c, r
	}
	return r, c
}

// operands builds A, B and C for gc, filled with random values in [-1, 1),
// NaN in every element of the buffers that is not part of a matrix
// (sentinels), and NaN in C's elements too when beta is 0.
type operands struct {
	a, b, c          []float32
	lda, ldb, ldc    int
	aEl, bEl, cElems []bool // which elements belong to the matrix
}

var nan32 = float32(math.NaN())

func makeBuf(rng *rand.Rand, off, rows, cols, pad int, alloc func(n int) []float32) (buf []float32, ld int, in []bool) {
	ld = max(1, cols+pad)
	n := off + rows*ld + 3 // sentinels after the end too
	buf = alloc(n)
	in = make([]bool, n)
	for i := range buf {
		buf[i] = nan32
	}
	for r := 0; r < rows; r++ {
		for c := 0; c < cols; c++ {
			buf[off+r*ld+c] = rng.Float32()*2 - 1
			in[off+r*ld+c] = true
		}
	}
	return buf, ld, in
}

func (gc gemmCase) operands(rng *rand.Rand, alloc func(n int) []float32) operands {
	var o operands
	ar, ac := stored(gc.tA, gc.m, gc.k)
	br, bc := stored(gc.tB, gc.k, gc.n)
	o.a, o.lda, o.aEl = makeBuf(rng, gc.offA, ar, ac, gc.padA, alloc)
	o.b, o.ldb, o.bEl = makeBuf(rng, gc.offB, br, bc, gc.padB, alloc)
	o.c, o.ldc, o.cElems = makeBuf(rng, gc.offC, gc.m, gc.n, gc.padC, alloc)
	if gc.beta == 0 {
		for i, in := range o.cElems {
			if in {
				o.c[i] = nan32 // must not leak into the result
			}
		}
	}
	return o
}

func plainAlloc(n int) []float32 { return make([]float32, n) }

// check runs Gemm on gc and compares it with the float64 reference.
func (gc gemmCase) check(t *testing.T, rng *rand.Rand, alloc func(n int) []float32) {
	t.Helper()
	o := gc.operands(rng, alloc)
	a0 := append([]float32(nil), o.a...)
	b0 := append([]float32(nil), o.b...)
	want := append([]float32(nil), o.c...)
	if gc.beta == 0 {
		for i, in := range o.cElems {
			if in {
				want[i] = 0
			}
		}
	}
	gemmReference(gc.tA, gc.tB, gc.m, gc.n, gc.k, gc.alpha, o.a[gc.offA:], o.lda, o.b[gc.offB:], o.ldb, gc.beta, want[gc.offC:], o.ldc)

	Gemm(gc.tA, gc.tB, gc.m, gc.n, gc.k, gc.alpha, o.a[gc.offA:], o.lda, o.b[gc.offB:], o.ldb, gc.beta, o.c[gc.offC:], o.ldc)

	requireSameBits(t, a0, o.a, "A modified")
	requireSameBits(t, b0, o.b, "B modified")
	for idx, in := range o.cElems {
		if !in {
			if !math.IsNaN(float64(o.c[idx])) {
				t.Fatalf("%v: sentinel at C[%d] overwritten with %g", gc, idx, o.c[idx])
			}
			continue
		}
		r, c := (idx-gc.offC)/o.ldc, (idx-gc.offC)%o.ldc
		bound := gc.bound(o, r, c)
		if d := math.Abs(float64(o.c[idx]) - float64(want[idx])); !(d <= bound) {
			t.Fatalf("%v: C[%d,%d] = %g, want %g (|diff| %g > bound %g)", gc, r, c, o.c[idx], want[idx], d, bound)
		}
	}
}

// bound is the error allowed in C[r,c]: a few ulps of the magnitudes summed,
// k·ε·Σ|a||b| for the product, as a float32 dot product of length k may lose.
func (gc gemmCase) bound(o operands, r, c int) float64 {
	var s float64
	for p := 0; p < gc.k; p++ {
		s += math.Abs(float64(elem(gc.tA, o.a[gc.offA:], o.lda, r, p)) * float64(elem(gc.tB, o.b[gc.offB:], o.ldb, p, c)))
	}
	s *= math.Abs(float64(gc.alpha))
	if gc.beta != 0 {
		// o.c now holds the result; the old value was within [-1, 1).
		s += math.Abs(float64(gc.beta))
	}
	const eps = 1.0 / (1 << 23)
	return float64(gc.k+4)*eps*s + 1e-30
}

func requireSameBits(t *testing.T, want, got []float32, msg string) {
	t.Helper()
	require.Equal(t, len(want), len(got), msg)
	for i := range want {
		if math.Float32bits(want[i]) != math.Float32bits(got[i]) {
			t.Fatalf("%s: element %d: %g, was %g", msg, i, got[i], want[i])
		}
	}
}

// TestGemmSmallShapes covers every m and n from 0 to two micro-tiles plus
// three, every k up to 2·(largest tile)+3, all four transpose combinations.
func TestGemmSmallShapes(t *testing.T) {
	forEachImpl(t, func(t *testing.T, name string) {
		im := lookup(name)
		rng := rand.New(rand.NewPCG(1, 2))
		for _, tA := range ops {
			for _, tB := range ops {
				for m := 0; m <= 2*im.mr+3; m++ {
					for n := 0; n <= 2*im.nr+3; n++ {
						k := []int{0, 1, 7, 33}[(m+n)%4]
						gemmCase{tA: tA, tB: tB, m: m, n: n, k: k, alpha: 1, beta: 0.5}.check(t, rng, plainAlloc)
					}
				}
				for k := 0; k <= 2*packWidth+3; k++ {
					m, n := im.mr+1+k%3, im.nr+3-k%5
					gemmCase{tA: tA, tB: tB, m: m, n: n, k: k, alpha: -1.5, beta: 1}.check(t, rng, plainAlloc)
				}
			}
		}
	})
}

// TestGemmScalars covers alpha and beta in {0, 1, other}, with NaN in C
// whenever beta is 0.
func TestGemmScalars(t *testing.T) {
	forEachImpl(t, func(t *testing.T, name string) {
		rng := rand.New(rand.NewPCG(3, 4))
		for _, alpha := range []float32{0, 1, -0.75} {
			for _, beta := range []float32{0, 1, 2.5} {
				for _, tA := range ops {
					for _, tB := range ops {
						for _, s := range [][3]int{{5, 37, 9}, {17, 70, 300}, {1, 1, 1}, {9, 3, 0}} {
							gemmCase{tA: tA, tB: tB, m: s[0], n: s[1], k: s[2], alpha: alpha, beta: beta}.check(t, rng, plainAlloc)
						}
					}
				}
			}
		}
	})
}

// TestGemmLayouts: leading dimensions wider than the rows, unaligned starts.
func TestGemmLayouts(t *testing.T) {
	forEachImpl(t, func(t *testing.T, name string) {
		rng := rand.New(rand.NewPCG(5, 6))
		for _, tA := range ops {
			for _, tB := range ops {
				for off := 0; off < 4; off++ {
					for _, pad := range []int{0, 1, 5} {
						gemmCase{tA: tA, tB: tB, m: 13, n: 45, k: 21, alpha: 1.25, beta: -1,
							padA: pad, padB: pad + 2, padC: pad + 1, offA: off, offB: (off + 1) % 4, offC: (off + 3) % 4}.check(t, rng, plainAlloc)
					}
				}
			}
		}
	})
}

// TestGemmLargeShapes crosses every cache-blocking boundary of each path.
func TestGemmLargeShapes(t *testing.T) {
	if testing.Short() {
		t.Skip("large shapes in -short mode")
	}
	forEachImpl(t, func(t *testing.T, name string) {
		im := lookup(name)
		rng := rand.New(rand.NewPCG(7, 8))
		shapes := [][3]int{
			{im.mc + im.mr + 1, 2*packWidth + 5, im.kc + 3},
			{3, im.nc + packWidth + 7, 5},
			{16, 128, 784}, {100, 64, 128}, {16, 10, 64}, {128, 784, 16}, {64, 10, 100},
		}
		for i := 0; i < 4; i++ {
			shapes = append(shapes, [3]int{1 + rng.IntN(300), 1 + rng.IntN(300), 1 + rng.IntN(600)})
		}
		for _, s := range shapes {
			for _, tA := range ops {
				for _, tB := range ops {
					gemmCase{tA: tA, tB: tB, m: s[0], n: s[1], k: s[2], alpha: 1, beta: 0, padA: 3, padC: 1, offB: 1}.check(t, rng, plainAlloc)
				}
			}
		}
	})
}

// TestGemmGuardPages puts each operand flush against an unreadable page, at
// its end and at its start: the only test that catches an over-reading load.
func TestGemmGuardPages(t *testing.T) {
	if !haveGuardPages {
		t.Skip("no guard pages on this OS")
	}
	forEachImpl(t, func(t *testing.T, name string) {
		im := lookup(name)
		rng := rand.New(rand.NewPCG(9, 10))
		for _, atStart := range []bool{false, true} {
			alloc := func(n int) []float32 { return guardedFloats(t, n, atStart) }
			for _, tA := range ops {
				for _, tB := range ops {
					for _, s := range [][3]int{{1, 1, 1}, {im.mr + 1, im.nr + 1, 3}, {2*im.mr + 3, 2*im.nr + 3, 2*packWidth + 3}, {7, 5, 300},
						{17, 10, 64}, {33, narrowWidth, im.kc}, {16, 3, 5}} {
						// No sentinels past the end: the matrix itself ends at the page.
						gc := gemmCase{tA: tA, tB: tB, m: s[0], n: s[1], k: s[2], alpha: 1, beta: 1}
						o := gc.operandsFlush(rng, alloc)
						Gemm(tA, tB, gc.m, gc.n, gc.k, 1, o.a, o.lda, o.b, o.ldb, 1, o.c, o.ldc)
					}
				}
			}
		}
	})
}

// operandsFlush allocates each operand at exactly its matrix size.
func (gc gemmCase) operandsFlush(rng *rand.Rand, alloc func(n int) []float32) operands {
	var o operands
	fill := func(op Op, r, c int) ([]float32, int) {
		rows, cols := stored(op, r, c)
		buf := alloc(rows * cols)
		for i := range buf {
			buf[i] = rng.Float32()
		}
		return buf, max(1, cols)
	}
	o.a, o.lda = fill(gc.tA, gc.m, gc.k)
	o.b, o.ldb = fill(gc.tB, gc.k, gc.n)
	o.c, o.ldc = fill(NoTrans, gc.m, gc.n)
	return o
}

// TestGemmThreadsBitIdentical: the result does not depend on the thread
// count, bit for bit.
func TestGemmThreadsBitIdentical(t *testing.T) {
	forEachImpl(t, func(t *testing.T, name string) {
		rng := rand.New(rand.NewPCG(11, 12))
		for _, s := range [][3]int{{257, 301, 129}, {16, 784, 128}, {300, 40, 200}, {40, 128, 300}} {
			for _, tA := range ops {
				gc := gemmCase{tA: tA, tB: NoTrans, m: s[0], n: s[1], k: s[2], alpha: 1, beta: 0.5}
				o := gc.operands(rng, plainAlloc)
				var first []float32
				for _, th := range []int{1, 2, 3, 4, 7} {
					c := append([]float32(nil), o.c...)
					restore := SetThreads(th)
					Gemm(gc.tA, gc.tB, gc.m, gc.n, gc.k, gc.alpha, o.a, o.lda, o.b, o.ldb, gc.beta, c, o.ldc)
					restore()
					if first == nil {
						first = c
						continue
					}
					requireSameBits(t, first, c, fmt.Sprintf("%v threads=%d", gc, th))
				}
			}
		}
	})
}

// TestGemmPacked: products with a packed B equal the plain ones bit for bit,
// and GemmToPacked writes the packed layout of the plain result.
func TestGemmPacked(t *testing.T) {
	forEachImpl(t, func(t *testing.T, name string) {
		rng := rand.New(rand.NewPCG(13, 14))
		for _, s := range [][3]int{{16, 128, 784}, {5, 10, 64}, {33, 70, 1}, {1, 1, 300}, {9, 300, 40}, {0, 3, 4}, {4, 0, 3}} {
			m, n, k := s[0], s[1], s[2]
			for _, tA := range ops {
				for _, tB := range ops {
					gc := gemmCase{tA: tA, tB: tB, m: m, n: n, k: k, alpha: 0.5, beta: 1}
					o := gc.operands(rng, plainAlloc)
					pb := NewPackedB(k, n)
					pb.Pack(tB, o.b, o.ldb)
					want := append([]float32(nil), o.c...)
					Gemm(tA, tB, m, n, k, 0.5, o.a, o.lda, o.b, o.ldb, 1, want, o.ldc)
					got := append([]float32(nil), o.c...)
					GemmPacked(tA, m, 0.5, o.a, o.lda, pb, 1, got, o.ldc)
					requireSameBits(t, want, got, "GemmPacked "+gc.String())

					// The same product into a packed C (m×n).
					pc := NewPackedB(m, n)
					for i := 0; i < m; i++ {
						for j := 0; j < n; j++ {
							pc.Set(i, j, o.c[i*o.ldc+j])
						}
					}
					GemmToPacked(tA, tB, k, 0.5, o.a, o.lda, o.b, o.ldb, 1, pc)
					for i := 0; i < m; i++ {
						for j := 0; j < n; j++ {
							require.Equal(t, math.Float32bits(want[i*o.ldc+j]), math.Float32bits(pc.At(i, j)), "GemmToPacked %v [%d,%d]", gc, i, j)
						}
					}
					// Pᵀ as the B operand: C' = A'·Pᵀ with A' m×n... use the
					// transpose of pb: (k×n)ᵀ = n×k, so A' is m2×n.
					if n > 0 {
						m2 := 7
						a2 := make([]float32, m2*n)
						for i := range a2 {
							a2[i] = rng.Float32() - 0.5
						}
						bt := make([]float32, n*max(k, 1)) // pbᵀ as a plain n×k matrix
						for p := 0; p < k; p++ {
							for j := 0; j < n; j++ {
								bt[j*max(k, 1)+p] = pb.At(p, j)
							}
						}
						want2 := make([]float32, m2*max(k, 1))
						got2 := make([]float32, m2*max(k, 1))
						Gemm(NoTrans, NoTrans, m2, k, n, 1, a2, n, bt, max(k, 1), 0, want2, max(k, 1))
						GemmPackedT(NoTrans, m2, 1, a2, n, pb, 0, got2, max(k, 1))
						requireSameBits(t, want2, got2, "GemmPackedT "+gc.String())
					}
					// Unpack round trip.
					if k > 0 && n > 0 {
						ld := n + 2
						u := make([]float32, k*ld)
						pb.Unpack(NoTrans, u, ld)
						for p := 0; p < k; p++ {
							for j := 0; j < n; j++ {
								require.Equal(t, elem(tB, o.b, o.ldb, p, j), u[p*ld+j])
							}
						}
					}
				}
			}
		}
	})
}

func TestGemmBadArguments(t *testing.T) {
	a := make([]float32, 6)
	require.PanicsWithValue(t, "kernels: negative size -1×2 for A", func() { Gemm(NoTrans, NoTrans, -1, 2, 2, 1, a, 2, a, 2, 0, a, 2) })
	require.PanicsWithValue(t, "kernels: leading dimension 1 of A is less than its row length 2", func() { Gemm(NoTrans, NoTrans, 2, 2, 2, 1, a, 1, a, 2, 0, a, 2) })
	require.PanicsWithValue(t, "kernels: C holds 6 elements, a 3×3 matrix with leading dimension 3 needs 9", func() {
		Gemm(NoTrans, NoTrans, 3, 3, 1, 1, a, 1, a, 3, 0, a, 3)
	})
	_, err := Use("no-such-path")
	require.ErrorContains(t, err, `path "no-such-path" is not available`)
}

// TestGemmAllocs: a warm call allocates nothing, single- and multi-threaded.
func TestGemmAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	forEachImpl(t, func(t *testing.T, name string) {
		for _, s := range [][3]int{{16, 128, 784}, {256, 256, 256}} {
			m, n, k := s[0], s[1], s[2]
			a, b, c := make([]float32, m*k), make([]float32, k*n), make([]float32, m*n)
			pb := NewPackedB(k, n)
			for _, th := range []int{1, 2} {
				restore := SetThreads(th)
				allocs := allocsPerRun(20, func() {
					Gemm(NoTrans, Trans, m, n, k, 1, a, k, b, k, 0, c, n)
					GemmPacked(NoTrans, m, 1, a, k, pb, 0, c, n)
				})
				restore()
				require.Zero(t, allocs, "%dx%dx%d threads=%d", m, n, k, th)
			}
		}
	})
}

// FuzzGemm compares the active path with generic on shapes from the fuzzer.
func FuzzGemm(f *testing.F) {
	f.Add(uint8(3), uint8(17), uint8(9), uint8(0), uint8(1), int64(1))
	f.Add(uint8(16), uint8(128), uint8(200), uint8(3), uint8(2), int64(2))
	f.Fuzz(func(t *testing.T, m8, n8, k8, flags, pads uint8, seed int64) {
		m, n, k := int(m8%40), int(n8), int(k8)
		tA, tB := Op(flags&1), Op(flags>>1&1)
		betas := []float32{0, 1, -0.5}
		gc := gemmCase{tA: tA, tB: tB, m: m, n: n, k: k, alpha: 1, beta: betas[int(flags>>2)%3],
			padA: int(pads % 3), padB: int(pads / 3 % 3), padC: int(pads / 9 % 3)}
		rng := rand.New(rand.NewPCG(uint64(seed), 0))
		o := gc.operands(rng, plainAlloc)
		got := append([]float32(nil), o.c...)
		Gemm(tA, tB, m, n, k, gc.alpha, o.a, o.lda, o.b, o.ldb, gc.beta, got, o.ldc)
		restore, _ := Use("generic")
		want := append([]float32(nil), o.c...)
		Gemm(tA, tB, m, n, k, gc.alpha, o.a, o.lda, o.b, o.ldb, gc.beta, want, o.ldc)
		restore()
		for i := range got {
			if !o.cElems[i] {
				continue
			}
			r, c := i/o.ldc, i%o.ldc
			if d := math.Abs(float64(got[i] - want[i])); !(d <= 2*gc.bound(o, r, c)) {
				t.Fatalf("%v: C[%d,%d] active %g generic %g", gc, r, c, got[i], want[i])
			}
		}
	})
}

// TestGemmDirectBBitIdentical: op(B) = B read in place (directB) and B
// packed give the same bits: the same product with B stored at row
// distances that take either path (a multiple of 256 floats with more than
// 8·MR rows packs), with partial tiles whose last B row ends at the slice.
func TestGemmDirectBBitIdentical(t *testing.T) {
	forEachImpl(t, func(t *testing.T, name string) {
		im := lookup(name)
		rng := rand.New(rand.NewPCG(13, 14))
		for _, s := range [][3]int{{8*im.mr + 5, 2*im.nr + 7, 37}, {8*im.mr + 1, 250, 300}} {
			m, n, k := s[0], s[1], s[2]
			a := make([]float32, m*k)
			for i := range a {
				a[i] = rng.Float32()*2 - 1
			}
			var want []float32
			for _, ldb := range []int{n, 256, n + 3, 512} {
				g := &gemmArgs{m: m, b: operandB{op: NoTrans, ld: ldb}}
				b := make([]float32, (k-1)*ldb+n)
				for p := 0; p < k; p++ {
					for j := 0; j < n; j++ {
						b[p*ldb+j] = float32(p*n+j)/float32(k*n) - 0.5
					}
				}
				c := make([]float32, m*n)
				for i := range c {
					c[i] = float32(i % 7)
				}
				Gemm(NoTrans, NoTrans, m, n, k, 0.75, a, k, b, ldb, -0.5, c, n)
				msg := fmt.Sprintf("%v ldb=%d direct=%v", s, ldb, g.directB(im))
				if ldb == 512 && g.directB(im) {
					t.Fatalf("%s: want B packed", msg)
				}
				if want == nil {
					if !g.directB(im) {
						t.Fatalf("%s: want the first product read in place", msg)
					}
					want = c
					continue
				}
				requireSameBits(t, want, c, msg)
			}
		}
	})
}

// TestGemmNarrowBitIdentical: products with op(B) = Bᵀ that paths with a
// narrow kernel compute along the rows of C (narrow, or few rows) equal the
// tile kernels' results bit for bit (m across the 16- and 32-row blocks and
// narrowMaxRows, n across the 16-column groups, k across kc blocks, both
// op(A), the scalars, C wider than n), and leave C's other columns alone.
func TestGemmNarrowBitIdentical(t *testing.T) {
	forEachImpl(t, func(t *testing.T, name string) {
		im := lookup(name)
		rng := rand.New(rand.NewPCG(15, 16))
		checked := 0
		ns := []int{17, 31, 32, 33, 64, 70}
		for n := 1; n <= narrowWidth; n++ {
			ns = append(ns, n)
		}
		for _, m := range []int{1, 2, 15, 16, 17, 31, 32, 33, 49, 64, 65, 100} {
			for _, n := range ns {
				k := []int{1, 3, 4, 5, 64, im.kc, im.kc + 5, 2*im.kc + 3}[(m+n)%8]
				for _, tA := range ops {
					for _, sc := range [][2]float32{{1, 0}, {-0.75, 1.5}, {0.5, 1}} {
						gc := gemmCase{tA: tA, tB: Trans, m: m, n: n, k: k, alpha: sc[0], beta: sc[1], padC: 2, padA: 1, padB: 3}
						o := gc.operands(rng, plainAlloc)
						if sc[1] == 0 {
							for i := range o.c {
								o.c[i] = float32(math.NaN()) // beta = 0: C is not read
							}
						}
						g := &gemmArgs{tA: tA, m: m, n: n, k: k, alpha: gc.alpha, beta: gc.beta, a: o.a, lda: o.lda,
							b: operandB{op: Trans, data: o.b, ld: o.ldb}}
						want := append([]float32(nil), o.c...)
						g.c = outC{data: want, ld: o.ldc}
						w := getWorkspace()
						w.gemm(im, g, 0, m, 0, n) // the tile kernels
						putWorkspace(w)
						got := append([]float32(nil), o.c...)
						Gemm(tA, Trans, m, n, k, gc.alpha, o.a, o.lda, o.b, o.ldb, gc.beta, got, o.ldc)
						requireSameBits(t, want, got, fmt.Sprintf("%v narrow=%v", gc, g.narrow(im)))
						if g.narrow(im) {
							checked++
						}
					}
				}
			}
		}
		if im.narrow != nil && checked == 0 {
			t.Fatal("no product took the narrow kernel")
		}
	})
}

// TestGemmBytes: products with A given as bytes equal, bit for bit, the
// same products on the bytes converted first by BytesToFloats; the bytes
// are read flush against a guard page.
func TestGemmBytes(t *testing.T) {
	forEachImpl(t, func(t *testing.T, name string) {
		rng := rand.New(rand.NewPCG(15, 16))
		const scale, offset = float32(1.0 / 255), float32(-0.25)
		for _, s := range [][3]int{{16, 128, 784}, {5, 10, 64}, {33, 70, 1}, {1, 1, 300}, {100, 64, 17}, {0, 3, 4}} {
			m, n, k := s[0], s[1], s[2]
			for _, tA := range ops {
				ar, ac := stored(tA, m, k)
				var a8 []uint8
				if haveGuardPages {
					a8 = guardedBytes(t, ar*ac, false)
				} else {
					a8 = make([]uint8, ar*ac)
				}
				for i := range a8 {
					a8[i] = uint8(rng.IntN(256))
				}
				af := make([]float32, len(a8))
				BytesToFloats(af, a8, scale, offset)
				lda := max(1, ac)

				bm := make([]float32, k*n)
				for i := range bm {
					bm[i] = rng.Float32() - 0.5
				}
				pb := NewPackedB(k, n)
				pb.Pack(NoTrans, bm, max(1, n))
				want := make([]float32, m*n)
				got := make([]float32, m*n)
				GemmPacked(tA, m, 0.5, af, lda, pb, 0, want, max(1, n))
				GemmPackedBytes(tA, m, 0.5, a8, lda, scale, offset, pb, 0, got, max(1, n))
				requireSameBits(t, want, got, fmt.Sprintf("GemmPackedBytes %s %v", tA, s))

				// The gradient form: C (m×n, packed) = op(A)·B with B k×n.
				cw, cg := NewPackedB(m, n), NewPackedB(m, n)
				GemmToPacked(tA, NoTrans, k, 1, af, lda, bm, max(1, n), 0, cw)
				GemmToPackedBytes(tA, NoTrans, k, 1, a8, lda, scale, offset, bm, max(1, n), 0, cg)
				requireSameBits(t, cw.Data(), cg.Data(), fmt.Sprintf("GemmToPackedBytes %s %v", tA, s))
			}
		}
	})
}
