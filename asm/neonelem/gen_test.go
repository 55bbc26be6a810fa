package main

import (
	"bytes"
	"os"
	"os/exec"
	"testing"
)

// TestGenerated fails when kernels/elementwise_arm64.s differs from a fresh
// generation: run `go run ./neonelem` in asm/ after changing the generator.
func TestGenerated(t *testing.T) {
	const path = "../../kernels/elementwise_arm64.s"
	want, err := generate()
	if err != nil {
		t.Fatal(err)
	}
	have, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(have, want) {
		t.Fatalf("%s is stale: regenerate it with `go run ./neonelem` in asm/", path)
	}
}

// TestDeterministic: two generations give the same bytes.
func TestDeterministic(t *testing.T) {
	a, err := generate()
	if err != nil {
		t.Fatal(err)
	}
	b, err := generate()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Fatal("two generations differ")
	}
}

// TestWords reassembles every instruction the kernels encode as WORD with
// the GNU assembler and fails when words.txt differs: the encodings are the
// assembler's, not typed by hand. It is skipped where binutils for aarch64
// is not installed (apt-get install binutils-aarch64-linux-gnu).
func TestWords(t *testing.T) {
	for _, tool := range []string{gnuAs, gnuObjdump} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed: %v", tool, err)
		}
	}
	need, err := collect()
	if err != nil {
		t.Fatal(err)
	}
	table, err := assemble(need)
	if err != nil {
		t.Fatal(err)
	}
	if got := formatWords(table); !bytes.Equal(got, []byte(committedWords)) {
		t.Fatalf("words.txt differs from a fresh assembly: run `go run ./neonelem -words` in asm/")
	}
}

// TestAssembleRejectsMismatch: assemble refuses an instruction that the
// disassembler prints differently, so a comment never misnames its WORD.
func TestAssembleRejectsMismatch(t *testing.T) {
	for _, tool := range []string{gnuAs, gnuObjdump} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed: %v", tool, err)
		}
	}
	if _, err := assemble([]string{"fadd v0.4s, v1.4s, v2.4s"}); err != nil {
		t.Fatalf("canonical instruction rejected: %v", err)
	}
	if _, err := assemble([]string{"fadd  V0.4S, v1.4s, v2.4s"}); err == nil {
		t.Fatal("non-canonical spelling accepted")
	}
}
