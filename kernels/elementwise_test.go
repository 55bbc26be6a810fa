package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"
)

// withGeneric runs f with the generic path active: the reference results.
func withGeneric(f func()) {
	prev := active.Swap(genericImpl)
	defer active.Store(prev)
	f()
}

// sentinelBits fills memory a kernel must not touch: a signalling NaN, which
// no arithmetic produces.
const sentinelBits = 0x7fa5a5a5

// elemCols are the row lengths every element-wise test covers: every length
// from 0 past two AVX-512 vectors and a tail, and the network's large ones.
func elemCols() []int {
	var c []int
	for n := 0; n <= 2*16+3; n++ {
		c = append(c, n)
	}
	return append(c, 784, 1000)
}

// mat is a rows×cols matrix, rows ld apart, at offset off of a buffer whose
// other elements (before, between and after the rows) are sentinels.
type mat struct {
	buf                 []float32
	off, rows, cols, ld int
}

func newMat(rows, cols, ld, off int) *mat {
	m := &mat{buf: make([]float32, off+matLen(rows, cols, ld)+17), off: off, rows: rows, cols: cols, ld: ld}
	for i := range m.buf {
		m.buf[i] = math.Float32frombits(sentinelBits)
	}
	return m
}

func newVec(n, off int) *mat { return newMat(1, n, max(n, 1), off) }

func matLen(rows, cols, ld int) int {
	if rows == 0 || cols == 0 {
		return 0
	}
	return (rows-1)*ld + cols
}

// data is the slice a kernel gets: from the first element to the last.
func (m *mat) data() []float32 {
	n := matLen(m.rows, m.cols, m.ld)
	return m.buf[m.off : m.off+n : m.off+n]
}

func (m *mat) fill(f func() float32) *mat {
	for i := 0; i < m.rows; i++ {
		for j := 0; j < m.cols; j++ {
			m.buf[m.off+i*m.ld+j] = f()
		}
	}
	return m
}

func (m *mat) clone() *mat {
	c := *m
	c.buf = append([]float32(nil), m.buf...)
	return &c
}

// inside reports whether buffer index k is an element of the matrix.
func (m *mat) inside(k int) bool {
	k -= m.off
	if k < 0 || m.cols == 0 || m.rows == 0 || k >= matLen(m.rows, m.cols, m.ld) {
		return false
	}
	return k%m.ld < m.cols
}

// same fails the test unless got and want hold the same bits everywhere
// and want's sentinels are intact. Inside the matrix two NaNs compare
// equal: where two NaN operands meet, x86 returns the first one's payload,
// and the Go compiler may order the operands of a commutative operation
// either way, so NaN payloads and signs are not part of any kernel's result.
func (got *mat) same(t *testing.T, want *mat, what string) {
	t.Helper()
	for k := range want.buf {
		g, w := math.Float32bits(got.buf[k]), math.Float32bits(want.buf[k])
		if !want.inside(k) && w != sentinelBits {
			t.Fatalf("%s: reference wrote outside the matrix at %d", what, k-want.off)
		}
		if g != w && !(want.inside(k) && isNaN32(g) && isNaN32(w)) {
			where := "outside the matrix"
			if want.inside(k) {
				where = fmt.Sprintf("at (%d, %d)", (k-want.off)/want.ld, (k-want.off)%want.ld)
			}
			t.Fatalf("%s: %s (buffer index %d): got %#08x (%v), want %#08x (%v)",
				what, where, k-want.off, g, got.buf[k], w, want.buf[k])
		}
	}
}

// randFloats returns a source of normal values with, if special, an
// occasional NaN, ±Inf, ±0 or subnormal.
func randFloats(r *rand.Rand, special bool) func() float32 {
	return func() float32 {
		if special {
			switch r.IntN(32) {
			case 0:
				return float32(math.NaN())
			case 1:
				return float32(math.Inf(1))
			case 2:
				return float32(math.Inf(-1))
			case 3:
				return 0
			case 4:
				return float32(math.Copysign(0, -1))
			case 5:
				return math.Float32frombits(r.Uint32() & 0x807fffff) // subnormal
			}
		}
		return float32(r.NormFloat64() * 2)
	}
}

var rowKernels = []struct {
	name string
	f    func(y []float32, rows, ld int, b []float32)
}{
	{"Bias", Bias},
	{"BiasReLU", BiasReLU},
	{"BiasReLUDropout", func(y []float32, rows, ld int, b []float32) {
		BiasReLUDropout(y, rows, ld, b, NewDropout(0.3, 1, 2, 3))
	}},
}

func TestBiasKernels(t *testing.T) {
	forEachImpl(t, func(t *testing.T, _ string) {
		r := rand.New(rand.NewPCG(1, 2))
		for _, k := range rowKernels {
			for _, cols := range elemCols() {
				for rows := 1; rows <= 3; rows++ {
					for _, extra := range []int{0, 5} {
						for off := 0; off < 2; off++ {
							ld := max(cols+extra, 1)
							what := fmt.Sprintf("%s rows=%d cols=%d ld=%d off=%d", k.name, rows, cols, ld, off)
							y := newMat(rows, cols, ld, off).fill(randFloats(r, true))
							b := newVec(cols, 1-off).fill(randFloats(r, true))
							want, b0 := y.clone(), b.clone()
							withGeneric(func() { k.f(want.data(), rows, want.ld, b.data()) })
							k.f(y.data(), rows, y.ld, b.data())
							y.same(t, want, what)
							b.same(t, b0, what+" (bias)")
						}
					}
				}
			}
		}
	})
}

// reluOutputs mimics the output of the forward pass: zeros, positives, and
// some negatives, NaNs and infinities.
func reluOutputs(r *rand.Rand) func() float32 {
	f := randFloats(r, true)
	return func() float32 {
		if r.IntN(3) == 0 {
			return 0
		}
		return f()
	}
}

func TestReLUDropoutBackward(t *testing.T) {
	forEachImpl(t, func(t *testing.T, _ string) {
		r := rand.New(rand.NewPCG(3, 4))
		for _, cols := range elemCols() {
			for rows := 0; rows <= 3; rows++ {
				for _, extra := range []int{0, 3} {
					for off := 0; off < 2; off++ {
						ld := max(cols+extra, 1)
						what := fmt.Sprintf("rows=%d cols=%d ld=%d off=%d", rows, cols, ld, off)
						dy := newMat(rows, cols, ld, off).fill(randFloats(r, true))
						y := newMat(rows, cols, ld, 1-off).fill(reluOutputs(r))
						db := newVec(cols, off).fill(randFloats(r, false))
						scale := float32(1 / 0.7)
						wantDy, wantDb, y0 := dy.clone(), db.clone(), y.clone()
						withGeneric(func() { ReLUDropoutBackward(wantDy.data(), y.data(), rows, ld, scale, wantDb.data()) })
						ReLUDropoutBackward(dy.data(), y.data(), rows, ld, scale, db.data())
						dy.same(t, wantDy, what+" dy")
						db.same(t, wantDb, what+" db")
						y.same(t, y0, what+" y")
					}
				}
			}
		}
	})
}

func TestColumnSums(t *testing.T) {
	forEachImpl(t, func(t *testing.T, _ string) {
		r := rand.New(rand.NewPCG(5, 6))
		for _, cols := range elemCols() {
			for rows := 0; rows <= 3; rows++ {
				for _, extra := range []int{0, 3} {
					for off := 0; off < 2; off++ {
						ld := max(cols+extra, 1)
						what := fmt.Sprintf("rows=%d cols=%d ld=%d off=%d", rows, cols, ld, off)
						x := newMat(rows, cols, ld, off).fill(randFloats(r, true))
						db := newVec(cols, 1-off).fill(randFloats(r, false))
						wantDb, x0 := db.clone(), x.clone()
						withGeneric(func() { ColumnSums(wantDb.data(), x.data(), rows, x.ld) })
						ColumnSums(db.data(), x.data(), rows, x.ld)
						db.same(t, wantDb, what+" db")
						x.same(t, x0, what+" x")
					}
				}
			}
		}
		// Many rows: the accumulators stay in registers across them.
		x := newMat(300, 70, 75, 1).fill(randFloats(r, false))
		db := newVec(70, 0)
		want := db.clone()
		withGeneric(func() { ColumnSums(want.data(), x.data(), 300, 75) })
		ColumnSums(db.data(), x.data(), 300, 75)
		db.same(t, want, "300 rows")
	})
}

func randLabels(r *rand.Rand, rows, cols int) []uint8 {
	l := make([]uint8, rows)
	for i := range l {
		l[i] = uint8(r.IntN(cols))
	}
	return l
}

func TestSoftmaxCrossEntropy(t *testing.T) {
	forEachImpl(t, func(t *testing.T, _ string) {
		r := rand.New(rand.NewPCG(7, 8))
		cols := append(elemCols()[1:], 256)
		for _, c := range cols {
			for rows := 0; rows <= 3; rows++ {
				for _, extra := range []int{0, 3} {
					for off := 0; off < 2; off++ {
						what := fmt.Sprintf("rows=%d cols=%d ld=%d off=%d", rows, c, c+extra, off)
						special := r.IntN(4) == 0 // NaN and Inf in some rows
						x := newMat(rows, c, c+extra, off).fill(randFloats(r, special))
						g := newMat(rows, c, c+2*extra+1, 1-off).fill(randFloats(r, false))
						labels := randLabels(r, rows, c)
						want, x0 := g.clone(), x.clone()
						var wantLoss float64
						var wantCorrect int
						withGeneric(func() {
							wantLoss, wantCorrect = SoftmaxCrossEntropy(x.data(), rows, c, x.ld, labels, want.data(), want.ld)
						})
						loss, correct := SoftmaxCrossEntropy(x.data(), rows, c, x.ld, labels, g.data(), g.ld)
						g.same(t, want, what+" grad")
						x.same(t, x0, what+" logits")
						if !sameLoss(loss, wantLoss) || correct != wantCorrect {
							t.Fatalf("%s: loss, correct = %v, %d; want %v, %d", what, loss, correct, wantLoss, wantCorrect)
						}
						// In place: grad is logits.
						in := x.clone()
						loss, correct = SoftmaxCrossEntropy(in.data(), rows, c, in.ld, labels, in.data(), in.ld)
						wantIn := x.clone()
						withGeneric(func() {
							SoftmaxCrossEntropy(x.data(), rows, c, x.ld, labels, wantIn.data(), wantIn.ld)
						})
						in.same(t, wantIn, what+" in place")
						if !sameLoss(loss, wantLoss) || correct != wantCorrect {
							t.Fatalf("%s in place: loss, correct = %v, %d; want %v, %d", what, loss, correct, wantLoss, wantCorrect)
						}
					}
				}
			}
		}
	})
}

// sameLoss reports whether two losses have the same bits or are both NaN.
func sameLoss(a, b float64) bool {
	return math.Float64bits(a) == math.Float64bits(b) || math.IsNaN(a) && math.IsNaN(b)
}

// softmaxReference is the loss and gradient in float64.
func softmaxReference(x []float32, label int, invB float64) (loss float64, grad []float64) {
	m := math.Inf(-1)
	for _, v := range x {
		m = math.Max(m, float64(v))
	}
	var s float64
	for _, v := range x {
		s += math.Exp(float64(v) - m)
	}
	grad = make([]float64, len(x))
	for j, v := range x {
		grad[j] = math.Exp(float64(v)-m) / s * invB
	}
	grad[label] -= invB
	return math.Log(s) + m - float64(x[label]), grad
}

func TestSoftmaxNumerics(t *testing.T) {
	rows := [][]float32{
		{5, 5, 5, 5},
		{3e38, -3e38, 0, 1e30, 3e38},
		{-3e38, -3e38, -3e38},
		{1e-30, -1e-30, 0, 1e-38},
		{100, 0, -100, 50, 87, -87},
		{88.7, -88.7, 200, -200},
		{0},
		{1, 2, 3, 4, 5, 6, 7, 8, 9, 10},
	}
	r := rand.New(rand.NewPCG(9, 10))
	for i := 0; i < 64; i++ {
		x := make([]float32, 10)
		for j := range x {
			x[j] = float32(r.NormFloat64() * 4)
		}
		rows = append(rows, x)
	}
	forEachImpl(t, func(t *testing.T, _ string) {
		for _, x := range rows {
			for label := range x {
				grad := make([]float32, len(x))
				loss, correct := SoftmaxCrossEntropy(x, 1, len(x), len(x), []uint8{uint8(label)}, grad, len(x))
				wantLoss, wantGrad := softmaxReference(x, label, 1)
				if math.Abs(loss-wantLoss) > 1e-5*math.Max(1, math.Abs(wantLoss)) {
					t.Errorf("%v label %d: loss %v, want %v", x, label, loss, wantLoss)
				}
				var sum float64
				for j, g := range grad {
					sum += float64(g)
					if math.IsNaN(float64(g)) || math.Abs(float64(g)-wantGrad[j]) > 1e-6 {
						t.Errorf("%v label %d: grad[%d] = %v, want %v", x, label, j, g, wantGrad[j])
					}
				}
				if math.Abs(sum) > 1e-6 {
					t.Errorf("%v label %d: gradient sums to %v", x, label, sum)
				}
				first := 0
				for j, v := range x {
					if v > x[first] {
						first = j
					}
				}
				if want := b2i(first == label); correct != want {
					t.Errorf("%v label %d: correct = %d, want %d", x, label, correct, want)
				}
			}
		}
		// A batch: the gradient carries 1/rows.
		const b, c = 64, 10
		x := make([]float32, b*c)
		for i := range x {
			x[i] = float32(r.NormFloat64() * 3)
		}
		labels := randLabels(r, b, c)
		grad := make([]float32, b*c)
		loss, _ := SoftmaxCrossEntropy(x, b, c, c, labels, grad, c)
		var want float64
		for i := 0; i < b; i++ {
			l, g := softmaxReference(x[i*c:i*c+c], int(labels[i]), 1.0/b)
			want += l
			for j := range g {
				if d := math.Abs(float64(grad[i*c+j]) - g[j]); d > 1e-7 {
					t.Fatalf("batch grad (%d, %d) = %v, want %v", i, j, grad[i*c+j], g[j])
				}
			}
		}
		if math.Abs(loss-want) > 1e-5*want {
			t.Errorf("batch loss %v, want %v", loss, want)
		}
	})
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// ulps returns the error of got in units of the float32 spacing at want.
func ulps(got float32, want float64) float64 {
	w := float32(want)
	ulp := float64(math.Nextafter32(w, float32(math.Inf(1))) - w)
	return math.Abs(float64(got)-want) / ulp
}

func TestExpf(t *testing.T) {
	worst := 0.0
	check := func(x float32) {
		want := math.Exp(float64(x))
		got := expf(x)
		if want < 0x1p-126 {
			if got != 0 && (x < expLo || got > 0x1p-125) {
				t.Fatalf("expf(%v) = %v, want 0 or a subnormal-range value near %v", x, got, want)
			}
			return
		}
		if u := ulps(got, want); u > worst {
			worst = u
			if u > 2 {
				t.Fatalf("expf(%v) = %v, want %v: %.2f ulp", x, got, want, u)
			}
		}
	}
	for i := 0; i <= 400000; i++ {
		check(float32(expLo + (expHi-expLo)*float64(i)/400000))
	}
	r := rand.New(rand.NewPCG(11, 12))
	for i := 0; i < 100000; i++ {
		check(float32(r.NormFloat64() * 4))
	}
	t.Logf("largest error %.3f ulp", worst)
	for _, x := range []float32{-88, -100, -1000, -3e38, float32(math.Inf(-1))} {
		if got := expf(x); got != 0 {
			t.Errorf("expf(%v) = %v, want exactly 0", x, got)
		}
	}
	for _, x := range []float32{88.7, expHi, 1000, float32(math.Inf(1))} {
		if got := expf(x); math.IsInf(float64(got), 0) || got < 3e38 {
			t.Errorf("expf(%v) = %v, want finite near MaxFloat32", x, got)
		}
	}
	if got := expf(0); got != 1 {
		t.Errorf("expf(0) = %v, want 1", got)
	}
	if got := expf(float32(math.NaN())); got == got {
		t.Errorf("expf(NaN) = %v", got)
	}
}

// TestExpfPaths: every path's exponential (softmaxRow of one element
// returns its e^x) matches expf bit for bit.
func TestExpfPaths(t *testing.T) {
	var xs []float32
	for i := 0; i <= 20000; i++ {
		xs = append(xs, float32(-110+210*float64(i)/20000))
	}
	xs = append(xs, expLo, math.Nextafter32(expLo, 0), math.Nextafter32(expLo, -1), expHi,
		math.Nextafter32(expHi, 100), float32(math.Inf(1)), float32(math.Inf(-1)), 0,
		float32(math.Copysign(0, -1)), 1e-30, -1e-30, float32(math.NaN()))
	forEachImpl(t, func(t *testing.T, _ string) {
		row := active.Load().elem.softmaxRow
		g := make([]float32, 1)
		for _, x := range xs {
			got, want := row([]float32{x}, g, 0, 1), expf(x)
			if math.Float32bits(got) != math.Float32bits(want) && !(got != got && want != want) {
				t.Fatalf("exp(%v) = %v (%#08x), want %v (%#08x)", x, got, math.Float32bits(got), want, math.Float32bits(want))
			}
		}
	})
}

func TestBytesToFloats(t *testing.T) {
	forEachImpl(t, func(t *testing.T, _ string) {
		r := rand.New(rand.NewPCG(13, 14))
		ns := elemCols()
		for n := 36; n <= 70; n++ {
			ns = append(ns, n)
		}
		for _, n := range ns {
			for off := 0; off < 4; off++ {
				src := make([]uint8, n+off)
				for i := range src {
					src[i] = uint8(r.Uint32())
				}
				src = src[off:]
				for _, so := range [][2]float32{{1.0 / 255, 0}, {1.0 / 255 / 0.3081, -0.1307 / 0.3081}, {float32(r.NormFloat64()), float32(r.NormFloat64())}} {
					what := fmt.Sprintf("n=%d off=%d scale=%v offset=%v", n, off, so[0], so[1])
					dst := newVec(n, off%2)
					want := dst.clone()
					withGeneric(func() { BytesToFloats(want.data(), src, so[0], so[1]) })
					BytesToFloats(dst.data(), src, so[0], so[1])
					dst.same(t, want, what)
				}
			}
		}
	})
}

var sgdConfigs = []SGD{
	{LR: 0.1},
	{LR: 0.1, WeightDecay: 1e-2},
	{LR: 0.05, Momentum: 0.9},
	{LR: 0.05, Momentum: 0.9, Dampening: 0.1, WeightDecay: 1e-2},
	{LR: 0.05, Momentum: 0.9, WeightDecay: 1e-2, Nesterov: true},
	{LR: 0.05, Momentum: 0.5, Dampening: 0.5, Nesterov: true},
}

var adamConfigs = []Adam{
	DefaultAdam(),
	{LR: 1e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: 1e-2},
	{LR: 1e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: 1e-2, Decoupled: true},
	{LR: 1e-2, Beta1: 0.3, Beta2: 0.99, Eps: 1e-6}, // lerp weight ≥ 0.5
}

// optimizerState returns parameter-like values with some zeros and tiny
// values, so the flush of subnormal state is exercised.
func optimizerState(r *rand.Rand) func() float32 {
	return func() float32 {
		switch r.IntN(16) {
		case 0:
			return 0
		case 1:
			return math.Float32frombits(r.Uint32() & 0x80ffffff) // around 2^-126
		}
		return float32(r.NormFloat64())
	}
}

func TestOptimizerKernels(t *testing.T) {
	forEachImpl(t, func(t *testing.T, _ string) {
		r := rand.New(rand.NewPCG(15, 16))
		for _, n := range elemCols() {
			for off := 0; off < 2; off++ {
				st := optimizerState(r)
				p, g := newVec(n, off).fill(st), newVec(n, 1-off).fill(st)
				for ci, o := range sgdConfigs {
					for _, first := range []bool{true, false} {
						what := fmt.Sprintf("SGD %+v first=%v n=%d off=%d", o, first, n, off)
						buf := newVec(n, off).fill(st)
						wantP, wantBuf, g0 := p.clone(), buf.clone(), g.clone()
						var bufData, wantBufData []float32
						if o.Momentum != 0 || ci%2 == 1 {
							bufData, wantBufData = buf.data(), wantBuf.data()
						}
						withGeneric(func() { o.Step(wantP.data(), g.data(), wantBufData, first) })
						o.Step(p.data(), g.data(), bufData, first)
						p.same(t, wantP, what+" p")
						buf.same(t, wantBuf, what+" buf")
						g.same(t, g0, what+" g")
					}
				}
				for _, o := range adamConfigs {
					for _, step := range []int{1, 2, 1000} {
						what := fmt.Sprintf("Adam %+v step=%d n=%d off=%d", o, step, n, off)
						m, v := newVec(n, off).fill(st), newVec(n, 1-off).fill(func() float32 { return float32(math.Abs(float64(st()))) })
						wantP, wantM, wantV, g0 := p.clone(), m.clone(), v.clone(), g.clone()
						withGeneric(func() { o.Step(wantP.data(), g.data(), wantM.data(), wantV.data(), step) })
						o.Step(p.data(), g.data(), m.data(), v.data(), step)
						p.same(t, wantP, what+" p")
						m.same(t, wantM, what+" m")
						v.same(t, wantV, what+" v")
						g.same(t, g0, what+" g")
					}
				}
			}
		}
	})
}

// gradAt is a made-up gradient of parameter i at step s.
func gradAt(i, s int) float32 {
	return float32(0.5*math.Sin(0.37*float64(i)+1.3*float64(s)) + 0.05*math.Cos(float64(i*s)))
}

// TestOptimizersMatchPyTorch runs 100 steps against a float64 transcription
// of PyTorch's algorithms.
func TestOptimizersMatchPyTorch(t *testing.T) {
	const n, steps = 1000, 100
	init := func(i int) float32 { return float32(math.Sin(float64(i))) }
	forEachImpl(t, func(t *testing.T, _ string) {
		for _, o := range sgdConfigs {
			p, buf := make([]float32, n), make([]float32, n)
			p64, buf64 := make([]float64, n), make([]float64, n)
			for i := range p {
				p[i] = init(i)
				p64[i] = float64(p[i])
			}
			lr, mu, damp, wd := float64(o.LR), float64(o.Momentum), float64(o.Dampening), float64(o.WeightDecay)
			g := make([]float32, n)
			for s := 0; s < steps; s++ {
				for i := range g {
					g[i] = gradAt(i, s)
					gi := float64(g[i]) + wd*p64[i]
					d := gi
					if mu != 0 {
						if s == 0 {
							buf64[i] = gi
						} else {
							buf64[i] = mu*buf64[i] + (1-damp)*gi
						}
						d = buf64[i]
						if o.Nesterov {
							d = gi + mu*buf64[i]
						}
					}
					p64[i] -= lr * d
				}
				o.Step(p, g, buf, s == 0)
			}
			compareParams(t, fmt.Sprintf("SGD %+v", o), p, p64, steps)
		}
		for _, o := range adamConfigs {
			p, m, v := make([]float32, n), make([]float32, n), make([]float32, n)
			p64, m64, v64 := make([]float64, n), make([]float64, n), make([]float64, n)
			for i := range p {
				p[i] = init(i)
				p64[i] = float64(p[i])
			}
			lr, b1, b2, eps, wd := float64(o.LR), float64(o.Beta1), float64(o.Beta2), float64(o.Eps), float64(o.WeightDecay)
			g := make([]float32, n)
			for s := 1; s <= steps; s++ {
				bc1, bc2 := 1-math.Pow(b1, float64(s)), 1-math.Pow(b2, float64(s))
				for i := range g {
					g[i] = gradAt(i, s)
					gi := float64(g[i])
					if o.Decoupled {
						// PyTorch multiplies by the float32 of 1 − lr·wd.
						p64[i] *= float64(float32(1 - lr*wd))
					} else {
						gi += wd * p64[i]
					}
					m64[i] = b1*m64[i] + (1-b1)*gi
					v64[i] = b2*v64[i] + (1-b2)*gi*gi
					p64[i] -= lr / bc1 * m64[i] / (math.Sqrt(v64[i])/math.Sqrt(bc2) + eps)
				}
				o.Step(p, g, m, v, s)
			}
			compareParams(t, fmt.Sprintf("Adam %+v", o), p, p64, steps)
		}
	})
}

// compareParams checks p against the float64 reference after steps steps,
// allowing about one float32 rounding of p per step: relative 2^-23 each.
func compareParams(t *testing.T, what string, p []float32, p64 []float64, steps int) {
	t.Helper()
	tol := float64(steps) * 0x1p-23
	worst := 0.0
	for i := range p {
		d := math.Abs(float64(p[i])-p64[i]) / math.Max(1, math.Abs(p64[i]))
		if !(d <= tol) {
			t.Errorf("%s: p[%d] = %v, float64 PyTorch gives %v", what, i, p[i], p64[i])
			return
		}
		worst = max(worst, d)
	}
	t.Logf("%s: largest relative difference %.2g (bound %.2g)", what, worst, tol)
}

// TestAdamNoSubnormals: after one tiny gradient, 20000 zero-gradient steps
// decay m and v to exactly 0 without ever passing through subnormals.
func TestAdamNoSubnormals(t *testing.T) {
	const n = 37
	forEachImpl(t, func(t *testing.T, _ string) {
		r := rand.New(rand.NewPCG(17, 18))
		for _, o := range []Adam{DefaultAdam(), {LR: 1e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: 1e-2, Decoupled: true}} {
			p, g, m, v := make([]float32, n), make([]float32, n), make([]float32, n), make([]float32, n)
			for i := range p {
				p[i] = float32(r.NormFloat64())
				g[i] = float32(math.Pow(10, -15-5*r.Float64())) // v = 1e-3·g² decays to 0 in time
			}
			o.Step(p, g, m, v, 1)
			clear(g)
			for s := 2; s <= 20001; s++ {
				o.Step(p, g, m, v, s)
				for i := range m {
					if isSubnormal(m[i]) || isSubnormal(v[i]) {
						t.Fatalf("step %d: m[%d] = %v, v[%d] = %v: subnormal", s, i, m[i], i, v[i])
					}
				}
			}
			for i := range m {
				if math.Float32bits(m[i]) != 0 || math.Float32bits(v[i]) != 0 {
					t.Fatalf("after 20000 zero gradients m[%d] = %v, v[%d] = %v, want +0", i, m[i], i, v[i])
				}
			}
		}
		// The SGD momentum buffer is flushed the same way.
		o := SGD{LR: 0.1, Momentum: 0.5}
		p, g, buf := make([]float32, n), make([]float32, n), make([]float32, n)
		for i := range g {
			g[i] = float32(r.NormFloat64())
		}
		o.Step(p, g, buf, true)
		clear(g)
		for s := 0; s < 300; s++ {
			o.Step(p, g, buf, false)
			for i, b := range buf {
				if isSubnormal(b) {
					t.Fatalf("SGD step %d: buf[%d] = %v: subnormal", s, i, b)
				}
			}
		}
		for i, b := range buf {
			if b != 0 {
				t.Fatalf("SGD buf[%d] = %v after 300 zero gradients", i, b)
			}
		}
	})
}

func isNaN32(bits uint32) bool { return bits&0x7fffffff > 0x7f800000 }

func isSubnormal(x float32) bool {
	b := math.Float32bits(x) & 0x7fffffff
	return b != 0 && b < 0x00800000
}

func TestDropoutKeepRate(t *testing.T) {
	const n = 1000000
	for _, p := range []float64{0.02, 0.5} {
		d := NewDropout(p, 42, 7, 1)
		if got := float64(d.Threshold) / (1 << 24); math.Abs(got-p) > 1e-7 {
			t.Errorf("p = %v: threshold %d is rate %v", p, d.Threshold, got)
		}
		if d.Scale != float32(1/(1-p)) {
			t.Errorf("p = %v: scale %v", p, d.Scale)
		}
		kept := 0
		for k := uint32(0); k < n; k++ {
			kept += b2i(dropoutKeep(d, k))
		}
		q := 1 - p
		if sigma := math.Sqrt(n * q * (1 - q)); math.Abs(float64(kept)-n*q) > 4*sigma {
			t.Errorf("p = %v: kept %d of %d, want %v ± %.0f", p, kept, n, n*q, 4*sigma)
		}
	}
}

// TestDropoutIndependence: the masks of consecutive steps, of two layers
// and of two seeds agree as often as independent masks do; the same keys
// give the same mask.
func TestDropoutIndependence(t *testing.T) {
	const n = 1000000
	for _, p := range []float64{0.02, 0.5} {
		a := NewDropout(p, 42, 7, 1)
		if b := NewDropout(p, 42, 7, 1); b != a {
			t.Fatalf("same keys, different masks: %+v, %+v", a, b)
		}
		for name, b := range map[string]Dropout{
			"next step":  NewDropout(p, 42, 8, 1),
			"next layer": NewDropout(p, 42, 7, 2),
			"next seed":  NewDropout(p, 43, 7, 1),
		} {
			agree := 0
			for k := uint32(0); k < n; k++ {
				agree += b2i(dropoutKeep(a, k) == dropoutKeep(b, k))
			}
			q := (1-p)*(1-p) + p*p
			if sigma := math.Sqrt(n * q * (1 - q)); math.Abs(float64(agree)-n*q) > 4*sigma {
				t.Errorf("p = %v, %s: masks agree on %d of %d, want %v ± %.0f", p, name, agree, n, n*q, 4*sigma)
			}
		}
	}
}

// TestBiasReLUDropoutMask: every path keeps element (i, j) exactly when
// dropoutKeep(d, i·cols+j), and scales it by d.Scale.
func TestBiasReLUDropoutMask(t *testing.T) {
	const rows, cols, ld = 7, 37, 40
	d := NewDropout(0.5, 1, 2, 3)
	forEachImpl(t, func(t *testing.T, _ string) {
		y := make([]float32, rows*ld)
		for i := range y {
			y[i] = 1
		}
		BiasReLUDropout(y, rows, ld, make([]float32, cols), d)
		for i := 0; i < rows; i++ {
			for j := 0; j < cols; j++ {
				want := float32(0)
				if dropoutKeep(d, uint32(i*cols+j)) {
					want = d.Scale
				}
				if y[i*ld+j] != want {
					t.Fatalf("(%d, %d) = %v, want %v", i, j, y[i*ld+j], want)
				}
			}
		}
	})
}

func TestNewDropoutPanics(t *testing.T) {
	for _, p := range []float64{-0.1, 1, 1.5, math.NaN()} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("NewDropout(%v) did not panic", p)
				}
			}()
			NewDropout(p, 0, 0, 0)
		}()
	}
	if d := NewDropout(0, 1, 2, 3); d.Threshold != 0 || d.Scale != 1 {
		t.Errorf("p = 0: %+v", d)
	}
}

// TestElementwiseGuardPages puts every operand flush against a PROT_NONE
// page, after its last element and before its first: a kernel that reads or
// writes past either end faults.
func TestElementwiseGuardPages(t *testing.T) {
	if !haveGuardPages {
		t.Skip("no guard pages")
	}
	var cols []int
	for n := 1; n <= 2*16+3; n++ {
		cols = append(cols, n)
	}
	cols = append(cols, 784)
	forEachImpl(t, func(t *testing.T, _ string) {
		r := rand.New(rand.NewPCG(19, 20))
		for _, atStart := range []bool{false, true} {
			gf := func(src []float32) []float32 {
				g := guardedFloats(t, len(src), atStart)
				copy(g, src)
				return g
			}
			rnd := func(n int) []float32 {
				s := make([]float32, n)
				f := randFloats(r, false)
				for i := range s {
					s[i] = f()
				}
				return s
			}
			eq := func(what string, got, want []float32) {
				t.Helper()
				for i := range want {
					if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
						t.Fatalf("%s (atStart=%v): element %d = %v, want %v", what, atStart, i, got[i], want[i])
					}
				}
			}
			for _, c := range cols {
				for rows := 1; rows <= 2; rows++ {
					ld := c + 1
					nm := (rows-1)*ld + c
					what := fmt.Sprintf("rows=%d cols=%d", rows, c)
					for _, k := range rowKernels {
						y0, b0 := rnd(nm), rnd(c)
						y, b := gf(y0), gf(b0)
						want := append([]float32(nil), y0...)
						withGeneric(func() { k.f(want, rows, ld, b0) })
						k.f(y, rows, ld, b)
						eq(k.name+" "+what, y, want)
					}
					dy0, y0 := rnd(nm), rnd(nm)
					dy, y, db := gf(dy0), gf(y0), guardedFloats(t, c, atStart)
					wantDy, wantDb := append([]float32(nil), dy0...), make([]float32, c)
					withGeneric(func() { ReLUDropoutBackward(wantDy, y0, rows, ld, 2, wantDb) })
					ReLUDropoutBackward(dy, y, rows, ld, 2, db)
					eq("ReLUDropoutBackward dy "+what, dy, wantDy)
					eq("ReLUDropoutBackward db "+what, db, wantDb)
					withGeneric(func() { ColumnSums(wantDb, y0, rows, ld) })
					ColumnSums(db, y, rows, ld)
					eq("ColumnSums "+what, db, wantDb)
					labels := randLabels(r, rows, c)
					g, wantG := guardedFloats(t, nm, atStart), make([]float32, nm)
					withGeneric(func() { SoftmaxCrossEntropy(y0, rows, c, ld, labels, wantG, ld) })
					SoftmaxCrossEntropy(y, rows, c, ld, labels, g, ld)
					eq("SoftmaxCrossEntropy "+what, g, wantG)
				}
				src := guardedBytes(t, c, atStart)
				for i := range src {
					src[i] = uint8(r.Uint32())
				}
				dst, want := guardedFloats(t, c, atStart), make([]float32, c)
				withGeneric(func() { BytesToFloats(want, src, 0.5, 1) })
				BytesToFloats(dst, src, 0.5, 1)
				eq(fmt.Sprintf("BytesToFloats n=%d", c), dst, want)
				p0, g0, s0, v0 := rnd(c), rnd(c), rnd(c), rnd(c)
				for i := range v0 {
					v0[i] = float32(math.Abs(float64(v0[i])))
				}
				for _, o := range sgdConfigs[1:5] {
					p, g, buf := gf(p0), gf(g0), gf(s0)
					wantP, wantBuf := append([]float32(nil), p0...), append([]float32(nil), s0...)
					withGeneric(func() { o.Step(wantP, g0, wantBuf, false) })
					o.Step(p, g, buf, false)
					eq(fmt.Sprintf("SGD %+v n=%d", o, c), p, wantP)
					eq(fmt.Sprintf("SGD %+v buf n=%d", o, c), buf, wantBuf)
				}
				for _, o := range adamConfigs {
					p, g, m, v := gf(p0), gf(g0), gf(s0), gf(v0)
					wantP, wantM, wantV := append([]float32(nil), p0...), append([]float32(nil), s0...), append([]float32(nil), v0...)
					withGeneric(func() { o.Step(wantP, g0, wantM, wantV, 3) })
					o.Step(p, g, m, v, 3)
					eq(fmt.Sprintf("Adam %+v n=%d", o, c), p, wantP)
					eq(fmt.Sprintf("Adam %+v m n=%d", o, c), m, wantM)
					eq(fmt.Sprintf("Adam %+v v n=%d", o, c), v, wantV)
				}
			}
		}
	})
}

func TestElementwiseArgumentChecks(t *testing.T) {
	y, b := make([]float32, 10), make([]float32, 4)
	cases := []struct {
		name, want string
		f          func()
	}{
		{"Bias short y", "y holds 10", func() { Bias(y, 3, 4, b) }},
		{"Bias small ld", "leading dimension 3", func() { Bias(y, 2, 3, b) }},
		{"BiasReLU negative rows", "negative", func() { BiasReLU(y, -1, 4, b) }},
		{"BiasReLUDropout short y", "y holds", func() { BiasReLUDropout(y, 3, 4, b, Dropout{}) }},
		{"ReLUDropoutBackward short y", "y holds", func() { ReLUDropoutBackward(make([]float32, 12), y, 3, 4, 1, b) }},
		{"ReLUDropoutBackward short dy", "dy holds", func() { ReLUDropoutBackward(y, make([]float32, 12), 3, 4, 1, b) }},
		{"ColumnSums short x", "x holds", func() { ColumnSums(b, y, 3, 4) }},
		{"Softmax labels", "len(labels)", func() { SoftmaxCrossEntropy(y, 2, 4, 4, []uint8{0}, y, 4) }},
		{"Softmax short grad", "grad holds", func() { SoftmaxCrossEntropy(make([]float32, 12), 3, 4, 4, []uint8{0, 0, 0}, y, 4) }},
		{"Softmax label", "label 4 of row 1", func() { SoftmaxCrossEntropy(y, 2, 4, 4, []uint8{0, 4}, y, 4) }},
		{"Softmax no columns", "no columns", func() { SoftmaxCrossEntropy(y, 2, 0, 4, []uint8{0, 0}, y, 4) }},
		{"BytesToFloats", "len(dst)", func() { BytesToFloats(y, make([]uint8, 9), 1, 0) }},
		{"SGD g", "len(g)", func() { SGD{LR: 1}.Step(y, b, nil, false) }},
		{"SGD buf", "len(buf)", func() { SGD{LR: 1, Momentum: 0.9}.Step(y, y, b, false) }},
		{"Adam m", "len(m)", func() { DefaultAdam().Step(y, y, b, y, 1) }},
		{"Adam v", "len(v)", func() { DefaultAdam().Step(y, y, y, b, 1) }},
		{"Adam step", "step 0", func() { DefaultAdam().Step(y, y, y, y, 0) }},
	}
	for _, c := range cases {
		func() {
			defer func() {
				msg := fmt.Sprint(recover())
				if !strings.Contains(msg, c.want) {
					t.Errorf("%s: panic %q, want one containing %q", c.name, msg, c.want)
				}
			}()
			c.f()
		}()
	}
	// Empty shapes are no-ops, except that db is cleared.
	db := []float32{1, 2}
	ColumnSums(db, nil, 0, 2)
	ReLUDropoutBackward(nil, nil, 0, 2, 1, db)
	if db[0] != 0 || db[1] != 0 {
		t.Errorf("ColumnSums of no rows: %v", db)
	}
	Bias(nil, 0, 1, nil)
	BytesToFloats(nil, nil, 1, 0)
	SGD{LR: 1}.Step(nil, nil, nil, true)
	DefaultAdam().Step(nil, nil, nil, nil, 1)
	if l, c := SoftmaxCrossEntropy(nil, 0, 10, 10, nil, nil, 10); l != 0 || c != 0 {
		t.Errorf("SoftmaxCrossEntropy of no rows: %v, %d", l, c)
	}
}

// elemCalls returns one call of every element-wise kernel on the network's
// shapes, for the allocation test and the benchmarks, with the bytes each
// moves.
func elemCalls() []struct {
	name  string
	bytes int64
	f     func()
} {
	const batch, hidden, in, classes = 64, 256, 784, 10
	r := rand.New(rand.NewPCG(21, 22))
	rnd := func(n int) []float32 {
		s := make([]float32, n)
		for i := range s {
			s[i] = float32(r.NormFloat64())
		}
		return s
	}
	y, dy, b, db := rnd(batch*hidden), rnd(batch*hidden), rnd(hidden), rnd(hidden)
	logits, grad, labels := rnd(batch*classes), rnd(batch*classes), randLabels(r, batch, classes)
	px := make([]uint8, batch*in)
	xs := rnd(batch * in)
	w, gw, s1, s2 := rnd(in*hidden), rnd(in*hidden), rnd(in*hidden), rnd(in*hidden)
	for i := range s2 {
		s2[i] = float32(math.Abs(float64(s2[i])))
	}
	d := NewDropout(0.2, 1, 2, 3)
	mat := int64(4 * batch * hidden)
	return []struct {
		name  string
		bytes int64
		f     func()
	}{
		{"Bias", 2 * mat, func() { Bias(y, batch, hidden, b) }},
		{"BiasReLU", 2 * mat, func() { BiasReLU(y, batch, hidden, b) }},
		{"BiasReLUDropout", 2 * mat, func() { BiasReLUDropout(y, batch, hidden, b, d) }},
		{"ReLUDropoutBackward", 3 * mat, func() { ReLUDropoutBackward(dy, y, batch, hidden, d.Scale, db) }},
		{"ColumnSums", mat, func() { ColumnSums(db, y, batch, hidden) }},
		{"SoftmaxCrossEntropy", 8 * batch * classes, func() { SoftmaxCrossEntropy(logits, batch, classes, classes, labels, grad, classes) }},
		{"BytesToFloats", 5 * batch * in, func() { BytesToFloats(xs, px, 1.0/255, 0) }},
		{"SGD", 4 * 5 * in * hidden, func() { SGD{LR: 0.01, Momentum: 0.9, WeightDecay: 1e-4}.Step(w, gw, s1, false) }},
		{"Adam", 4 * 7 * in * hidden, func() { DefaultAdam().Step(w, gw, s1, s2, 10) }},
	}
}

func TestElementwiseAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	forEachImpl(t, func(t *testing.T, _ string) {
		for _, th := range []int{1, 2} {
			restore := SetThreads(th)
			for _, c := range elemCalls() {
				if a := allocsPerRun(10, c.f); a != 0 {
					t.Errorf("%s threads=%d allocates %v times per call", c.name, th, a)
				}
			}
			restore()
		}
	})
}

// TestOptimizerThreads: an update large enough to be split across threads
// gives the same bits as on one, for every split (stripe edges inside and
// between vectors, tails), on every path.
func TestOptimizerThreads(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(max(4, runtime.GOMAXPROCS(0))))
	forEachImpl(t, func(t *testing.T, _ string) {
		rng := rand.New(rand.NewPCG(41, 42))
		st := optimizerState(rng)
		for _, n := range []int{2*minElemsPerThread - 1, 2 * minElemsPerThread, 3*minElemsPerThread + 17} {
			p0, g := newVec(n, 0).fill(st), newVec(n, 0).fill(st)
			s10 := newVec(n, 0).fill(st)
			s20 := newVec(n, 0).fill(func() float32 { return float32(math.Abs(float64(st()))) })
			type result struct{ p, s1, s2 []float32 }
			step := func(threads int, f func(p, s1, s2 []float32)) result {
				defer SetThreads(threads)()
				r := result{p0.clone().data(), s10.clone().data(), s20.clone().data()}
				f(r.p, r.s1, r.s2)
				return r
			}
			updates := map[string]func(p, s1, s2 []float32){
				"sgd":      func(p, _, _ []float32) { SGD{LR: 0.01}.Step(p, g.data(), nil, false) },
				"momentum": func(p, s1, _ []float32) { SGD{LR: 0.01, Momentum: 0.9, Nesterov: true}.Step(p, g.data(), s1, false) },
				"adam":     func(p, s1, s2 []float32) { DefaultAdam().Step(p, g.data(), s1, s2, 3) },
				"adamw":    func(p, s1, s2 []float32) { adamConfigs[2].Step(p, g.data(), s1, s2, 3) },
			}
			for name, f := range updates {
				want := step(1, f)
				for _, th := range []int{2, 3, 4} {
					got := step(th, f)
					what := fmt.Sprintf("%s n=%d threads=%d", name, n, th)
					requireSameBits(t, want.p, got.p, what+" p")
					requireSameBits(t, want.s1, got.s1, what+" state 1")
					requireSameBits(t, want.s2, got.s2, what+" state 2")
				}
			}
		}
	})
}

func BenchmarkElementwise(b *testing.B) {
	for _, c := range elemCalls() {
		b.Run(c.name, func(b *testing.B) {
			forEachImplB(b, func(b *testing.B) {
				b.SetBytes(c.bytes)
				b.ReportAllocs()
				for b.Loop() {
					c.f()
				}
			})
		})
	}
}

// FuzzElementwise runs a kernel chosen by the input, on a shape and values
// taken from it, on every assembly path and on the generic one, and compares
// the results (NaNs compare equal whatever their payloads, which no path
// specifies).
func FuzzElementwise(f *testing.F) {
	f.Add([]byte{0, 2, 17, 1, 0x3f, 0x80, 0, 0, 0xbf, 0x80, 0, 0})
	f.Add([]byte{2, 3, 33, 2, 0x7f, 0xc0, 0, 0, 0x41, 0x20, 0, 0, 0x80, 0, 0, 0})
	f.Add([]byte{3, 3, 21, 1, 0, 0, 0x80, 0x3f, 0, 0, 0, 0, 0, 0, 0x80, 0xbf})
	f.Add([]byte{5, 1, 10, 0, 0x42, 0xc8, 0, 0, 0xc2, 0xc8, 0, 0, 1, 2, 3})
	f.Add([]byte{8, 2, 39, 1, 0x00, 0x00, 0x80, 0x00, 0x3c, 0x23, 0xd7, 0x0a})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) < 4 {
			return
		}
		kernel, rows, cols, extra := data[0]%9, int(data[1]%4), int(data[2]%40), int(data[3]%3)
		ld := max(cols+extra, 1)
		src := data[4:]
		val := func(i int) float32 {
			if len(src) < 4 {
				return float32(i%7) - 3
			}
			k := 4 * i % (len(src) - 3)
			return math.Float32frombits(uint32(src[k]) | uint32(src[k+1])<<8 | uint32(src[k+2])<<16 | uint32(src[k+3])<<24)
		}
		nm := matLen(rows, cols, ld)
		operand := func(n, seed int) []float32 {
			s := make([]float32, n)
			for i := range s {
				s[i] = val(7*i + seed)
			}
			return s
		}
		in := [][]float32{operand(nm, 0), operand(nm, 1), operand(nm, 2), operand(nm, 3), operand(cols, 4)}
		for i, w := range in[3] {
			in[3][i] = float32(math.Abs(float64(w)))
		}
		labels := make([]uint8, rows)
		for i := range labels {
			labels[i] = data[(4+i)%len(data)] % uint8(max(cols, 1))
		}
		pixels := make([]uint8, nm)
		for i := range pixels {
			pixels[i] = data[i%len(data)]
		}
		d := NewDropout(float64(data[1])/256, uint64(data[2]), uint64(data[3]), 1)
		sgd := sgdConfigs[int(data[1])%len(sgdConfigs)]
		adam := adamConfigs[int(data[2])%len(adamConfigs)]
		call := func(a [][]float32) (loss float64, correct int) {
			x, y, z, w, v := a[0], a[1], a[2], a[3], a[4]
			switch kernel {
			case 0:
				Bias(x, rows, ld, v)
			case 1:
				BiasReLU(x, rows, ld, v)
			case 2:
				BiasReLUDropout(x, rows, ld, v, d)
			case 3:
				ReLUDropoutBackward(x, y, rows, ld, 1.25, v)
			case 4:
				ColumnSums(v, x, rows, ld)
			case 5:
				if cols > 0 {
					return SoftmaxCrossEntropy(x, rows, cols, ld, labels, y, ld)
				}
			case 6:
				BytesToFloats(x, pixels, val(5), val(6))
			case 7:
				sgd.Step(x, y, z, data[0]&16 != 0)
			case 8:
				adam.Step(x, y, z, w, 1+int(data[3]))
			}
			return loss, correct
		}
		clone := func() [][]float32 {
			c := make([][]float32, len(in))
			for i, s := range in {
				c[i] = append([]float32(nil), s...)
			}
			return c
		}
		want := clone()
		var wantLoss float64
		var wantCorrect int
		withGeneric(func() { wantLoss, wantCorrect = call(want) })
		for _, name := range Available()[1:] {
			restore, err := Use(name)
			if err != nil {
				t.Fatal(err)
			}
			got := clone()
			loss, correct := call(got)
			restore()
			if !sameLoss(loss, wantLoss) || correct != wantCorrect {
				t.Fatalf("%s kernel %d: loss, correct = %v, %d; generic %v, %d", name, kernel, loss, correct, wantLoss, wantCorrect)
			}
			for i := range got {
				for j := range got[i] {
					g, w := got[i][j], want[i][j]
					if math.Float32bits(g) != math.Float32bits(w) && !(g != g && w != w) {
						t.Fatalf("%s kernel %d rows=%d cols=%d ld=%d: operand %d element %d = %v (%#08x), generic %v (%#08x)",
							name, kernel, rows, cols, ld, i, j, g, math.Float32bits(g), w, math.Float32bits(w))
					}
				}
			}
		}
	})
}
