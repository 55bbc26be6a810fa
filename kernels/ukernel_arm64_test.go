//go:build gc && !purego

package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// Tests of the NEON micro-kernel called directly, against a float64 loop.

// sentinelNEON marks floats the kernel must neither read into a result nor
// write: a quiet NaN with a payload, compared bit for bit.
var sentinelNEON = math.Float32frombits(0x7fc0dead)

// kernelCaseNEON is one call of gemmKernelNEON: A at offA of a, B at offB of
// b with rows ldb apart, C at offC of c with rows ldc apart.
type kernelCaseNEON struct {
	mr, k       int
	ldb, ldc    int
	alpha, beta float32
}

func (kc kernelCaseNEON) String() string {
	return fmt.Sprintf("mr=%d k=%d ldb=%d ldc=%d alpha=%v beta=%v", kc.mr, kc.k, kc.ldb, kc.ldc, kc.alpha, kc.beta)
}

// lens returns how many floats of A, B and C the call may touch.
func (kc kernelCaseNEON) lens() (na, nb, nc int) {
	na = kc.k * neonMR
	if kc.k > 0 {
		nb = (kc.k-1)*kc.ldb + neonNR
	}
	nc = (kc.mr-1)*kc.ldc + neonNR
	return
}

func inTileNEON(kc kernelCaseNEON, idx int) bool {
	i, j := idx/kc.ldc, idx%kc.ldc
	return i < kc.mr && j < neonNR
}

func fillRandNEON(rng *rand.Rand, s []float32) {
	for i := range s {
		s[i] = float32(rng.Float64()*2 - 1)
	}
}

func ptrNEON(s []float32, off int) *float32 {
	if off >= len(s) {
		return nil
	}
	return &s[off]
}

// runNEON fills the operands (a, b, c hold exactly what lens says, beyond
// off), calls the kernel and checks C and the inputs. cInit, when not nil,
// gives the initial value of C element (i, j) of the tile.
func runNEON(t *testing.T, rng *rand.Rand, kc kernelCaseNEON, a, b, c []float32, offA, offB, offC int, cInit func(i, j int) float32) {
	t.Helper()
	na, nb, nc := kc.lens()
	as, bs, cs := a[offA:offA+na], b[offB:offB+nb], c[offC:offC+nc]
	for _, s := range [][]float32{a, b, c} {
		for i := range s {
			s[i] = sentinelNEON
		}
	}
	fillRandNEON(rng, as)
	for p := 0; p < kc.k; p++ {
		fillRandNEON(rng, bs[p*kc.ldb:p*kc.ldb+neonNR])
	}
	for i := 0; i < kc.mr; i++ {
		for j := 0; j < neonNR; j++ {
			if cInit != nil {
				cs[i*kc.ldc+j] = cInit(i, j)
			} else {
				cs[i*kc.ldc+j] = float32(rng.Float64()*2 - 1)
			}
		}
	}
	a0 := append([]float32(nil), a...)
	b0 := append([]float32(nil), b...)
	c0 := append([]float32(nil), c...)

	gemmKernelNEON(kc.mr, kc.k, ptrNEON(a, offA), ptrNEON(b, offB), kc.ldb, ptrNEON(c, offC), kc.ldc, kc.alpha, kc.beta)

	sameBitsNEON(t, a0, a, "A changed: "+kc.String())
	sameBitsNEON(t, b0, b, "B changed: "+kc.String())
	for idx := range c {
		got := c[idx]
		rel := idx - offC
		if rel < 0 || rel >= nc || !inTileNEON(kc, rel) {
			if math.Float32bits(got) != math.Float32bits(c0[idx]) {
				t.Fatalf("%v: c[%d] outside the tile (offC %d) changed from %#x to %v", kc, idx, offC, math.Float32bits(c0[idx]), got)
			}
			continue
		}
		i, j := rel/kc.ldc, rel%kc.ldc
		var s, sAbs float64
		for p := 0; p < kc.k; p++ {
			x := float64(as[p*neonMR+i]) * float64(bs[p*kc.ldb+j])
			s += x
			sAbs += math.Abs(x)
		}
		want := float64(kc.alpha) * s
		scale := math.Abs(float64(kc.alpha)) * sAbs
		if kc.beta != 0 {
			cv := float64(c0[idx])
			want += float64(kc.beta) * cv
			scale += math.Abs(float64(kc.beta) * cv)
		}
		bound := 2 * float64(kc.k+2) * 0x1p-24 * scale
		if math.IsNaN(float64(got)) || math.Abs(float64(got)-want) > bound {
			t.Fatalf("%v offA=%d offB=%d offC=%d: c[%d][%d] = %v, want %v (±%g)", kc, offA, offB, offC, i, j, got, want, bound)
		}
	}
}

func sameBitsNEON(t *testing.T, want, got []float32, msg string) {
	t.Helper()
	for i := range want {
		if math.Float32bits(want[i]) != math.Float32bits(got[i]) {
			t.Fatalf("%s: element %d: %g, was %g", msg, i, got[i], want[i])
		}
	}
}

var (
	alphasNEON = []float32{0, 1, -1.5}
	betasNEON  = []float32{0, 1, 0.75, float32(math.Copysign(0, -1))}
)

func kValuesNEON() []int {
	ks := []int{}
	for k := 0; k <= 12; k++ {
		ks = append(ks, k)
	}
	return append(ks, 31, 100, 257)
}

// TestGemmKernelNEON covers every mr, k from 0 past three unrolled
// iterations and large, every alpha and beta kind, packed and wide leading
// dimensions and every 16-byte phase of each operand, with NaN sentinels
// around and between the rows of C. With beta 0 the tile of C starts as
// NaN and Inf, which must not reach the result.
func TestGemmKernelNEON(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	n := 0
	for mr := 1; mr <= neonMR; mr++ {
		for _, k := range kValuesNEON() {
			for _, ldb := range []int{neonNR, neonNR + 5, 32} {
				for _, ldc := range []int{neonNR, neonNR + 3} {
					for _, alpha := range alphasNEON {
						for _, beta := range betasNEON {
							kc := kernelCaseNEON{mr: mr, k: k, ldb: ldb, ldc: ldc, alpha: alpha, beta: beta}
							offA, offB, offC := n%4, (n/4)%4, (n/16)%4
							n++
							na, nb, nc := kc.lens()
							const pad = 9
							a := make([]float32, offA+na+pad)
							b := make([]float32, offB+nb+pad)
							c := make([]float32, offC+nc+pad)
							var cInit func(i, j int) float32
							if beta == 0 {
								cInit = func(i, j int) float32 {
									if (i+j)%2 == 0 {
										return float32(math.NaN())
									}
									return float32(math.Inf(1 - 2*(j%2)))
								}
							}
							runNEON(t, rng, kc, a, b, c, offA, offB, offC, cInit)
						}
					}
				}
			}
		}
	}
}

// TestGemmKernelNEONGuardPages puts A, B and C each flush against a
// PROT_NONE page, at their end and at their start: a load or store of one
// float too many faults.
func TestGemmKernelNEONGuardPages(t *testing.T) {
	if !haveGuardPages {
		t.Skip("no guard pages on this OS")
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for mr := 1; mr <= neonMR; mr++ {
		for _, k := range []int{1, 2, 3, 4, 5, 7, 8, 9, 33} {
			for _, ld := range []int{neonNR, neonNR + 1} {
				for _, beta := range []float32{0, 1, -0.5} {
					for flush := 0; flush < 8; flush++ {
						kc := kernelCaseNEON{mr: mr, k: k, ldb: ld, ldc: ld + 2, alpha: 0.5, beta: beta}
						na, nb, nc := kc.lens()
						a := guardedFloats(t, na, flush&1 != 0)
						b := guardedFloats(t, nb, flush&2 != 0)
						c := guardedFloats(t, nc, flush&4 != 0)
						runNEON(t, rng, kc, a, b, c, 0, 0, 0, nil)
					}
				}
			}
		}
	}
	// k = 0 reads neither A nor B: nil pointers must do.
	for mr := 1; mr <= neonMR; mr++ {
		kc := kernelCaseNEON{mr: mr, k: 0, ldb: neonNR, ldc: neonNR, alpha: 2, beta: 0.5}
		_, _, nc := kc.lens()
		c := guardedFloats(t, nc, mr%2 == 0)
		runNEON(t, rng, kc, nil, nil, c, 0, 0, 0, nil)
	}
}

// TestGemmKernelNEONSpecialValues checks that NaN and Inf propagate as
// IEEE arithmetic says where they are operands: Inf·0 in A·B and a NaN in C
// with beta != 0.
func TestGemmKernelNEONSpecialValues(t *testing.T) {
	const k = 3
	a := make([]float32, k*neonMR)
	b := make([]float32, k*neonNR)
	c := make([]float32, neonMR*neonNR)
	a[0] = float32(math.Inf(1)) // row 0, p 0 meets b[0][:] = 0: NaN in row 0
	for i := range c {
		c[i] = 1
	}
	c[1*neonNR+5] = float32(math.NaN())
	gemmKernelNEON(neonMR, k, &a[0], &b[0], neonNR, &c[0], neonNR, 1, 1)
	for i := 0; i < neonMR; i++ {
		for j := 0; j < neonNR; j++ {
			got := c[i*neonNR+j]
			wantNaN := i == 0 || (i == 1 && j == 5)
			if math.IsNaN(float64(got)) != wantNaN || (!wantNaN && got != 1) {
				t.Errorf("c[%d][%d] = %v, want NaN %v", i, j, got, wantNaN)
			}
		}
	}
}

// TestPeakNEON runs the peak loop, which must return for any count.
func TestPeakNEON(t *testing.T) {
	for _, iters := range []int{-1, 0, 1, 1000} {
		peakNEON(iters)
	}
	if lookup("neon") == nil {
		t.Skip("neon path not available")
	}
	if got, want := PeakLoop("neon", 10), float64(10*peakFlopsNEON); got != want {
		t.Errorf("PeakLoop(neon, 10) = %v, want %v", got, want)
	}
}
