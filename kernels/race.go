//go:build race

package kernels

import (
	"runtime"
	"unsafe"
)

// The race detector does not see the memory the assembly touches: the
// exported functions announce their operands' ranges instead.

const raceEnabled = true

func raceRead[T float32 | uint8](s []T) {
	if len(s) > 0 {
		runtime.RaceReadRange(unsafe.Pointer(&s[0]), len(s)*int(unsafe.Sizeof(s[0])))
	}
}

func raceWrite[T float32 | uint8](s []T) {
	if len(s) > 0 {
		runtime.RaceWriteRange(unsafe.Pointer(&s[0]), len(s)*int(unsafe.Sizeof(s[0])))
	}
}
