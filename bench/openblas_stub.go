//go:build !openblas

package bench

import "github.com/simdmlp/simdmlp/kernels"

// haveOpenBLAS says whether this build links OpenBLAS (-tags openblas).
const haveOpenBLAS = false

func openblasInfo() string { return "not linked (build with -tags openblas)" }

// openblasSgemm is never called without the openblas tag.
func openblasSgemm(tA, tB kernels.Op, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	panic("bench: built without -tags openblas")
}
