package mlp_test

import (
	"fmt"

	"github.com/simdmlp/simdmlp/kernels"
	"github.com/simdmlp/simdmlp/mlp"
)

// A Go program uses mlp as its backend: build a network, attach an
// optimizer, train on batches, predict.
func Example() {
	net, err := mlp.New(mlp.Config{Sizes: []int{2, 16, 2}, Seed: 1, MaxBatch: 4})
	if err != nil {
		panic(err)
	}
	net.SetOptimizer(mlp.NewAdam(kernels.Adam{LR: 0.05, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8}))
	// Learn which of two coordinates is larger.
	x := []float32{0, 1, 1, 0, 0.2, 0.9, 0.8, 0.1}
	labels := []uint8{1, 0, 1, 0}
	for range 200 {
		if _, _, err := net.TrainStep(x, labels); err != nil {
			panic(err)
		}
	}
	classes := make([]int, 2)
	net.Predict([]float32{0.1, 0.7, 0.9, 0.3}, classes)
	fmt.Println(classes)
	// Output: [1 0]
}
