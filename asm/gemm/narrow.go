package main

import (
	"fmt"

	"github.com/mmcloughlin/avo/attr"
	"github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// narrowKernel emits gemmNarrowAVX512: C = op(A)·Bᵀ for a product at most
// 16 columns wide (the network's 10-class output layer), vectorised along
// the rows of C instead of its columns. The register tile kernels put a
// row's columns in one 16-lane vector, so at n = 10 six lanes of every FMA
// are wasted; here accumulator j holds column j for 16 rows of C, every
// lane counts, and B's elements are broadcast straight from its rows (no
// packing). A is read as packed by packBT (16 of each 32-float row); the
// accumulators are transposed in registers into rows of C.
func (g *gen) narrowKernel(s *isa) {
	const w = 16 // rows per call: the lanes of a ZMM
	name := "gemmNarrow" + s.name
	g.Function(name)
	g.Attributes(attr.NOSPLIT)
	g.SignatureExpr("func(rows, n, k int, a, b *float32, ldb int, c *float32, ldc int, alpha, beta float32)")
	g.Pragma("noescape")
	g.Doc(
		fmt.Sprintf("%s computes rows ≤ %d rows and n ≤ %d columns of C = op(A)·Bᵀ (%s):", name, w, w, s.name),
		"",
		"\tfor i < rows, j < n:",
		fmt.Sprintf("\t  acc = Σ_{p<k} a[p*%d+i] * b[j*ldb+p]   (FMA, in p order)", packWidth),
		"\t  c[i*ldc+j] = alpha*acc + beta*c[i*ldc+j]  (beta == ±0: c is not read)",
		"",
		fmt.Sprintf("1 ≤ rows ≤ %d and 1 ≤ n ≤ %d (any other: nothing is touched), k ≥ 0.", w, w),
		"It reads 16 floats of each of the k rows of a (packed",
		"32 floats apart), the first k floats of rows j < n of b, and only",
		"columns j < n of rows i < rows of c.",
	)
	rows := g.Load(g.Param("rows"), g.GP64())
	n := g.Load(g.Param("n"), g.GP64())
	k := g.Load(g.Param("k"), g.GP64())
	a := g.Load(g.Param("a"), g.GP64())
	b := g.Load(g.Param("b"), g.GP64())
	ldb := g.Load(g.Param("ldb"), g.GP64())
	c := g.Load(g.Param("c"), g.GP64())
	ldc := g.Load(g.Param("ldc"), g.GP64())
	g.SHLQ(operand.U8(2), ldb)
	for _, r := range []reg.Register{rows, n} {
		g.CMPQ(r, operand.U32(1))
		g.JLT(operand.LabelRef("none"))
		g.CMPQ(r, operand.U32(w))
		g.JGT(operand.LabelRef("none"))
	}
	g.SHLQ(operand.U8(2), ldc)
	for v := 1; v <= w; v++ {
		g.CMPQ(n, operand.U32(v))
		g.JEQ(operand.LabelRef(fmt.Sprintf("n%d", v)))
	}
	g.Label("none")
	g.RET()
	for v := 1; v <= w; v++ {
		g.narrowPath(s, v, rows, k, a, b, ldb, c, ldc)
	}
}

// narrowPath emits the code for n columns: n accumulators, B's rows j at
// bases[j/3] + (j%3)·ldb; at the end the accumulators (columns of C) are
// transposed in registers into rows of C, stored with the column mask.
func (g *gen) narrowPath(s *isa, n int, rows, k, a, b, ldb, c, ldc reg.Register) {
	const unroll = 4
	l := func(what string) string { return fmt.Sprintf("n%d%s", n, what) }
	g.Label(l(""))
	acc := make([]reg.Register, n)
	for j := range acc {
		acc[j] = g.ZMM()
		g.VPXORD(acc[j], acc[j], acc[j])
	}
	bases := make([]reg.GPVirtual, (n+2)/3)
	for i := range bases {
		bases[i] = g.GP64()
		if i == 0 {
			g.MOVQ(b, bases[i])
			continue
		}
		g.LEAQ(operand.Mem{Base: bases[i-1], Index: ldb, Scale: 2}, bases[i])
		g.ADDQ(ldb, bases[i])
	}
	bAt := func(j, p int) operand.Mem {
		m := operand.Mem{Base: bases[j/3], Disp: 4 * p}
		if j%3 > 0 {
			m.Index, m.Scale = ldb, uint8(j%3)
		}
		return m
	}
	step := func(u int) {
		x := g.ZMM()
		g.VMOVUPS(operand.Mem{Base: a, Disp: 4 * packWidth * u}, x)
		for j := 0; j < n; j++ {
			g.VFMADD231PS_BCST(bAt(j, u), x, acc[j])
		}
	}
	advance := func(p int) {
		g.ADDQ(operand.U32(uint32(4*packWidth*p)), a)
		for _, r := range bases {
			g.ADDQ(operand.U32(uint32(4*p)), r)
		}
	}
	g.CMPQ(k, operand.U32(unroll))
	g.JLT(operand.LabelRef(l("tail")))
	g.Label(l("loop"))
	for u := 0; u < unroll; u++ {
		step(u)
	}
	advance(unroll)
	g.SUBQ(operand.U32(unroll), k)
	g.CMPQ(k, operand.U32(unroll))
	g.JGE(operand.LabelRef(l("loop")))
	g.Label(l("tail"))
	g.TESTQ(k, k)
	g.JEQ(operand.LabelRef(l("store")))
	g.Label(l("one"))
	step(0)
	advance(1)
	g.DECQ(k)
	g.JNE(operand.LabelRef(l("one")))

	g.Label(l("store"))
	g.Comment("t = alpha*acc, transposed into rows of C; c = t + beta*c (beta == ±0: c is not read).")
	alpha := g.ZMM()
	g.VBROADCASTSS(param(g, "alpha"), alpha)
	in := make([]reg.Register, 16)
	zero := g.ZMM()
	g.VPXORD(zero, zero, zero)
	for j := range in {
		in[j] = zero
		if j < n {
			g.VMULPS(alpha, acc[j], acc[j])
			in[j] = acc[j]
		}
	}
	out := transposer{isa: s, w: 16}.transpose(g, in)
	mask := g.GP32()
	g.MOVL(operand.U32(uint32(1)<<n-1), mask)
	g.KMOVW(mask, reg.K2)
	bits := g.GP32()
	g.MOVL(param(g, "beta"), bits)
	g.SHLL(operand.U8(1), bits)
	g.JEQ(operand.LabelRef(l("beta0")))
	beta, t := g.ZMM(), g.ZMM()
	g.VBROADCASTSS(param(g, "beta"), beta)
	cp := g.GP64()
	g.MOVQ(c, cp)
	for i := 0; i < 16; i++ {
		if i > 0 {
			g.CMPQ(rows, operand.U32(i))
			g.JLE(operand.LabelRef(l("done")))
			g.ADDQ(ldc, cp)
		}
		g.VMOVUPS_Z(operand.Mem{Base: cp}, reg.K2, t)
		g.VFMADD231PS(t, beta, out[i])
		g.VMOVUPS(out[i], reg.K2, operand.Mem{Base: cp})
	}
	g.JMP(operand.LabelRef(l("done")))
	g.Label(l("beta0"))
	for i := 0; i < 16; i++ {
		if i > 0 {
			g.CMPQ(rows, operand.U32(i))
			g.JLE(operand.LabelRef(l("done")))
			g.ADDQ(ldc, c)
		}
		g.VMOVUPS(out[i], reg.K2, operand.Mem{Base: c})
	}
	g.Label(l("done"))
	g.VZEROUPPER()
	g.RET()
}
