package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// Tests of the transposing packs of every path against their generic twins
// (packBTGeneric, packANGeneric): pure data movement, so bit for bit.

// packKCs are the k lengths tried: every one up to two 16-wide blocks past
// the panel width, and large ones.
func packKCs() []int {
	var kcs []int
	for kc := 0; kc <= 2*packWidth+3; kc++ {
		kcs = append(kcs, kc)
	}
	return append(kcs, 255, 256, 257, 784%256, 300)
}

// packCase is one call of a transposing pack: n rows (cols of the B panel,
// rows of the A panel) of kc floats, ld apart, starting off floats in.
type packCase struct {
	n, kc, ld, off int
}

func (pc packCase) String() string {
	return fmt.Sprintf("n=%d kc=%d ld=%d off=%d", pc.n, pc.kc, pc.ld, pc.off)
}

// srcLen is the length of the source rows read.
func (pc packCase) srcLen() int {
	if pc.n == 0 || pc.kc == 0 {
		return 0
	}
	return (pc.n-1)*pc.ld + pc.kc
}

// fillSrc fills the rows with random values and the gaps between them with
// NaN sentinels, which must not reach dst.
func fillSrc(rng *rand.Rand, src []float32, pc packCase) {
	for i := range src {
		src[i] = sentinel
	}
	for i := 0; i < pc.n; i++ {
		for p := 0; p < pc.kc; p++ {
			src[pc.off+i*pc.ld+p] = rng.Float32()*2 - 1
		}
	}
}

// checkPack runs the assembly pack f and its generic twin on the same
// source into dst buffers filled with sentinels and compares them bit for
// bit, over exactly want floats plus over floats f may overwrite.
func checkPack(t *testing.T, what string, pc packCase, src []float32, want []float32, f packTransposer, over int) {
	t.Helper()
	got := make([]float32, len(want)+over+8)
	for i := range got {
		got[i] = sentinel
	}
	if pc.kc > 0 && pc.n > 0 {
		f(&got[0], &src[pc.off], pc.ld, pc.kc, pc.n)
	}
	for i, w := range want {
		if math.Float32bits(got[i]) != math.Float32bits(w) {
			t.Fatalf("%s %v: dst[%d] = %g, want %g", what, pc, i, got[i], w)
		}
	}
	for i := len(want) + over; i < len(got); i++ {
		if math.Float32bits(got[i]) != math.Float32bits(sentinel) {
			t.Fatalf("%s %v: dst[%d] past the panel written: %g", what, pc, i, got[i])
		}
	}
}

// packImpls returns the paths with assembly packs.
func packImpls(t *testing.T) []*impl {
	var list []*impl
	for _, im := range impls {
		if im.packBT != nil || im.packAN != nil {
			list = append(list, im)
		}
	}
	if len(list) == 0 {
		t.Skip("no assembly packs in this build")
	}
	return list
}

func TestPackBT(t *testing.T) {
	for _, im := range packImpls(t) {
		t.Run(im.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(21, 22))
			for _, kc := range packKCs() {
				for n := 1; n <= packWidth; n++ {
					for _, lay := range [][2]int{{0, 0}, {3, 1}, {17, 3}} {
						pc := packCase{n: n, kc: kc, ld: kc + lay[0], off: lay[1]}
						pc.ld = max(pc.ld, 1)
						src := make([]float32, pc.off+pc.srcLen()+5)
						fillSrc(rng, src, pc)
						want := make([]float32, kc*packWidth)
						if kc > 0 {
							packBTGeneric(want, src[pc.off:], pc.ld, kc, n)
						}
						checkPack(t, "packBT", pc, src, want, im.packBT, 0)
					}
				}
			}
		})
	}
}

func TestPackAN(t *testing.T) {
	for _, im := range packImpls(t) {
		t.Run(im.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(23, 24))
			for _, kc := range packKCs() {
				for n := 1; n <= im.mr; n++ {
					for _, lay := range [][2]int{{0, 0}, {3, 1}, {17, 3}} {
						pc := packCase{n: n, kc: kc, ld: max(kc+lay[0], 1), off: lay[1]}
						src := make([]float32, pc.off+pc.srcLen()+5)
						fillSrc(rng, src, pc)
						want := make([]float32, kc*im.mr)
						if kc > 0 {
							packANGeneric(want, src[pc.off:], pc.ld, kc, n, im.mr)
						}
						checkPack(t, "packAN", pc, src, want, im.packAN, packSlack)
					}
				}
			}
		})
	}
}

// checkPackAT runs the assembly packAT on kc rows of rows floats (pc.n =
// rows), rows pc.ld apart from src[pc.off], into a dst of sentinels and
// compares it bit for bit with packATGeneric, allowing packSlack floats of
// overwrite past the panel.
func checkPackAT(t *testing.T, im *impl, pc packCase, src []float32) {
	t.Helper()
	want := make([]float32, pc.kc*im.mr)
	got := make([]float32, len(want)+packSlack+8)
	for i := range got {
		got[i] = sentinel
	}
	if pc.kc > 0 {
		packATGeneric(want, src[pc.off:], pc.ld, pc.kc, pc.n, im.mr)
		im.packAT(&got[0], &src[pc.off], pc.ld, pc.kc, pc.n)
	}
	for i, w := range want {
		if math.Float32bits(got[i]) != math.Float32bits(w) {
			t.Fatalf("packAT %v: dst[%d] = %g, want %g", pc, i, got[i], w)
		}
	}
	for i := len(want) + packSlack; i < len(got); i++ {
		if math.Float32bits(got[i]) != math.Float32bits(sentinel) {
			t.Fatalf("packAT %v: dst[%d] past the panel written: %g", pc, i, got[i])
		}
	}
}

// atSrc returns the source of a packAT case, kc rows of pc.n random floats
// pc.ld apart from pc.off (pad floats after them), NaN sentinels elsewhere.
func atSrc(rng *rand.Rand, pc packCase, pad int, alloc func(n int) []float32) []float32 {
	n := 0
	if pc.kc > 0 {
		n = pc.off + (pc.kc-1)*pc.ld + pc.n + pad
	}
	src := alloc(n)
	for i := range src {
		src[i] = sentinel
	}
	for p := 0; p < pc.kc; p++ {
		for i := 0; i < pc.n; i++ {
			src[pc.off+p*pc.ld+i] = rng.Float32()*2 - 1
		}
	}
	return src
}

func TestPackAT(t *testing.T) {
	for _, im := range packImpls(t) {
		if im.packAT == nil {
			continue
		}
		t.Run(im.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(29, 30))
			for _, kc := range packKCs() {
				for n := 1; n <= im.mr; n++ {
					for _, lay := range [][2]int{{0, 0}, {3, 1}, {17, 3}} {
						pc := packCase{n: n, kc: kc, ld: n + lay[0], off: lay[1]}
						checkPackAT(t, im, pc, atSrc(rng, pc, 5, plainAlloc))
					}
				}
			}
			if haveGuardPages {
				for _, atStart := range []bool{false, true} {
					for _, kc := range []int{1, 3, 4, 5, 9, 100} {
						for n := 1; n <= im.mr; n++ {
							for _, ld := range []int{n, n + 5, 64} {
								pc := packCase{n: n, kc: kc, ld: ld}
								checkPackAT(t, im, pc, atSrc(rng, pc, 0, func(n int) []float32 { return guardedFloats(t, n, atStart) }))
							}
						}
					}
				}
			}
		})
	}
}

// TestPackGuardPages: the packs read nothing outside the rows, with the
// source flush against an unreadable page at its end and at its start.
func TestPackGuardPages(t *testing.T) {
	if !haveGuardPages {
		t.Skip("no guard pages on this OS")
	}
	for _, im := range packImpls(t) {
		t.Run(im.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(25, 26))
			for _, atStart := range []bool{false, true} {
				for _, kc := range []int{1, 3, 7, 8, 9, 15, 16, 17, 33, 100} {
					for _, ld := range []int{kc, kc + 5} {
						for _, n := range []int{1, 5, 8, 13, 14, 16, 17, 31, 32} {
							pc := packCase{n: n, kc: kc, ld: ld}
							src := guardedFloats(t, pc.srcLen(), atStart)
							fillSrc(rng, src, pc)
							want := make([]float32, kc*packWidth)
							packBTGeneric(want, src, ld, kc, n)
							checkPack(t, "packBT", pc, src, want, im.packBT, 0)
							if n <= im.mr {
								want := make([]float32, kc*im.mr)
								packANGeneric(want, src, ld, kc, n, im.mr)
								checkPack(t, "packAN", pc, src, want, im.packAN, packSlack)
							}
						}
					}
				}
			}
		})
	}
}

// TestPackBlocks: packA and packB as the driver calls them equal the
// generic ones over whole blocks, including the panels' zero padding and
// the order in which whole-vector stores overwrite one another.
func TestPackBlocks(t *testing.T) {
	gen := lookup("generic")
	for _, im := range packImpls(t) {
		t.Run(im.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(27, 28))
			for _, s := range [][3]int{{1, 1, 1}, {3 * im.mr, 70, 37}, {2*im.mr + 5, 33, 256}, {97, 100, 19}} {
				rows, cols, k := s[0], s[1], s[2]
				ld := k + 3
				a := make([]float32, rows*ld)
				for i := range a {
					a[i] = rng.Float32()
				}
				for _, i0 := range []int{0, 1} {
					mc, kc := rows-i0, k-1
					if kc == 0 {
						kc = 1
					}
					// Panels of mr rows, and of fewer (laid out as mr).
					for _, h := range []int{im.mr, im.mr/2 + 1} {
						pn := (mc + h - 1) / h * im.mr * kc
						want := make([]float32, pn+packSlack)
						got := make([]float32, len(want))
						packA(gen, want, NoTrans, a, ld, i0, mc, 1%k, kc, im.mr, h)
						packA(im, got, NoTrans, a, ld, i0, mc, 1%k, kc, im.mr, h)
						requireSameBits(t, want[:pn], got[:pn], fmt.Sprintf("packA %v i0=%d h=%d", s, i0, h))
						// op(A) = Aᵀ: a is k×rows stored; rows up to cols of it.
						if mt, kt := min(cols, ld)-i0, min(rows, kc+1)-1; mt > 0 && kt > 0 {
							pn := (mt + h - 1) / h * im.mr * kt
							want := make([]float32, pn+packSlack)
							got := make([]float32, len(want))
							packA(gen, want, Trans, a, ld, i0, mt, 1, kt, im.mr, h)
							packA(im, got, Trans, a, ld, i0, mt, 1, kt, im.mr, h)
							requireSameBits(t, want[:pn], got[:pn], fmt.Sprintf("packA Trans %v i0=%d h=%d", s, i0, h))
						}
					}

					nc := min(cols, rows-i0)
					wb := make([]float32, (nc+packWidth)*kc)
					gb := make([]float32, len(wb))
					packB(gen, wb, Trans, a, ld, 1%k, kc, i0, nc)
					packB(im, gb, Trans, a, ld, 1%k, kc, i0, nc)
					requireSameBits(t, wb, gb, fmt.Sprintf("packB %v i0=%d", s, i0))
				}
			}
		})
	}
}

// TestPackBFromPackedT: B = Pᵀ packed from P's panels equals packing the
// plain transpose, for blocks that start inside a panel of P and span
// several, on every path's transposing pack.
func TestPackBFromPackedT(t *testing.T) {
	rng := rand.New(rand.NewPCG(29, 30))
	const kp, np = 45, 100 // P is kp×np; B = Pᵀ is np×kp
	pt := NewPackedB(kp, np)
	plain := make([]float32, np*kp) // Pᵀ stored row-major, ld kp
	for r := 0; r < kp; r++ {
		for c := 0; c < np; c++ {
			v := rng.Float32()
			pt.Set(r, c, v)
			plain[c*kp+r] = v
		}
	}
	for _, im := range packImpls(t) {
		for _, blk := range [][4]int{{0, np, 0, kp}, {5, 31, 0, kp}, {31, 2, 3, 40}, {33, 67, 13, 32}, {64, 1, 44, 1}} {
			p0, kc, j0, nc := blk[0], blk[1], blk[2], blk[3]
			n := (nc + packWidth - 1) / packWidth * packWidth * kc
			want, got := make([]float32, n), make([]float32, n)
			packB(lookup("generic"), want, NoTrans, plain, kp, p0, kc, j0, nc)
			packBFromPackedT(im, got, pt, p0, kc, j0, nc)
			requireSameBits(t, want, got, fmt.Sprintf("%s block %v", im.name, blk))
		}
	}
}

// BenchmarkPack times the transposing packs of the network's largest
// product (a 128×784 weight matrix used transposed, a 100×784 batch) per
// path, generic included; GB/s counts the floats packed, 4 bytes each.
func BenchmarkPack(b *testing.B) {
	const n, k, m = 128, 784, 100
	src := make([]float32, n*k)
	for i := range src {
		src[i] = float32(i % 11)
	}
	for _, im := range impls {
		b.Run("BT/"+im.name, func(b *testing.B) {
			kc := min(im.kc, k)
			dst := make([]float32, ((n+packWidth-1)/packWidth*packWidth)*kc)
			b.ReportAllocs()
			for b.Loop() {
				for p0 := 0; p0 < k; p0 += kc {
					packB(im, dst, Trans, src, k, p0, min(kc, k-p0), 0, n)
				}
			}
			b.ReportMetric(float64(n*k*4)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GB/s")
		})
		b.Run("AN/"+im.name, func(b *testing.B) {
			kc := min(im.kc, k)
			dst := make([]float32, (m+im.mr)*kc+packSlack)
			b.ReportAllocs()
			for b.Loop() {
				for p0 := 0; p0 < k; p0 += kc {
					packA(im, dst, NoTrans, src, k, 0, m, p0, min(kc, k-p0), im.mr, im.mr)
				}
			}
			b.ReportMetric(float64(m*k*4)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GB/s")
		})
	}
}
