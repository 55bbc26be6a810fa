package main

import (
	"fmt"
	"math"

	"github.com/mmcloughlin/avo/attr"
	"github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/pass"
	"github.com/mmcloughlin/avo/printer"
	"github.com/mmcloughlin/avo/reg"
)

// argv is the command recorded in the generated files' headers.
var argv = []string{"go", "run", "./elementwise"}

// generate builds both instruction sets' kernels and returns the assembly
// and the Go stubs.
func generate() (asm, stubs []byte, err error) {
	ctx := build.NewContext()
	ctx.ConstraintExpr("gc,!purego")
	g := &gen{Context: ctx}
	g.data()
	for _, wide := range []bool{false, true} {
		g.setWidth(wide)
		g.bias(false)
		g.bias(true)
		g.dropout()
		g.reluBackward()
		g.columnSums()
		g.softmaxRow()
		g.bytesToFloats()
		g.sgd()
		g.sgdMomentum()
		g.adam()
	}
	f, err := ctx.Result()
	if err != nil {
		return nil, nil, err
	}
	if err := pass.Compile.Execute(f); err != nil {
		return nil, nil, err
	}
	cfg := printer.Config{Argv: argv, Pkg: "kernels"}
	if asm, err = printer.NewGoAsm(cfg).Print(f); err != nil {
		return nil, nil, err
	}
	if stubs, err = printer.NewStubs(cfg).Print(f); err != nil {
		return nil, nil, err
	}
	return asm, stubs, nil
}

// The float32 constants of expf, as in kernels/elementwise.go (the tests of
// package kernels compare the paths bit for bit, so a difference shows).
const (
	expLo    = -87.33654
	expHi    = 88.72283
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

// Indices into the table of vector constants (each 16 copies, 64 bytes).
const (
	cHi = iota
	cLo
	cLog2e
	cC1
	cC2
	cP0
	cP1
	cP2
	cP3
	cP4
	cP5
	cOne
	c127       // int32 127, the exponent bias
	cAbs       // 0x7fffffff: clears the sign
	cTinyBelow // 0x007fffff: |x| bits above this are ≥ 2^-126
	cHash1     // lowbias32 multipliers
	cHash2
	nConsts
)

func f32(x float32) uint32 { return math.Float32bits(x) }

var constBits = [nConsts]uint32{
	cHi: f32(expHi), cLo: f32(expLo), cLog2e: f32(expLog2e), cC1: f32(expC1), cC2: f32(expC2),
	cP0: f32(expP0), cP1: f32(expP1), cP2: f32(expP2), cP3: f32(expP3), cP4: f32(expP4), cP5: f32(expP5),
	cOne: f32(1), c127: 127, cAbs: 0x7fffffff, cTinyBelow: 0x007fffff,
	cHash1: 0x7feb352d, cHash2: 0x846ca68b,
}

type gen struct {
	*build.Context
	wide   bool   // zmm and opmasks (AVX-512), else ymm (AVX2)
	w      int    // float32 lanes per vector
	suffix string // of the function names
	labels int

	consts   Mem // nConsts vectors of 16 copies
	iota     Mem // uint32 0, 1, …, 15
	mask16   Mem // uint16 (1<<n)-1 for n < 16: AVX-512 tail masks
	tailMask Mem // 8 × 0xffffffff then 8 × 0: AVX2 tail masks
}

func (g *gen) setWidth(wide bool) {
	g.wide = wide
	if wide {
		g.w, g.suffix = 16, "AVX512"
	} else {
		g.w, g.suffix = 8, "AVX2"
	}
}

func (g *gen) data() {
	g.consts = g.StaticGlobal("elemConsts")
	g.DataAttributes(attr.RODATA | attr.NOPTR)
	for i, v := range constBits {
		for l := 0; l < 16; l++ {
			g.AddDatum(64*i+4*l, U32(v))
		}
	}
	g.iota = g.StaticGlobal("elemIota")
	g.DataAttributes(attr.RODATA | attr.NOPTR)
	for l := 0; l < 16; l++ {
		g.AddDatum(4*l, U32(l))
	}
	g.mask16 = g.StaticGlobal("elemMask16")
	g.DataAttributes(attr.RODATA | attr.NOPTR)
	for n := 0; n < 16; n++ {
		g.AddDatum(2*n, U16(1<<n-1))
	}
	g.tailMask = g.StaticGlobal("elemTailMask")
	g.DataAttributes(attr.RODATA | attr.NOPTR)
	for l := 0; l < 16; l++ {
		v := uint32(0)
		if l < 8 {
			v = 0xffffffff
		}
		g.AddDatum(4*l, U32(v))
	}
}

// cst returns the memory operand of vector constant i.
func (g *gen) cst(i int) Mem { return g.consts.Offset(64 * i) }

// fn starts function name+suffix with a stub doc whose first line names it.
func (g *gen) fn(name, sig string, doc ...string) {
	full := name + g.suffix
	g.Function(full)
	g.Attributes(attr.NOSPLIT)
	g.SignatureExpr(sig)
	g.Pragma("noescape")
	doc[0] = full + " " + doc[0]
	g.Doc(doc...)
	g.labels = 0
}

func (g *gen) label(s string) string {
	g.labels++
	return fmt.Sprintf("%s%d", s, g.labels)
}

func (g *gen) vec() reg.VecVirtual {
	if g.wide {
		return g.ZMM()
	}
	return g.YMM()
}

func (g *gen) param(name string) Mem {
	b, err := g.Param(name).Resolve()
	if err != nil {
		panic(err)
	}
	return b.Addr
}

func (g *gen) gp(name string) reg.GPVirtual {
	r := g.GP64()
	g.Load(g.Param(name), r)
	return r
}

// bcast broadcasts the 32-bit parameter name to every lane.
func (g *gen) bcast(name string) reg.VecVirtual {
	v := g.vec()
	g.VBROADCASTSS(g.param(name), v)
	return v
}

// flag loads a uint32 parameter that is 0 or ^0 as a mask: a vector of it
// (AVX2) or an opmask (AVX-512).
func (g *gen) flag(name string) mask {
	if g.wide {
		r, k := g.GP32(), g.K()
		g.Load(g.Param(name), r)
		g.KMOVW(r, k)
		return mask{k: k}
	}
	return mask{y: g.bcast(name)}
}

// bcastInt broadcasts the uint32 in r to every lane.
func (g *gen) bcastInt(r reg.GPVirtual) reg.VecVirtual {
	v := g.vec()
	if g.wide {
		g.VPBROADCASTD(r, v)
	} else {
		g.VMOVD(r, v.AsX())
		g.VPBROADCASTD(v.AsX(), v)
	}
	return v
}

// bcastParam broadcasts the uint32 parameter name to every lane.
func (g *gen) bcastParam(name string) reg.VecVirtual {
	r := g.GP32()
	g.Load(g.Param(name), r)
	return g.bcastInt(r)
}

// spill broadcasts the float parameters to a stack frame as full vectors,
// for use as memory operands where AVX2 has too few registers; on AVX-512
// they stay in registers.
func (g *gen) spill(names ...string) map[string]Op {
	ops := make(map[string]Op, len(names))
	if g.wide {
		for _, n := range names {
			ops[n] = g.bcast(n)
		}
		return ops
	}
	frame := g.AllocLocal(32 * len(names))
	for i, n := range names {
		v := g.bcast(n)
		g.VMOVUPS(v, frame.Offset(32*i))
		ops[n] = frame.Offset(32 * i)
	}
	return ops
}

func (g *gen) zero() reg.VecVirtual {
	v := g.vec()
	if g.wide {
		g.VPXORD(v, v, v)
	} else {
		g.VXORPS(v, v, v)
	}
	return v
}

func (g *gen) xor(a Op, b, dst reg.VecVirtual) {
	if g.wide {
		g.VPXORD(a, b, dst)
	} else {
		g.VPXOR(a, b, dst)
	}
}

// mask is a lane mask: a vector of all-ones lanes (AVX2) or an opmask.
type mask struct {
	y reg.VecVirtual
	k reg.OpmaskVirtual
}

// tail returns the mask of the first n lanes, 0 < n < w.
func (g *gen) tail(n reg.GPVirtual) *mask {
	t := g.GP64()
	if g.wide {
		k := g.K()
		g.LEAQ(g.mask16, t)
		g.KMOVW(Mem{Base: t, Index: n, Scale: 2}, k)
		return &mask{k: k}
	}
	// Lanes 0..n-1 read ones from elemTailMask[8-n:].
	y := g.YMM()
	g.LEAQ(g.tailMask.Offset(32), t)
	n4 := g.GP64()
	g.MOVQ(n, n4)
	g.SHLQ(U8(2), n4)
	g.SUBQ(n4, t)
	g.VMOVDQU(Mem{Base: t}, y)
	return &mask{y: y}
}

// load loads a vector; with a tail mask, only its lanes (the others are 0)
// and without touching memory past them.
func (g *gen) load(m Mem, t *mask) reg.VecVirtual {
	v := g.vec()
	switch {
	case t == nil:
		g.VMOVUPS(m, v)
	case g.wide:
		g.VMOVUPS_Z(m, t.k, v)
	default:
		g.VMASKMOVPS(m, t.y, v)
	}
	return v
}

// src is a vector operand: the memory itself when whole, else a masked load.
func (g *gen) src(m Mem, t *mask) Op {
	if t == nil {
		return m
	}
	return g.load(m, t)
}

func (g *gen) store(v reg.VecVirtual, m Mem, t *mask) {
	switch {
	case t == nil:
		g.VMOVUPS(v, m)
	case g.wide:
		g.VMOVUPS(v, t.k, m)
	default:
		g.VMASKMOVPS(v, t.y, m)
	}
}

// sel sets dst = a in the lanes of m.
func (g *gen) sel(m mask, a, dst reg.VecVirtual) {
	if g.wide {
		g.VBLENDMPS(a, dst, m.k, dst)
	} else {
		g.VBLENDVPS(m.y, a, dst, dst)
	}
}

// flushTiny sets the lanes of x whose magnitude is below 2^-126 (zeros and
// subnormals) to +0, by an integer compare of the magnitude's bits.
func (g *gen) flushTiny(x reg.VecVirtual) {
	a := g.vec()
	if g.wide {
		g.VPANDD(g.cst(cAbs), x, a)
		k := g.K()
		g.VPCMPGTD(g.cst(cTinyBelow), a, k) // |x| bits > 0x007fffff
		g.VMOVAPS_Z(x, k, x)
		return
	}
	g.VANDPS(g.cst(cAbs), x, a)
	g.VPCMPGTD(g.cst(cTinyBelow), a, a)
	g.VANDPS(a, x, x)
}

// stream is a pointer walked by blocks, with its element size in bytes.
type stream struct {
	p    reg.GPVirtual
	size int
}

// at returns the address of vector k of s.
func (g *gen) at(s stream, k int) Mem { return Mem{Base: s.p, Disp: k * g.w * s.size} }

// blocks walks n elements: for each count u in units, blocks of u vectors
// while at least u·w elements remain, then one masked vector for the rest.
// body(u, t) emits the code of one block at the streams' current positions;
// t is nil except for the tail. tail, if not nil, replaces the masked
// vector. n and the streams' pointers are advanced.
func (g *gen) blocks(n reg.GPVirtual, streams []stream, units []int, body func(u int, t *mask), tail func()) {
	done := g.label("done")
	for _, u := range units {
		loop, next := g.label("loop"), g.label("next")
		g.Label(loop)
		g.CMPQ(n, U32(u*g.w))
		g.JB(LabelRef(next))
		body(u, nil)
		for _, s := range streams {
			g.ADDQ(U32(u*g.w*s.size), s.p)
		}
		g.SUBQ(U32(u*g.w), n)
		g.JMP(LabelRef(loop))
		g.Label(next)
	}
	g.TESTQ(n, n)
	g.JZ(LabelRef(done))
	if tail != nil {
		tail()
	} else {
		body(1, g.tail(n))
	}
	g.Label(done)
}

// ret returns, clearing the upper vector halves for the SSE code of Go.
func (g *gen) ret() {
	g.VZEROUPPER()
	g.RET()
}

func (g *gen) copyGP(r reg.GPVirtual) reg.GPVirtual {
	c := g.GP64()
	g.MOVQ(r, c)
	return c
}

func (g *gen) bias(relu bool) {
	if relu {
		g.fn("biasReLU", "func(y *float32, rows, ld int, b *float32, n int)",
			"adds b to rows ≥ 1 rows of n ≥ 1 floats at y, ld floats apart,",
			"and applies the ReLU: v = y[i*ld+j] + b[j]; y[i*ld+j] = v > 0 ? v : 0.")
	} else {
		g.fn("bias", "func(y *float32, rows, ld int, b *float32, n int)",
			"adds b to rows ≥ 1 rows of n ≥ 1 floats at y, ld floats apart:",
			"y[i*ld+j] += b[j].")
	}
	y, rows, ld, b, n := g.gp("y"), g.gp("rows"), g.gp("ld"), g.gp("b"), g.gp("n")
	g.SHLQ(U8(2), ld)
	var zero reg.VecVirtual
	if relu {
		zero = g.zero()
	}
	row := g.label("row")
	g.Label(row)
	yp, bp, cnt := g.copyGP(y), g.copyGP(b), g.copyGP(n)
	ys, bs := stream{yp, 4}, stream{bp, 4}
	g.blocks(cnt, []stream{ys, bs}, []int{4, 1}, func(u int, t *mask) {
		for k := 0; k < u; k++ {
			v := g.load(g.at(ys, k), t)
			g.VADDPS(g.src(g.at(bs, k), t), v, v)
			if relu {
				g.VMAXPS(zero, v, v) // v > 0 ? v : 0, also for NaN
			}
			g.store(v, g.at(ys, k), t)
		}
	}, nil)
	g.ADDQ(ld, y)
	g.DECQ(rows)
	g.JNZ(LabelRef(row))
	g.ret()
}

// hash applies lowbias32 to every lane of x.
func (g *gen) hash(x reg.VecVirtual, mul1, mul2 Op) {
	t := g.vec()
	g.VPSRLD(U8(16), x, t)
	g.xor(t, x, x)
	g.VPMULLD(mul1, x, x)
	g.VPSRLD(U8(15), x, t)
	g.xor(t, x, x)
	g.VPMULLD(mul2, x, x)
	g.VPSRLD(U8(16), x, t)
	g.xor(t, x, x)
}

func (g *gen) dropout() {
	g.fn("biasReLUDropout", "func(y *float32, rows, ld int, b *float32, n int, k0, k1, thr uint32, scale float32)",
		"adds b to rows ≥ 1 rows of n ≥ 1 floats at y, ld floats apart,",
		"then applies the ReLU and inverted dropout: with v = y[i*ld+j] + b[j],",
		"c = uint32(i*n + j) and r = h(h(c^k0)^k1), h = lowbias32,",
		"y[i*ld+j] = v > 0 && r>>8 >= thr ? v*scale : 0.")
	y, rows, ld, b, n := g.gp("y"), g.gp("rows"), g.gp("ld"), g.gp("b"), g.gp("n")
	g.SHLQ(U8(2), ld)
	k0, k1, thr, scale := g.bcastParam("k0"), g.bcastParam("k1"), g.bcastParam("thr"), g.bcast("scale")
	zero := g.zero()
	var mul1, mul2 Op = g.cst(cHash1), g.cst(cHash2)
	units := []int{1}
	if g.wide {
		m1, m2 := g.vec(), g.vec()
		g.VMOVUPS(g.cst(cHash1), m1)
		g.VMOVUPS(g.cst(cHash2), m2)
		mul1, mul2 = m1, m2
		units = []int{2, 1}
	}
	// step holds w in every lane: the counter advance per vector.
	wgp := g.GP32()
	g.MOVL(U32(g.w), wgp)
	step := g.bcastInt(wgp)
	ctr := g.GP64()
	g.XORQ(ctr, ctr)
	row := g.label("row")
	g.Label(row)
	// ctrv holds the counters of the current vector's lanes.
	ctrv := g.bcastInt(ctr.As32().(reg.GPVirtual))
	g.VPADDD(g.iota, ctrv, ctrv)
	yp, bp, cnt := g.copyGP(y), g.copyGP(b), g.copyGP(n)
	ys, bs := stream{yp, 4}, stream{bp, 4}
	g.blocks(cnt, []stream{ys, bs}, units, func(u int, t *mask) {
		for k := 0; k < u; k++ {
			v := g.load(g.at(ys, k), t)
			g.VADDPS(g.src(g.at(bs, k), t), v, v)
			x := g.vec()
			g.xor(k0, ctrv, x)
			g.VPADDD(step, ctrv, ctrv)
			g.hash(x, mul1, mul2)
			g.xor(k1, x, x)
			g.hash(x, mul1, mul2)
			g.VPSRLD(U8(8), x, x)
			if g.wide {
				keep, out := g.K(), g.K()
				g.VPCMPD(U8(5), thr, x, keep)          // r>>8 >= thr (not less than)
				g.VCMPPS(U8(0x1e), zero, v, keep, out) // and v > 0 (GT_OQ)
				g.VMULPS_Z(scale, v, out, v)
			} else {
				pos := g.vec()
				g.VPCMPGTD(x, thr, x)            // dropped: thr > r>>8
				g.VCMPPS(U8(0x1e), zero, v, pos) // v > 0 (GT_OQ)
				g.VANDNPS(pos, x, pos)           // kept and positive
				g.VMULPS(scale, v, v)
				g.VANDPS(pos, v, v)
			}
			g.store(v, g.at(ys, k), t)
		}
	}, nil)
	g.ADDQ(n, ctr)
	g.ADDQ(ld, y)
	g.DECQ(rows)
	g.JNZ(LabelRef(row))
	g.ret()
}

// columnBlocks walks the n columns in blocks of u vectors (4, then 1, then
// a masked tail); for each block, acc(u) zeroes u accumulators, the rows are
// walked with row(k, t, rowPtrs) emitting the work of vector k of one row,
// and the accumulators are stored to the block of db.
func (g *gen) columnBlocks(n, rows, ld reg.GPVirtual, db reg.GPVirtual, mats []reg.GPVirtual,
	row func(k int, t *mask, ptrs []stream, acc reg.VecVirtual)) {
	streams := []stream{{db, 4}}
	for _, m := range mats {
		streams = append(streams, stream{m, 4})
	}
	g.blocks(n, streams, []int{4, 1}, func(u int, t *mask) {
		acc := make([]reg.VecVirtual, u)
		for k := range acc {
			acc[k] = g.zero()
		}
		r := g.copyGP(rows)
		ptrs := make([]stream, len(mats))
		for i, m := range mats {
			ptrs[i] = stream{g.copyGP(m), 4}
		}
		loop := g.label("rows")
		g.Label(loop)
		for k := 0; k < u; k++ {
			row(k, t, ptrs, acc[k])
		}
		for _, p := range ptrs {
			g.ADDQ(ld, p.p)
		}
		g.DECQ(r)
		g.JNZ(LabelRef(loop))
		for k := range acc {
			g.store(acc[k], g.at(streams[0], k), t)
		}
	}, nil)
}

func (g *gen) reluBackward() {
	g.fn("reluBackward", "func(dy, y *float32, rows, ld int, scale float32, db *float32, n int)",
		"is the backward pass of the ReLU and dropout over rows ≥ 1 rows of",
		"n ≥ 1 floats, ld floats apart: dy[i*ld+j] = y[i*ld+j] > 0 ? dy[i*ld+j]*scale : 0,",
		"and db[j] = Σ_i dy[i*ld+j] (the new values, added in row order to 0).")
	dy, y, rows, ld, db, n := g.gp("dy"), g.gp("y"), g.gp("rows"), g.gp("ld"), g.gp("db"), g.gp("n")
	g.SHLQ(U8(2), ld)
	scale, zero := g.bcast("scale"), g.zero()
	g.columnBlocks(n, rows, ld, db, []reg.GPVirtual{dy, y}, func(k int, t *mask, p []stream, acc reg.VecVirtual) {
		d, yv := g.load(g.at(p[0], k), t), g.load(g.at(p[1], k), t)
		if g.wide {
			pos := g.K()
			g.VCMPPS(U8(0x1e), zero, yv, pos) // y > 0 (GT_OQ)
			g.VMULPS_Z(scale, d, pos, d)
		} else {
			g.VCMPPS(U8(0x1e), zero, yv, yv)
			g.VMULPS(scale, d, d)
			g.VANDPS(yv, d, d)
		}
		g.store(d, g.at(p[0], k), t)
		g.VADDPS(d, acc, acc)
	})
	g.ret()
}

func (g *gen) columnSums() {
	g.fn("columnSums", "func(db, x *float32, rows, ld, n int)",
		"sets db[j] = Σ_i x[i*ld+j] for j < n ≥ 1 over rows ≥ 1 rows,",
		"added in row order to 0.")
	db, x, rows, ld, n := g.gp("db"), g.gp("x"), g.gp("rows"), g.gp("ld"), g.gp("n")
	g.SHLQ(U8(2), ld)
	g.columnBlocks(n, rows, ld, db, []reg.GPVirtual{x}, func(k int, t *mask, p []stream, acc reg.VecVirtual) {
		g.VADDPS(g.src(g.at(p[0], k), t), acc, acc)
	})
	g.ret()
}

// expf returns e^x lane by lane, with the operations of kernels.expf.
func (g *gen) expf(x reg.VecVirtual) reg.VecVirtual {
	hi, lo := g.vec(), g.vec()
	g.VMOVUPS(g.cst(cHi), hi)
	g.VMOVUPS(g.cst(cLo), lo)
	t := g.vec()
	g.VMINPS(x, hi, t) // hi < x ? hi : x; NaN stays
	g.VMAXPS(t, lo, t) // lo > t ? lo : t; NaN stays
	z := g.vec()
	g.VMULPS(g.cst(cLog2e), t, z)
	n := g.vec()
	if g.wide {
		g.VRNDSCALEPS(U8(0), z, n) // to nearest, ties to even
	} else {
		g.VROUNDPS(U8(0), z, n)
	}
	a, r := g.vec(), g.vec()
	g.VMULPS(g.cst(cC1), n, a)
	g.VSUBPS(a, t, r)
	g.VMULPS(g.cst(cC2), n, a)
	g.VSUBPS(a, r, r)
	r2 := g.vec()
	g.VMULPS(r, r, r2)
	p := g.vec()
	g.VMULPS(g.cst(cP0), r, p)
	g.VADDPS(g.cst(cP1), p, p)
	for _, c := range []int{cP2, cP3, cP4, cP5} {
		g.VMULPS(r, p, p)
		g.VADDPS(g.cst(c), p, p)
	}
	g.VMULPS(r2, p, p)
	g.VADDPS(r, p, p)
	g.VADDPS(g.cst(cOne), p, p)
	// 2^n as 2^n1 · 2^n2, n1 = n>>1, n2 = n − n1, through the exponent bits.
	n1, n2 := g.vec(), g.vec()
	g.VCVTTPS2DQ(n, n2)
	g.VPSRAD(U8(1), n2, n1)
	g.VPSUBD(n1, n2, n2)
	g.VPADDD(g.cst(c127), n1, n1)
	g.VPSLLD(U8(23), n1, n1)
	g.VPADDD(g.cst(c127), n2, n2)
	g.VPSLLD(U8(23), n2, n2)
	g.VMULPS(n1, p, p)
	if g.wide {
		k := g.K()
		g.VCMPPS(U8(0x15), lo, x, k) // not x < lo (NLT_UQ: NaN too)
		g.VMULPS_Z(n2, p, k, p)
	} else {
		g.VMULPS(n2, p, p)
		lt := g.vec()
		g.VCMPPS(U8(0x11), lo, x, lt) // x < lo (LT_OQ)
		g.VANDNPS(p, lt, p)
	}
	return p
}

func (g *gen) softmaxRow() {
	g.fn("softmaxRow", "func(x, e *float32, n int, m, invB float32) float32",
		"sets e[j] = expf(x[j]-m) for j < n ≥ 1, s = Σ_j e[j] summed in",
		"order j = 0, 1, …, then e[j] = (e[j]/s)*invB, and returns s. e may be x.")
	x, ep, n := g.gp("x"), g.gp("e"), g.gp("n")
	mv := g.bcast("m")
	s := g.XMM()
	g.VXORPS(s, s, s)
	xp, ep1, cnt := g.copyGP(x), g.copyGP(ep), g.copyGP(n)
	xs, es := stream{xp, 4}, stream{ep1, 4}
	g.blocks(cnt, []stream{xs, es}, []int{1}, func(u int, t *mask) {
		v := g.load(g.at(xs, 0), t)
		g.VSUBPS(mv, v, v)
		e := g.expf(v)
		if t != nil { // lanes past n hold e^-m: make them 0 for the sum
			if g.wide {
				g.VMOVAPS_Z(e, t.k, e)
			} else {
				g.VANDPS(t.y, e, e)
			}
		}
		g.store(e, g.at(es, 0), t)
		g.addLanes(e, s)
	}, nil)
	sv, invB := g.vec(), g.bcast("invB")
	g.VBROADCASTSS(s, sv)
	es = stream{ep, 4}
	g.blocks(n, []stream{es}, []int{1}, func(u int, t *mask) {
		v := g.load(g.at(es, 0), t)
		g.VDIVPS(sv, v, v)
		g.VMULPS(invB, v, v)
		g.store(v, g.at(es, 0), t)
	}, nil)
	g.Store(s, g.ReturnIndex(0))
	g.ret()
}

// addLanes adds the lanes of v to the scalar s one at a time, lane 0 first
// (the order of a scalar loop; adding a +0 lane leaves s unchanged).
func (g *gen) addLanes(v reg.VecVirtual, s reg.VecVirtual) {
	g.VADDSS(v.AsX(), s, s)
	if g.wide {
		for i := 1; i < 16; i++ {
			t := g.ZMM()
			g.VALIGND(U8(i), v, v, t) // lane 0 = v[i]
			g.VADDSS(t.AsX(), s, s)
		}
		return
	}
	hi := g.XMM()
	g.VEXTRACTF128(U8(1), v, hi)
	for half, x := range []reg.VecVirtual{v.AsX().(reg.VecVirtual), hi} {
		if half == 1 {
			g.VADDSS(x, s, s)
		}
		for i := 1; i < 4; i++ {
			t := g.XMM()
			g.VPERMILPS(U8(i), x, t) // lane 0 = x[i]
			g.VADDSS(t, s, s)
		}
	}
}

func (g *gen) bytesToFloats() {
	g.fn("bytesToFloats", "func(dst *float32, src *uint8, n int, scale, offset float32)",
		"sets dst[i] = float32(src[i])*scale + offset for i < n ≥ 1, the",
		"product rounded before the sum.")
	dst, src, n := g.gp("dst"), g.gp("src"), g.gp("n")
	scale, offset := g.bcast("scale"), g.bcast("offset")
	ds, ss := stream{dst, 4}, stream{src, 1}
	convert := func(v reg.VecVirtual) {
		g.VCVTDQ2PS(v, v)
		g.VMULPS(scale, v, v)
		g.VADDPS(offset, v, v)
	}
	var tail func()
	if !g.wide {
		// AVX2 cannot mask a byte load: finish one element at a time.
		tail = func() {
			loop := g.label("scalar")
			g.Label(loop)
			b, x := g.GP32(), g.XMM()
			g.MOVBLZX(Mem{Base: src}, b)
			g.VXORPS(x, x, x)
			g.VCVTSI2SSL(b, x, x)
			g.VMULSS(scale.AsX(), x, x)
			g.VADDSS(offset.AsX(), x, x)
			g.VMOVSS(x, Mem{Base: dst})
			g.ADDQ(U8(4), dst)
			g.INCQ(src)
			g.DECQ(n)
			g.JNZ(LabelRef(loop))
		}
	}
	g.blocks(n, []stream{ds, ss}, []int{4, 1}, func(u int, t *mask) {
		for k := 0; k < u; k++ {
			v := g.vec()
			switch {
			case t != nil:
				g.VPMOVZXBD_Z(g.at(ss, k), t.k, v)
			default:
				g.VPMOVZXBD(g.at(ss, k), v)
			}
			convert(v)
			g.store(v, g.at(ds, k), t)
		}
	}, tail)
	g.ret()
}

func (g *gen) sgd() {
	g.fn("sgd", "func(p, grad *float32, n int, lr, wd float32, l2 uint32)",
		"is an SGD step without momentum over n ≥ 1 floats:",
		"d = l2 != 0 ? grad[i] + wd*p[i] : grad[i]; p[i] = p[i] - lr*d,",
		"every product rounded before the sum. l2 is 0 or ^0.")
	p, gr, n := g.gp("p"), g.gp("grad"), g.gp("n")
	lr, wd, l2 := g.bcast("lr"), g.bcast("wd"), g.flag("l2")
	ps, gs := stream{p, 4}, stream{gr, 4}
	g.blocks(n, []stream{ps, gs}, []int{2, 1}, func(u int, t *mask) {
		for k := 0; k < u; k++ {
			pv, gv, d := g.load(g.at(ps, k), t), g.load(g.at(gs, k), t), g.vec()
			g.VMULPS(wd, pv, d)
			g.VADDPS(d, gv, d)
			g.sel(l2, d, gv)
			g.VMULPS(lr, gv, gv)
			g.VSUBPS(gv, pv, pv)
			g.store(pv, g.at(ps, k), t)
		}
	}, nil)
	g.ret()
}

func (g *gen) sgdMomentum() {
	g.fn("sgdMomentum", "func(p, grad, buf *float32, n int, lr, wd, mu, alpha float32, l2, first, nesterov uint32)",
		"is an SGD step with momentum over n ≥ 1 floats:",
		"g' = l2 != 0 ? grad[i] + wd*p[i] : grad[i];",
		"b = first != 0 ? g' : mu*buf[i] + alpha*g'; b = |b| < 2^-126 ? 0 : b; buf[i] = b;",
		"d = nesterov != 0 ? g' + mu*b : b; p[i] = p[i] - lr*d,",
		"every product rounded before the sum. The flags are 0 or ^0.")
	p, gr, buf, n := g.gp("p"), g.gp("grad"), g.gp("buf"), g.gp("n")
	c := g.spill("lr", "wd", "mu", "alpha")
	l2, first, nesterov := g.flag("l2"), g.flag("first"), g.flag("nesterov")
	ps, gs, bs := stream{p, 4}, stream{gr, 4}, stream{buf, 4}
	g.blocks(n, []stream{ps, gs, bs}, []int{1}, func(u int, t *mask) {
		pv, gv, tv := g.load(g.at(ps, 0), t), g.load(g.at(gs, 0), t), g.vec()
		g.VMULPS(c["wd"], pv, tv)
		g.VADDPS(tv, gv, tv)
		g.sel(l2, tv, gv)
		bv := g.load(g.at(bs, 0), t)
		g.VMULPS(c["mu"], bv, bv)
		g.VMULPS(c["alpha"], gv, tv)
		g.VADDPS(tv, bv, bv)
		g.sel(first, gv, bv)
		g.flushTiny(bv)
		g.store(bv, g.at(bs, 0), t)
		g.VMULPS(c["mu"], bv, tv)
		g.VADDPS(tv, gv, tv)
		g.sel(nesterov, tv, bv)
		g.VMULPS(c["lr"], bv, bv)
		g.VSUBPS(bv, pv, pv)
		g.store(pv, g.at(ps, 0), t)
	}, nil)
	g.ret()
}

func (g *gen) adam() {
	g.fn("adam", "func(p, grad, m, v *float32, n int, decay, wd, w1, w1c, beta2, w2, bc2sqrt, eps, stepSize float32, l2, small uint32)",
		"is an Adam step over n ≥ 1 floats, as PyTorch's _single_tensor_adam:",
		"p' = p[i]*decay; g' = l2 != 0 ? grad[i] + wd*p' : grad[i];",
		"m' = small != 0 ? m[i] + w1*(g'-m[i]) : g' - (g'-m[i])*w1c (lerp with weight w1);",
		"v' = v[i]*beta2 + (w2*g')*g'; m' and v' are flushed to 0 where |x| < 2^-126;",
		"p[i] = p' - (stepSize*m') / (sqrt(v')/bc2sqrt + eps),",
		"every operation rounded to float32. The flags are 0 or ^0.")
	p, gr, m, v, n := g.gp("p"), g.gp("grad"), g.gp("m"), g.gp("v"), g.gp("n")
	c := g.spill("decay", "wd", "w1", "w1c", "beta2", "w2", "bc2sqrt", "eps", "stepSize")
	l2, small := g.flag("l2"), g.flag("small")
	ps, gs, ms, vs := stream{p, 4}, stream{gr, 4}, stream{m, 4}, stream{v, 4}
	// plain Adam (no weight decay of either kind, β1 ≥ 0.5, as torch's
	// defaults) has a loop of its own without the operations that the
	// flags select away: on AVX2 the general loop's extra multiplies and
	// blends cost ~25% (BenchmarkElementwise/Adam).
	general, done := g.label("general"), g.label("done")
	f := g.GP32()
	g.Load(g.Param("l2"), f)
	g.TESTL(f, f)
	g.JNZ(LabelRef(general))
	g.Load(g.Param("small"), f)
	g.TESTL(f, f)
	g.JZ(LabelRef(general))
	g.CMPL(g.param("decay"), U32(0x3f800000)) // decay == 1
	g.JNE(LabelRef(general))
	body := func(plain bool) func(u int, t *mask) {
		return func(u int, t *mask) {
			pv := g.load(g.at(ps, 0), t)
			gv, tv := g.load(g.at(gs, 0), t), g.vec()
			mv, diff := g.load(g.at(ms, 0), t), g.vec()
			if plain {
				g.VSUBPS(mv, gv, diff) // g − m
				g.VMULPS(c["w1"], diff, tv)
				g.VADDPS(tv, mv, mv) // m + w1·(g−m)
			} else {
				g.VMULPS(c["decay"], pv, pv)
				g.VMULPS(c["wd"], pv, tv)
				g.VADDPS(tv, gv, tv)
				g.sel(l2, tv, gv)
				g.VSUBPS(mv, gv, diff) // g' − m
				g.VMULPS(c["w1"], diff, tv)
				g.VADDPS(tv, mv, tv) // m + w1·(g'−m)
				g.VMULPS(c["w1c"], diff, diff)
				g.VSUBPS(diff, gv, mv) // g' − (g'−m)·w1c
				g.sel(small, tv, mv)
			}
			g.flushTiny(mv)
			g.store(mv, g.at(ms, 0), t)
			vv := g.load(g.at(vs, 0), t)
			g.VMULPS(c["beta2"], vv, vv)
			g.VMULPS(c["w2"], gv, tv)
			g.VMULPS(gv, tv, tv)
			g.VADDPS(tv, vv, vv)
			g.flushTiny(vv)
			g.store(vv, g.at(vs, 0), t)
			d := g.vec()
			g.VSQRTPS(vv, d)
			g.VDIVPS(c["bc2sqrt"], d, d)
			g.VADDPS(c["eps"], d, d)
			g.VMULPS(c["stepSize"], mv, tv)
			g.VDIVPS(d, tv, tv)
			g.VSUBPS(tv, pv, pv)
			g.store(pv, g.at(ps, 0), t)
		}
	}
	g.blocks(n, []stream{ps, gs, ms, vs}, []int{1}, body(true), nil)
	g.JMP(LabelRef(done))
	g.Label(general)
	g.blocks(n, []stream{ps, gs, ms, vs}, []int{1}, body(false), nil)
	g.Label(done)
	g.ret()
}
