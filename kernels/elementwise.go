package kernels

import (
	"fmt"
	"math"
)

// This file holds the element-wise layer kernels of the network: the API with
// its argument checks, the table of one path's kernels (elemKernels), and the
// generic Go twins that define every result bit for bit. The assembly paths
// perform the same float32 operations in the same order, one rounding per
// operation: products are rounded before they are added, written
// float32(a*b) + c, so that no compiler fuses them into an FMA.
//
// Matrices are row-major: rows rows of cols columns, ld elements apart, where
// cols is the length of the vector (bias, db) that goes with them.

// elemKernels holds one path's element-wise kernels. The exported functions
// check their arguments and return early on empty shapes, so every kernel is
// called with rows ≥ 1 and cols ≥ 1 (the optimizers and BytesToFloats with
// n ≥ 1) and with slices long enough for the shape.
type elemKernels struct {
	bias            func(y []float32, rows, ld int, b []float32)
	biasReLU        func(y []float32, rows, ld int, b []float32)
	biasReLUDropout func(y []float32, rows, ld int, b []float32, d Dropout)
	reluBackward    func(dy, y []float32, rows, ld int, scale float32, db []float32)
	columnSums      func(db, x []float32, rows, ld int)
	// softmaxRow sets g[j] = e_j/s·invB for e_j = expf(x[j]-m), s = Σ e_j
	// summed in j order, and returns s; len(g) == len(x). g may be x.
	softmaxRow    func(x, g []float32, m, invB float32) (s float32)
	bytesToFloats func(dst []float32, src []uint8, scale, offset float32)
	sgd           func(p, g, buf []float32, c sgdCoeffs)
	adam          func(p, g, m, v []float32, c adamCoeffs)
}

var genericElem = elemKernels{
	bias:            biasGeneric,
	biasReLU:        biasReLUGeneric,
	biasReLUDropout: biasReLUDropoutGeneric,
	reluBackward:    reluBackwardGeneric,
	columnSums:      columnSumsGeneric,
	softmaxRow:      softmaxRowGeneric,
	bytesToFloats:   bytesToFloatsGeneric,
	sgd:             sgdGeneric,
	adam:            adamGeneric,
}

// checkRows panics unless data holds rows rows of cols elements, ld apart.
func checkRows(fn, name string, data []float32, rows, ld, cols int) {
	if rows < 0 {
		panic(fmt.Sprintf("kernels: %s: negative row count %d", fn, rows))
	}
	if ld < max(1, cols) {
		panic(fmt.Sprintf("kernels: %s: leading dimension %d of %s is less than its row length %d", fn, ld, name, cols))
	}
	if rows > 0 && cols > 0 && len(data) < (rows-1)*ld+cols {
		panic(fmt.Sprintf("kernels: %s: %s holds %d elements, %d rows of %d with leading dimension %d need %d",
			fn, name, len(data), rows, cols, ld, (rows-1)*ld+cols))
	}
}

// checkLen panics unless len(data) == n.
func checkLen(fn, name string, data []float32, n int, of string) {
	if len(data) != n {
		panic(fmt.Sprintf("kernels: %s: len(%s) = %d, want %d (len(%s))", fn, name, len(data), n, of))
	}
}

// Bias adds bias to every row of y: y[i,j] += bias[j] for i < rows,
// j < len(bias).
func Bias(y []float32, rows, ld int, bias []float32) {
	checkRows("Bias", "y", y, rows, ld, len(bias))
	if rows == 0 || len(bias) == 0 {
		return
	}
	raceRead(bias)
	raceWrite(y[:(rows-1)*ld+len(bias)])
	active.Load().elem.bias(y, rows, ld, bias)
}

// BiasReLU adds bias to every row of y and applies the ReLU:
// v = y[i,j] + bias[j]; y[i,j] = v if v > 0, else 0 (NaN gives 0, -0 gives +0).
func BiasReLU(y []float32, rows, ld int, bias []float32) {
	checkRows("BiasReLU", "y", y, rows, ld, len(bias))
	if rows == 0 || len(bias) == 0 {
		return
	}
	raceRead(bias)
	raceWrite(y[:(rows-1)*ld+len(bias)])
	active.Load().elem.biasReLU(y, rows, ld, bias)
}

// BiasReLUDropout is BiasReLU followed by inverted dropout (PyTorch's order
// Linear → ReLU → Dropout): with v = y[i,j] + bias[j],
//
//	y[i,j] = v·d.Scale if v > 0 and the element is kept, else 0,
//
// where element (i, j) is kept when d keeps index i·len(bias) + j (see
// Dropout). The mask depends only on d and the index, never on the path or
// the thread, so the backward pass recovers it from the output:
// ReLUDropoutBackward(dy, y, …, d.Scale, …).
func BiasReLUDropout(y []float32, rows, ld int, bias []float32, d Dropout) {
	checkRows("BiasReLUDropout", "y", y, rows, ld, len(bias))
	if rows == 0 || len(bias) == 0 {
		return
	}
	raceRead(bias)
	raceWrite(y[:(rows-1)*ld+len(bias)])
	active.Load().elem.biasReLUDropout(y, rows, ld, bias, d)
}

// ReLUDropoutBackward is the backward pass of BiasReLUDropout (scale =
// d.Scale) or of BiasReLU (scale = 1), given y, the forward output. In place:
//
//	dy[i,j] = dy[i,j]·scale if y[i,j] > 0, else 0
//
// (y > 0 exactly when the pre-activation was positive and the element was
// kept), and db[j] = Σ_i dy[i,j], the new values summed in row order
// i = 0, 1, …, overwriting db: the gradient of the bias. dy and y share ld.
func ReLUDropoutBackward(dy, y []float32, rows, ld int, scale float32, db []float32) {
	checkRows("ReLUDropoutBackward", "dy", dy, rows, ld, len(db))
	checkRows("ReLUDropoutBackward", "y", y, rows, ld, len(db))
	if len(db) == 0 {
		return
	}
	if rows == 0 {
		clear(db)
		return
	}
	raceRead(y[:(rows-1)*ld+len(db)])
	raceWrite(dy[:(rows-1)*ld+len(db)])
	raceWrite(db)
	active.Load().elem.reluBackward(dy, y, rows, ld, scale, db)
}

// ColumnSums sets db[j] = Σ_i x[i,j], summed in row order i = 0, 1, …
// (the bias gradient of a layer without activation).
func ColumnSums(db []float32, x []float32, rows, ld int) {
	checkRows("ColumnSums", "x", x, rows, ld, len(db))
	if len(db) == 0 {
		return
	}
	if rows == 0 {
		clear(db)
		return
	}
	raceRead(x[:(rows-1)*ld+len(db)])
	raceWrite(db)
	active.Load().elem.columnSums(db, x, rows, ld)
}

// SoftmaxCrossEntropy computes the softmax cross-entropy loss of rows rows
// of cols logits (ld apart) against labels, and its gradient with respect to
// the logits of the mean loss. For each row x with label l, m = max_j x_j,
// e_j = expf(x_j − m), s = Σ_j e_j (j order), and
//
//	grad[i,j] = float32(e_j/s − [j == l]) · (1/rows)
//
// (1/rows rounded to float32, rows ldg apart); the loss of the row,
// log(s) + m − x_l, is added to lossSum in float64, and correct counts the
// rows whose first maximum is at l. Subtracting the maximum keeps it finite
// for any finite logits. grad may be logits itself (with ldg == ld).
// It panics on a label ≥ cols.
func SoftmaxCrossEntropy(logits []float32, rows, cols, ld int, labels []uint8, grad []float32, ldg int) (lossSum float64, correct int) {
	const fn = "SoftmaxCrossEntropy"
	checkRows(fn, "logits", logits, rows, ld, cols)
	checkRows(fn, "grad", grad, rows, ldg, cols)
	if len(labels) != rows {
		panic(fmt.Sprintf("kernels: %s: len(labels) = %d, want rows = %d", fn, len(labels), rows))
	}
	if rows == 0 {
		return 0, 0
	}
	if cols == 0 {
		panic(fmt.Sprintf("kernels: %s: no columns for %d labels", fn, rows))
	}
	for i, l := range labels {
		if int(l) >= cols {
			panic(fmt.Sprintf("kernels: %s: label %d of row %d is not below cols = %d", fn, l, i, cols))
		}
	}
	softmaxRow := active.Load().elem.softmaxRow
	invB := float32(1) / float32(rows)
	for i := 0; i < rows; i++ {
		x := logits[i*ld : i*ld+cols : i*ld+cols]
		g := grad[i*ldg : i*ldg+cols : i*ldg+cols]
		l := int(labels[i])
		m, arg := x[0], 0
		for j := 1; j < cols; j++ {
			if x[j] > m {
				m, arg = x[j], j
			}
		}
		xl := x[l] // before g, which may be x, is written
		raceRead(x)
		raceWrite(g)
		s := softmaxRow(x, g, m, invB)
		g[l] = float32(float32(expf(xl-m)/s)-1) * invB
		lossSum += math.Log(float64(s)) + float64(m) - float64(xl)
		if arg == l {
			correct++
		}
	}
	return lossSum, correct
}

// BytesToFloats scales uint8 inputs (pixels) to float32:
// dst[i] = float32(src[i])·scale + offset, the product rounded before the
// sum. len(dst) must equal len(src).
func BytesToFloats(dst []float32, src []uint8, scale, offset float32) {
	if len(dst) != len(src) {
		panic(fmt.Sprintf("kernels: BytesToFloats: len(dst) = %d, want %d (len(src))", len(dst), len(src)))
	}
	if len(dst) == 0 {
		return
	}
	raceRead(src)
	raceWrite(dst)
	active.Load().elem.bytesToFloats(dst, src, scale, offset)
}

// Dropout holds the keys of one dropout mask. Element index k (i·cols + j in
// BiasReLUDropout) is kept when r>>8 ≥ Threshold, where r is a counter-based
// random number keyed by (seed, step, layer) and indexed by the element:
//
//	h(x) = lowbias32: x ^= x>>16; x *= 0x7feb352d; x ^= x>>15; x *= 0x846ca68b; x ^= x>>16
//	r    = h(h(uint32(k) ^ K0) ^ K1)
//
// so the mask can be recomputed anywhere, in any order, by any path, and two
// steps or two layers get unrelated masks. Kept elements are multiplied by
// Scale = 1/(1−p) (inverted dropout).
type Dropout struct {
	Threshold uint32 // round(p·2^24): drop when r>>8 < Threshold
	K0, K1    uint32
	Scale     float32
}

// NewDropout returns the dropout mask of rate p (the probability of dropping
// an element, 0 ≤ p < 1) for training step step of layer layer of a run with
// the given seed. It panics on p outside [0, 1).
func NewDropout(p float64, seed uint64, step uint64, layer int) Dropout {
	if !(p >= 0 && p < 1) {
		panic(fmt.Sprintf("kernels: NewDropout: rate %v is not in [0, 1)", p))
	}
	k := splitMix64(seed)
	k = splitMix64(k ^ step)
	k = splitMix64(k ^ uint64(layer))
	return Dropout{
		Threshold: uint32(math.Round(p * (1 << 24))),
		K0:        uint32(k),
		K1:        uint32(k >> 32),
		Scale:     float32(1 / (1 - p)),
	}
}

// splitMix64 is the finalizer of SplitMix64 applied to z + the golden gamma.
func splitMix64(z uint64) uint64 {
	z += 0x9e3779b97f4a7c15
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

// lowbias32 is Chris Wellons' 32-bit integer hash.
func lowbias32(x uint32) uint32 {
	x ^= x >> 16
	x *= 0x7feb352d
	x ^= x >> 15
	x *= 0x846ca68b
	x ^= x >> 16
	return x
}

// dropoutKeep reports whether d keeps element index k.
func dropoutKeep(d Dropout, k uint32) bool {
	return lowbias32(lowbias32(k^d.K0)^d.K1)>>8 >= d.Threshold
}

// SGD is torch.optim.SGD (maximize off) on float32 tensors.
type SGD struct {
	LR, Momentum, Dampening, WeightDecay float32
	Nesterov                             bool
}

// Step updates the parameters p with their gradient g in one pass, as
// PyTorch's single-tensor SGD does:
//
//	g' = g + wd·p                         (if WeightDecay ≠ 0)
//	buf = first ? g' : mu·buf + (1−dampening)·g'   (if Momentum ≠ 0)
//	d = Nesterov ? g' + mu·buf : buf      (if Momentum ≠ 0, else d = g')
//	p = p − lr·d
//
// every product rounded to float32 before the sum, with 1−dampening computed
// in float64 as PyTorch does. The momentum buffer is flushed to zero where
// |buf| < 2^-126, so it never holds subnormals (which are slow on x86);
// first marks the step that creates it. buf may be nil when Momentum == 0.
// A tensor of 64 k floats or more is updated by up to Threads() goroutines,
// with the same result.
func (o SGD) Step(p, g, buf []float32, first bool) {
	checkLen("SGD.Step", "g", g, len(p), "p")
	if o.Momentum != 0 {
		checkLen("SGD.Step", "buf", buf, len(p), "p")
	}
	if len(p) == 0 {
		return
	}
	c := sgdCoeffs{
		lr:       o.LR,
		wd:       o.WeightDecay,
		l2:       o.WeightDecay != 0,
		mu:       o.Momentum,
		alpha:    float32(1 - float64(o.Dampening)),
		momentum: o.Momentum != 0,
		first:    first,
		nesterov: o.Nesterov,
	}
	raceRead(g)
	raceWrite(p)
	e := elemTask{op: elemSGD, p: p, g: g, sgd: c}
	if c.momentum {
		raceWrite(buf)
		e.s1 = buf
	}
	e.start()
}

// sgdCoeffs holds the scalars of one SGD step.
type sgdCoeffs struct {
	lr, wd, mu, alpha             float32
	l2, momentum, first, nesterov bool
}

// Adam is torch.optim.Adam (amsgrad and maximize off) on float32 tensors;
// Decoupled makes it AdamW.
type Adam struct {
	LR, Beta1, Beta2, Eps, WeightDecay float32
	Decoupled                          bool
}

// DefaultAdam returns PyTorch's defaults: lr 1e-3, betas (0.9, 0.999),
// eps 1e-8, no weight decay.
func DefaultAdam() Adam {
	return Adam{LR: 1e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8}
}

// Step performs update number step (1, 2, …) of the parameters p with their
// gradient g and the moments m and v, in one pass, following PyTorch's
// _single_tensor_adam operation by operation:
//
//	p = p·(1 − lr·wd)                     (AdamW; 1 − lr·wd in float64)
//	g = g + wd·p                          (Adam with WeightDecay ≠ 0)
//	m = m.lerp(g, 1−β1)                   (m + w·(g−m) for |w| < 0.5, else g − (g−m)·(1−w))
//	v = β2·v + ((1−β2)·g)·g
//	p = p + (−stepSize·m) / (sqrt(v)/sqrt(bc2) + eps)
//
// with bc1 = 1 − β1^step, bc2 = 1 − β2^step and stepSize = lr/bc1 in float64,
// each rounded to float32 once where PyTorch converts it. m and v are flushed
// to zero where their magnitude is below 2^-126, so weights whose gradient
// stays zero do not decay into slow subnormals. A tensor of 64 k floats or
// more is updated by up to Threads() goroutines, with the same result.
func (o Adam) Step(p, g, m, v []float32, step int) {
	checkLen("Adam.Step", "g", g, len(p), "p")
	checkLen("Adam.Step", "m", m, len(p), "p")
	checkLen("Adam.Step", "v", v, len(p), "p")
	if step < 1 {
		panic(fmt.Sprintf("kernels: Adam.Step: step %d, want ≥ 1", step))
	}
	if len(p) == 0 {
		return
	}
	c := adamCoeffs{decay: 1, wd: o.WeightDecay, beta2: o.Beta2, eps: o.Eps}
	if o.WeightDecay != 0 {
		if o.Decoupled {
			c.decay = float32(1 - float64(o.LR)*float64(o.WeightDecay))
		} else {
			c.l2 = true
		}
	}
	w1 := float32(1 - float64(o.Beta1))
	c.w1, c.w1c, c.small = w1, 1-w1, math.Abs(float64(w1)) < 0.5
	c.w2 = float32(1 - float64(o.Beta2))
	bc1 := 1 - math.Pow(float64(o.Beta1), float64(step))
	bc2 := 1 - math.Pow(float64(o.Beta2), float64(step))
	c.stepSize = float32(float64(o.LR) / bc1)
	c.bc2sqrt = float32(math.Sqrt(bc2))
	raceRead(g)
	raceWrite(p)
	raceWrite(m)
	raceWrite(v)
	e := elemTask{op: elemAdam, p: p, g: g, s1: m, s2: v, adam: c}
	e.start()
}

// elemTask is an optimizer update of the tensors p (parameters), g
// (gradients), s1 and s2 (state: SGD's momentum buffer, Adam's moments).
type elemTask struct {
	op           elemOp
	p, g, s1, s2 []float32
	sgd          sgdCoeffs
	adam         adamCoeffs
}

type elemOp uint8

const (
	elemNone elemOp = iota
	elemSGD
	elemAdam
)

// minElemsPerThread keeps small updates on one goroutine. An update
// split across threads the way the products that made its gradient were
// (column panels, contiguous in a PackedB) runs each part on the core that
// holds it in cache, and does not move the tensors between cores.
const minElemsPerThread = 1 << 15

// start runs the update, split across the worker pool when it is large.
// Each element's arithmetic is the same wherever it runs.
func (e *elemTask) start() {
	im := active.Load()
	n := len(e.p)
	if parts := parallelism(n / minElemsPerThread); parts > 1 {
		workers.runElem(im, e, parts)
		return
	}
	e.run(im, 0, n)
}

// run updates elements [lo, hi).
func (e *elemTask) run(im *impl, lo, hi int) {
	if lo >= hi {
		return
	}
	switch e.op {
	case elemSGD:
		var buf []float32
		if e.s1 != nil {
			buf = e.s1[lo:hi]
		}
		im.elem.sgd(e.p[lo:hi], e.g[lo:hi], buf, e.sgd)
	case elemAdam:
		im.elem.adam(e.p[lo:hi], e.g[lo:hi], e.s1[lo:hi], e.s2[lo:hi], e.adam)
	}
}

// adamCoeffs holds the scalars of one Adam step. decay is 1 unless the step
// is AdamW's: multiplying by 1 changes no number.
type adamCoeffs struct {
	decay, wd, w1, w1c, beta2, w2, bc2sqrt, eps, stepSize float32
	l2, small                                             bool
}

// flushTiny returns 0 for |x| < 2^-126 (subnormals and zeros), else x.
func flushTiny(x float32) float32 {
	if math.Float32bits(x)&0x7fffffff < 0x00800000 {
		return 0
	}
	return x
}

// The generic twins. Each is the definition of its kernel's results.

func biasGeneric(y []float32, rows, ld int, b []float32) {
	for i := 0; i < rows; i++ {
		row := y[i*ld : i*ld+len(b)]
		for j, bj := range b {
			row[j] += bj
		}
	}
}

func biasReLUGeneric(y []float32, rows, ld int, b []float32) {
	for i := 0; i < rows; i++ {
		row := y[i*ld : i*ld+len(b)]
		for j, bj := range b {
			v := row[j] + bj
			if !(v > 0) {
				v = 0
			}
			row[j] = v
		}
	}
}

func biasReLUDropoutGeneric(y []float32, rows, ld int, b []float32, d Dropout) {
	cols := len(b)
	for i := 0; i < rows; i++ {
		row := y[i*ld : i*ld+cols]
		k := uint32(i * cols)
		for j, bj := range b {
			v := row[j] + bj
			if v > 0 && dropoutKeep(d, k+uint32(j)) {
				row[j] = v * d.Scale
			} else {
				row[j] = 0
			}
		}
	}
}

func reluBackwardGeneric(dy, y []float32, rows, ld int, scale float32, db []float32) {
	clear(db)
	for i := 0; i < rows; i++ {
		drow := dy[i*ld : i*ld+len(db)]
		yrow := y[i*ld : i*ld+len(db)]
		for j := range db {
			d := float32(0)
			if yrow[j] > 0 {
				d = drow[j] * scale
			}
			drow[j] = d
			db[j] += d
		}
	}
}

func columnSumsGeneric(db, x []float32, rows, ld int) {
	clear(db)
	for i := 0; i < rows; i++ {
		row := x[i*ld : i*ld+len(db)]
		for j, v := range row {
			db[j] += v
		}
	}
}

func softmaxRowGeneric(x, g []float32, m, invB float32) float32 {
	g = g[:len(x)]
	var s float32
	for j, v := range x {
		e := expf(v - m)
		g[j] = e
		s += e
	}
	for j, e := range g {
		g[j] = float32(e/s) * invB
	}
	return s
}

func bytesToFloatsGeneric(dst []float32, src []uint8, scale, offset float32) {
	dst = dst[:len(src)]
	for i, b := range src {
		dst[i] = float32(float32(b)*scale) + offset
	}
}

func sgdGeneric(p, g, buf []float32, c sgdCoeffs) {
	g = g[:len(p)]
	if c.momentum {
		buf = buf[:len(p)]
	}
	for i, pi := range p {
		gi := g[i]
		if c.l2 {
			gi += float32(c.wd * pi)
		}
		d := gi
		if c.momentum {
			b := gi
			if !c.first {
				b = float32(c.mu*buf[i]) + float32(c.alpha*gi)
			}
			b = flushTiny(b)
			buf[i] = b
			d = b
			if c.nesterov {
				d = gi + float32(c.mu*b)
			}
		}
		p[i] = pi - float32(c.lr*d)
	}
}

func adamGeneric(p, g, m, v []float32, c adamCoeffs) {
	g, m, v = g[:len(p)], m[:len(p)], v[:len(p)]
	for i, pi := range p {
		pi = float32(pi * c.decay) // rounded: no path may fuse it into the update
		gi := g[i]
		if c.l2 {
			gi += float32(c.wd * pi)
		}
		mi, vi := m[i], v[i]
		if c.small {
			mi += float32(c.w1 * (gi - mi))
		} else {
			mi = gi - float32((gi-mi)*c.w1c)
		}
		mi = flushTiny(mi)
		vi = float32(vi*c.beta2) + float32(float32(c.w2*gi)*gi)
		vi = flushTiny(vi)
		denom := float32(float32(math.Sqrt(float64(vi)))/c.bc2sqrt) + c.eps
		p[i] = pi - float32(float32(c.stepSize*mi)/denom)
		m[i], v[i] = mi, vi
	}
}

// The float32 exponential shared by every path (Cephes' expf): x is clamped
// to [expLo, expHi], n = round-to-even(x·log2e), r = x − n·ln2 in two
// parts, e^r from a degree-5 polynomial, and 2^n applied through the
// exponent bits in two halves (so n = 128 does not overflow the scale).
// Below expLo the result is exactly 0; NaN stays NaN; +Inf gives e^expHi.
const (
	expLo    = -87.33654 // exp(expLo) ≈ 2^-126
	expHi    = 88.72283  // exp(expHi) < MaxFloat32
	expLog2e = 1.44269504088896341
	expC1    = 0.693359375
	expC2    = -2.12194440e-4
	expP0    = 1.9875691500e-4
	expP1    = 1.3981999507e-3
	expP2    = 8.3334519073e-3
	expP3    = 4.1665795894e-2
	expP4    = 1.6666665459e-1
	expP5    = 5.0000001201e-1
)

// expf returns e^x in float32 (within 2 ulp for results above 2^-126).
// Every operation is a separately rounded float32 operation, as in the
// assembly.
func expf(x float32) float32 {
	if x != x {
		return x
	}
	if x < expLo {
		return 0
	}
	if x > expHi {
		x = expHi
	}
	n := float32(math.RoundToEven(float64(x * expLog2e)))
	r := x - float32(n*expC1)
	r -= float32(n * expC2)
	r2 := r * r
	p := float32(expP0*r) + expP1
	p = float32(p*r) + expP2
	p = float32(p*r) + expP3
	p = float32(p*r) + expP4
	p = float32(p*r) + expP5
	p = float32(p*r2) + r
	p += 1
	ni := int32(n)
	n1 := ni >> 1
	n2 := ni - n1
	s1 := math.Float32frombits(uint32(n1+127) << 23)
	s2 := math.Float32frombits(uint32(n2+127) << 23)
	return float32(p*s1) * s2
}
