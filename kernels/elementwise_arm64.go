//go:build gc && !purego

package kernels

//go:generate sh -c "cd ../asm && go run ./neonelem"

// The element-wise kernels in NEON assembly (elementwise_arm64.s, generated
// by asm/neonelem). They use only base ASIMD, which archImpls checks before
// it offers the neon path. Each performs the float32 operations of its
// generic twin as the Go compiler builds that twin for arm64, so the paths
// agree bit for bit: separately rounded FMUL and FADD where the twin writes
// float32(a*b) + c (the twins round every product explicitly, so the
// compiler fuses none of them).
var neonElem = elemStubs{
	bias:            biasNEON,
	biasReLU:        biasReLUNEON,
	biasReLUDropout: biasReLUDropoutNEON,
	reluBackward:    reluBackwardNEON,
	columnSums:      columnSumsNEON,
	softmaxRow:      softmaxRowNEON,
	bytesToFloats:   bytesToFloatsNEON,
	sgd:             sgdNEON,
	sgdMomentum:     sgdMomentumNEON,
	adam:            adamNEON,
}.kernels()

// biasNEON adds b to rows ≥ 1 rows of n ≥ 1 floats at y, ld floats apart:
// y[i*ld+j] += b[j].
//
//go:noescape
func biasNEON(y *float32, rows int, ld int, b *float32, n int)

// biasReLUNEON adds b to rows ≥ 1 rows of n ≥ 1 floats at y, ld floats apart,
// and applies the ReLU: v = y[i*ld+j] + b[j]; y[i*ld+j] = v > 0 ? v : 0.
//
//go:noescape
func biasReLUNEON(y *float32, rows int, ld int, b *float32, n int)

// biasReLUDropoutNEON adds b to rows ≥ 1 rows of n ≥ 1 floats at y, ld floats
// apart, then applies the ReLU and inverted dropout: with v = y[i*ld+j] + b[j],
// c = uint32(i*n + j) and r = h(h(c^k0)^k1), h = lowbias32,
// y[i*ld+j] = v > 0 && r>>8 >= thr ? v*scale : 0.
//
//go:noescape
func biasReLUDropoutNEON(y *float32, rows int, ld int, b *float32, n int, k0 uint32, k1 uint32, thr uint32, scale float32)

// reluBackwardNEON is the backward pass of the ReLU and dropout over rows ≥ 1
// rows of n ≥ 1 floats, ld floats apart: dy[i*ld+j] = y[i*ld+j] > 0 ?
// dy[i*ld+j]*scale : 0, and db[j] = Σ_i dy[i*ld+j] (the new values, added in
// row order to 0).
//
//go:noescape
func reluBackwardNEON(dy *float32, y *float32, rows int, ld int, scale float32, db *float32, n int)

// columnSumsNEON sets db[j] = Σ_i x[i*ld+j] for j < n ≥ 1 over rows ≥ 1 rows,
// added in row order to 0.
//
//go:noescape
func columnSumsNEON(db *float32, x *float32, rows int, ld int, n int)

// softmaxRowNEON sets e[j] = expf(x[j]-m) for j < n ≥ 1, s = Σ_j e[j] summed in
// order j = 0, 1, …, then e[j] = (e[j]/s)*invB, and returns s. e may be x.
//
//go:noescape
func softmaxRowNEON(x *float32, e *float32, n int, m float32, invB float32) float32

// bytesToFloatsNEON sets dst[i] = float32(src[i])*scale + offset for i < n ≥ 1,
// the product rounded before the sum.
//
//go:noescape
func bytesToFloatsNEON(dst *float32, src *uint8, n int, scale float32, offset float32)

// sgdNEON is an SGD step without momentum over n ≥ 1 floats:
// d = l2 != 0 ? grad[i] + wd*p[i] : grad[i]; p[i] = p[i] - lr*d,
// every product rounded before the sum. l2 is 0 or ^0.
//
//go:noescape
func sgdNEON(p *float32, grad *float32, n int, lr float32, wd float32, l2 uint32)

// sgdMomentumNEON is an SGD step with momentum over n ≥ 1 floats:
// g' = l2 != 0 ? grad[i] + wd*p[i] : grad[i];
// b = first != 0 ? g' : mu*buf[i] + alpha*g'; b = |b| < 2^-126 ? 0 : b; buf[i] = b;
// d = nesterov != 0 ? g' + mu*b : b; p[i] = p[i] - lr*d,
// every product rounded before the sum. The flags are 0 or ^0.
//
//go:noescape
func sgdMomentumNEON(p *float32, grad *float32, buf *float32, n int, lr float32, wd float32, mu float32, alpha float32, l2 uint32, first uint32, nesterov uint32)

// adamNEON is an Adam step over n ≥ 1 floats, as PyTorch's _single_tensor_adam:
// p' = p[i]*decay; g' = l2 != 0 ? grad[i] + wd*p' : grad[i];
// m' = small != 0 ? m[i] + w1*(g'-m[i]) : g' - (g'-m[i])*w1c (lerp with weight w1);
// v' = v[i]*beta2 + (w2*g')*g'; m' and v' are flushed to 0 where |x| < 2^-126;
// p[i] = p[i]*decay - (stepSize*m') / (sqrt(v')/bc2sqrt + eps),
// every operation rounded to float32 except the last, a fused multiply-subtract
// (one rounding), as the Go compiler builds adamGeneric for arm64. The flags
// are 0 or ^0.
//
//go:noescape
func adamNEON(p *float32, grad *float32, m *float32, v *float32, n int, decay float32, wd float32, w1 float32, w1c float32, beta2 float32, w2 float32, bc2sqrt float32, eps float32, stepSize float32, l2 uint32, small uint32)
