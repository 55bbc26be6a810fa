// Package bench shows where simdmlp stands against the alternatives on the
// machine it runs on, every figure measured in the same run. It holds no
// API: its benchmarks and tests are the suite.
//
// # The Go suite
//
//	make bench                                     # this suite with ./kernels and ./mlp
//	go test -run '^$' -bench . -timeout 0 ./bench  # this suite alone
//	go test -run '^$' -bench . -timeout 0 -tags openblas ./bench  # with OpenBLAS
//
// One process, one thread throughout (kernels.SetThreads(1); gonum under
// GOMAXPROCS(1), since it splits large products across goroutines;
// OpenBLAS with openblas_set_num_threads(1)). It runs:
//
//   - BenchmarkPeak/<path>: each path's FMA peak loop, the ceiling of the
//     %peak figures of the same run.
//   - BenchmarkGemm/<shape>/<impl>: C = op(A)·op(B) at every product of a
//     training step of the 784-128-64-10 network at batch B ∈ {16, 64, 100,
//     1000} — forward B×128×784, B×64×128, B×10×64 (NT), weight gradients
//     128×784×B, 64×128×B, 10×64×B (TN), input gradients B×64×10, B×128×64
//     (NN) — and 1024×1024×1024 (NN). Shapes are m×n×k with the operations
//     on A and B. impl is each path this CPU runs (generic, avx2, avx512,
//     neon), "gonum" (gonum.org/v1/gonum/blas/gonum's Sgemm, row-major
//     like ours; Go code that on amd64 and arm64 calls gonum's assembly
//     axpy/dot kernels, pure Go only with -tags noasm) and, under -tags openblas, "openblas"
//     (cblas_sgemm), all on the same operands. After the run a table puts
//     the GEMM figures side by side with how many times faster the default
//     path is than gonum and OpenBLAS.
//   - BenchmarkTrainStep/b=<B>/<sgd|adam>/<path>: one training step
//     (forward with dropout 0.02, loss, backward, optimizer update).
//   - BenchmarkEpoch/b=<B>/<sgd|adam>/<path>: one epoch over 60,000 random
//     images as the trainer runs it (shuffle, gather each batch, step);
//     ns/op is the time of an epoch.
//   - BenchmarkEvaluate/<path>: classifying 60,000 images.
//
// Every benchmark reports ns/op, B/op and allocs/op, and GFLOP/s and %peak.
// GFLOP/s counts the GEMM work only (2·m·n·k per product); the training and
// evaluation figures include the elementwise work in their time but not in
// their count. %peak is against BenchmarkPeak of the same process (the
// highest figure it reached; measured on first use when BenchmarkPeak does
// not run): each path of ours with a peak loop against its own, the rest
// (generic, gonum, openblas) against the machine's, the highest of any path,
// since they may use any instruction the CPU has. Names follow shape/impl,
// so benchstat compares commits and builds directly, and two
// implementations once the impl is cut from the names:
//
//	go test -run '^$' -bench Gemm -count 10 -timeout 0 -tags openblas ./bench > all.txt
//	sed -nE 's,/openblas([-[:space:]]),\1,p' all.txt > openblas.txt
//	sed -nE 's,/avx512([-[:space:]]),\1,p' all.txt > avx512.txt
//	benchstat openblas.txt avx512.txt    # OpenBLAS against our avx512 path
//	make benchcmp                        # -tags purego against the assembly
//
// The full suite takes several minutes (the generic path's epochs most of
// it): give go test -timeout 0, or select with -bench, e.g. -bench 'Peak|Gemm'.
//
// TestGemmAgree checks that every implementation timed computes the same
// product, within float32 rounding of a float64 reference, so the
// comparison compares like with like.
//
// # OpenBLAS
//
// OpenBLAS is the BLAS behind NumPy and PyTorch on Linux. The openblas
// build tag links Debian's (apt-get install libopenblas-dev; cgo, so a C
// compiler and CGO_ENABLED=1) and adds impl "openblas" to BenchmarkGemm and
// TestGemmAgree. The run's header lines (simdmlp-paths, gonum, openblas,
// threads) record the versions, OpenBLAS's build configuration and the CPU
// kernel it chose. A cgo call costs some tens of nanoseconds, inside the
// figures as it is for any Go program calling OpenBLAS; it matters only for
// the smallest products (B×10×64 at B = 16 is 20 kFLOP).
//
// # Against PyTorch
//
//	make compare-pytorch                      # 2 epochs, batches 16 and 100, SGD and Adam
//	EPOCHS=1 BATCHES=100 OPTS=sgd make compare-pytorch
//
// runs compare-pytorch.sh: it installs, when root and missing, Debian's
// python3-torch and libopenblas0-pthread, points the libblas.so.3
// alternative at OpenBLAS (Debian's torch calls the system BLAS through it,
// and the reference BLAS a bare install brings is many times slower), then
// for each setting trains the same network with compare_pytorch.py
// (PyTorch: same data read from the gzip IDX files, same batch, optimizer,
// learning rate, dropout, thread count; tensors pre-loaded as floats, no
// DataLoader) and with the trainer (go build ./train; -threads and
// GOMAXPROCS set to the same count), and prints seconds per epoch — training
// only, and training plus evaluating the training and test sets — of each,
// the ratio, and the test accuracy reached. The header states the torch
// version, the BLAS library the Python process has mapped (read from
// /proc/self/maps) with OpenBLAS's own description of itself, and the thread
// count. Settings: EPOCHS, BATCHES, OPTS, THREADS, SIMDMLP_DATA, PYTHON
// (default /usr/bin/python3, where Debian's torch lives, not a pyenv or venv
// python3 on PATH), KEEP=1 to keep the per-run JSON. Debian's torch 1.13
// picks its AVX2 elementwise kernels on some AVX-512 CPUs; the header says
// which, and ATEN_CPU_CAPABILITY=avx512 in the environment tries the others.
package bench
