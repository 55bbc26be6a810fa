//go:build gc && !purego && (amd64 || arm64)

package kernels

// elemStubs is one path's element-wise assembly: the same routines with the
// same arguments on every architecture (see the stubs' doc comments), so a
// single set of wrappers turns any path's stubs into its elemKernels.
type elemStubs struct {
	bias, biasReLU  func(y *float32, rows, ld int, b *float32, n int)
	biasReLUDropout func(y *float32, rows, ld int, b *float32, n int, k0, k1, thr uint32, scale float32)
	reluBackward    func(dy, y *float32, rows, ld int, scale float32, db *float32, n int)
	columnSums      func(db, x *float32, rows, ld, n int)
	softmaxRow      func(x, e *float32, n int, m, invB float32) float32
	bytesToFloats   func(dst *float32, src *uint8, n int, scale, offset float32)
	sgd             func(p, grad *float32, n int, lr, wd float32, l2 uint32)
	sgdMomentum     func(p, grad, buf *float32, n int, lr, wd, mu, alpha float32, l2, first, nesterov uint32)
	adam            func(p, grad, m, v *float32, n int, decay, wd, w1, w1c, beta2, w2, bc2sqrt, eps, stepSize float32, l2, small uint32)
}

// kernels wraps the stubs in the slice signatures of elemKernels. The
// exported functions have checked the lengths and that none is empty.
func (s elemStubs) kernels() elemKernels {
	return elemKernels{
		bias: func(y []float32, rows, ld int, b []float32) {
			s.bias(&y[0], rows, ld, &b[0], len(b))
		},
		biasReLU: func(y []float32, rows, ld int, b []float32) {
			s.biasReLU(&y[0], rows, ld, &b[0], len(b))
		},
		biasReLUDropout: func(y []float32, rows, ld int, b []float32, d Dropout) {
			s.biasReLUDropout(&y[0], rows, ld, &b[0], len(b), d.K0, d.K1, d.Threshold, d.Scale)
		},
		reluBackward: func(dy, y []float32, rows, ld int, scale float32, db []float32) {
			s.reluBackward(&dy[0], &y[0], rows, ld, scale, &db[0], len(db))
		},
		columnSums: func(db, x []float32, rows, ld int) {
			s.columnSums(&db[0], &x[0], rows, ld, len(db))
		},
		softmaxRow: func(x, g []float32, m, invB float32) float32 {
			_ = g[len(x)-1]
			return s.softmaxRow(&x[0], &g[0], len(x), m, invB)
		},
		bytesToFloats: func(dst []float32, src []uint8, scale, offset float32) {
			_ = dst[len(src)-1]
			s.bytesToFloats(&dst[0], &src[0], len(src), scale, offset)
		},
		sgd: func(p, g, buf []float32, c sgdCoeffs) {
			_ = g[len(p)-1]
			if !c.momentum {
				s.sgd(&p[0], &g[0], len(p), c.lr, c.wd, mask32(c.l2))
				return
			}
			_ = buf[len(p)-1]
			s.sgdMomentum(&p[0], &g[0], &buf[0], len(p), c.lr, c.wd, c.mu, c.alpha,
				mask32(c.l2), mask32(c.first), mask32(c.nesterov))
		},
		adam: func(p, g, m, v []float32, c adamCoeffs) {
			_, _, _ = g[len(p)-1], m[len(p)-1], v[len(p)-1]
			s.adam(&p[0], &g[0], &m[0], &v[0], len(p), c.decay, c.wd, c.w1, c.w1c, c.beta2, c.w2,
				c.bc2sqrt, c.eps, c.stepSize, mask32(c.l2), mask32(c.small))
		},
	}
}

// mask32 is the all-ones mask for true, the flag form the assembly takes.
func mask32(b bool) uint32 {
	if b {
		return ^uint32(0)
	}
	return 0
}
