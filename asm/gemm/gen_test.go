package main

import (
	"bufio"
	"bytes"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

const kernelsDir = "../../kernels"

// TestGenerated regenerates the kernels into a temporary directory and fails
// when the committed files differ: they were edited by hand or are stale.
func TestGenerated(t *testing.T) {
	dir := t.TempDir()
	files := []string{"gemm_amd64.s", "gemm_amd64.go", "gemm_params_amd64.go"}
	args := strings.Fields(command)[3:] // the flags after "go run ."
	for i, a := range args {
		if strings.HasPrefix(a, "../../kernels/") {
			args[i] = filepath.Join(dir, filepath.Base(a))
		}
	}
	if err := run(args); err != nil {
		t.Fatal(err)
	}
	for _, name := range files {
		fresh, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		committed, err := os.ReadFile(filepath.Join(kernelsDir, name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(fresh, committed) {
			t.Errorf("kernels/%s differs from a fresh run of the generator; regenerate with:\n\tcd asm/gemm && %s", name, command)
		}
	}
}

// TestRequiredFeatures checks that the cpuid features each amd64 path tests
// in kernels/impl_amd64.go are exactly the union of the "Requires:" lines
// avo wrote above that path's functions in kernels/gemm_amd64.s (a function
// belongs to the path its name ends with, AVX2 or AVX512). The element-wise
// kernels test their own features (kernels/elementwise_amd64.go).
func TestRequiredFeatures(t *testing.T) {
	tested := testedFeatures(t, filepath.Join(kernelsDir, "impl_amd64.go"))
	required := map[string][]string{}
	files := []string{filepath.Join(kernelsDir, "gemm_amd64.s")}
	text := regexp.MustCompile(`^TEXT ·(\w+)\(SB\)`)
	for _, file := range files {
		f, err := os.Open(file)
		if err != nil {
			t.Fatal(err)
		}
		var req []string
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			line := sc.Text()
			if r, ok := strings.CutPrefix(line, "// Requires: "); ok {
				req = strings.Split(r, ", ")
				continue
			}
			if m := text.FindStringSubmatch(line); m != nil {
				var path string
				switch {
				case strings.HasSuffix(m[1], "AVX512"):
					path = "avx512"
				case strings.HasSuffix(m[1], "AVX2"):
					path = "avx2"
				}
				if path != "" {
					for _, r := range req {
						if r == "MMX+" {
							r = "MMXEXT" // cpuid's name
						}
						if !slices.Contains(required[path], r) {
							required[path] = append(required[path], r)
						}
					}
				}
			}
			if !strings.HasPrefix(line, "//") {
				req = nil
			}
		}
		f.Close()
		if err := sc.Err(); err != nil {
			t.Fatal(err)
		}
	}
	for _, path := range []string{"avx2", "avx512"} {
		want, got := required[path], tested[path]
		slices.Sort(want)
		slices.Sort(got)
		if !slices.Equal(want, got) {
			t.Errorf("%s: impl_amd64.go tests %v, the assembly requires %v", path, got, want)
		}
	}
}

// testedFeatures reads the cpuid.FeatureID lists avx2Features and
// avx512Features from impl_amd64.go.
func testedFeatures(t *testing.T, file string) map[string][]string {
	f, err := parser.ParseFile(token.NewFileSet(), file, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	ast.Inspect(f, func(n ast.Node) bool {
		vs, ok := n.(*ast.ValueSpec)
		if !ok {
			return true
		}
		for i, name := range vs.Names {
			path, ok := strings.CutSuffix(name.Name, "Features")
			if !ok || i >= len(vs.Values) {
				continue
			}
			lit, ok := vs.Values[i].(*ast.CompositeLit)
			if !ok {
				t.Fatalf("%s is not a composite literal", name.Name)
			}
			for _, e := range lit.Elts {
				sel, ok := e.(*ast.SelectorExpr)
				if !ok {
					t.Fatalf("%s: element %T is not cpuid.X", name.Name, e)
				}
				out[path] = append(out[path], sel.Sel.Name)
			}
		}
		return true
	})
	if len(out["avx2"]) == 0 || len(out["avx512"]) == 0 {
		t.Fatalf("%s: avx2Features or avx512Features not found", file)
	}
	return out
}
