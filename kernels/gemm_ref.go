package kernels

// gemmReference is the test oracle: the definition of Gemm, accumulated in
// float64, with no blocking. beta = 0 ignores C.
func gemmReference(tA, tB Op, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float64
			for p := 0; p < k; p++ {
				s += float64(elem(tA, a, lda, i, p)) * float64(elem(tB, b, ldb, p, j))
			}
			v := float64(alpha) * s
			if beta != 0 {
				v += float64(beta) * float64(c[i*ldc+j])
			}
			c[i*ldc+j] = float32(v)
		}
	}
}

// elem returns op(X)[i, j].
func elem(op Op, x []float32, ld, i, j int) float32 {
	if op == Trans {
		return x[j*ld+i]
	}
	return x[i*ld+j]
}
