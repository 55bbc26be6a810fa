package kernels

import (
	"fmt"
	"os"
	"runtime"
	"testing"
)

func TestMain(m *testing.M) {
	fmt.Fprintf(os.Stderr, "kernels: active path %s, available %v\n", Active(), Available())
	os.Exit(m.Run())
}

// forEachImpl runs f once per path this machine can run, generic included,
// with that path active.
func forEachImpl(t *testing.T, f func(t *testing.T, name string)) {
	for _, name := range Available() {
		t.Run(name, func(t *testing.T) {
			restore, err := Use(name)
			if err != nil {
				t.Fatal(err)
			}
			defer restore()
			f(t, name)
		})
	}
}

// forEachImplB runs f as a sub-benchmark per available path.
func forEachImplB(b *testing.B, f func(b *testing.B)) {
	for _, name := range Available() {
		b.Run(name, func(b *testing.B) {
			restore, err := Use(name)
			if err != nil {
				b.Fatal(err)
			}
			defer restore()
			f(b)
		})
	}
}

// allocsPerRun is testing.AllocsPerRun without its GOMAXPROCS(1), under
// which no product or update is ever split across goroutines: the heap
// allocations per call of f (all goroutines counted) over runs calls after
// a warm one, with GOMAXPROCS at least 2.
func allocsPerRun(runs int, f func()) float64 {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(max(2, runtime.GOMAXPROCS(0))))
	f()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range runs {
		f()
	}
	runtime.ReadMemStats(&after)
	return float64((after.Mallocs - before.Mallocs) / uint64(runs))
}
