package kernels

import (
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"time"
)

// EnvVar names the environment variable that forces a kernel path at start,
// for programs and CI: SIMDMLP_KERNELS=generic|avx2|avx512|neon.
const EnvVar = "SIMDMLP_KERNELS"

// packWidth is the column width of packed B panels. It is a multiple of every
// path's micro-tile width, so one packed layout serves all paths: a path with a
// narrower tile walks sub-panels of it with row stride packWidth.
const packWidth = 32

// microKernel computes one register tile of C (the assembly contract):
//
//	for i < mr, j < nr:
//	  acc = Σ_{p<k} a[p*MR+i] * b[p*ldb+j]
//	  c[i*ldc+j] = alpha*acc + beta*c[i*ldc+j]   (beta == 0: c is not read)
//
// a is a packed micro-panel of MR rows, b has nr contiguous floats per row.
type microKernel func(mr, k int, a, b *float32, ldb int, c *float32, ldc int, alpha, beta float32)

// edgeKernel is microKernel for the first nc columns of the tile only: it
// reads and writes no column of c past them.
type edgeKernel func(mr, nc, k int, a, b *float32, ldb int, c *float32, ldc int, alpha, beta float32)

// narrowKernel is gemmNarrowAVX512's signature.
type narrowKernel func(rows, n, k int, a, b *float32, ldb int, c *float32, ldc int, alpha, beta float32)

// An impl is the set of kernels for one instruction set.
type impl struct {
	name   string
	mr, nr int // register tile of kernel
	kernel microKernel
	// Cache blocking: A blocks are mc×kc (L2), B blocks kc×nc (L3).
	mc, kc, nc int
	// Transposing packs in assembly (see packBTGeneric, packANGeneric);
	// nil: the generic ones.
	packBT, packAN packTransposer
	// packAT is the straight copy of op(A) = Aᵀ into an A micro-panel in
	// assembly (see packATGeneric); nil: the generic one.
	packAT packTransposer
	// edge computes the first nc < nr columns of a tile (see
	// gemmEdgeAVX512); nil: the driver computes a whole tile aside and
	// merges those columns.
	edge edgeKernel
	// narrow computes up to 16 rows of a product at most 16 columns wide
	// with op(B) = Bᵀ, vectorised along the rows (see gemmNarrowAVX512);
	// nil: such products take the tile kernels.
	narrow narrowKernel
	// peak runs iters iterations of independent FMA chains, peakFlops each;
	// nil where there is no assembly.
	peak      func(iters int)
	peakFlops int
	elem      elemKernels
}

// impls lists the paths this CPU can run, generic first, fastest last.
var impls = append([]*impl{genericImpl}, archImpls()...)

var active atomic.Pointer[impl]

func init() {
	best := impls[len(impls)-1]
	if v := os.Getenv(EnvVar); v != "" {
		im := lookup(v)
		if im == nil {
			panic(fmt.Sprintf("kernels: %s=%q is not available on this CPU (available: %s)",
				EnvVar, v, strings.Join(Available(), ", ")))
		}
		best = im
	}
	active.Store(best)
}

func lookup(name string) *impl {
	for _, im := range impls {
		if im.name == name {
			return im
		}
	}
	return nil
}

// Available returns the names of the kernel paths this CPU can run,
// "generic" first and the fastest last.
func Available() []string {
	names := make([]string, len(impls))
	for i, im := range impls {
		names[i] = im.name
	}
	return names
}

// Active returns the name of the kernel path in use.
func Active() string { return active.Load().name }

// Use makes the named path the active one and returns a function that
// restores the previous one: defer must(kernels.Use("avx2"))().
// It fails when this CPU (or this build) cannot run that path.
func Use(name string) (restore func(), err error) {
	im := lookup(name)
	if im == nil {
		return nil, fmt.Errorf("kernels: path %q is not available (available: %s)",
			name, strings.Join(Available(), ", "))
	}
	prev := active.Swap(im)
	return func() { active.Store(prev) }, nil
}

// PeakLoop runs the named path's peak loop (independent FMA chains) for iters
// iterations and returns the floating-point operations it performed; 0 when
// the path has no such loop. Benchmarks use it to state GEMM speed as a share
// of the peak measured in the same run.
func PeakLoop(name string, iters int) (flops float64) {
	im := lookup(name)
	if im == nil || im.peak == nil {
		return 0
	}
	im.peak(iters)
	return float64(iters) * float64(im.peakFlops)
}

// MeasurePeak runs the named path's peak loop for about d and returns the
// GFLOP/s it reached on this goroutine's core (0 for a path without one),
// so that benchmarks can state their speed as a share of the peak measured
// in the same run.
func MeasurePeak(name string, d time.Duration) float64 {
	iters := 1 << 10
	for {
		start := time.Now()
		flops := PeakLoop(name, iters)
		el := time.Since(start)
		if flops == 0 {
			return 0
		}
		if el >= d {
			return flops / el.Seconds() / 1e9
		}
		iters *= 2
	}
}
