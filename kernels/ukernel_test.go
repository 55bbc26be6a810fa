package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"unsafe"
)

// Tests of the micro-kernels themselves (the microKernel contract), called
// directly for every path this CPU can run, generic included.

// sentinel marks memory a kernel must neither read into a result nor write.
var sentinel = math.Float32frombits(0x7fc0dead)

// ukCase is one micro-kernel call.
type ukCase struct {
	mr, k       int
	ldb, ldc    int
	alpha, beta float32
	aOff        int // start offsets in floats: any 4-byte alignment
	bOff, cOff  int
}

func (uc ukCase) String() string {
	return fmt.Sprintf("mr=%d k=%d ldb=%d ldc=%d alpha=%g beta=%g off=%d/%d/%d",
		uc.mr, uc.k, uc.ldb, uc.ldc, uc.alpha, uc.beta, uc.aOff, uc.bOff, uc.cOff)
}

// ukBuffers holds the operands of one call; the slices start where the
// kernel's pointers point.
type ukBuffers struct {
	a, b, c []float32
}

// lengths returns how many floats of a, b and c the kernel may touch.
func (uc ukCase) lengths(im *impl) (na, nb, nc int) {
	na = uc.k * im.mr
	if uc.k > 0 {
		nb = (uc.k-1)*uc.ldb + im.nr
	}
	nc = (uc.mr-1)*uc.ldc + im.nr
	return
}

// fill sets the operands: random values where the kernel reads, NaN
// sentinels where it must not (rows ≥ mr of a, padding of b and c), NaN in
// the C tile when beta is 0.
func (uc ukCase) fill(im *impl, rng *rand.Rand, o ukBuffers) {
	for p := 0; p < uc.k; p++ {
		for i := 0; i < im.mr; i++ {
			v := sentinel
			if i < uc.mr {
				v = rng.Float32()*2 - 1
			}
			o.a[p*im.mr+i] = v
		}
	}
	for i := range o.b {
		o.b[i] = sentinel
	}
	for p := 0; p < uc.k; p++ {
		for j := 0; j < im.nr; j++ {
			o.b[p*uc.ldb+j] = rng.Float32()*2 - 1
		}
	}
	for i := range o.c {
		o.c[i] = sentinel
	}
	for i := 0; i < uc.mr; i++ {
		for j := 0; j < im.nr; j++ {
			v := float32(math.NaN())
			if uc.beta != 0 {
				v = rng.Float32()*2 - 1
			}
			o.c[i*uc.ldc+j] = v
		}
	}
}

// run calls the kernel and checks the result, the untouched memory around
// the tile and the unchanged inputs. cBefore and cAfter are the lengths of
// C padding in o.c around the tile that the test owns.
func (uc ukCase) run(t *testing.T, im *impl, o ukBuffers, cLo int) {
	t.Helper()
	a0 := append([]float32(nil), o.a...)
	b0 := append([]float32(nil), o.b...)
	c0 := append([]float32(nil), o.c...)
	im.kernel(uc.mr, uc.k, ptr(o.a), ptr(o.b), uc.ldb, ptr(o.c[cLo:]), uc.ldc, uc.alpha, uc.beta)
	sameBits(t, a0, o.a, "a modified")
	sameBits(t, b0, o.b, "b modified")
	const eps = 1.0 / (1 << 24)
	for idx := range o.c {
		off := idx - cLo
		i, j := off/uc.ldc, off%uc.ldc
		if off < 0 || i >= uc.mr || j >= im.nr {
			if math.Float32bits(o.c[idx]) != math.Float32bits(c0[idx]) {
				t.Fatalf("%v: c[%d] outside the tile changed: %g → %g", uc, off, c0[idx], o.c[idx])
			}
			continue
		}
		var s, mag float64
		for p := 0; p < uc.k; p++ {
			x := float64(o.a[p*im.mr+i]) * float64(o.b[p*uc.ldb+j])
			s += x
			mag += math.Abs(x)
		}
		want := float64(uc.alpha) * s
		tol := 4*float64(uc.k+2)*eps*math.Abs(float64(uc.alpha))*mag + 1e-30
		if uc.beta != 0 {
			bc := float64(uc.beta) * float64(c0[idx])
			want += bc
			tol += 4 * eps * math.Abs(bc)
		}
		got := float64(o.c[idx])
		if !(math.Abs(got-want) <= tol) {
			t.Fatalf("%v: c[%d][%d] = %g, want %g ± %g", uc, i, j, got, want, tol)
		}
	}
}

func ptr(s []float32) *float32 { return unsafe.SliceData(s) }

func sameBits(t *testing.T, want, got []float32, msg string) {
	t.Helper()
	for i := range want {
		if math.Float32bits(want[i]) != math.Float32bits(got[i]) {
			t.Fatalf("%s at %d: %g → %g", msg, i, want[i], got[i])
		}
	}
}

// ukScalars are the (alpha, beta) pairs every shape is tried with.
var ukScalars = [][2]float32{{1, 0}, {1, 1}, {0.5, -1.5}, {-1.5, 0.5}, {0, 1}, {0, 0}, {1, -1.5}, {0.5, 0}}

// ukKs are the depths: every k through two unrolled blocks of the widest
// unroll plus a tail (the generators unroll at most 8), and a few large ones.
func ukKs() []int {
	var ks []int
	for k := 0; k <= 2*8+3; k++ {
		ks = append(ks, k)
	}
	return append(ks, 64, 255, 256, 383, 1001)
}

func TestUkernelShapes(t *testing.T) {
	for _, im := range impls {
		t.Run(im.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, uint64(im.mr)))
			n := 0
			for mr := 1; mr <= im.mr; mr++ {
				for _, k := range ukKs() {
					for si, sc := range ukScalars {
						if k > 64 && si > 2 {
							continue
						}
						n++
						uc := ukCase{
							mr: mr, k: k, alpha: sc[0], beta: sc[1],
							ldb:  im.nr + []int{0, 3, packWidth, 2*packWidth + 1}[n%4],
							ldc:  im.nr + []int{0, 1, 7, 32}[(n/4)%4],
							aOff: n % 7, bOff: (n / 3) % 5, cOff: (n / 5) % 3,
						}
						na, nb, nc := uc.lengths(im)
						// C gets sentinels before, between and after its rows,
						// and rows up to MR that mr < MR must leave alone.
						cLo, cHi := 3+uc.cOff, (im.mr-uc.mr)*uc.ldc+5
						o := ukBuffers{
							a: make([]float32, uc.aOff+na)[uc.aOff:],
							b: make([]float32, uc.bOff+nb)[uc.bOff:],
							c: make([]float32, cLo+nc+cHi),
						}
						uc.fill(im, rng, ukBuffers{a: o.a, b: o.b, c: o.c[cLo : cLo+nc]})
						uc.run(t, im, o, cLo)
					}
				}
			}
		})
	}
}

// TestUkernelGuardPages puts each operand flush against an inaccessible
// page, before and after, so a load or store of one float too many faults.
func TestUkernelGuardPages(t *testing.T) {
	for _, im := range impls {
		t.Run(im.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(2, uint64(im.mr)))
			for _, mr := range []int{1, im.mr / 2, im.mr - 1, im.mr} {
				if mr < 1 {
					continue
				}
				for _, k := range []int{0, 1, 2, 3, 5, 9, 17, 256} {
					for _, beta := range []float32{0, 1} {
						for _, atStart := range []bool{false, true} {
							uc := ukCase{mr: mr, k: k, ldb: im.nr + 5, ldc: im.nr + 3, alpha: 1.5, beta: beta}
							na, nb, nc := uc.lengths(im)
							o := ukBuffers{
								a: guardedFloats(t, na, atStart),
								b: guardedFloats(t, nb, atStart),
								c: guardedFloats(t, nc, atStart),
							}
							uc.fill(im, rng, o)
							uc.run(t, im, o, 0)
						}
					}
				}
			}
		})
	}
}

// TestUkernelBeta0NaN: with beta == 0 (either sign) the kernel must not
// read C, so NaN and Inf in C must not reach the result.
func TestUkernelBeta0NaN(t *testing.T) {
	for _, im := range impls {
		t.Run(im.name, func(t *testing.T) {
			for _, beta := range []float32{0, float32(math.Copysign(0, -1))} {
				for mr := 1; mr <= im.mr; mr++ {
					k := 7
					a := make([]float32, k*im.mr)
					b := make([]float32, k*im.nr)
					for i := range a {
						a[i] = 1
					}
					for i := range b {
						b[i] = 0.5
					}
					c := make([]float32, im.mr*im.nr)
					for i := range c {
						c[i] = []float32{float32(math.NaN()), float32(math.Inf(-1))}[i%2]
					}
					im.kernel(mr, k, &a[0], &b[0], im.nr, &c[0], im.nr, 2, beta)
					for i, v := range c[:mr*im.nr] {
						if v != 7 {
							t.Fatalf("beta=%g mr=%d: c[%d] = %g, want 7", beta, mr, i, v)
						}
					}
				}
			}
		})
	}
}
