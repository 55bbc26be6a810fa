package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// Tests of the edge micro-kernels (impl.edge): on the first nc columns they
// equal the full kernel bit for bit (the same instructions per column), and
// they touch no column of C past nc.

// edgeCase is one edge-kernel call; C rows are ldc apart.
type edgeCase struct {
	mr, nc, k   int
	ldc         int
	alpha, beta float32
}

func (ec edgeCase) String() string {
	return fmt.Sprintf("mr=%d nc=%d k=%d ldc=%d alpha=%g beta=%g", ec.mr, ec.nc, ec.k, ec.ldc, ec.alpha, ec.beta)
}

// check runs the edge kernel of im on C (len (mr-1)*ldc+nc, as alloc gives)
// and the full kernel on a whole tile with the same contents, and compares.
func (ec edgeCase) check(t *testing.T, im *impl, rng *rand.Rand, alloc func(n int) []float32) {
	t.Helper()
	a := make([]float32, max(1, ec.k*im.mr))
	b := make([]float32, max(1, ec.k*packWidth))
	for i := range a {
		a[i] = rng.Float32()*2 - 1
	}
	for i := range b {
		b[i] = rng.Float32()*2 - 1
	}
	c := alloc((ec.mr-1)*ec.ldc + ec.nc)
	full := make([]float32, im.mr*im.nr)
	for i := range c {
		c[i] = sentinel
	}
	for i := 0; i < ec.mr; i++ {
		for j := 0; j < ec.nc; j++ {
			v := float32(math.NaN())
			if ec.beta != 0 {
				v = rng.Float32()*2 - 1
			}
			c[i*ec.ldc+j], full[i*im.nr+j] = v, v
		}
	}
	c0 := append([]float32(nil), c...)
	im.kernel(ec.mr, ec.k, &a[0], &b[0], packWidth, &full[0], im.nr, ec.alpha, ec.beta)
	im.edge(ec.mr, ec.nc, ec.k, &a[0], &b[0], packWidth, &c[0], ec.ldc, ec.alpha, ec.beta)
	for idx := range c {
		i, j := idx/ec.ldc, idx%ec.ldc
		want := c0[idx]
		if j < ec.nc {
			want = full[i*im.nr+j]
		}
		if math.Float32bits(c[idx]) != math.Float32bits(want) {
			t.Fatalf("%v: c[%d][%d] = %g, want %g", ec, i, j, c[idx], want)
		}
	}
}

func TestEdgeKernel(t *testing.T) {
	for _, im := range impls {
		if im.edge == nil {
			continue
		}
		t.Run(im.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(31, 32))
			n := 0
			for mr := 1; mr <= im.mr; mr++ {
				for nc := 1; nc < im.nr; nc++ {
					for _, k := range []int{0, 1, 3, 4, 5, 9, 33} {
						sc := ukScalars[n%len(ukScalars)]
						n++
						ec := edgeCase{mr: mr, nc: nc, k: k, ldc: nc + n%3, alpha: sc[0], beta: sc[1]}
						ec.check(t, im, rng, plainAlloc)
					}
				}
			}
		})
	}
}

// TestEdgeKernelGuardPages: C flush against an unreadable page before and
// after, with rows exactly nc long: a load or store of a column past nc
// faults.
func TestEdgeKernelGuardPages(t *testing.T) {
	if !haveGuardPages {
		t.Skip("no guard pages on this OS")
	}
	for _, im := range impls {
		if im.edge == nil {
			continue
		}
		t.Run(im.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(33, 34))
			for _, atStart := range []bool{false, true} {
				for _, mr := range []int{1, im.mr - 1, im.mr} {
					for _, nc := range []int{1, 7, 15, 16, 17, im.nr - 1} {
						for _, beta := range []float32{0, 1} {
							ec := edgeCase{mr: mr, nc: nc, k: 5, ldc: nc, alpha: 1.5, beta: beta}
							ec.check(t, im, rng, func(n int) []float32 { return guardedFloats(t, n, atStart) })
						}
					}
				}
			}
		})
	}
}

// TestNarrowKernelBounds: the narrow kernel (impl.narrow) touches nothing
// for rows or n outside 1..narrowWidth, and with k = 0 sets C = beta·C on
// exactly rows × n elements (C read flush against a guard page where the
// OS has them).
func TestNarrowKernelBounds(t *testing.T) {
	for _, im := range impls {
		if im.narrow == nil {
			continue
		}
		t.Run(im.name, func(t *testing.T) {
			a := make([]float32, 4*packWidth)
			b := make([]float32, 64)
			for _, s := range [][2]int{{0, 5}, {17, 5}, {5, 0}, {5, 17}, {-1, 3}} {
				c := make([]float32, 32*32)
				for i := range c {
					c[i] = sentinel
				}
				im.narrow(s[0], s[1], 4, &a[0], &b[0], 16, &c[0], 32, 1, 1)
				for i, v := range c {
					if math.Float32bits(v) != math.Float32bits(sentinel) {
						t.Fatalf("rows=%d n=%d: c[%d] written", s[0], s[1], i)
					}
				}
			}
			for _, rn := range [][2]int{{1, 1}, {16, 16}, {7, 10}} {
				rows, n := rn[0], rn[1]
				ldc := n + 3
				c := guardedFloats(t, (rows-1)*ldc+n, false)
				for i := range c {
					c[i] = float32(i)
				}
				im.narrow(rows, n, 0, &a[0], &b[0], 16, &c[0], ldc, 1, 0.5)
				for i, v := range c {
					want := float32(i)
					if i%ldc < n {
						want *= 0.5
					}
					if v != want {
						t.Fatalf("rows=%d n=%d k=0: c[%d] = %g, want %g", rows, n, i, v, want)
					}
				}
			}
		})
	}
}
