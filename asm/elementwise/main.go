// Command elementwise generates the AVX2 and AVX-512 element-wise layer
// kernels of package kernels: kernels/elementwise_amd64.s and its Go stubs
// kernels/elementwise_amd64_stubs.go. Run it from the asm module:
//
//	cd asm && go run ./elementwise
//
// Every kernel performs the float32 operations of its generic Go twin in
// kernels/elementwise.go, in the same order and one rounding per operation
// (no FMA), so the paths agree bit for bit. One generator emits both widths:
// ymm registers with VMASKMOVPS tails for AVX2, zmm registers with opmask
// tails for AVX-512.
package main

import (
	"flag"
	"log"
	"os"
)

func main() {
	// Not flag.CommandLine: avo's build package registers its own flags there.
	fs := flag.NewFlagSet("elementwise", flag.ExitOnError)
	out := fs.String("out", "../kernels/elementwise_amd64.s", "assembly output")
	stubs := fs.String("stubs", "../kernels/elementwise_amd64_stubs.go", "Go stubs output")
	fs.Parse(os.Args[1:])
	asm, goStubs, err := generate()
	if err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(*out, asm, 0o644); err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(*stubs, goStubs, 0o644); err != nil {
		log.Fatal(err)
	}
}
