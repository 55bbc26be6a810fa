package kernels

import "fmt"

// PackedB holds a k×n matrix in the panel layout the GEMM kernels read:
// panels of 32 columns, each k rows of 32 contiguous floats (the last panel
// zero-padded). Packing a matrix once and updating it in place spares a
// product the repacking of an operand that changes only element by element,
// such as a layer's weights.
type PackedB struct {
	k, n int
	data []float32
}

// NewPackedB returns a zero k×n packed matrix.
func NewPackedB(k, n int) *PackedB {
	if k < 0 || n < 0 {
		panic(fmt.Sprintf("kernels: negative size %d×%d for PackedB", k, n))
	}
	panels := (n + packWidth - 1) / packWidth
	return &PackedB{k: k, n: n, data: make([]float32, panels*k*packWidth)}
}

// K returns the number of rows.
func (p *PackedB) K() int { return p.k }

// N returns the number of columns.
func (p *PackedB) N() int { return p.n }

// Data returns the packed storage, for element-wise updates (an optimizer
// step) that treat every element alike. Padding elements are zero and stay
// zero under any update that maps 0 to 0 with a zero gradient.
func (p *PackedB) Data() []float32 { return p.data }

// index returns the position of element (i, j) in Data.
func (p *PackedB) index(i, j int) int {
	return (j/packWidth)*p.k*packWidth + i*packWidth + j%packWidth
}

// At returns element (i, j).
func (p *PackedB) At(i, j int) float32 { return p.data[p.index(i, j)] }

// Set sets element (i, j).
func (p *PackedB) Set(i, j int, v float32) { p.data[p.index(i, j)] = v }

// Pack sets the matrix to op(B), a k×n matrix stored with row distance ldb.
func (p *PackedB) Pack(op Op, b []float32, ldb int) {
	checkMatrix("B", op, p.k, p.n, b, ldb)
	if p.k == 0 {
		return
	}
	im := active.Load()
	for j0 := 0; j0 < p.n; j0 += packWidth {
		cols := min(packWidth, p.n-j0)
		packPanel(im, p.data[(j0/packWidth)*p.k*packWidth:][:p.k*packWidth], op, b, ldb, 0, p.k, j0, cols)
	}
}

// Unpack writes op⁻¹ of the matrix into dst: with NoTrans dst becomes the
// k×n matrix, with Trans its n×k transpose, rows ld apart.
func (p *PackedB) Unpack(op Op, dst []float32, ld int) {
	checkMatrix("dst", op, p.k, p.n, dst, ld)
	for i := 0; i < p.k; i++ {
		for j := 0; j < p.n; j++ {
			v := p.data[p.index(i, j)]
			if op == NoTrans {
				dst[i*ld+j] = v
			} else {
				dst[j*ld+i] = v
			}
		}
	}
}

// PackedBOf views data, in the layout of Data, as a k×n packed matrix (it
// panics unless len(data) is the packed size), so optimizer state kept
// beside packed weights can be unpacked the same way.
func PackedBOf(k, n int, data []float32) *PackedB {
	panels := (n + packWidth - 1) / packWidth
	if k < 0 || n < 0 || len(data) != panels*k*packWidth {
		panic(fmt.Sprintf("kernels: %d values are not a packed %d×%d matrix (%d)", len(data), k, n, panels*k*packWidth))
	}
	return &PackedB{k: k, n: n, data: data}
}
