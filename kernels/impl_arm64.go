//go:build gc && !purego

package kernels

import "github.com/klauspost/cpuid/v2"

// archImpls returns the arm64 assembly paths this CPU can run.
func archImpls() []*impl {
	if !cpuid.CPU.Supports(cpuid.ASIMD) {
		return nil
	}
	return []*impl{{
		name: "neon", mr: neonMR, nr: neonNR, kernel: gemmKernelNEON,
		mc: 20 * neonMR, kc: 256, nc: 2048,
		peak: peakNEON, peakFlops: peakFlopsNEON,
		elem: neonElem,
	}}
}
