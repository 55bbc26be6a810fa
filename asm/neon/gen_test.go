package main

import (
	"bytes"
	"os"
	"testing"
)

// TestGenerated fails when kernels/gemm_arm64.s differs from a fresh
// regeneration: run `go run ./neon -out ../kernels/gemm_arm64.s` in asm/.
func TestGenerated(t *testing.T) {
	const path = "../../kernels/gemm_arm64.s"
	have, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := generate()
	if !bytes.Equal(have, want) {
		t.Fatalf("%s is stale: regenerate it with `go run ./neon -out ../kernels/gemm_arm64.s` in asm/", path)
	}
}
