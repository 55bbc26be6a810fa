// Command gemm generates the amd64 float32 GEMM micro-kernels and FMA peak
// loops of package kernels, for AVX2+FMA and AVX-512, from one generator
// parameterised by vector width.
//
// Regenerate with (from the repository root):
//
//	cd asm/gemm && go run . -out ../../kernels/gemm_amd64.s -stubs ../../kernels/gemm_amd64.go -params ../../kernels/gemm_params_amd64.go -pkg kernels
//
// or `go generate` in kernels/. TestGenerated (gen_test.go) fails when the
// committed files differ from a fresh run. The -avx2.* and -avx512.* flags
// generate other tile shapes for measurements; the committed files use the
// defaults.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"strings"
)

// command is the generator command recorded in the DO NOT EDIT header of
// every output file; flags that change the output are appended to it.
const command = "go run . -out ../../kernels/gemm_amd64.s -stubs ../../kernels/gemm_amd64.go -params ../../kernels/gemm_params_amd64.go -pkg kernels"

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "gemm:", err)
		os.Exit(1)
	}
}

// run is the generator with its command-line arguments.
func run(args []string) error {
	// avo's build package registers its own flags on flag.CommandLine.
	fs := flag.NewFlagSet("gemm", flag.ContinueOnError)
	out := fs.String("out", "", "assembly output `file`")
	stubs := fs.String("stubs", "", "Go stub output `file`")
	params := fs.String("params", "", "Go constants output `file`")
	pkg := fs.String("pkg", "kernels", "Go package `name`")
	cfg := defaultConfig()
	cfg.avx2.flags(fs, "avx2")
	cfg.avx512.flags(fs, "avx512")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" || *stubs == "" || *params == "" || fs.NArg() > 0 {
		fs.Usage()
		return fmt.Errorf("need -out, -stubs and -params and no other arguments")
	}
	fs.Visit(func(f *flag.Flag) {
		if strings.HasPrefix(f.Name, "avx") {
			cfg.argv = append(cfg.argv, fmt.Sprintf("-%s=%s", f.Name, f.Value))
		}
	})
	cfg.pkg = *pkg

	var s, g, p bytes.Buffer
	if err := generate(cfg, &s, &g, &p); err != nil {
		return err
	}
	for _, f := range []struct {
		name string
		data []byte
	}{{*out, s.Bytes()}, {*stubs, g.Bytes()}, {*params, p.Bytes()}} {
		if err := os.WriteFile(f.name, f.data, 0o666); err != nil {
			return err
		}
	}
	return nil
}

// flags registers the shape flags of one path under the given prefix.
func (s *shape) flags(fs *flag.FlagSet, prefix string) {
	fs.IntVar(&s.mr, prefix+".mr", s.mr, "rows of the register tile")
	fs.IntVar(&s.nr, prefix+".nr", s.nr, "columns of the register tile (a multiple of the vector width dividing 32)")
	fs.IntVar(&s.unroll, prefix+".unroll", s.unroll, "k-loop unroll factor")
	fs.BoolVar(&s.embedded, prefix+".bcst", s.embedded, "broadcast A through the FMA's memory operand (AVX-512 only)")
	fs.IntVar(&s.prefetch, prefix+".prefetch", s.prefetch, "PREFETCHT0 A and B this many k steps ahead (0: none)")
	fs.BoolVar(&s.prefetchC, prefix+".pfc", s.prefetchC, "PREFETCHT0 the C tile before the k loop")
}
