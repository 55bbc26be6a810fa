package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestGeneratedFilesUpToDate regenerates the kernels into a temporary
// directory and fails when the committed files differ: run
// `cd asm && go run ./elementwise` after changing the generator.
func TestGeneratedFilesUpToDate(t *testing.T) {
	asm, stubs, err := generate()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, f := range []struct {
		name string
		data []byte
	}{
		{"elementwise_amd64.s", asm},
		{"elementwise_amd64_stubs.go", stubs},
	} {
		fresh := filepath.Join(dir, f.name)
		if err := os.WriteFile(fresh, f.data, 0o644); err != nil {
			t.Fatal(err)
		}
		regenerated, err := os.ReadFile(fresh)
		if err != nil {
			t.Fatal(err)
		}
		committed, err := os.ReadFile(filepath.Join("..", "..", "kernels", f.name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(committed, regenerated) {
			t.Errorf("kernels/%s differs from a fresh generation: run `cd asm && go run ./elementwise`", f.name)
		}
	}
}

// TestDeterministic: two generations give the same bytes.
func TestDeterministic(t *testing.T) {
	a1, s1, err := generate()
	if err != nil {
		t.Fatal(err)
	}
	a2, s2, err := generate()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a1, a2) || !bytes.Equal(s1, s2) {
		t.Fatal("two generations differ")
	}
}
