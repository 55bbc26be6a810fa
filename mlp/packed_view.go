package mlp

import "github.com/simdmlp/simdmlp/kernels"

const transOp = kernels.Trans

// kernelsPacked views packed data of a k×n matrix as a PackedB.
func kernelsPacked(k, n int, data []float32) *kernels.PackedB {
	return kernels.PackedBOf(k, n, data)
}
