// Package kernels holds float32 GEMM and the fused element-wise kernels of
// a small neural network, in assembly for AVX2+FMA and AVX-512 (amd64) and
// NEON (arm64), with a portable Go path for every other CPU.
//
// Products: Gemm is C = alpha·op(A)·op(B) + beta·C with BLAS semantics on
// row-major slices. A PackedB keeps a B operand (a layer's weights) in the
// layout the kernels read, so GemmPacked, GemmPackedT and GemmToPacked skip
// repacking it on every call; the *Bytes variants read A as uint8 pixels,
// scaled while they are packed.
//
// Layers: Bias, BiasReLU and BiasReLUDropout (the forward epilogue),
// ReLUDropoutBackward and ColumnSums (its backward), SoftmaxCrossEntropy
// (mean loss, gradient and correct count in one pass), BytesToFloats, and
// the optimizer updates SGD and Adam (PyTorch's semantics, order of
// operations and defaults). Dropout masks come from a counter-based hash of
// (seed, step, layer, element), the same on every path and thread count.
//
// Paths: the fastest path the CPU supports is chosen at start by CPU
// feature detection (Available, Active); the environment variable named by
// EnvVar, or Use, selects another, and the purego build tag leaves only the
// generic Go path. Every assembly kernel has a Go twin it is tested
// against: the element-wise kernels match it bit for bit, and products
// match it within float32 rounding.
//
// Threads: large products and optimizer updates are split across up to
// Threads() goroutines (SetThreads), with results that are the same bit
// for bit whatever the count. Once warm, no call allocates.
package kernels
