package main

import (
	"fmt"

	"github.com/mmcloughlin/avo/attr"
	"github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// The transposing packs of the GEMM driver: a block of w rows (w = the
// vector lanes: 8 floats in YMM, 16 in ZMM) by w consecutive k is loaded
// one row per register, transposed in registers (unpack, shuffle, then
// 128-bit lane moves: 3 stages of 8 shuffles for 8×8, 4 stages of 16 for
// 16×16) and stored one k per register.

// packWidth is the column width of the packed B panels (kernels.packWidth).
const packWidth = 32

// transposer is what one transposing pack needs from its ISA.
type transposer struct {
	*isa
	w int // rows and k per block: the lanes of a vector
}

// vec allocates a vector register of the ISA's width.
func (t transposer) vec(g *gen) reg.VecVirtual {
	if t.w == 16 {
		return g.ZMM()
	}
	return g.YMM()
}

// transpose returns the w columns of the w×w block whose rows are r.
func (t transposer) transpose(g *gen, r []reg.Register) []reg.Register {
	w := t.w
	// Stage 1: interleave row pairs; lane ℓ of u[2i] holds
	// r[2i][4ℓ], r[2i+1][4ℓ], r[2i][4ℓ+1], r[2i+1][4ℓ+1].
	u := make([]reg.Register, w)
	for i := 0; i < w/2; i++ {
		u[2*i], u[2*i+1] = t.vec(g), t.vec(g)
		g.VUNPCKLPS(r[2*i+1], r[2*i], u[2*i])
		g.VUNPCKHPS(r[2*i+1], r[2*i], u[2*i+1])
	}
	// Stage 2: lane ℓ of s[4h+c] holds rows 4h..4h+3 of column 4ℓ+c.
	s := make([]reg.Register, w)
	for h := 0; h < w/4; h++ {
		lo, hi, lo2, hi2 := u[4*h], u[4*h+1], u[4*h+2], u[4*h+3]
		for c, src := range [][2]reg.Register{{lo, lo2}, {lo, lo2}, {hi, hi2}, {hi, hi2}} {
			s[4*h+c] = t.vec(g)
			imm := uint8(0x44)
			if c%2 == 1 {
				imm = 0xEE
			}
			g.VSHUFPS(operand.U8(imm), src[1], src[0], s[4*h+c])
		}
	}
	out := make([]reg.Register, w)
	if w == 8 {
		// Stage 3: column c is lane 0 of s[c] and s[4+c], column 4+c
		// their lane 1.
		for c := 0; c < 4; c++ {
			out[c], out[4+c] = t.vec(g), t.vec(g)
			g.VPERM2F128(operand.U8(0x20), s[4+c], s[c], out[c])
			g.VPERM2F128(operand.U8(0x31), s[4+c], s[c], out[4+c])
		}
		return out
	}
	// Stages 3 and 4: a 4×4 transpose of 128-bit lanes among s[c], s[4+c],
	// s[8+c], s[12+c] gives columns c, 4+c, 8+c, 12+c.
	for c := 0; c < 4; c++ {
		a, b, cc, d := s[c], s[4+c], s[8+c], s[12+c]
		v := [4]reg.Register{t.vec(g), t.vec(g), t.vec(g), t.vec(g)}
		g.VSHUFF32X4(operand.U8(0x44), b, a, v[0])  // a0 a1 b0 b1
		g.VSHUFF32X4(operand.U8(0xEE), b, a, v[1])  // a2 a3 b2 b3
		g.VSHUFF32X4(operand.U8(0x44), d, cc, v[2]) // c0 c1 d0 d1
		g.VSHUFF32X4(operand.U8(0xEE), d, cc, v[3]) // c2 c3 d2 d3
		for l := 0; l < 4; l++ {
			out[4*l+c] = t.vec(g)
			imm := uint8(0x88)
			if l%2 == 1 {
				imm = 0xDD
			}
			g.VSHUFF32X4(operand.U8(imm), v[2+l/2], v[l/2], out[4*l+c])
		}
	}
	return out
}

// rowBlock describes the rows of one transposing loop.
type rowBlock struct {
	prefix string       // label prefix, unique in the function
	rows   int          // rows that may hold data; rows past it are zero
	valid  reg.Register // nil: all rows are valid; else the count of valid rows (1..rows)
	zero   reg.Register // a zero vector
}

// transposeLoop emits the loop over the k of one row block: rows
// src + i*ld (ld in bytes), kc floats each, transposed w×w at a time; each
// k step c of a block is handed to store with dp pointing at that block's
// first k (dp advances stride bytes per k).
func (t transposer) transposeLoop(g *gen, rb rowBlock, src, ld, ld3, kc reg.Register, dst reg.Register,
	stride int, tbl operand.Mem, store func(c int, v, dp reg.Register)) {
	w := t.w
	l := func(s string) string { return rb.prefix + s }
	p, sp, dp := g.GP64(), g.GP64(), g.GP64()
	g.MOVQ(kc, p)
	g.MOVQ(src, sp)
	g.MOVQ(dst, dp)

	// load emits the row loads of one block, masked (k tail) or not.
	load := func(tail bool, mask reg.Register) []reg.Register {
		r := make([]reg.Register, w)
		for i := range r {
			r[i] = rb.zero
			if i < rb.rows {
				r[i] = t.vec(g)
			}
		}
		base := g.GP64()
		sfx := "f"
		if tail {
			sfx = "t"
		}
		zl := func(i int) string { return l(fmt.Sprintf("z%s%d", sfx, i)) }
		for i := 0; i < rb.rows; i++ {
			if i%4 == 0 {
				if i == 0 {
					g.MOVQ(sp, base)
				} else {
					g.LEAQ(operand.Mem{Base: base, Index: ld, Scale: 4}, base)
				}
			}
			if rb.valid != nil && i > 0 {
				g.CMPQ(rb.valid, operand.U32(i))
				g.JLE(operand.LabelRef(zl(i)))
			}
			m := operand.Mem{Base: base}
			switch i % 4 {
			case 1:
				m = operand.Mem{Base: base, Index: ld, Scale: 1}
			case 2:
				m = operand.Mem{Base: base, Index: ld, Scale: 2}
			case 3:
				m = operand.Mem{Base: base, Index: ld3, Scale: 1}
			}
			switch {
			case !tail:
				g.VMOVUPS(m, r[i])
			case w == 16:
				g.VMOVUPS_Z(m, mask, r[i])
			default:
				g.VMASKMOVPS(m, mask, r[i])
			}
		}
		if rb.valid != nil && rb.rows > 1 {
			g.JMP(operand.LabelRef(zl(rb.rows)))
			for i := 1; i < rb.rows; i++ {
				g.Label(zl(i))
				g.VMOVUPS(rb.zero, r[i]) // avo reads VPXORD r, r, r as a use of r
			}
			g.Label(zl(rb.rows))
		}
		return r
	}

	g.Label(l("loop"))
	g.CMPQ(p, operand.U32(w))
	g.JLT(operand.LabelRef(l("tail")))
	cols := t.transpose(g, load(false, nil))
	for c, v := range cols {
		store(c, v, dp)
	}
	g.ADDQ(operand.U32(4*w), sp)
	g.ADDQ(operand.U32(w*stride), dp)
	g.SUBQ(operand.U32(w), p)
	g.JMP(operand.LabelRef(l("loop")))

	g.Label(l("tail"))
	g.TESTQ(p, p)
	g.JEQ(operand.LabelRef(l("done")))
	// The first p lanes of each row: a mask from tbl.
	tb := g.GP64()
	g.LEAQ(tbl, tb)
	var mask reg.Register
	if w == 16 {
		// tbl holds the uint16 masks (1<<n)-1, n = 0..16.
		k := g.K()
		g.KMOVW(operand.Mem{Base: tb, Index: p, Scale: 2}, k)
		mask = k
	} else {
		// tbl holds 8 all-ones int32 then 8 zeros.
		n := g.GP64()
		g.MOVQ(operand.U32(8), n)
		g.SUBQ(p, n)
		y := g.YMM()
		g.VMOVUPS(operand.Mem{Base: tb, Index: n, Scale: 4}, y)
		mask = y
	}
	cols = t.transpose(g, load(true, mask))
	for c, v := range cols {
		if c > 0 {
			g.CMPQ(p, operand.U32(c))
			g.JLE(operand.LabelRef(l("done")))
		}
		store(c, v, dp)
	}
	g.Label(l("done"))
}

// maskTable emits the read-only table of tail masks of the ISA.
func (t transposer) maskTable(g *gen) operand.Mem {
	if t.w == 16 {
		m := g.StaticGlobal("packMaskAVX512")
		g.DataAttributes(attr.RODATA | attr.NOPTR)
		for n := 0; n <= 16; n++ {
			g.AddDatum(2*n, operand.U16(uint16(1<<n-1)))
		}
		return m
	}
	m := g.StaticGlobal("packMaskAVX2")
	g.DataAttributes(attr.RODATA | attr.NOPTR)
	for i := 0; i < 16; i++ {
		v := uint32(0)
		if i < 8 {
			v = 0xffffffff
		}
		g.AddDatum(4*i, operand.U32(v))
	}
	return m
}

// packBT emits packBT<ISA>: one packed B panel from rows of the stored
// matrix, for op(B) = Bᵀ.
func (g *gen) packBT(s *isa, tbl operand.Mem) {
	t := transposer{isa: s, w: s.lanes()}
	w := t.w
	name := "packBT" + s.name
	g.Function(name)
	g.Attributes(attr.NOSPLIT)
	g.SignatureExpr("func(dst, src *float32, ld, kc, cols int)")
	g.Pragma("noescape")
	g.Doc(
		fmt.Sprintf("%s packs one panel of %d columns of op(B) = Bᵀ (%s):", name, packWidth, s.name),
		"",
		fmt.Sprintf("\tfor p < kc, j < %d:", packWidth),
		fmt.Sprintf("\t  dst[p*%d+j] = src[j*ld+p] if j < cols, else 0", packWidth),
		"",
		fmt.Sprintf("1 ≤ cols ≤ %d, kc ≥ 0 (kc ≤ 0: nothing is touched). It reads only", packWidth),
		"the kc floats of each of the cols rows of src.",
	)
	dst := g.Load(g.Param("dst"), g.GP64())
	src := g.Load(g.Param("src"), g.GP64())
	ld := g.Load(g.Param("ld"), g.GP64())
	kc := g.Load(g.Param("kc"), g.GP64())
	cols := g.Load(g.Param("cols"), g.GP64())
	g.TESTQ(kc, kc)
	g.JLE(operand.LabelRef("ret"))
	g.SHLQ(operand.U8(2), ld)
	ld3 := g.GP64()
	g.LEAQ(operand.Mem{Base: ld, Index: ld, Scale: 2}, ld3)
	zero := t.vec(g)
	t.zero(g, zero)
	store := func(c int, v, dp reg.Register) {
		g.VMOVUPS(v, operand.Mem{Base: dp, Disp: c * packWidth * 4})
	}
	for grp := 0; grp < packWidth/w; grp++ {
		pf := fmt.Sprintf("g%d", grp)
		// cols ≤ grp*w: no row of this group exists.
		g.CMPQ(cols, operand.U32(grp*w))
		g.JLE(operand.LabelRef(pf + "empty"))
		g.CMPQ(cols, operand.U32((grp+1)*w))
		g.JLT(operand.LabelRef(pf + "part"))
		t.transposeLoop(g, rowBlock{prefix: pf + "f", rows: w, zero: zero}, src, ld, ld3, kc, dst, packWidth*4, tbl, store)
		g.JMP(operand.LabelRef(pf + "next"))

		g.Label(pf + "part")
		valid := g.GP64()
		g.MOVQ(cols, valid)
		g.SUBQ(operand.U32(grp*w), valid)
		t.transposeLoop(g, rowBlock{prefix: pf + "p", rows: w, valid: valid, zero: zero}, src, ld, ld3, kc, dst, packWidth*4, tbl, store)
		g.JMP(operand.LabelRef(pf + "next"))

		g.Label(pf + "empty")
		p, dp := g.GP64(), g.GP64()
		g.MOVQ(kc, p)
		g.MOVQ(dst, dp)
		g.Label(pf + "zero")
		g.VMOVUPS(zero, operand.Mem{Base: dp})
		g.ADDQ(operand.U32(packWidth*4), dp)
		g.DECQ(p)
		g.JNE(operand.LabelRef(pf + "zero"))

		g.Label(pf + "next")
		if grp+1 < packWidth/w {
			g.ADDQ(operand.U32(4*w), dst)
			step := g.GP64()
			g.IMUL3Q(operand.U32(w), ld, step)
			g.ADDQ(step, src)
		}
	}
	g.Label("ret")
	g.VZEROUPPER()
	g.RET()
}

// packAN emits packAN<ISA>: one packed A micro-panel of mr rows from rows
// of the stored matrix, for op(A) = A.
func (g *gen) packAN(s *isa, tbl operand.Mem) {
	t := transposer{isa: s, w: s.lanes()}
	w := t.w
	mr := s.shape.mr
	if mr > w {
		panic(fmt.Sprintf("%s: packAN needs mr ≤ %d", s.name, w))
	}
	name := "packAN" + s.name
	g.Function(name)
	g.Attributes(attr.NOSPLIT)
	g.SignatureExpr("func(dst, src *float32, ld, kc, rows int)")
	g.Pragma("noescape")
	doc := []string{
		fmt.Sprintf("%s packs one micro-panel of %d rows of op(A) = A (%s):", name, mr, s.name),
		"",
		fmt.Sprintf("\tfor p < kc, i < %d:", mr),
		fmt.Sprintf("\t  dst[p*%d+i] = src[i*ld+p] if i < rows, else 0", mr),
		"",
		fmt.Sprintf("1 ≤ rows ≤ %d, kc ≥ 0 (kc ≤ 0: nothing is touched). It reads only", mr),
		"the kc floats of each of the rows rows of src.",
	}
	if w == 8 && mr < w {
		doc = append(doc, fmt.Sprintf("It may write %d floats past dst[kc*%d-1], with unspecified values.", w-mr, mr))
	}
	g.Doc(doc...)
	dst := g.Load(g.Param("dst"), g.GP64())
	src := g.Load(g.Param("src"), g.GP64())
	ld := g.Load(g.Param("ld"), g.GP64())
	kc := g.Load(g.Param("kc"), g.GP64())
	rows := g.Load(g.Param("rows"), g.GP64())
	g.TESTQ(kc, kc)
	g.JLE(operand.LabelRef("ret"))
	g.SHLQ(operand.U8(2), ld)
	ld3 := g.GP64()
	g.LEAQ(operand.Mem{Base: ld, Index: ld, Scale: 2}, ld3)
	zero := t.vec(g)
	t.zero(g, zero)
	var store func(c int, v, dp reg.Register)
	if w == 16 && mr < 16 {
		k := g.K()
		m := g.GP32()
		g.MOVL(operand.U32(1<<mr-1), m)
		g.KMOVW(m, k)
		store = func(c int, v, dp reg.Register) {
			g.VMOVUPS(v, k, operand.Mem{Base: dp, Disp: c * mr * 4})
		}
	} else {
		// AVX: whole-vector stores in increasing p; each store's excess
		// lanes are overwritten by the next.
		store = func(c int, v, dp reg.Register) {
			g.VMOVUPS(v, operand.Mem{Base: dp, Disp: c * mr * 4})
		}
	}
	g.CMPQ(rows, operand.U32(mr))
	g.JLT(operand.LabelRef("part"))
	t.transposeLoop(g, rowBlock{prefix: "f", rows: mr, zero: zero}, src, ld, ld3, kc, dst, mr*4, tbl, store)
	g.JMP(operand.LabelRef("ret"))
	g.Label("part")
	t.transposeLoop(g, rowBlock{prefix: "p", rows: mr, valid: rows, zero: zero}, src, ld, ld3, kc, dst, mr*4, tbl, store)
	g.Label("ret")
	g.VZEROUPPER()
	g.RET()
}

// packAT emits packAT<ISA> (AVX-512 only): one packed A micro-panel of mr
// rows for op(A) = Aᵀ, a straight copy of the first rows floats of kc rows
// of the stored matrix: one masked load and one whole-vector store per k,
// in increasing k, so that each store's excess lanes are overwritten by the
// next.
func (g *gen) packAT(s *isa, tbl operand.Mem) {
	w := s.lanes()
	mr := s.shape.mr
	if mr > w {
		panic(fmt.Sprintf("%s: packAT needs mr ≤ %d", s.name, w))
	}
	name := "packAT" + s.name
	g.Function(name)
	g.Attributes(attr.NOSPLIT)
	g.SignatureExpr("func(dst, src *float32, ld, kc, rows int)")
	g.Pragma("noescape")
	doc := []string{
		fmt.Sprintf("%s packs one micro-panel of %d rows of op(A) = Aᵀ (%s):", name, mr, s.name),
		"",
		fmt.Sprintf("\tfor p < kc, i < %d:", mr),
		fmt.Sprintf("\t  dst[p*%d+i] = src[p*ld+i] if i < rows, else 0", mr),
		"",
		fmt.Sprintf("1 ≤ rows ≤ %d, kc ≥ 0 (kc ≤ 0: nothing is touched). It reads only", mr),
		"the first rows floats of each of the kc rows of src.",
	}
	if mr < w {
		doc = append(doc, fmt.Sprintf("It may write %d floats past dst[kc*%d-1], with unspecified values.", w-mr, mr))
	}
	g.Doc(doc...)
	dst := g.Load(g.Param("dst"), g.GP64())
	src := g.Load(g.Param("src"), g.GP64())
	ld := g.Load(g.Param("ld"), g.GP64())
	kc := g.Load(g.Param("kc"), g.GP64())
	rows := g.Load(g.Param("rows"), g.GP64())
	g.TESTQ(kc, kc)
	g.JLE(operand.LabelRef("ret"))
	g.CMPQ(rows, operand.U32(1))
	g.JLT(operand.LabelRef("ret"))
	g.CMPQ(rows, operand.U32(mr))
	g.JGT(operand.LabelRef("ret"))
	g.SHLQ(operand.U8(2), ld)
	tb := g.GP64()
	g.LEAQ(tbl, tb)
	g.KMOVW(operand.Mem{Base: tb, Index: rows, Scale: 2}, reg.K1)
	const unroll = 4
	v := make([]reg.VecVirtual, unroll)
	for i := range v {
		v[i] = g.ZMM()
	}
	g.CMPQ(kc, operand.U32(unroll))
	g.JLT(operand.LabelRef("tail"))
	g.Label("loop")
	for i := 0; i < unroll; i++ {
		g.VMOVUPS_Z(operand.Mem{Base: src}, reg.K1, v[i])
		g.ADDQ(ld, src)
	}
	for i := 0; i < unroll; i++ {
		g.VMOVUPS(v[i], operand.Mem{Base: dst, Disp: i * mr * 4})
	}
	g.ADDQ(operand.U32(unroll*mr*4), dst)
	g.SUBQ(operand.U32(unroll), kc)
	g.CMPQ(kc, operand.U32(unroll))
	g.JGE(operand.LabelRef("loop"))
	g.Label("tail")
	g.TESTQ(kc, kc)
	g.JEQ(operand.LabelRef("ret"))
	g.Label("one")
	g.VMOVUPS_Z(operand.Mem{Base: src}, reg.K1, v[0])
	g.VMOVUPS(v[0], operand.Mem{Base: dst})
	g.ADDQ(ld, src)
	g.ADDQ(operand.U32(mr*4), dst)
	g.DECQ(kc)
	g.JNE(operand.LabelRef("one"))
	g.Label("ret")
	g.VZEROUPPER()
	g.RET()
}
