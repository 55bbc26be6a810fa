//go:build openblas

package bench

/*
#cgo LDFLAGS: -lopenblas
#include <cblas.h>

// Declared here as well so that the build fails clearly, at link time, when
// <cblas.h> comes from another BLAS than OpenBLAS.
void openblas_set_num_threads(int num_threads);
char* openblas_get_config(void);
char* openblas_get_corename(void);
int openblas_get_num_threads(void);
*/
import "C"

import (
	"fmt"
	"unsafe"

	"github.com/simdmlp/simdmlp/kernels"
)

// haveOpenBLAS says whether this build links OpenBLAS (-tags openblas).
const haveOpenBLAS = true

func init() {
	// Every figure of the suite is single-threaded.
	C.openblas_set_num_threads(1)
}

// openblasInfo describes the OpenBLAS this binary runs: version and build
// options, the CPU kernel it chose, and its thread count.
func openblasInfo() string {
	return fmt.Sprintf("%s, core %s, %d thread(s)", C.GoString(C.openblas_get_config()),
		C.GoString(C.openblas_get_corename()), int(C.openblas_get_num_threads()))
}

// openblasSgemm is kernels.Gemm through OpenBLAS's cblas_sgemm (row-major,
// the same arguments); the sizes are checked by the caller.
func openblasSgemm(tA, tB kernels.Op, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	C.cblas_sgemm(C.CblasRowMajor, cblasOp(tA), cblasOp(tB), C.blasint(m), C.blasint(n), C.blasint(k),
		C.float(alpha), first(a), C.blasint(lda), first(b), C.blasint(ldb),
		C.float(beta), first(c), C.blasint(ldc))
}

func cblasOp(o kernels.Op) C.enum_CBLAS_TRANSPOSE {
	if o == kernels.Trans {
		return C.CblasTrans
	}
	return C.CblasNoTrans
}

// first returns the address of x[0] (nil for an empty slice, which BLAS
// does not read). float32 slices hold no Go pointers, so C may read them.
func first(x []float32) *C.float {
	if len(x) == 0 {
		return nil
	}
	return (*C.float)(unsafe.Pointer(&x[0]))
}
