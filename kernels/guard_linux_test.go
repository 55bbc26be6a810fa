//go:build linux

package kernels

import (
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// guardedFloats returns n float32s whose last element is flush against a
// PROT_NONE page (end) or whose first element directly follows one (start),
// so any access past the slice faults. The memory is unmapped at test end.
func guardedFloats(t testing.TB, n int, atStart bool) []float32 {
	b := guardedBytes(t, 4*n, atStart)
	if n == 0 {
		return []float32{}
	}
	return unsafe.Slice((*float32)(unsafe.Pointer(&b[0])), n)
}

// guardedBytes is guardedFloats for bytes.
func guardedBytes(t testing.TB, n int, atStart bool) []byte {
	t.Helper()
	page := unix.Getpagesize()
	size := (n + page - 1) / page * page
	mem, err := unix.Mmap(-1, 0, size+2*page, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_ANON|unix.MAP_PRIVATE)
	if err != nil {
		t.Fatalf("mmap: %v", err)
	}
	t.Cleanup(func() { unix.Munmap(mem) })
	if err := unix.Mprotect(mem[:page], unix.PROT_NONE); err != nil {
		t.Fatalf("mprotect: %v", err)
	}
	if err := unix.Mprotect(mem[page+size:], unix.PROT_NONE); err != nil {
		t.Fatalf("mprotect: %v", err)
	}
	if atStart {
		return mem[page : page+n : page+n]
	}
	return mem[page+size-n : page+size : page+size]
}

const haveGuardPages = true
