package kernels_test

import (
	"fmt"

	"github.com/simdmlp/simdmlp/kernels"
)

// C = A·Bᵀ: a 2×3 times the transpose of a 2×3.
func ExampleGemm() {
	a := []float32{1, 2, 3, 4, 5, 6}
	b := []float32{1, 0, 1, 0, 1, 0}
	c := make([]float32, 4)
	kernels.Gemm(kernels.NoTrans, kernels.Trans, 2, 2, 3, 1, a, 3, b, 3, 0, c, 2)
	fmt.Println(c)
	// Output: [4 2 10 5]
}

// A weight matrix packed once serves every product that uses it.
func ExampleGemmPacked() {
	w := []float32{1, 2, 3, 4, 5, 6} // 2×3: two output units, three inputs
	pw := kernels.NewPackedB(3, 2)
	pw.Pack(kernels.Trans, w, 3) // keep Wᵀ (3×2) packed
	x := []float32{1, 1, 1}      // one row of inputs
	y := make([]float32, 2)
	kernels.GemmPacked(kernels.NoTrans, 1, 1, x, 3, pw, 0, y, 2)
	fmt.Println(y)
	// Output: [6 15]
}

// Forcing a path, for a test or a benchmark, and restoring the default.
func ExampleUse() {
	restore, err := kernels.Use("generic")
	if err != nil {
		panic(err)
	}
	defer restore()
	fmt.Println(kernels.Active())
	// Output: generic
}
