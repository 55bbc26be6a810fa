//go:build ignore || gc || ignore || !purego
// +build ignore gc ignore !purego

package main

import (
	"bytes"
	"fmt"
	"go/format"
	"io"
	"strings"

	"github.com/mmcloughlin/avo/attr"
	"github.com/mmcloughlin/avo/build"
	"github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/pass"
	"github.com/mmcloughlin/avo/printer"
	"github.com/mmcloughlin/avo/reg"
)

// shape is the register blocking of one path's micro-kernel.
type shape struct {
	mr, nr    int  // register tile: mr rows of nr floats
	unroll    int  // k steps per loop iteration
	embedded  bool // A broadcast through the FMA memory operand (EVEX only)
	prefetch  int  // PREFETCHT0 this many k steps ahead; 0: none
	prefetchC bool // PREFETCHT0 the C tile before the k loop
}

// isa is one instruction set: the vector width and the instructions that
// depend on it.
type isa struct {
	name     string            // Go identifier suffix: AVX2, AVX512
	prefix   string            // Go constant prefix: avx2, avx512
	vecBytes int               // bytes per vector register
	regs     []reg.VecPhysical // the vector registers the kernels may use
	zero     func(g *gen, r reg.Register)
	peakAccs int // independent FMA chains in the peak loop
	shape    shape
}

func (s *isa) lanes() int { return s.vecBytes / 4 }

// config is everything that changes the generated files.
type config struct {
	avx2, avx512 shape
	argv         []string // generator command for the header
	pkg          string
}

// defaultConfig is the configuration of the committed files.
//
// Measured on an AMD EPYC (Zen 4: one 512-bit or two 256-bit FMAs a cycle,
// 32 KiB L1d, 1 MiB L2; the peak loop gives ~117 GFLOP/s on either path), as
// a share of that peak, best of several runs on shared cores:
//
//   - operands in L1 (BenchmarkMicroKernel, k = 256): every AVX-512 shape
//     tried, 8×32, 12×32, 14×32 and 15×32, k unrolled ×1 to ×4, with or
//     without embedded broadcast or PREFETCHT0, reached 95–98%: the FMA
//     port is the limit;
//   - the driver's two inner loops over a packed mc×256 A block and
//     256×2048 B block (BenchmarkMacroKernel): with mc ≈ 192, 8×32 87%,
//     12×32 88–90%, 14×32 93%; with mc ≈ 96, all 95–97%;
//   - whole products (BenchmarkGemm): the shapes tie within the noise.
//
// 14×32 is kept: it loads the least B per FMA, so it depends least on mc.
// Embedded broadcast (-avx512.bcst) is on: the same for the full tile, but
// the edge kernel's one-vector rows (nc ≤ 16, the network's 10-wide output
// layer), with one broadcast per FMA, went from ~70% to ~95% of the FMA
// peak (BenchmarkMicroKernel-style loop, mr = 14, k = 64).
// Prefetching the C tile before the k loop (-avx2.pfc, -avx512.pfc) made
// no measurable difference on 1024³ (ldc of 4 KiB, C rows in one L1 set).
// It uses 28 accumulators, 2 B registers and 2 broadcast registers: all 32
// ZMM. AVX2 6×16 (12 accumulators, the most 16 YMM registers allow) reaches
// ~93% in L1 and ~92% over packed blocks.
func defaultConfig() config {
	return config{
		avx2:   shape{mr: 6, nr: 16, unroll: 4},
		avx512: shape{mr: 14, nr: 32, unroll: 4, embedded: true},
		argv:   strings.Fields(command),
		pkg:    "kernels",
	}
}

func (c config) isas() []*isa {
	ymm := []reg.VecPhysical{reg.Y0, reg.Y1, reg.Y2, reg.Y3, reg.Y4, reg.Y5, reg.Y6, reg.Y7,
		reg.Y8, reg.Y9, reg.Y10, reg.Y11, reg.Y12, reg.Y13, reg.Y14, reg.Y15}
	zmm := []reg.VecPhysical{reg.Z0, reg.Z1, reg.Z2, reg.Z3, reg.Z4, reg.Z5, reg.Z6, reg.Z7,
		reg.Z8, reg.Z9, reg.Z10, reg.Z11, reg.Z12, reg.Z13, reg.Z14, reg.Z15,
		reg.Z16, reg.Z17, reg.Z18, reg.Z19, reg.Z20, reg.Z21, reg.Z22, reg.Z23,
		reg.Z24, reg.Z25, reg.Z26, reg.Z27, reg.Z28, reg.Z29, reg.Z30, reg.Z31}
	return []*isa{
		{
			name: "AVX2", prefix: "avx2", vecBytes: 32, regs: ymm,
			// VXORPS ymm needs only AVX.
			zero:     func(g *gen, r reg.Register) { g.VXORPS(r, r, r) },
			peakAccs: 12, shape: c.avx2,
		},
		{
			name: "AVX512", prefix: "avx512", vecBytes: 64, regs: zmm,
			// VPXORD zmm needs only AVX512F (VXORPS zmm would need DQ).
			zero:     func(g *gen, r reg.Register) { g.VPXORD(r, r, r) },
			peakAccs: 12, shape: c.avx512,
		},
	}
}

// gen wraps the avo build context of one generator run.
type gen struct {
	*build.Context
}

// generate writes the assembly, the Go stubs and the Go constants.
func generate(cfg config, asm, stubs, params io.Writer) error {
	isas := cfg.isas()
	for _, s := range isas {
		if err := s.check(); err != nil {
			return err
		}
	}
	g := &gen{build.NewContext()}
	// avo parses +build syntax; it prints //go:build gc && !purego.
	g.ConstraintExpr("gc,!purego")
	for _, s := range isas {
		g.kernel(s)
	}
	for _, s := range isas {
		g.peak(s)
	}
	for _, s := range isas {
		tbl := transposer{isa: s, w: s.lanes()}.maskTable(g)
		g.packBT(s, tbl)
		g.packAN(s, tbl)
		if s.vecBytes == 64 {
			g.edgeKernel(s, tbl)
			g.packAT(s, tbl)
			g.narrowKernel(s)
		}
	}
	f, err := g.Result()
	if err != nil {
		return err
	}
	pc := printer.Config{Argv: cfg.argv, Pkg: cfg.pkg}
	if err := pass.Compile.Execute(f); err != nil {
		return err
	}
	for _, o := range []struct {
		w io.Writer
		p printer.Printer
	}{{asm, printer.NewGoAsm(pc)}, {stubs, printer.NewStubs(pc)}} {
		b, err := o.p.Print(f)
		if err != nil {
			return err
		}
		if _, err := o.w.Write(b); err != nil {
			return err
		}
	}
	b, err := paramsFile(pc, isas)
	if err != nil {
		return err
	}
	_, err = params.Write(b)
	return err
}

func (s *isa) check() error {
	sh := s.shape
	nv := sh.nr / s.lanes()
	switch {
	case sh.nr <= 0 || sh.nr%s.lanes() != 0 || 32%sh.nr != 0:
		return fmt.Errorf("%s: nr %d is not a multiple of %d dividing 32", s.name, sh.nr, s.lanes())
	case sh.mr < 1:
		return fmt.Errorf("%s: mr %d < 1", s.name, sh.mr)
	case sh.unroll < 1:
		return fmt.Errorf("%s: unroll %d < 1", s.name, sh.unroll)
	case sh.embedded && s.vecBytes != 64:
		return fmt.Errorf("%s: embedded broadcast needs EVEX", s.name)
	case sh.prefetch < 0:
		return fmt.Errorf("%s: negative prefetch distance", s.name)
	}
	// Accumulators, B and a broadcast register (alpha and beta reuse B
	// and the broadcast register).
	need := sh.mr*nv + nv + 1
	if sh.embedded {
		need = sh.mr*nv + max(nv, 2)
	}
	if need > len(s.regs) {
		return fmt.Errorf("%s: %d×%d tile needs %d vector registers, have %d", s.name, sh.mr, sh.nr, need, len(s.regs))
	}
	if s.peakAccs+2 > len(s.regs) {
		return fmt.Errorf("%s: peak loop needs %d registers", s.name, s.peakAccs+2)
	}
	return nil
}

// kernel emits gemmKernel<ISA>: one unrolled code path per row count
// 1..MR, chosen by a compare chain at entry.
func (g *gen) kernel(s *isa) {
	sh := s.shape
	nv := sh.nr / s.lanes()
	name := "gemmKernel" + s.name
	g.Function(name)
	g.Attributes(attr.NOSPLIT)
	g.SignatureExpr("func(mr, k int, a, b *float32, ldb int, c *float32, ldc int, alpha, beta float32)")
	g.Pragma("noescape")
	g.Doc(
		fmt.Sprintf("%s computes one %d×%d register tile of C (%s):", name, sh.mr, sh.nr, s.name),
		"",
		fmt.Sprintf("\tfor i < mr, j < %d:", sh.nr),
		fmt.Sprintf("\t  acc = Σ_{p<k} a[p*%d+i] * b[p*ldb+j]   (FMA, in p order)", sh.mr),
		"\t  c[i*ldc+j] = alpha*acc + beta*c[i*ldc+j]  (beta == 0: c is not read)",
		"",
		fmt.Sprintf("1 ≤ mr ≤ %d (any other mr: nothing is touched), k ≥ 0. It reads", sh.mr),
		fmt.Sprintf("a[:k*%d], %d floats of each of the k rows of b, and rows i < mr of c.", sh.mr, sh.nr),
	)

	mr := g.Load(g.Param("mr"), g.GP64())
	k := g.Load(g.Param("k"), g.GP64())
	a := g.Load(g.Param("a"), g.GP64())
	b := g.Load(g.Param("b"), g.GP64())
	ldb := g.Load(g.Param("ldb"), g.GP64())
	c := g.Load(g.Param("c"), g.GP64())
	ldc := g.Load(g.Param("ldc"), g.GP64())
	g.SHLQ(operand.U8(2), ldb)
	g.SHLQ(operand.U8(2), ldc)

	// The full tile is the common case: test it first.
	g.Comment("Dispatch on mr: one code path per row count.")
	for m := sh.mr; m >= 1; m-- {
		g.CMPQ(mr, operand.U32(m))
		g.JEQ(operand.LabelRef(fmt.Sprintf("mr%d", m)))
	}
	g.RET()

	for m := sh.mr; m >= 1; m-- {
		g.tile(s, m, nv, edge{nv: nv}, k, a, b, ldb, c, ldc)
	}
}

// edge says which vectors of a tile's rows a code path computes: the first
// nv, the last of them through the column mask when mask is set.
type edge struct {
	nv     int
	mask   reg.Register
	prefix string // label prefix
}

// edgeKernel emits gemmEdge<ISA> (AVX-512 only): the micro-kernel for
// the last, partial tile of a row of tiles, with the columns past nc
// neither computed beyond the vector that holds the last one nor stored:
// one vector per row when nc ≤ 16, and masked loads and stores of C.
func (g *gen) edgeKernel(s *isa, tbl operand.Mem) {
	sh := s.shape
	nv := sh.nr / s.lanes()
	name := "gemmEdge" + s.name
	g.Function(name)
	g.Attributes(attr.NOSPLIT)
	g.SignatureExpr("func(mr, nc, k int, a, b *float32, ldb int, c *float32, ldc int, alpha, beta float32)")
	g.Pragma("noescape")
	g.Doc(
		fmt.Sprintf("%s computes the first nc columns of one %d×%d register tile of C (%s):", name, sh.mr, sh.nr, s.name),
		"",
		"\tfor i < mr, j < nc:",
		fmt.Sprintf("\t  acc = Σ_{p<k} a[p*%d+i] * b[p*ldb+j]   (FMA, in p order)", sh.mr),
		"\t  c[i*ldc+j] = alpha*acc + beta*c[i*ldc+j]  (beta == 0: c is not read)",
		"",
		fmt.Sprintf("1 ≤ mr ≤ %d and 1 ≤ nc ≤ %d (any other: nothing is touched), k ≥ 0. It reads", sh.mr, sh.nr),
		fmt.Sprintf("a[:k*%d], up to %d floats of each of the k rows of b (as many as the", sh.mr, sh.nr),
		fmt.Sprintf("%d-float vectors that hold the first nc), and only columns j < nc of rows i < mr of c.", s.lanes()),
	)
	mr := g.Load(g.Param("mr"), g.GP64())
	ncols := g.Load(g.Param("nc"), g.GP64())
	k := g.Load(g.Param("k"), g.GP64())
	a := g.Load(g.Param("a"), g.GP64())
	b := g.Load(g.Param("b"), g.GP64())
	ldb := g.Load(g.Param("ldb"), g.GP64())
	c := g.Load(g.Param("c"), g.GP64())
	ldc := g.Load(g.Param("ldc"), g.GP64())
	g.SHLQ(operand.U8(2), ldb)
	g.SHLQ(operand.U8(2), ldc)
	g.CMPQ(ncols, operand.U32(1))
	g.JLT(operand.LabelRef("none"))
	g.CMPQ(ncols, operand.U32(sh.nr))
	g.JGT(operand.LabelRef("none"))
	// Vector e.nv-1 holds the last column: mask its nc - 16*(nv-1) lanes.
	tb := g.GP64()
	g.LEAQ(tbl, tb)
	for v := 1; v <= nv; v++ {
		g.Label(fmt.Sprintf("n%d", v))
		if v < nv {
			g.CMPQ(ncols, operand.U32(v*s.lanes()))
			g.JGT(operand.LabelRef(fmt.Sprintf("n%d", v+1)))
		}
		if v > 1 {
			g.SUBQ(operand.U32((v-1)*s.lanes()), ncols)
		}
		g.KMOVW(operand.Mem{Base: tb, Index: ncols, Scale: 2}, reg.K1)
		for m := sh.mr; m >= 1; m-- {
			g.CMPQ(mr, operand.U32(m))
			g.JEQ(operand.LabelRef(fmt.Sprintf("n%dmr%d", v, m)))
		}
		g.JMP(operand.LabelRef("none"))
	}
	g.Label("none")
	g.RET()
	for v := 1; v <= nv; v++ {
		for m := sh.mr; m >= 1; m-- {
			g.tile(s, m, nv, edge{nv: v, mask: reg.K1, prefix: fmt.Sprintf("n%d", v)}, k, a, b, ldb, c, ldc)
		}
	}
}

// tile emits the code path for m rows (of e.nv vectors of the tile's nv).
func (g *gen) tile(s *isa, m, nv int, e edge, k, a, b, ldb, c, ldc reg.Register) {
	sh := s.shape
	vb := s.vecBytes
	acc := func(i, j int) reg.VecPhysical { return s.regs[i*nv+j] }
	bv := s.regs[sh.mr*nv : sh.mr*nv+nv]
	bc := s.regs[sh.mr*nv+nv:] // broadcast registers, rotated
	l := func(what string) string { return fmt.Sprintf("%s%s%d", e.prefix, what, m) }
	masked := func(j int) bool { return e.mask != nil && j == e.nv-1 }
	aMem := operand.Mem{Base: a}
	bMem := operand.Mem{Base: b}
	cMem := operand.Mem{Base: c}

	g.Label(l("mr"))
	g.Commentf("%d row(s): zero the accumulators.", m)
	for i := 0; i < m; i++ {
		for j := 0; j < e.nv; j++ {
			s.zero(g, acc(i, j))
		}
	}

	if sh.prefetchC {
		g.Commentf("Prefetch the C tile.")
		cp := g.GP64()
		g.MOVQ(c, cp)
		for i := 0; i < m; i++ {
			for off := 0; off < sh.nr*4; off += 64 {
				g.PREFETCHT0(operand.Mem{Base: cp, Disp: off})
			}
			if i < m-1 {
				g.ADDQ(ldc, cp)
			}
		}
	}

	nb := 0
	// step emits k step u of a block: acc += a[u*MR+i] * b[u*ldb+j].
	// b points at row u on entry and is advanced by one row.
	step := func(u int) {
		if d := sh.prefetch; d > 0 {
			g.PREFETCHT0(aMem.Offset((u + d) * sh.mr * 4))
			g.PREFETCHT0(operand.Mem{Base: b, Index: ldb, Scale: 1}.Offset(0))
		}
		for j := 0; j < e.nv; j++ {
			g.VMOVUPS(bMem.Offset(j*vb), bv[j])
		}
		for i := 0; i < m; i++ {
			ai := aMem.Offset((u*sh.mr + i) * 4)
			if sh.embedded {
				for j := 0; j < e.nv; j++ {
					g.VFMADD231PS_BCST(ai, bv[j], acc(i, j))
				}
				continue
			}
			t := bc[nb%len(bc)]
			nb++
			g.VBROADCASTSS(ai, t)
			for j := 0; j < e.nv; j++ {
				g.VFMADD231PS(t, bv[j], acc(i, j))
			}
		}
		g.ADDQ(ldb, b)
	}

	if u := sh.unroll; u > 1 {
		g.CMPQ(k, operand.U32(u))
		g.JLT(operand.LabelRef(l("tail")))
		g.Label(l("loop"))
		for i := 0; i < u; i++ {
			step(i)
		}
		g.ADDQ(operand.U32(u*sh.mr*4), a)
		g.SUBQ(operand.U32(u), k)
		g.CMPQ(k, operand.U32(u))
		g.JGE(operand.LabelRef(l("loop")))
		g.Label(l("tail"))
	}
	g.TESTQ(k, k)
	g.JEQ(operand.LabelRef(l("store")))
	g.Label(l("one"))
	step(0)
	g.ADDQ(operand.U32(sh.mr*4), a)
	g.DECQ(k)
	g.JNE(operand.LabelRef(l("one")))

	g.Label(l("store"))
	g.Comment("c = alpha*acc + beta*c; beta == ±0: c is not read.")
	alpha, beta := bv[0], s.regs[sh.mr*nv+1]
	if nv > 1 {
		beta = bv[1]
	}
	g.VBROADCASTSS(param(g, "alpha"), alpha)
	bits := g.GP32()
	g.MOVL(param(g, "beta"), bits)
	g.SHLL(operand.U8(1), bits)
	g.JEQ(operand.LabelRef(l("beta0")))
	g.VBROADCASTSS(param(g, "beta"), beta)
	for i := 0; i < m; i++ {
		for j := 0; j < e.nv; j++ {
			g.VMULPS(alpha, acc(i, j), acc(i, j))
			if masked(j) {
				g.VMOVUPS_Z(cMem.Offset(j*vb), e.mask, bc[0])
				g.VFMADD231PS(bc[0], beta, acc(i, j))
				g.VMOVUPS(acc(i, j), e.mask, cMem.Offset(j*vb))
				continue
			}
			g.VFMADD231PS(cMem.Offset(j*vb), beta, acc(i, j))
			g.VMOVUPS(acc(i, j), cMem.Offset(j*vb))
		}
		if i < m-1 {
			g.ADDQ(ldc, c)
		}
	}
	g.VZEROUPPER()
	g.RET()

	g.Label(l("beta0"))
	for i := 0; i < m; i++ {
		for j := 0; j < e.nv; j++ {
			g.VMULPS(alpha, acc(i, j), acc(i, j))
			if masked(j) {
				g.VMOVUPS(acc(i, j), e.mask, cMem.Offset(j*vb))
				continue
			}
			g.VMOVUPS(acc(i, j), cMem.Offset(j*vb))
		}
		if i < m-1 {
			g.ADDQ(ldc, c)
		}
	}
	g.VZEROUPPER()
	g.RET()
}

// peak emits peak<ISA>(iters): iters iterations of peakAccs independent
// FMA chains, enough to cover FMA latency × throughput.
func (g *gen) peak(s *isa) {
	name := "peak" + s.name
	g.Function(name)
	g.Attributes(attr.NOSPLIT)
	g.SignatureExpr("func(iters int)")
	g.Doc(
		fmt.Sprintf("%s runs iters iterations of %d independent %d-lane FMA chains", name, s.peakAccs, s.lanes()),
		fmt.Sprintf("(%s flops per iteration): the peak the micro-kernel is measured against.", "peakFlops"+s.name),
	)
	n := g.Load(g.Param("iters"), g.GP64())
	x, y := s.regs[s.peakAccs], s.regs[s.peakAccs+1]
	for i := 0; i < s.peakAccs+2; i++ {
		s.zero(g, s.regs[i])
	}
	g.TESTQ(n, n)
	g.JLE(operand.LabelRef("done"))
	g.Label("loop")
	for i := 0; i < s.peakAccs; i++ {
		g.VFMADD231PS(x, y, s.regs[i])
	}
	g.DECQ(n)
	g.JNE(operand.LabelRef("loop"))
	g.Label("done")
	g.VZEROUPPER()
	g.RET()
}

// param returns the stack address of a scalar argument.
func param(g *gen, name string) operand.Mem {
	b, err := g.Param(name).Resolve()
	if err != nil {
		panic(err)
	}
	return b.Addr
}

// paramsFile returns the Go constants the driver needs.
func paramsFile(pc printer.Config, isas []*isa) ([]byte, error) {
	var b bytes.Buffer
	fmt.Fprintf(&b, "// %s\n\n//go:build gc && !purego\n\npackage %s\n\n", pc.GeneratedWarning(), pc.Pkg)
	b.WriteString("// Register tiles of the micro-kernels in gemm_amd64.s.\nconst (\n")
	for _, s := range isas {
		fmt.Fprintf(&b, "\t%sMR, %sNR = %d, %d\n", s.prefix, s.prefix, s.shape.mr, s.shape.nr)
	}
	b.WriteString(")\n\n// Floating-point operations per iteration of the peak loops.\nconst (\n")
	for _, s := range isas {
		fmt.Fprintf(&b, "\tpeakFlops%s = %d // %d FMAs × %d lanes × 2\n", s.name, 2*s.peakAccs*s.lanes(), s.peakAccs, s.lanes())
	}
	b.WriteString(")\n")
	return format.Source(b.Bytes())
}
