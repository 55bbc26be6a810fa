//go:build gc && !purego

package kernels

// archImpls returns the amd64 assembly paths this CPU can run, slowest first.
// TODO(asm helper): wire avx2 and avx512 here.
func archImpls() []*impl { return nil }
