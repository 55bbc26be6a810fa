//go:build !linux

package kernels

import "testing"

func guardedFloats(t testing.TB, n int, atStart bool) []float32 {
	t.Skip("guard pages need linux")
	return nil
}

func guardedBytes(t testing.TB, n int, atStart bool) []byte {
	t.Skip("guard pages need linux")
	return nil
}

const haveGuardPages = false
