package kernels

// The generic micro-tile: 4×8 keeps 32 accumulators, which Go spills, but
// the spills hit L1 and the loads of a and b are shared by 32 multiplies.
const (
	genericMR = 4
	genericNR = 8
)

// gemmKernelGeneric is the portable micro-kernel (see microKernel).
func gemmKernelGeneric(mr, k int, a, b *float32, ldb int, c *float32, ldc int, alpha, beta float32) {
	as := unsafeSlice(a, k*genericMR)
	bs := unsafeSlice(b, max(0, (k-1)*ldb+genericNR))
	var acc [genericMR][genericNR]float32
	for p := 0; p < k; p++ {
		ap := as[p*genericMR : p*genericMR+genericMR : p*genericMR+genericMR]
		bp := bs[p*ldb : p*ldb+genericNR : p*ldb+genericNR]
		a0, a1, a2, a3 := ap[0], ap[1], ap[2], ap[3]
		for j, bj := range bp {
			acc[0][j] += a0 * bj
			acc[1][j] += a1 * bj
			acc[2][j] += a2 * bj
			acc[3][j] += a3 * bj
		}
	}
	storeTile(mr, genericNR, acc[:mr], c, ldc, alpha, beta)
}

// storeTile writes c = alpha*acc + beta*c for an mr×nr tile (beta 0: c unread).
func storeTile(mr, nr int, acc [][genericNR]float32, c *float32, ldc int, alpha, beta float32) {
	cs := unsafeSlice(c, (mr-1)*ldc+nr)
	for i := 0; i < mr; i++ {
		row := cs[i*ldc : i*ldc+nr]
		if beta == 0 {
			for j := range row {
				row[j] = alpha * acc[i][j]
			}
		} else {
			for j := range row {
				row[j] = alpha*acc[i][j] + beta*row[j]
			}
		}
	}
}
