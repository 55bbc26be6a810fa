package kernels

// Packing of the GEMM operands into the layouts the micro-kernels read.
// The transposing packs (op(B) = Bᵀ into B panels, op(A) = A into A
// micro-panels) gather one float from each of many rows per packed row;
// paths with assembly for them set impl.packBT and impl.packAN, whose
// generic twins are packBTGeneric and packANGeneric. The straight copies
// (op(B) = B, op(A) = Aᵀ) are Go copies, except that paths with assembly
// for the latter set impl.packAT (generic twin packATGeneric); op(B) = B is
// mostly read in place (see directB).

// packTransposer packs rows of a stored matrix transposed: see
// packBTGeneric and packANGeneric for the contract.
type packTransposer func(dst, src *float32, ld, kc, n int)

// packSlack is the number of floats past a packed A block that packA may
// overwrite (an assembly packAN stores whole vectors); workspaces reserve it.
const packSlack = 16

// packBTGeneric is the generic twin of the packBT assembly: one panel of
// packWidth columns of op(B) = Bᵀ, from cols rows of the stored matrix:
//
//	for p < kc, j < packWidth:
//	  dst[p*packWidth+j] = src[j*ld+p] if j < cols, else 0
func packBTGeneric(dst, src []float32, ld, kc, cols int) {
	for j := 0; j < cols; j++ {
		row := src[j*ld:][:kc]
		for p, v := range row {
			dst[p*packWidth+j] = v
		}
	}
	if cols < packWidth {
		for p := 0; p < kc; p++ {
			clear(dst[p*packWidth+cols : p*packWidth+packWidth])
		}
	}
}

// packANGeneric is the generic twin of the packAN assembly: one
// micro-panel of mr rows of op(A) = A, from rows rows of the stored matrix:
//
//	for p < kc, i < mr:
//	  dst[p*mr+i] = src[i*ld+p] if i < rows, else 0
func packANGeneric(dst, src []float32, ld, kc, rows, mr int) {
	for i := 0; i < rows; i++ {
		row := src[i*ld:][:kc]
		for p, v := range row {
			dst[p*mr+i] = v
		}
	}
	if rows < mr {
		for p := 0; p < kc; p++ {
			clear(dst[p*mr+rows : p*mr+mr])
		}
	}
}

// packA copies op(A)[i0:i0+mc, p0:p0+kc] into dst as micro-panels of h ≤
// mr rows laid out as mr: panel q holds element (q*h+i, p) at q*kc*mr +
// p*mr + i, and zeros for i from its rows (h, or what is left of mc) up
// to mr. dst must hold packSlack floats past the block.
func packA(im *impl, dst []float32, op Op, a []float32, lda, i0, mc, p0, kc, mr, h int) {
	for q := 0; q*h < mc; q++ {
		rows := min(h, mc-q*h)
		d := dst[q*kc*mr : (q+1)*kc*mr]
		if op == NoTrans {
			src := a[(i0+q*h)*lda+p0:][:(rows-1)*lda+kc]
			if im.packAN != nil {
				_ = dst[(q+1)*kc*mr+packSlack-1]
				im.packAN(&d[0], &src[0], lda, kc, rows)
			} else {
				packANGeneric(d, src, lda, kc, rows, mr)
			}
			continue
		}
		src := a[p0*lda+i0+q*h:][:(kc-1)*lda+rows]
		if im.packAT != nil {
			_ = dst[(q+1)*kc*mr+packSlack-1]
			im.packAT(&d[0], &src[0], lda, kc, rows)
			continue
		}
		packATGeneric(d, src, lda, kc, rows, mr)
	}
}

// packATGeneric is the generic twin of the packAT assembly: one
// micro-panel of mr rows of op(A) = Aᵀ, a straight copy of the first rows
// floats of kc rows of the stored matrix:
//
//	for p < kc, i < mr:
//	  dst[p*mr+i] = src[p*ld+i] if i < rows, else 0
func packATGeneric(dst, src []float32, ld, kc, rows, mr int) {
	for p := 0; p < kc; p++ {
		copy(dst[p*mr:p*mr+rows], src[p*ld:][:rows])
	}
	if rows < mr {
		for p := 0; p < kc; p++ {
			clear(dst[p*mr+rows : p*mr+mr])
		}
	}
}

// packB copies op(B)[p0:p0+kc, j0:j0+nc] into dst as panels of packWidth
// columns: panel q holds element (p, q*packWidth+j) at q*kc*packWidth +
// p*packWidth + j. Columns past nc are zero.
func packB(im *impl, dst []float32, op Op, b []float32, ldb, p0, kc, j0, nc int) {
	for q := 0; q*packWidth < nc; q++ {
		cols := min(packWidth, nc-q*packWidth)
		d := dst[q*kc*packWidth : (q+1)*kc*packWidth]
		packPanel(im, d, op, b, ldb, p0, kc, j0+q*packWidth, cols)
	}
}

// packBFromPackedT is packB for B = Pᵀ: element (p, j) of B is P(j, p),
// found in P's panel p/packWidth, row j. Within one panel of P the rows
// are packWidth floats apart, so each run of B rows that stays in one panel
// is a transposing pack of a stored matrix with ld = packWidth (packPanel).
func packBFromPackedT(im *impl, dst []float32, pt *PackedB, p0, kc, j0, nc int) {
	for q := 0; q*packWidth < nc; q++ {
		cols := min(packWidth, nc-q*packWidth)
		d := dst[q*kc*packWidth : (q+1)*kc*packWidth]
		for p := 0; p < kc; {
			pp := p0 + p
			run := min(kc-p, packWidth-pp%packWidth)
			panel := pt.data[(pp/packWidth)*pt.k*packWidth:]
			packPanel(im, d[p*packWidth:], Trans, panel, packWidth, pp%packWidth, run, j0+q*packWidth, cols)
			p += run
		}
	}
}

// packPanel fills one panel of packWidth columns (cols ≥ 1 of them from B),
// kc ≥ 1 rows.
func packPanel(im *impl, d []float32, op Op, b []float32, ldb, p0, kc, j0, cols int) {
	if op == NoTrans {
		for p := 0; p < kc; p++ {
			row := d[p*packWidth : p*packWidth+packWidth]
			copy(row, b[(p0+p)*ldb+j0:][:cols])
			clear(row[cols:])
		}
		return
	}
	d = d[:kc*packWidth]
	src := b[j0*ldb+p0:][:(cols-1)*ldb+kc]
	if im.packBT != nil {
		im.packBT(&d[0], &src[0], ldb, kc, cols)
		return
	}
	packBTGeneric(d, src, ldb, kc, cols)
}
