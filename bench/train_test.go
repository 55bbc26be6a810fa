package bench

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/simdmlp/simdmlp/kernels"
	"github.com/simdmlp/simdmlp/mlp"
)

// sizes is the network of the study: 784-128-64-10, dropout 0.02.
var sizes = []int{784, 128, 64, 10}

const (
	inputs  = 784
	classes = 10
	rows    = 60000 // a Fashion-MNIST training set
)

// forwardFlops is the GEMM work of the forward pass on n rows.
func forwardFlops(n int) float64 { return 2 * float64(n) * (784*128 + 128*64 + 64*10) }

// stepFlops is the GEMM work of a training step on n rows: forward, weight
// gradients (as much again) and the two input gradients that are needed.
// GFLOP/s of the training benchmarks count these products only; the
// elementwise work (bias, ReLU, dropout, softmax, optimizer) is in the time
// but not in the count.
func stepFlops(n int) float64 { return 2*forwardFlops(n) + 2*float64(n)*(64*10+128*64) }

func newNet(b *testing.B, batch int, opt string) *mlp.Network {
	n, err := mlp.New(mlp.Config{Sizes: sizes, Dropout: 0.02, Seed: 1, MaxBatch: batch})
	if err != nil {
		b.Fatal(err)
	}
	switch opt {
	case "sgd":
		n.SetOptimizer(mlp.NewSGD(kernels.SGD{LR: 0.001}))
	case "adam":
		n.SetOptimizer(mlp.NewAdam(kernels.DefaultAdam()))
	}
	return n
}

// warm runs one training step and one evaluation batch, so that one-time
// set-up is not part of the figures.
func warm(b *testing.B, n *mlp.Network) {
	images, labels := synthetic()
	if _, _, err := n.TrainStepBytes(images[:inputs], labels[:1]); err != nil {
		b.Fatal(err)
	}
	if _, err := n.Evaluate(images[:1000*inputs], labels[:1000]); err != nil {
		b.Fatal(err)
	}
}

// synthetic returns 60,000 random images and labels, made once: the speed of
// these products does not depend on the values.
var synthetic = sync.OnceValues(func() (images, labels []uint8) {
	rng := rand.New(rand.NewPCG(1, 2))
	images = make([]uint8, rows*inputs)
	for i := range images {
		images[i] = uint8(rng.Uint32())
	}
	labels = make([]uint8, rows)
	for i := range labels {
		labels[i] = uint8(rng.IntN(classes))
	}
	return images, labels
})

// forEachPath runs f as a sub-benchmark per path of ours, that path active.
func forEachPath(b *testing.B, f func(b *testing.B, path string)) {
	for _, name := range kernels.Available() {
		b.Run(name, func(b *testing.B) {
			defer must(kernels.Use(name))()
			f(b, name)
		})
	}
}

// BenchmarkTrainStep: one training step (forward with dropout, loss,
// backward, optimizer update) on one batch, single thread.
func BenchmarkTrainStep(b *testing.B) {
	images, labels := synthetic()
	for _, batch := range batches {
		for _, opt := range []string{"sgd", "adam"} {
			b.Run(fmt.Sprintf("b=%d/%s", batch, opt), func(b *testing.B) {
				forEachPath(b, func(b *testing.B, path string) {
					n := newNet(b, batch, opt)
					x, y := images[:batch*inputs], labels[:batch]
					warm(b, n)
					b.ReportAllocs()
					for b.Loop() {
						if _, _, err := n.TrainStepBytes(x, y); err != nil {
							b.Fatal(err)
						}
					}
					reportSpeed(b, path, stepFlops(batch))
				})
			})
		}
	}
}

// BenchmarkEpoch: one epoch over 60,000 images as the trainer runs it —
// shuffle, gather each batch's rows, train step; the last batch partial —
// single thread. ns/op is the time of an epoch.
func BenchmarkEpoch(b *testing.B) {
	images, labels := synthetic()
	for _, batch := range batches {
		for _, opt := range []string{"sgd", "adam"} {
			b.Run(fmt.Sprintf("b=%d/%s", batch, opt), func(b *testing.B) {
				forEachPath(b, func(b *testing.B, path string) {
					n := newNet(b, batch, opt)
					perm := make([]int, rows)
					for i := range perm {
						perm[i] = i
					}
					x := make([]uint8, batch*inputs)
					y := make([]uint8, batch)
					rng := rand.New(rand.NewPCG(1, 3))
					warm(b, n)
					b.ReportAllocs()
					for b.Loop() {
						rng.Shuffle(rows, func(i, j int) { perm[i], perm[j] = perm[j], perm[i] })
						for lo := 0; lo < rows; lo += batch {
							hi := min(rows, lo+batch)
							for i, idx := range perm[lo:hi] {
								copy(x[i*inputs:(i+1)*inputs], images[idx*inputs:(idx+1)*inputs])
								y[i] = labels[idx]
							}
							if _, _, err := n.TrainStepBytes(x[:(hi-lo)*inputs], y[:hi-lo]); err != nil {
								b.Fatal(err)
							}
						}
					}
					reportSpeed(b, path, stepFlops(rows))
				})
			})
		}
	}
}

// BenchmarkEvaluate: classifying 60,000 images (evaluation mode, batches
// of 1000), single thread.
func BenchmarkEvaluate(b *testing.B) {
	images, labels := synthetic()
	forEachPath(b, func(b *testing.B, path string) {
		n := newNet(b, 16, "sgd")
		warm(b, n)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := n.Evaluate(images, labels); err != nil {
				b.Fatal(err)
			}
		}
		reportSpeed(b, path, forwardFlops(rows))
	})
}
