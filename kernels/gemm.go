package kernels

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
)

// Op says how a GEMM operand is used: as stored, or transposed.
type Op uint8

const (
	NoTrans Op = iota // use the matrix as stored
	Trans             // use its transpose
)

func (o Op) String() string {
	if o == Trans {
		return "T"
	}
	return "N"
}

// Gemm computes C = alpha·op(A)·op(B) + beta·C on row-major float32
// matrices, with BLAS semantics: op(A) is m×k, op(B) is k×n, C is m×n; lda,
// ldb and ldc are the distances between rows as stored. beta = 0 overwrites
// C without reading it, and alpha = 0 leaves A and B unread.
// It allocates nothing once warm and splits large products across
// Threads() goroutines with a result independent of the thread count.
// It panics, like a BLAS, on negative sizes or operands too short for them.
func Gemm(tA, tB Op, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	checkMatrix("A", tA, m, k, a, lda)
	checkMatrix("B", tB, k, n, b, ldb)
	checkMatrix("C", NoTrans, m, n, c, ldc)
	g := gemmArgs{tA: tA, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda,
		b: operandB{op: tB, data: b, ld: ldb}, beta: beta, c: outC{data: c, ld: ldc}}
	g.run()
}

// GemmPacked computes C = alpha·op(A)·B + beta·C where B (k×n) is held in
// packed form, so that a matrix used by many products (a layer's weights) is
// packed once instead of on every call. m is the number of rows of op(A).
func GemmPacked(tA Op, m int, alpha float32, a []float32, lda int, b *PackedB, beta float32, c []float32, ldc int) {
	checkMatrix("A", tA, m, b.k, a, lda)
	checkMatrix("C", NoTrans, m, b.n, c, ldc)
	g := gemmArgs{tA: tA, m: m, n: b.n, k: b.k, alpha: alpha, a: a, lda: lda,
		b: operandB{packed: b}, beta: beta, c: outC{data: c, ld: ldc}}
	g.run()
}

// GemmPackedT computes C = alpha·op(A)·Pᵀ + beta·C where P (n×k as
// packed, so Pᵀ is k×n) is a packed matrix: the backward product of a layer
// whose weights are kept packed for the forward one. It packs Pᵀ on every
// call, which pays for the small matrices it is meant for.
func GemmPackedT(tA Op, m int, alpha float32, a []float32, lda int, p *PackedB, beta float32, c []float32, ldc int) {
	n, k := p.k, p.n
	checkMatrix("A", tA, m, k, a, lda)
	checkMatrix("C", NoTrans, m, n, c, ldc)
	g := gemmArgs{tA: tA, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda,
		b: operandB{packedT: p}, beta: beta, c: outC{data: c, ld: ldc}}
	g.run()
}

// GemmToPacked computes C = alpha·op(A)·op(B) + beta·C where C is a PackedB
// (C.K()×C.N()) and k is the inner dimension: the gradient of a packed weight
// matrix is produced directly in the layout of the weights.
func GemmToPacked(tA, tB Op, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c *PackedB) {
	m, n := c.k, c.n
	checkMatrix("A", tA, m, k, a, lda)
	checkMatrix("B", tB, k, n, b, ldb)
	g := gemmArgs{tA: tA, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda,
		b: operandB{op: tB, data: b, ld: ldb}, beta: beta,
		c: outC{data: c.data, ld: packWidth, panelStride: m * packWidth}}
	g.run()
}

// checkMatrix panics unless data holds an r×c matrix op(X) stored with row
// distance ld.
func checkMatrix[T float32 | uint8](name string, op Op, r, c int, data []T, ld int) {
	if r < 0 || c < 0 {
		panic(fmt.Sprintf("kernels: negative size %d×%d for %s", r, c, name))
	}
	if op == Trans {
		r, c = c, r
	}
	if ld < max(1, c) {
		panic(fmt.Sprintf("kernels: leading dimension %d of %s is less than its row length %d", ld, name, c))
	}
	if r > 0 && c > 0 && len(data) < (r-1)*ld+c {
		panic(fmt.Sprintf("kernels: %s holds %d elements, a %d×%d matrix with leading dimension %d needs %d",
			name, len(data), r, c, ld, (r-1)*ld+c))
	}
}

// operandB is op(B): a packed matrix, the transpose of one, or a plain one.
type operandB struct {
	packed  *PackedB
	packedT *PackedB
	op      Op
	data    []float32
	ld      int
}

// outC addresses C: row-major (panelStride 0), or packed in panels of
// packWidth columns, panelStride apart, with rows ld = packWidth apart.
type outC struct {
	data        []float32
	ld          int
	panelStride int
}

func (c *outC) at(i, j int) int {
	if c.panelStride == 0 {
		return i*c.ld + j
	}
	return (j/packWidth)*c.panelStride + i*c.ld + j%packWidth
}

type gemmArgs struct {
	tA          Op
	m, n, k     int
	alpha, beta float32
	a           []float32
	// a8, when set, replaces a: bytes converted as a8·aScale + aOffset
	// while A blocks are packed.
	a8              []uint8
	aScale, aOffset float32
	lda             int
	b               operandB
	c               outC
}

func (g *gemmArgs) run() {
	g.announceRace()
	if g.m == 0 || g.n == 0 {
		return
	}
	if g.k == 0 || g.alpha == 0 {
		g.scaleC()
		return
	}
	im := active.Load()
	parts, byCols := g.split(im)
	if parts == 1 {
		w := getWorkspace()
		if g.narrow(im) {
			w.narrowGemm(im, g)
		} else {
			w.gemm(im, g, 0, g.m, 0, g.n)
		}
		putWorkspace(w)
		return
	}
	workers.run(im, g, parts, byCols)
}

// scaleC sets C = beta·C (beta 0: zero, whatever C held).
func (g *gemmArgs) scaleC() {
	if g.beta == 1 {
		return
	}
	for i := 0; i < g.m; i++ {
		for j := 0; j < g.n; j++ {
			x := &g.c.data[g.c.at(i, j)]
			if g.beta == 0 {
				*x = 0
			} else {
				*x *= g.beta
			}
		}
	}
}

// Threads returns how many goroutines a large product or optimizer update
// (SGD.Step, Adam.Step) may be split across; no split uses more than
// GOMAXPROCS.
func Threads() int {
	if t := int(threads.Load()); t > 0 {
		return t
	}
	return runtime.GOMAXPROCS(0)
}

// SetThreads sets how many goroutines a large product or optimizer update
// is split across (0: GOMAXPROCS; more than GOMAXPROCS counts as GOMAXPROCS)
// and returns a function that restores the previous setting. Results are
// bit-for-bit the same for every setting.
func SetThreads(n int) (restore func()) {
	prev := threads.Swap(int32(max(n, 0)))
	return func() { threads.Store(prev) }
}

var threads atomic.Int32

// parallelism is how many goroutines work worth units threads' minimum
// share is split across: at most Threads(), and at most GOMAXPROCS (more
// goroutines than Ps would poll for Ps; see pool).
func parallelism(units int) int {
	t := min(Threads(), units)
	if t > 1 {
		t = min(t, runtime.GOMAXPROCS(0))
	}
	return max(t, 1)
}

// minFlopsPerThread keeps small products on one goroutine, where waking
// another costs more than it saves.
const minFlopsPerThread = 1 << 20

// smallA is the most elements of A for which split prefers column stripes:
// a training batch of up to 128 rows of 784.
const smallA = 128 * 784

// split chooses how many stripes of C to compute in parallel, and whether
// they are column stripes (else row stripes). Stripe edges fall on multiples
// of the packed panel width or of MR. Every C element is computed by the
// same sequence of FMAs (k blocks of kc, k in order within each) whatever
// the tile that holds it, so the result does not depend on the split.
func (g *gemmArgs) split(im *impl) (parts int, byCols bool) {
	flops := 2 * float64(g.m) * float64(g.n) * float64(g.k)
	if flops < 2*minFlopsPerThread {
		// Spares small products Threads (GOMAXPROCS takes a lock).
		return 1, false
	}
	t := parallelism(int(flops / minFlopsPerThread))
	if t <= 1 {
		return 1, false
	}
	colPanels := (g.n + packWidth - 1) / packWidth
	rowPanels := (g.m + im.mr - 1) / im.mr
	// Column stripes when A is small and the column panels go round
	// evenly: each goroutine then reads only its own panels of a packed B
	// and writes only its own panels of a packed C, the parts of the tensors
	// that an optimizer update split the same way (elemTask.start) touches
	// on the same core, so weights and gradients stay in that core's cache
	// (a B = 16 training step on two threads: 85 → 57 µs). Each goroutine
	// packs all of A, which made an evaluation batch of 1000 rows (A 784 k
	// floats) 20% slower than row stripes.
	if colPanels%t == 0 && g.m*g.k <= smallA || colPanels >= rowPanels {
		return min(t, colPanels), true
	}
	return min(t, rowPanels), false
}

// stripe returns the bounds of stripe s of parts over total items in units
// of unit.
func stripe(s, parts, total, unit int) (lo, hi int) {
	units := (total + unit - 1) / unit
	lo = min(total, s*units/parts*unit)
	hi = min(total, (s+1)*units/parts*unit)
	return lo, hi
}

// workspace holds one goroutine's packing buffers, sized once for every path.
type workspace struct {
	a, b []float32
	tile []float32
	conv []float32 // an A block of byte inputs, converted, before packing
}

var wsSize = func() (a, b, tile int) {
	for _, im := range impls {
		a = max(a, im.mc*im.kc)
		b = max(b, im.kc*((im.nc+packWidth-1)/packWidth*packWidth))
		tile = max(tile, im.mr*im.nr)
	}
	return
}

func newWorkspace() *workspace {
	a, b, t := wsSize()
	return &workspace{a: make([]float32, a+packSlack), b: make([]float32, b), tile: make([]float32, t),
		conv: make([]float32, a)}
}

// lastWorkspace holds one free workspace, taken and returned without the
// lock of freeWorkspaces, which holds the others.
var lastWorkspace atomic.Pointer[workspace]

var freeWorkspaces struct {
	sync.Mutex
	list []*workspace
}

func getWorkspace() *workspace {
	if w := lastWorkspace.Swap(nil); w != nil {
		return w
	}
	f := &freeWorkspaces
	f.Lock()
	if n := len(f.list); n > 0 {
		w := f.list[n-1]
		f.list = f.list[:n-1]
		f.Unlock()
		return w
	}
	f.Unlock()
	return newWorkspace()
}

func putWorkspace(w *workspace) {
	if lastWorkspace.CompareAndSwap(nil, w) {
		return
	}
	f := &freeWorkspaces
	f.Lock()
	f.list = append(f.list, w)
	f.Unlock()
}

// gemm computes the block C[i0:i1, j0:j1] in the Goto/BLIS loop order:
// B blocks kc×nc (packed once, reused by every A block, or read in place:
// see directB), A blocks mc×kc (packed, L2-resident), then the register
// tiles.
func (w *workspace) gemm(im *impl, g *gemmArgs, i0, i1, j0, j1 int) {
	mr, nr := im.mr, im.nr
	// Blocks of A rows: as few as mc allows, of even sizes in whole
	// micro-panels (100 rows: 56+44, not 98+2).
	blocks := (i1 - i0 + im.mc - 1) / im.mc
	mcb := ((i1-i0+blocks-1)/blocks + mr - 1) / mr * mr
	for jc := j0; jc < j1; jc += im.nc {
		nc := min(im.nc, j1-jc)
		for pc := 0; pc < g.k; pc += im.kc {
			kc := min(im.kc, g.k-pc)
			beta := g.beta
			if pc > 0 {
				beta = 1
			}
			// Column jc+j of this B block starts at bBase +
			// (j/packWidth)*bPanel + j%packWidth; rows are bLd apart.
			var bData []float32
			var bBase, bPanel int
			bLd := packWidth
			// tail: the first column (from jc) of a partial tile whose B
			// columns are read from a packed panel in w.b instead of
			// bData; nc when there is none.
			tail := nc
			if g.directB(im) {
				// The kernels read op(B) = B in place, rows ldb apart.
				bData, bBase, bPanel, bLd = g.b.data, pc*g.b.ld+jc, packWidth, g.b.ld
				// A partial tile reads up to nr floats of each row: its
				// last row may reach past B, so such a tile reads a packed
				// copy of its columns.
				if t := nc / nr * nr; t < nc && (pc+kc-1)*g.b.ld+jc+t+nr > len(g.b.data) {
					tail = t
					packPanel(im, w.b, NoTrans, g.b.data, g.b.ld, pc, kc, jc+t, nc-t)
				}
			} else if pb := g.b.packed; pb != nil {
				bData, bBase, bPanel = pb.data, (jc/packWidth)*pb.k*packWidth+pc*packWidth, pb.k*packWidth
			} else if pt := g.b.packedT; pt != nil {
				packBFromPackedT(im, w.b, pt, pc, kc, jc, nc)
				bData, bBase, bPanel = w.b, 0, kc*packWidth
			} else {
				packB(im, w.b, g.b.op, g.b.data, g.b.ld, pc, kc, jc, nc)
				bData, bBase, bPanel = w.b, 0, kc*packWidth
			}
			for ic := i0; ic < i1; ic += mcb {
				mc := min(mcb, i1-ic)
				// Micro-panels of h ≤ mr rows, as even as their count
				// allows: a tile of few rows is bound by FMA latency,
				// not throughput (14+2 rows take longer than 8+8).
				panels := (mc + mr - 1) / mr
				h := (mc + panels - 1) / panels
				if g.a8 != nil {
					src, ld := w.convertA(im, g, ic, mc, pc, kc)
					packA(im, w.a, g.tA, src, ld, 0, mc, 0, kc, mr, h)
				} else {
					packA(im, w.a, g.tA, g.a, g.lda, ic, mc, pc, kc, mr, h)
				}
				for jr := 0; jr < nc; jr += nr {
					cols := min(nr, nc-jr)
					bd, bOff, ldb := bData, bBase+(jr/packWidth)*bPanel+jr%packWidth, bLd
					if jr >= tail {
						bd, bOff, ldb = w.b, 0, packWidth
					}
					for ir := 0; ir < mc; ir += h {
						rows := min(h, mc-ir)
						aPanel := &w.a[(ir/h)*kc*mr]
						ci := g.c.at(ic+ir, jc+jr)
						if cols == nr {
							im.kernel(rows, kc, aPanel, &bd[bOff], ldb, &g.c.data[ci], g.c.ld, g.alpha, beta)
							continue
						}
						if im.edge != nil {
							im.edge(rows, cols, kc, aPanel, &bd[bOff], ldb, &g.c.data[ci], g.c.ld, g.alpha, beta)
							continue
						}
						// Edge tile: compute a whole tile aside, then merge
						// the columns that exist.
						im.kernel(rows, kc, aPanel, &bd[bOff], ldb, &w.tile[0], nr, 1, 0)
						for i := 0; i < rows; i++ {
							row := g.c.data[g.c.at(ic+ir+i, jc+jr):][:cols]
							t := w.tile[i*nr : i*nr+cols]
							if beta == 0 {
								for j := range row {
									row[j] = g.alpha * t[j]
								}
							} else {
								for j := range row {
									row[j] = g.alpha*t[j] + beta*row[j]
								}
							}
						}
					}
				}
			}
		}
	}
}

// narrowWidth is the widest block of columns a narrow kernel computes.
const narrowWidth = 16

// narrowMaxRows is the most rows of a product wider than narrowWidth that
// takes the narrow kernel (see narrow): beyond it, the rows past a multiple
// of 16 (whose blocks cost a whole 16-row block) and the B traffic outweigh
// packing B once.
const narrowMaxRows = 64

// narrow reports whether the product takes the path's narrow kernel:
// op(B) = Bᵀ read in place, C row-major, and either at most narrowWidth
// columns (where the tile kernels waste lanes) or few rows (where packing
// B costs more than reading it as broadcasts). Every element is the same
// FMA chain per kc block as on the tile kernels, so the results are the
// same bit for bit. Measured on Zen 4 (avx512, one thread), against the
// tile kernels: m×10×64 NT m = 16 1.65×, 64 1.5–1.75×, 100 1.3–1.4×,
// 1000 1.45×; 16×128×784 NT 1.28×, 16×64×128 1.26×, 32×64×128 1.15×,
// 64×64×128 1.07×, 64×128×784 1.03×; 100×64×128 0.93× (hence
// narrowMaxRows).
func (g *gemmArgs) narrow(im *impl) bool {
	if im.narrow == nil || g.b.op != Trans || g.b.packed != nil || g.b.packedT != nil ||
		g.a8 != nil || g.c.panelStride != 0 {
		return false
	}
	// B is read once per 16 rows: keep it to what the caches hold.
	if g.n*g.k > narrowMaxB {
		return false
	}
	return g.n <= narrowWidth || g.m <= narrowMaxRows
}

// narrowMaxB is the most elements of B (n×k) the narrow kernel reads in
// place, 1 MiB: the size of L2 on the CPUs it was measured on.
const narrowMaxB = 1 << 18

// narrowGemm computes the product with the narrow kernel: op(A) packed
// transposed 32 rows by kc at a time (packWidth-wide rows, as a B panel),
// then blocks of 16 rows by narrowWidth columns, B read in place.
func (w *workspace) narrowGemm(im *impl, g *gemmArgs) {
	// The packing op for op(A)ᵀ panels: op(A) = A is stored by rows, so it
	// is transposed; op(A) = Aᵀ is a straight copy.
	op := Trans
	if g.tA == Trans {
		op = NoTrans
	}
	for i0 := 0; i0 < g.m; i0 += packWidth {
		rows := min(packWidth, g.m-i0)
		for pc := 0; pc < g.k; pc += im.kc {
			kc := min(im.kc, g.k-pc)
			beta := g.beta
			if pc > 0 {
				beta = 1
			}
			d := w.a[:kc*packWidth]
			packPanel(im, d, op, g.a, g.lda, pc, kc, i0, rows)
			for j0 := 0; j0 < g.n; j0 += narrowWidth {
				for h := 0; h < rows; h += narrowWidth {
					im.narrow(min(narrowWidth, rows-h), min(narrowWidth, g.n-j0), kc, &d[h],
						&g.b.data[j0*g.b.ld+pc], g.b.ld, &g.c.data[(i0+h)*g.c.ld+j0], g.c.ld, g.alpha, beta)
				}
			}
		}
	}
}

// directB reports whether the kernels read op(B) in place instead of from
// packed panels: op(B) = B (not packed, not transposed), whose rows hold
// the contiguous floats a kernel reads of a packed row. Measured on Zen 4,
// one thread, this beats packing at every network shape, on either path
// (16x128x64_NN 1.6×, 10x64x16_TN 1.5×, the others 1–25%), and at
// 1000x128x64_NN, 128x784x1000_TN. It loses where rows 1 KiB apart or a
// multiple of it map to few L1 sets and many row panels of A reuse each
// B panel (1024³ NN, AVX2: 20% slower), where B is packed as before.
func (g *gemmArgs) directB(im *impl) bool {
	if g.b.packed != nil || g.b.packedT != nil || g.b.op != NoTrans {
		return false
	}
	return g.b.ld%256 != 0 || g.m <= 8*im.mr
}

// announceRace tells the race detector what the product reads and writes,
// which it cannot see inside the assembly (a no-op without -race).
func (g *gemmArgs) announceRace() {
	if !raceEnabled || g.m == 0 || g.n == 0 {
		return
	}
	extent := func(op Op, r, c, ld int) int {
		if op == Trans {
			r, c = c, r
		}
		if r == 0 || c == 0 {
			return 0
		}
		return (r-1)*ld + c
	}
	if g.alpha != 0 {
		if g.a8 != nil {
			raceRead(g.a8[:extent(g.tA, g.m, g.k, g.lda)])
		} else {
			raceRead(g.a[:extent(g.tA, g.m, g.k, g.lda)])
		}
		switch {
		case g.b.packed != nil:
			raceRead(g.b.packed.data)
		case g.b.packedT != nil:
			raceRead(g.b.packedT.data)
		default:
			raceRead(g.b.data[:extent(g.b.op, g.k, g.n, g.b.ld)])
		}
	}
	if g.c.panelStride != 0 {
		raceWrite(g.c.data)
	} else {
		raceWrite(g.c.data[:extent(NoTrans, g.m, g.n, g.c.ld)])
	}
}

// convertA converts the block op(A)[i0:i0+mc, p0:p0+kc] of byte inputs to
// float32 in w.conv, with the element-wise kernel of BytesToFloats, and
// returns it as a stored matrix (the same op) with its row distance.
func (w *workspace) convertA(im *impl, g *gemmArgs, i0, mc, p0, kc int) ([]float32, int) {
	conv := im.elem.bytesToFloats
	if g.tA == NoTrans {
		for i := 0; i < mc; i++ {
			conv(w.conv[i*kc:(i+1)*kc], g.a8[(i0+i)*g.lda+p0:][:kc], g.aScale, g.aOffset)
		}
		return w.conv[:mc*kc], kc
	}
	for p := 0; p < kc; p++ {
		conv(w.conv[p*mc:(p+1)*mc], g.a8[(p0+p)*g.lda+i0:][:mc], g.aScale, g.aOffset)
	}
	return w.conv[:kc*mc], mc
}

// GemmPackedBytes is GemmPacked with A given as bytes (pixels), each
// converted to float32 as a·scale + offset (the product rounded first, as
// BytesToFloats does) while A is packed: a data set can stay in memory as
// bytes and no converted copy of it is made. The result equals GemmPacked
// on BytesToFloats(a) bit for bit. (The mlp package converts each batch
// once instead: a training batch feeds two products, and converting it
// inside both packings measured 6 % slower per B = 16 step.)
func GemmPackedBytes(tA Op, m int, alpha float32, a []uint8, lda int, scale, offset float32, b *PackedB, beta float32, c []float32, ldc int) {
	checkMatrix("A", tA, m, b.k, a, lda)
	checkMatrix("C", NoTrans, m, b.n, c, ldc)
	g := gemmArgs{tA: tA, m: m, n: b.n, k: b.k, alpha: alpha, a8: a, aScale: scale, aOffset: offset, lda: lda,
		b: operandB{packed: b}, beta: beta, c: outC{data: c, ld: ldc}}
	g.run()
}

// GemmToPackedBytes is GemmToPacked with A given as bytes, converted as in
// GemmPackedBytes: the weight gradient of a first layer fed with pixels.
func GemmToPackedBytes(tA, tB Op, k int, alpha float32, a []uint8, lda int, scale, offset float32, b []float32, ldb int, beta float32, c *PackedB) {
	m, n := c.k, c.n
	checkMatrix("A", tA, m, k, a, lda)
	checkMatrix("B", tB, k, n, b, ldb)
	g := gemmArgs{tA: tA, m: m, n: n, k: k, alpha: alpha, a8: a, aScale: scale, aOffset: offset, lda: lda,
		b: operandB{op: tB, data: b, ld: ldb}, beta: beta,
		c: outC{data: c.data, ld: packWidth, panelStride: m * packWidth}}
	g.run()
}
