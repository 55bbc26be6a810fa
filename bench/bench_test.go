package bench

import (
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/simdmlp/simdmlp/kernels"
)

// defaultPath is the path kernels chose for this CPU (or SIMDMLP_KERNELS).
var defaultPath = kernels.Active()

func TestMain(m *testing.M) {
	// Every figure of the suite is single-threaded: our products here, gonum
	// by GOMAXPROCS(1) around its calls, OpenBLAS in its package init.
	kernels.SetThreads(1)
	// Configuration lines (key: value) that benchstat keeps with the results.
	fmt.Printf("simdmlp-paths: %s (default %s)\n", strings.Join(kernels.Available(), " "), defaultPath)
	fmt.Printf("gonum: %s, %s\n", moduleVersion("gonum.org/v1/gonum"), gonumKind)
	fmt.Printf("openblas: %s\n", openblasInfo())
	fmt.Printf("threads: 1\n")
	code := m.Run()
	printGemmSummary(os.Stdout)
	os.Exit(code)
}

// moduleVersion returns path and its version as the module's go.mod
// requires it (test binaries carry no dependency versions; go test runs in
// the package directory).
func moduleVersion(path string) string {
	mod, err := os.ReadFile("../go.mod")
	if err == nil {
		for _, line := range strings.Split(string(mod), "\n") {
			if f := strings.Fields(line); len(f) >= 2 && f[0] == path {
				return path + " " + f[1]
			} else if len(f) >= 3 && f[0] == "require" && f[1] == path {
				return path + " " + f[2]
			}
		}
	}
	return path + " (version unknown)"
}

// peaks holds the GFLOP/s of each path's FMA peak loop in this process:
// the highest figure BenchmarkPeak reached, or, when a benchmark needs a
// peak before BenchmarkPeak has run (-bench Gemm alone), one measured then.
var peaks = struct {
	sync.Mutex
	m map[string]float64
}{m: map[string]float64{}}

func recordPeak(name string, gflops float64) {
	peaks.Lock()
	defer peaks.Unlock()
	peaks.m[name] = max(peaks.m[name], gflops)
}

func peakOf(name string) float64 {
	peaks.Lock()
	defer peaks.Unlock()
	p, ok := peaks.m[name]
	if !ok {
		p = kernels.MeasurePeak(name, 300*time.Millisecond)
		peaks.m[name] = p
	}
	return p
}

// ceiling is the peak that impl's %peak is stated against: a path of ours
// with a peak loop is held to its own loop (avx2 to the AVX2 FMA peak);
// everything else (generic, gonum, openblas) to the machine's, the highest
// peak of any path, since it may use any instruction the CPU has.
func ceiling(impl string) float64 {
	if slices.Contains(kernels.Available(), impl) {
		if p := peakOf(impl); p > 0 {
			return p
		}
	}
	var best float64
	for _, name := range kernels.Available() {
		best = max(best, peakOf(name))
	}
	return best
}

// reportSpeed reports flops per iteration as GFLOP/s and as a share of
// impl's ceiling, and returns the GFLOP/s.
func reportSpeed(b *testing.B, impl string, flops float64) float64 {
	g := flops * float64(b.N) / b.Elapsed().Seconds() / 1e9
	b.ReportMetric(g, "GFLOP/s")
	if p := ceiling(impl); p > 0 {
		b.ReportMetric(100*g/p, "%peak")
	}
	return g
}

// BenchmarkPeak runs each path's FMA peak loop (independent FMA chains, no
// memory traffic): the ceiling of every %peak of this run.
func BenchmarkPeak(b *testing.B) {
	for _, name := range kernels.Available() {
		b.Run(name, func(b *testing.B) {
			if kernels.PeakLoop(name, 1) == 0 {
				b.Skip("no peak loop: this path is held to the machine's peak")
			}
			var flops float64
			for b.Loop() {
				flops += kernels.PeakLoop(name, 1000)
			}
			g := flops / b.Elapsed().Seconds() / 1e9
			recordPeak(name, g)
			b.ReportMetric(g, "GFLOP/s")
		})
	}
}

// gemmResults keeps the GFLOP/s of each BenchmarkGemm sub-benchmark (the
// last run of each) for the summary printed after the run.
var gemmResults = struct {
	shapes []string
	impls  []string
	g      map[[2]string]float64
}{g: map[[2]string]float64{}}

func recordGemm(shape, impl string, g float64) {
	r := &gemmResults
	if !slices.Contains(r.shapes, shape) {
		r.shapes = append(r.shapes, shape)
	}
	if !slices.Contains(r.impls, impl) {
		r.impls = append(r.impls, impl)
	}
	r.g[[2]string{shape, impl}] = g
}

// printGemmSummary prints the GEMM figures side by side, with how many
// times faster the default path is than gonum and OpenBLAS.
func printGemmSummary(w *os.File) {
	r := &gemmResults
	if len(r.shapes) == 0 {
		return
	}
	fmt.Fprintf(w, "\nGEMM, GFLOP/s, one thread, %s (%s/x: how many times faster %s is than x)\n",
		runtime.GOARCH, defaultPath, defaultPath)
	fmt.Fprintf(w, "%-20s", "shape")
	for _, impl := range r.impls {
		fmt.Fprintf(w, " %9s", impl)
	}
	var others []string
	for _, o := range []string{"gonum", "openblas"} {
		if slices.Contains(r.impls, o) && slices.Contains(r.impls, defaultPath) {
			others = append(others, o)
			fmt.Fprintf(w, " %15s", defaultPath+"/"+o)
		}
	}
	fmt.Fprintln(w)
	for _, s := range r.shapes {
		fmt.Fprintf(w, "%-20s", s)
		for _, impl := range r.impls {
			if g, ok := r.g[[2]string{s, impl}]; ok {
				fmt.Fprintf(w, " %9.2f", g)
			} else {
				fmt.Fprintf(w, " %9s", "-")
			}
		}
		for _, o := range others {
			ours, ok1 := r.g[[2]string{s, defaultPath}]
			theirs, ok2 := r.g[[2]string{s, o}]
			if ok1 && ok2 && theirs > 0 {
				fmt.Fprintf(w, " %15.2f", ours/theirs)
			} else {
				fmt.Fprintf(w, " %15s", "-")
			}
		}
		fmt.Fprintln(w)
	}
}

func must(restore func(), err error) func() {
	if err != nil {
		panic(err)
	}
	return restore
}
