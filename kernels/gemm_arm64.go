//go:build gc && !purego

package kernels

//go:generate sh -c "cd ../asm && go run ./neon -out ../kernels/gemm_arm64.s"

// The NEON register tile: 6 rows × 16 columns is 24 accumulators of four
// floats, plus one row of B (4 registers) and the broadcast A elements
// (4 registers): all 32 vector registers.
const (
	neonMR = 6
	neonNR = 16
)

// peakFlopsNEON is the floating-point operations of one peakNEON iteration:
// 24 FMLAs of 4 lanes, 2 operations each.
const peakFlopsNEON = 24 * 4 * 2

// gemmKernelNEON computes one 6×16 tile of C (see microKernel):
//
//	for i < mr, j < 16:
//	  acc = Σ_{p<k} a[p*6+i] * b[p*ldb+j]
//	  c[i*ldc+j] = alpha*acc + beta*c[i*ldc+j]   (beta == 0: c is not read)
//
// with 1 ≤ mr ≤ 6 and k ≥ 0; ldb and ldc count elements. It reads
// a[0:k*6), 16 floats of each of the k rows of b and, unless beta is 0, the
// mr×16 tile of c.
//
//go:noescape
func gemmKernelNEON(mr, k int, a, b *float32, ldb int, c *float32, ldc int, alpha, beta float32)

// peakNEON runs iters iterations of 24 independent vector FMLAs
// (v[i] += x*y for i < 24), peakFlopsNEON operations each.
//
//go:noescape
func peakNEON(iters int)
