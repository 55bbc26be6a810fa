package mlp

import (
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/simdmlp/simdmlp/kernels"
	"github.com/stretchr/testify/require"
)

func randomBatch(rng *rand.Rand, bsz, in, classes int) ([]float32, []uint8) {
	x := make([]float32, bsz*in)
	for i := range x {
		x[i] = rng.Float32()
	}
	labels := make([]uint8, bsz)
	for i := range labels {
		labels[i] = uint8(rng.IntN(classes))
	}
	return x, labels
}

func smallNet(t testing.TB, dropout float64, maxBatch int) *Network {
	n, err := New(Config{Sizes: []int{37, 19, 11, 5}, Dropout: dropout, Seed: 42, MaxBatch: maxBatch})
	require.NoError(t, err)
	return n
}

// TestGradientCheck: the network's gradients equal those of the float64
// reference, whose own gradients are checked against central finite
// differences of its loss — every parameter, with dropout off and with the
// mask of the step fixed.
func TestGradientCheck(t *testing.T) {
	forEachImpl(t, func(t *testing.T) {
		for _, p := range []float64{0, 0.3} {
			n := smallNet(t, p, 8)
			n.SetOptimizer(NewSGD(kernels.SGD{LR: 0}))
			rng := rand.New(rand.NewPCG(1, 2))
			x, labels := randomBatch(rng, 6, 37, 5)
			var masks [][]float64
			if p > 0 {
				masks = dropoutMasks(n, 6, 1)
			}
			ref := refFrom(n)
			_, err := func() (float64, error) { l, _, err := n.TrainStep(x, labels); return l, err }()
			require.NoError(t, err)
			_, gw, gb := ref.lossAndGrads(to64(x), labels, masks)
			for l := 0; l < n.Layers(); l++ {
				L := n.layers[l]
				gw32, gb32 := make([]float32, L.in*L.out), make([]float32, L.out)
				n.Gradients(l, gw32, gb32)
				for i := range gw[l] {
					require.InDelta(t, gw[l][i], float64(gw32[i]), 1e-5+1e-4*math.Abs(gw[l][i]), "p=%v layer %d weight %d", p, l, i)
				}
				for i := range gb[l] {
					require.InDelta(t, gb[l][i], float64(gb32[i]), 1e-5+1e-4*math.Abs(gb[l][i]), "p=%v layer %d bias %d", p, l, i)
				}
				// Finite differences on the reference, every parameter.
				const h = 1e-6
				fd := func(v *float64) float64 {
					old := *v
					*v = old + h
					lp, _, _ := ref.lossAndGrads(to64(x), labels, masks)
					*v = old - h
					lm, _, _ := ref.lossAndGrads(to64(x), labels, masks)
					*v = old
					return (lp - lm) / (2 * h)
				}
				for i := range ref.w[l] {
					require.InDelta(t, fd(&ref.w[l][i]), gw[l][i], 1e-6, "fd layer %d weight %d", l, i)
				}
				for i := range ref.b[l] {
					require.InDelta(t, fd(&ref.b[l][i]), gb[l][i], 1e-6, "fd layer %d bias %d", l, i)
				}
			}
		}
	})
}

// TestStepMatchesFloat64: one SGD step on the real network shape equals the
// float64 reference step within float32 rounding of the products
// (K·ε·Σ|terms| with K ≤ 784, bounded here by 1e-5 relative + 1e-6).
func TestStepMatchesFloat64(t *testing.T) {
	forEachImpl(t, func(t *testing.T) {
		n, err := New(Config{Sizes: []int{784, 128, 64, 10}, Dropout: 0.02, Seed: 7, MaxBatch: 16})
		require.NoError(t, err)
		const lr = 0.1
		n.SetOptimizer(NewSGD(kernels.SGD{LR: lr}))
		rng := rand.New(rand.NewPCG(3, 4))
		x, labels := randomBatch(rng, 16, 784, 10)
		ref := refFrom(n)
		masks := dropoutMasks(n, 16, 1)
		wantLoss, gw, gb := ref.lossAndGrads(to64(x), labels, masks)
		loss, _, err := n.TrainStep(x, labels)
		require.NoError(t, err)
		require.InDelta(t, wantLoss, loss, 1e-5*wantLoss)
		for l := 0; l < n.Layers(); l++ {
			L := n.layers[l]
			w, b := make([]float32, L.in*L.out), make([]float32, L.out)
			n.Weights(l, w, b)
			for i := range w {
				want := ref.w[l][i] - lr*gw[l][i]
				require.InDelta(t, want, float64(w[i]), 1e-6+1e-5*math.Abs(want), "layer %d weight %d", l, i)
			}
			for i := range b {
				want := ref.b[l][i] - lr*gb[l][i]
				require.InDelta(t, want, float64(b[i]), 1e-6+1e-5*math.Abs(want), "layer %d bias %d", l, i)
			}
		}
	})
}

// blobs is a synthetic problem: 4 Gaussian clusters in 20 dimensions.
func blobs(rng *rand.Rand, n int) ([]float32, []uint8) {
	const dim, classes = 20, 4
	centers := make([][]float64, classes)
	crng := rand.New(rand.NewPCG(99, 99))
	for c := range centers {
		centers[c] = make([]float64, dim)
		for d := range centers[c] {
			centers[c][d] = crng.NormFloat64() * 1.5
		}
	}
	x := make([]float32, n*dim)
	labels := make([]uint8, n)
	for i := 0; i < n; i++ {
		c := rng.IntN(classes)
		labels[i] = uint8(c)
		for d := 0; d < dim; d++ {
			x[i*dim+d] = float32(centers[c][d] + rng.NormFloat64())
		}
	}
	return x, labels
}

// TestLearns: on the synthetic problem the loss falls and held-out accuracy
// passes 97 %, with SGD and with Adam.
func TestLearns(t *testing.T) {
	forEachImpl(t, func(t *testing.T) {
		for _, opt := range []Optimizer{NewSGD(kernels.SGD{LR: 0.05, Momentum: 0.9}), NewAdam(kernels.DefaultAdam())} {
			n, err := New(Config{Sizes: []int{20, 32, 16, 4}, Dropout: 0.02, Seed: 1, MaxBatch: 32})
			require.NoError(t, err)
			n.SetOptimizer(opt)
			rng := rand.New(rand.NewPCG(5, 6))
			x, labels := blobs(rng, 4000)
			var first, last float64
			for epoch := 0; epoch < 5; epoch++ {
				var sum float64
				for s := 0; s < 4000; s += 32 {
					l, _, err := n.TrainStep(x[s*20:(s+32)*20], labels[s:s+32])
					require.NoError(t, err)
					sum += l
				}
				if epoch == 0 {
					first = sum
				}
				last = sum
			}
			require.Less(t, last, first/2, "%s: loss did not fall", opt.Name())
			tx, tl := blobs(rng, 2000)
			classes := make([]int, 2000)
			require.NoError(t, n.Predict(tx, classes))
			correct := 0
			for i, c := range classes {
				if c == int(tl[i]) {
					correct++
				}
			}
			require.Greater(t, float64(correct)/2000, 0.97, "%s accuracy", opt.Name())
		}
	})
}

// TestDeterministicAcrossThreads: the same seed gives bit-identical weights
// after N steps, whatever the kernel thread count.
func TestDeterministicAcrossThreads(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(max(2, runtime.GOMAXPROCS(0))))
	forEachImpl(t, func(t *testing.T) {
		run := func(threads int) [][]float32 {
			defer kernels.SetThreads(threads)()
			n, err := New(Config{Sizes: []int{784, 128, 64, 10}, Dropout: 0.02, Seed: 3, MaxBatch: 100})
			require.NoError(t, err)
			n.SetOptimizer(NewAdam(kernels.DefaultAdam()))
			rng := rand.New(rand.NewPCG(8, 9))
			for s := 0; s < 5; s++ {
				x, labels := randomBatch(rng, 100, 784, 10)
				_, _, err := n.TrainStep(x, labels)
				require.NoError(t, err)
			}
			var out [][]float32
			for _, p := range n.params {
				out = append(out, append([]float32(nil), p...))
			}
			return out
		}
		one, two := run(1), run(2)
		for i := range one {
			for j := range one[i] {
				if math.Float32bits(one[i][j]) != math.Float32bits(two[i][j]) {
					t.Fatalf("tensor %d element %d: %g with 1 thread, %g with 2", i, j, one[i][j], two[i][j])
				}
			}
		}
	})
}

// TestNoAllocs: a training step and an evaluation allocate nothing.
func TestNoAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	forEachImpl(t, func(t *testing.T) {
		for _, opt := range []Optimizer{NewSGD(kernels.SGD{LR: 0.01}), NewAdam(kernels.DefaultAdam())} {
			n, err := New(Config{Sizes: []int{784, 128, 64, 10}, Dropout: 0.02, Seed: 3, MaxBatch: 100, EvalBatch: 500})
			require.NoError(t, err)
			n.SetOptimizer(opt)
			rng := rand.New(rand.NewPCG(8, 9))
			x, labels := randomBatch(rng, 100, 784, 10)
			xb := make([]uint8, len(x))
			for i := range xb {
				xb[i] = uint8(rng.IntN(256))
			}
			ex := make([]uint8, 1200*784)
			el := make([]uint8, 1200)
			// One thread, and two: products and updates split across the
			// kernels' worker pool.
			for _, th := range []int{1, 2} {
				restore := kernels.SetThreads(th)
				require.Zero(t, allocsPerRun(10, func() { n.TrainStep(x[:16*784], labels[:16]) }), "TrainStep threads=%d", th)
				require.Zero(t, allocsPerRun(10, func() { n.TrainStepBytes(xb, labels) }), "TrainStepBytes threads=%d", th)
				require.Zero(t, allocsPerRun(3, func() { n.Evaluate(ex, el) }), "Evaluate threads=%d", th)
				restore()
			}
		}
	})
}

func TestDiverged(t *testing.T) {
	n := smallNet(t, 0, 4)
	n.SetOptimizer(NewSGD(kernels.SGD{LR: 0.1}))
	x, labels := randomBatch(rand.New(rand.NewPCG(1, 1)), 4, 37, 5)
	before := append([]float32(nil), n.params[0]...)
	n.layers[n.Layers()-1].b[2] = float32(math.NaN())
	_, _, err := n.TrainStep(x, labels)
	require.ErrorIs(t, err, ErrDiverged)
	require.Equal(t, before, n.params[0], "weights changed by a diverged step")
	require.Zero(t, n.Steps())
}

func TestBadInput(t *testing.T) {
	n := smallNet(t, 0, 4)
	n.SetOptimizer(NewSGD(kernels.SGD{LR: 0.1}))
	_, _, err := n.TrainStep(make([]float32, 37*5), make([]uint8, 5))
	require.ErrorContains(t, err, "batch of 5 rows, want 1 to 4")
	_, _, err = n.TrainStep(make([]float32, 36), make([]uint8, 1))
	require.ErrorContains(t, err, "input holds 36 values")
	_, _, err = n.TrainStep(make([]float32, 37), []uint8{5})
	require.ErrorContains(t, err, "label 5 of row 0 is not below 5 classes")
	_, err = New(Config{Sizes: []int{3}, MaxBatch: 1})
	require.Error(t, err)
	_, err = New(Config{Sizes: []int{3, 2}, MaxBatch: 1, Dropout: 1})
	require.Error(t, err)
}

// TestSaveLoad: a checkpoint restores weights and optimizer state exactly,
// under PyTorch's state_dict names and shapes.
func TestSaveLoad(t *testing.T) {
	n, err := New(Config{Sizes: []int{784, 128, 64, 10}, Dropout: 0.02, Seed: 1, MaxBatch: 16})
	require.NoError(t, err)
	n.SetOptimizer(NewAdam(kernels.DefaultAdam()))
	rng := rand.New(rand.NewPCG(1, 2))
	x, labels := randomBatch(rng, 16, 784, 10)
	_, _, err = n.TrainStep(x, labels)
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "model.safetensors")
	require.NoError(t, n.Save(path, map[string]string{"epoch": "3"}))

	data, err := os.ReadFile(path)
	require.NoError(t, err)
	tensors, meta, err := parseSafetensors(data)
	require.NoError(t, err)
	require.Equal(t, "3", meta["epoch"])
	require.Len(t, tensors["0.weight"], 128*784)
	require.Len(t, tensors["3.weight"], 64*128)
	require.Len(t, tensors["6.bias"], 10)
	require.Len(t, tensors["optimizer.0.weight.exp_avg_sq"], 128*784)

	m, err := New(Config{Sizes: []int{784, 128, 64, 10}, Dropout: 0.02, Seed: 2, MaxBatch: 16})
	require.NoError(t, err)
	m.SetOptimizer(NewAdam(kernels.DefaultAdam()))
	_, err = m.Load(path)
	require.NoError(t, err)
	require.Equal(t, n.Steps(), m.Steps())
	for i := range n.params {
		require.Equal(t, n.params[i], m.params[i])
	}
	// Both continue identically.
	x2, l2 := randomBatch(rng, 16, 784, 10)
	_, _, err = n.TrainStep(x2, l2)
	require.NoError(t, err)
	_, _, err = m.TrainStep(x2, l2)
	require.NoError(t, err)
	for i := range n.params {
		require.Equal(t, n.params[i], m.params[i])
	}

	// Truncated and corrupt files are rejected and change nothing.
	before := append([]float32(nil), m.params[0]...)
	for _, cut := range []int{0, 7, 8, 100, len(data) / 2, len(data) - 1} {
		bad := filepath.Join(t.TempDir(), "bad.safetensors")
		require.NoError(t, os.WriteFile(bad, data[:cut], 0o644))
		_, err := m.Load(bad)
		require.Error(t, err, "cut at %d", cut)
	}
	require.Equal(t, before, m.params[0])
	wrong, err := New(Config{Sizes: []int{784, 100, 10}, Dropout: 0.02, MaxBatch: 16})
	require.NoError(t, err)
	_, err = wrong.Load(path)
	require.ErrorContains(t, err, `tensor "0.weight" has 100352 values, want shape [100 784]`)
}

// FuzzSafetensors: the parser never panics, whatever the bytes.
func FuzzSafetensors(f *testing.F) {
	n, _ := New(Config{Sizes: []int{3, 2}, MaxBatch: 1})
	path := filepath.Join(f.TempDir(), "m.safetensors")
	if err := n.Save(path, nil); err != nil {
		f.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	f.Add(data)
	f.Add([]byte{8, 0, 0, 0, 0, 0, 0, 0, '{', '}', ' ', ' ', ' ', ' ', ' ', ' '})
	f.Fuzz(func(t *testing.T, b []byte) {
		tensors, _, err := parseSafetensors(b)
		if err == nil {
			for _, v := range tensors {
				_ = v
			}
		}
	})
}

// TestBytesEqualFloats: training and evaluating on bytes (converted inside
// the first layer's packing) gives the same bits as on the bytes converted
// first.
func TestBytesEqualFloats(t *testing.T) {
	forEachImpl(t, func(t *testing.T) {
		cfg := Config{Sizes: []int{784, 128, 64, 10}, Dropout: 0.02, Seed: 5, MaxBatch: 100, EvalBatch: 64}
		a, err := New(cfg)
		require.NoError(t, err)
		b, err := New(cfg)
		require.NoError(t, err)
		a.SetOptimizer(NewAdam(kernels.DefaultAdam()))
		b.SetOptimizer(NewAdam(kernels.DefaultAdam()))
		rng := rand.New(rand.NewPCG(3, 3))
		for s, bsz := range []int{16, 100, 7} {
			xb := make([]uint8, bsz*784)
			for i := range xb {
				xb[i] = uint8(rng.IntN(256))
			}
			_, labels := randomBatch(rng, bsz, 1, 10)
			xf := make([]float32, len(xb))
			kernels.BytesToFloats(xf, xb, a.cfg.InputScale, a.cfg.InputOffset)
			la, ca, err := a.TrainStepBytes(xb, labels)
			require.NoError(t, err)
			lb, cb, err := b.TrainStep(xf, labels)
			require.NoError(t, err)
			require.Equal(t, math.Float64bits(lb), math.Float64bits(la), "step %d loss", s)
			require.Equal(t, cb, ca)
		}
		for i := range a.params {
			requireBits(t, b.params[i], a.params[i])
		}
		xb := make([]uint8, 150*784)
		labels := make([]uint8, 150)
		for i := range xb {
			xb[i] = uint8(rng.IntN(256))
		}
		xf := make([]float32, len(xb))
		kernels.BytesToFloats(xf, xb, a.cfg.InputScale, a.cfg.InputOffset)
		classes := make([]int, 150)
		require.NoError(t, b.Predict(xf, classes))
		right := 0
		for i, c := range classes {
			if c == int(labels[i]) {
				right++
			}
		}
		got, err := a.Evaluate(xb, labels)
		require.NoError(t, err)
		require.Equal(t, right, got)
	})
}

func requireBits(t *testing.T, want, got []float32) {
	t.Helper()
	for i := range want {
		if math.Float32bits(want[i]) != math.Float32bits(got[i]) {
			t.Fatalf("element %d: %g, want %g", i, got[i], want[i])
		}
	}
}

// allocsPerRun is testing.AllocsPerRun without its GOMAXPROCS(1), under
// which no product or update is ever split across goroutines: the heap
// allocations per call of f (all goroutines counted) over runs calls after
// a warm one, with GOMAXPROCS at least 2.
func allocsPerRun(runs int, f func()) float64 {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(max(2, runtime.GOMAXPROCS(0))))
	f()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range runs {
		f()
	}
	runtime.ReadMemStats(&after)
	return float64((after.Mallocs - before.Mallocs) / uint64(runs))
}
