package kernels

import "unsafe"

// unsafeSlice views n floats starting at p.
func unsafeSlice(p *float32, n int) []float32 {
	if n <= 0 {
		return nil
	}
	return unsafe.Slice(p, n)
}
