//go:build gc && !purego

package kernels

// archImpls returns the arm64 assembly paths this CPU can run.
// TODO(neon helper): wire neon here.
func archImpls() []*impl { return nil }
