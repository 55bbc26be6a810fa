// Command neonelem generates kernels/elementwise_arm64.s: the NEON
// element-wise layer kernels of package kernels (bias, ReLU, dropout, their
// backward pass, column sums, the softmax row, byte input, SGD and Adam).
// Run it from the asm module:
//
//	cd asm && go run ./neonelem
//
// Every kernel performs the float32 operations of its generic Go twin in
// kernels/elementwise.go as the Go compiler builds that twin for arm64, in
// the same order and with the same roundings, so the paths agree bit for bit:
// a separate FMUL and FADD where the twin rounds the product (written
// float32(a*b) + c), and a fused FMLA only where the compiler fuses the twin
// (Adam's p·decay − step, see adam in gen.go).
//
// Go 1.26's arm64 assembler has no vector floating-point arithmetic (FADD,
// FMUL, FDIV, FSQRT, FMIN, FMAX, FCMGT, FRINTN, FCVTZS, UCVTF, FNEG), no
// vector integer MUL, CMHS or SSHR and no BIC. The generator writes those as
// WORD directives with the instruction in a comment. Their encodings come
// from words.txt, which
//
//	cd asm && go run ./neonelem -words
//
// rewrites by assembling every such instruction the generator uses with the
// GNU assembler (aarch64-linux-gnu-as, Debian's binutils-aarch64-linux-gnu)
// and reading the words back with aarch64-linux-gnu-objdump; no encoding is
// typed by hand. The tests check that the committed words.txt matches a
// fresh run of the assembler (when it is installed) and that the committed
// assembly matches a fresh generation.
package main

import (
	"flag"
	"log"
	"os"
)

func main() {
	out := flag.String("out", "../kernels/elementwise_arm64.s", "assembly output")
	words := flag.Bool("words", false, "reassemble the instructions the Go assembler lacks into "+wordsFile+" (needs binutils-aarch64-linux-gnu), then generate")
	flag.Parse()
	if *words {
		need, err := collect()
		if err != nil {
			log.Fatal(err)
		}
		table, err := assemble(need)
		if err != nil {
			log.Fatal(err)
		}
		if err := os.WriteFile(wordsFile, formatWords(table), 0o644); err != nil {
			log.Fatal(err)
		}
		committedWords = string(formatWords(table))
	}
	src, err := generate()
	if err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(*out, src, 0o644); err != nil {
		log.Fatal(err)
	}
}
