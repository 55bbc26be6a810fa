package mlp

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/simdmlp/simdmlp/kernels"
)

// gemmFlops is the GEMM work of one training step on rows rows of the
// 784-128-64-10 network: forward, weight gradients, and the two input
// gradients that are needed.
func gemmFlops(rows int) float64 {
	fwd := 2 * float64(rows) * (784*128 + 128*64 + 64*10)
	return 2*fwd + 2*float64(rows)*(64*10+128*64)
}

// peaks caches each path's peak GFLOP/s, measured once per benchmark run.
var peaks = map[string]float64{}

func reportPeak(b *testing.B, name string, gflops float64) {
	p, ok := peaks[name]
	if !ok {
		p = kernels.MeasurePeak(name, 200*time.Millisecond)
		peaks[name] = p
	}
	b.ReportMetric(gflops, "GFLOP/s")
	if p > 0 {
		b.ReportMetric(100*gflops/p, "%peak")
	}
}

// paperNet builds the study's network for batches of up to bsz rows.
func paperNet(b *testing.B, bsz int, o Optimizer) *Network {
	n, err := New(Config{Sizes: []int{784, 128, 64, 10}, Dropout: 0.02, Seed: 1, MaxBatch: bsz})
	if err != nil {
		b.Fatal(err)
	}
	n.SetOptimizer(o)
	return n
}

// timeSteps times training steps on one batch and reports GFLOP/s (GEMM
// work) and the share of the path's peak.
func timeSteps(b *testing.B, path string, n *Network, x, labels []uint8) {
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := n.TrainStepBytes(x, labels); err != nil {
			b.Fatal(err)
		}
	}
	reportPeak(b, path, gemmFlops(len(labels))*float64(b.N)/b.Elapsed().Seconds()/1e9)
}

// timeStepsOf times training steps of the paper's network with optimizer
// opt ("sgd" or "adam") on one random batch of bsz images.
func timeStepsOf(b *testing.B, path string, bsz int, opt string) {
	var o Optimizer = NewSGD(kernels.SGD{LR: 0.001})
	if opt == "adam" {
		o = NewAdam(kernels.DefaultAdam())
	}
	n := paperNet(b, bsz, o)
	rng := rand.New(rand.NewPCG(1, 2))
	x := make([]uint8, bsz*784)
	for i := range x {
		x[i] = uint8(rng.IntN(256))
	}
	_, labels := randomBatch(rng, bsz, 1, 10)
	timeSteps(b, path, n, x, labels)
}

// BenchmarkTrainStep: one training step of the paper's network, single
// thread, per batch size, optimizer and path.
func BenchmarkTrainStep(b *testing.B) {
	defer kernels.SetThreads(1)()
	for _, bsz := range []int{16, 64, 100} {
		for _, opt := range []string{"sgd", "adam"} {
			b.Run(fmt.Sprintf("b=%d/%s", bsz, opt), func(b *testing.B) {
				for _, name := range kernels.Available() {
					b.Run(name, func(b *testing.B) {
						defer must(kernels.Use(name))()
						timeStepsOf(b, name, bsz, opt)
					})
				}
			})
		}
	}
}

// BenchmarkTrainStepThreads: the training step of the default path on one
// thread and on two (products and optimizer updates split across the
// kernels' worker pool), measured side by side; %peak is against one core's
// peak.
func BenchmarkTrainStepThreads(b *testing.B) {
	name := kernels.Active()
	for _, bsz := range []int{16, 100} {
		for _, opt := range []string{"sgd", "adam"} {
			for _, th := range []int{1, 2} {
				b.Run(fmt.Sprintf("b=%d/%s/threads=%d", bsz, opt, th), func(b *testing.B) {
					defer kernels.SetThreads(th)()
					timeStepsOf(b, name, bsz, opt)
				})
			}
		}
	}
}

// BenchmarkAdamSubnormal: an Adam step whose moments start subnormal, as
// they become after many steps for weights whose gradient is always zero
// (here the first layer's weights on a blank 4-pixel border, as in
// Fashion-MNIST). x86 arithmetic on subnormals is many times slower; the
// kernels flush state below 2^-126 to zero, so ns/op matches
// BenchmarkTrainStep/b=16/adam of the same run.
func BenchmarkAdamSubnormal(b *testing.B) {
	defer kernels.SetThreads(1)()
	const bsz = 16
	for _, name := range kernels.Available() {
		b.Run(name, func(b *testing.B) {
			defer must(kernels.Use(name))()
			opt := NewAdam(kernels.DefaultAdam())
			n := paperNet(b, bsz, opt)
			rng := rand.New(rand.NewPCG(1, 2))
			x := make([]uint8, bsz*784)
			for i := range x {
				if r, c := i%784/28, i%28; r >= 4 && r < 24 && c >= 4 && c < 24 {
					x[i] = uint8(rng.IntN(256))
				}
			}
			_, labels := randomBatch(rng, bsz, 1, 10)
			for _, s := range opt.State() {
				for i := range s.Data {
					s.Data[i] = 1e-39 // subnormal
				}
			}
			timeSteps(b, name, n, x, labels)
		})
	}
}

// BenchmarkEvaluate: evaluation of 60,000 inputs, single thread.
func BenchmarkEvaluate(b *testing.B) {
	defer kernels.SetThreads(1)()
	const rows = 60000
	x := make([]uint8, rows*784)
	labels := make([]uint8, rows)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range x {
		x[i] = uint8(rng.IntN(256))
	}
	for _, name := range kernels.Available() {
		b.Run(name, func(b *testing.B) {
			defer must(kernels.Use(name))()
			n, err := New(Config{Sizes: []int{784, 128, 64, 10}, Dropout: 0.02, Seed: 1, MaxBatch: 16})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				n.Evaluate(x, labels)
			}
			fwd := 2 * float64(rows) * (784*128 + 128*64 + 64*10)
			reportPeak(b, name, fwd*float64(b.N)/b.Elapsed().Seconds()/1e9)
		})
	}
}

func must(restore func(), err error) func() {
	if err != nil {
		panic(err)
	}
	return restore
}
