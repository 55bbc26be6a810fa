package kernels

import (
	"fmt"
	"os"
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
