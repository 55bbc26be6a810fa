// Package mlp is a multilayer perceptron with ReLU hidden layers, inverted
// dropout and a softmax cross-entropy output, trained by manual
// backpropagation on the kernels package. It follows PyTorch's semantics
// (nn.Linear init, nn.Dropout, nn.CrossEntropyLoss with mean reduction,
// torch.optim.SGD and Adam), and once built it allocates nothing per
// training step or evaluation.
//
// The layer weights live packed (kernels.PackedB) in the layout the forward
// GEMM reads, and are updated there in place by the optimizer, so no step
// repacks them.
package mlp

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/simdmlp/simdmlp/kernels"
)

// Config describes a network.
type Config struct {
	// Sizes are the layer widths, input first: {784, 128, 64, 10}.
	Sizes []int
	// Dropout is the probability of zeroing each hidden unit in training,
	// applied after every hidden ReLU (PyTorch's Linear→ReLU→Dropout).
	Dropout float64
	// Seed fixes the initial weights and the dropout masks.
	Seed uint64
	// MaxBatch is the largest training batch.
	MaxBatch int
	// EvalBatch is the batch size of Evaluate and Predict (default 1000).
	EvalBatch int
	// InputScale and InputOffset map a byte input b to b·InputScale +
	// InputOffset (default 1/255 and 0: pixels scaled to [0, 1]).
	InputScale, InputOffset float32
}

// ErrDiverged is returned by a training step whose loss is not finite;
// the weights are left as they were before that step.
var ErrDiverged = errors.New("mlp: loss is not finite (training diverged)")

// Network is a multilayer perceptron with all its buffers.
type Network struct {
	cfg    Config
	layers []layer
	opt    Optimizer
	step   int // training steps taken (the optimizer's t)
	// dropScale multiplies kept units (1/(1−p)); the backward pass needs it.
	dropScale float32

	params, grads [][]float32 // per tensor: layer weights (packed), biases

	x     []float32   // MaxBatch × inputs, training input as floats
	acts  [][]float32 // acts[l]: MaxBatch × out(l), output of layer l
	dacts [][]float32 // gradients of the loss with respect to acts

	evalX    []float32
	evalActs [][]float32
}

type layer struct {
	in, out int
	w, gw   *kernels.PackedB // Wᵀ (in×out) and its gradient
	b, gb   []float32
}

// New builds a network with PyTorch's default initialisation: weights and
// biases uniform in ±1/√fan_in, drawn in the order of a PyTorch state_dict.
func New(cfg Config) (*Network, error) {
	if len(cfg.Sizes) < 2 {
		return nil, fmt.Errorf("mlp: need at least two layer sizes, got %v", cfg.Sizes)
	}
	for _, s := range cfg.Sizes {
		if s <= 0 {
			return nil, fmt.Errorf("mlp: layer sizes must be positive, got %v", cfg.Sizes)
		}
	}
	if cfg.Dropout < 0 || cfg.Dropout >= 1 || math.IsNaN(cfg.Dropout) {
		return nil, fmt.Errorf("mlp: dropout %v is not in [0, 1)", cfg.Dropout)
	}
	if cfg.MaxBatch <= 0 {
		return nil, fmt.Errorf("mlp: MaxBatch must be positive, got %d", cfg.MaxBatch)
	}
	if cfg.EvalBatch <= 0 {
		cfg.EvalBatch = 1000
	}
	if cfg.InputScale == 0 && cfg.InputOffset == 0 {
		cfg.InputScale = 1.0 / 255
	}
	cfg.Sizes = append([]int(nil), cfg.Sizes...)
	n := &Network{cfg: cfg, dropScale: kernels.NewDropout(cfg.Dropout, 0, 0, 0).Scale}
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x6d6c70))
	for l := 0; l+1 < len(cfg.Sizes); l++ {
		in, out := cfg.Sizes[l], cfg.Sizes[l+1]
		L := layer{in: in, out: out, w: kernels.NewPackedB(in, out), gw: kernels.NewPackedB(in, out),
			b: make([]float32, out), gb: make([]float32, out)}
		bound := 1 / math.Sqrt(float64(in))
		for o := 0; o < out; o++ {
			for i := 0; i < in; i++ {
				L.w.Set(i, o, float32((rng.Float64()*2-1)*bound))
			}
		}
		for o := range L.b {
			L.b[o] = float32((rng.Float64()*2 - 1) * bound)
		}
		n.layers = append(n.layers, L)
		n.params = append(n.params, L.w.Data(), L.b)
		n.grads = append(n.grads, L.gw.Data(), L.gb)
		n.acts = append(n.acts, make([]float32, cfg.MaxBatch*out))
		n.dacts = append(n.dacts, make([]float32, cfg.MaxBatch*out))
		n.evalActs = append(n.evalActs, make([]float32, cfg.EvalBatch*out))
	}
	n.x = make([]float32, cfg.MaxBatch*cfg.Sizes[0])
	n.evalX = make([]float32, cfg.EvalBatch*cfg.Sizes[0])
	return n, nil
}

// Config returns the network's configuration (defaults filled in).
func (n *Network) Config() Config {
	c := n.cfg
	c.Sizes = append([]int(nil), c.Sizes...)
	return c
}

// Inputs returns the input width.
func (n *Network) Inputs() int { return n.cfg.Sizes[0] }

// Classes returns the output width.
func (n *Network) Classes() int { return n.cfg.Sizes[len(n.cfg.Sizes)-1] }

// Steps returns the number of training steps taken.
func (n *Network) Steps() int { return n.step }

// SetOptimizer attaches an optimizer, which allocates its state here.
func (n *Network) SetOptimizer(o Optimizer) {
	sizes := make([]int, len(n.params))
	for i, p := range n.params {
		sizes[i] = len(p)
	}
	o.Init(sizes)
	n.opt = o
}

// Optimizer returns the attached optimizer.
func (n *Network) Optimizer() Optimizer { return n.opt }

// TrainStepBytes is TrainStep for byte inputs (pixels), scaled by
// InputScale and InputOffset as they are converted.
func (n *Network) TrainStepBytes(x []uint8, labels []uint8) (loss float64, correct int, err error) {
	bsz, err := n.checkBatch(len(x), labels, n.cfg.MaxBatch)
	if err != nil {
		return 0, 0, err
	}
	xf := n.x[:bsz*n.Inputs()]
	kernels.BytesToFloats(xf, x, n.cfg.InputScale, n.cfg.InputOffset)
	return n.trainStep(xf, labels, bsz)
}

// TrainStep runs one training step on a batch (rows of x, one label each):
// forward in training mode, mean cross-entropy loss, backward, optimizer
// update. It returns the loss and how many rows were classified correctly
// (before the update). A non-finite loss returns ErrDiverged and changes
// no weight.
func (n *Network) TrainStep(x []float32, labels []uint8) (loss float64, correct int, err error) {
	bsz, err := n.checkBatch(len(x), labels, n.cfg.MaxBatch)
	if err != nil {
		return 0, 0, err
	}
	return n.trainStep(x, labels, bsz)
}

func (n *Network) checkBatch(xlen int, labels []uint8, maxBatch int) (int, error) {
	bsz := len(labels)
	if bsz == 0 || bsz > maxBatch {
		return 0, fmt.Errorf("mlp: batch of %d rows, want 1 to %d", bsz, maxBatch)
	}
	if xlen != bsz*n.Inputs() {
		return 0, fmt.Errorf("mlp: input holds %d values, %d rows of %d need %d", xlen, bsz, n.Inputs(), bsz*n.Inputs())
	}
	for i, l := range labels {
		if int(l) >= n.Classes() {
			return 0, fmt.Errorf("mlp: label %d of row %d is not below %d classes", l, i, n.Classes())
		}
	}
	return bsz, nil
}

func (n *Network) trainStep(x []float32, labels []uint8, bsz int) (float64, int, error) {
	if n.opt == nil {
		return 0, 0, errors.New("mlp: no optimizer: call SetOptimizer first")
	}
	logits := n.forward(x, bsz, n.acts, n.step+1)
	last := len(n.layers) - 1
	c := n.Classes()
	dlogits := n.dacts[last][:bsz*c]
	lossSum, correct := kernels.SoftmaxCrossEntropy(logits, bsz, c, c, labels, dlogits, c)
	loss := lossSum / float64(bsz)
	if math.IsNaN(loss) || math.IsInf(loss, 0) {
		return loss, correct, ErrDiverged
	}
	n.step++
	n.backward(x, bsz)
	n.opt.Step(n.step, n.params, n.grads)
	return loss, correct, nil
}

// forward runs the layers on bsz rows of x into acts and returns the
// logits. step > 0 means training mode with the dropout masks of that step.
func (n *Network) forward(x []float32, bsz int, acts [][]float32, step int) []float32 {
	in := x
	last := len(n.layers) - 1
	for l := range n.layers {
		L := &n.layers[l]
		y := acts[l][:bsz*L.out]
		kernels.GemmPacked(kernels.NoTrans, bsz, 1, in, L.in, L.w, 0, y, L.out)
		switch {
		case l == last:
			kernels.Bias(y, bsz, L.out, L.b)
		case step > 0 && n.cfg.Dropout > 0:
			kernels.BiasReLUDropout(y, bsz, L.out, L.b, kernels.NewDropout(n.cfg.Dropout, n.cfg.Seed, uint64(step), l))
		default:
			kernels.BiasReLU(y, bsz, L.out, L.b)
		}
		in = y
	}
	return in
}

// backward fills the gradients from n.dacts[last] (the logits' gradient).
func (n *Network) backward(x []float32, bsz int) {
	last := len(n.layers) - 1
	dy := n.dacts[last][:bsz*n.layers[last].out]
	kernels.ColumnSums(n.layers[last].gb, dy, bsz, n.layers[last].out)
	for l := last; l >= 0; l-- {
		L := &n.layers[l]
		in := x
		if l > 0 {
			in = n.acts[l-1][:bsz*L.in]
		}
		kernels.GemmToPacked(kernels.Trans, kernels.NoTrans, bsz, 1, in, L.in, dy, L.out, 0, L.gw)
		if l == 0 {
			break
		}
		dx := n.dacts[l-1][:bsz*L.in]
		kernels.GemmPackedT(kernels.NoTrans, bsz, 1, dy, L.out, L.w, 0, dx, L.in)
		kernels.ReLUDropoutBackward(dx, in, bsz, L.in, n.dropScale, n.layers[l-1].gb)
		dy = dx
	}
}

// Evaluate classifies every image of a data set (rows of bytes, scaled as in
// TrainStepBytes) in evaluation mode and returns how many match labels. The
// products run on all threads the kernels package is allowed.
func (n *Network) Evaluate(images []uint8, labels []uint8) (correct int, err error) {
	in := n.Inputs()
	if len(images) != len(labels)*in {
		return 0, fmt.Errorf("mlp: %d image bytes for %d labels of %d inputs", len(images), len(labels), in)
	}
	for start := 0; start < len(labels); start += n.cfg.EvalBatch {
		bsz := min(n.cfg.EvalBatch, len(labels)-start)
		x := n.evalX[:bsz*in]
		kernels.BytesToFloats(x, images[start*in:(start+bsz)*in], n.cfg.InputScale, n.cfg.InputOffset)
		logits := n.forward(x, bsz, n.evalActs, 0)
		c := n.Classes()
		for i := 0; i < bsz; i++ {
			if argmax(logits[i*c:(i+1)*c]) == int(labels[start+i]) {
				correct++
			}
		}
	}
	return correct, nil
}

// Predict writes the class of each row of x (evaluation mode) to classes.
func (n *Network) Predict(x []float32, classes []int) error {
	in, c := n.Inputs(), n.Classes()
	if len(x) != len(classes)*in {
		return fmt.Errorf("mlp: %d input values for %d rows of %d", len(x), len(classes), in)
	}
	for start := 0; start < len(classes); start += n.cfg.EvalBatch {
		bsz := min(n.cfg.EvalBatch, len(classes)-start)
		logits := n.forward(x[start*in:(start+bsz)*in], bsz, n.evalActs, 0)
		for i := 0; i < bsz; i++ {
			classes[start+i] = argmax(logits[i*c : (i+1)*c])
		}
	}
	return nil
}

// Logits runs the network in evaluation mode on rows of x and writes the
// output rows to out (len(x)/Inputs() × Classes()).
func (n *Network) Logits(x []float32, out []float32) error {
	in, c := n.Inputs(), n.Classes()
	rows := len(x) / in
	if len(x) != rows*in || len(out) != rows*c {
		return fmt.Errorf("mlp: %d inputs and %d outputs do not make rows of %d and %d", len(x), len(out), in, c)
	}
	for start := 0; start < rows; start += n.cfg.EvalBatch {
		bsz := min(n.cfg.EvalBatch, rows-start)
		logits := n.forward(x[start*in:(start+bsz)*in], bsz, n.evalActs, 0)
		copy(out[start*c:], logits)
	}
	return nil
}

// argmax returns the index of the first largest value.
func argmax(v []float32) int {
	best := 0
	for i, x := range v {
		if x > v[best] {
			best = i
		}
	}
	return best
}

// Layers returns the number of linear layers.
func (n *Network) Layers() int { return len(n.layers) }

// Weights copies layer l's weight matrix in PyTorch's layout (out×in,
// row-major) into w and its bias into b (either may be nil).
func (n *Network) Weights(l int, w, b []float32) {
	L := &n.layers[l]
	if w != nil {
		L.w.Unpack(kernels.Trans, w, L.in)
	}
	if b != nil {
		copy(b, L.b)
	}
}

// SetWeights sets layer l's weights (out×in, PyTorch's layout) and bias.
func (n *Network) SetWeights(l int, w, b []float32) error {
	L := &n.layers[l]
	if len(w) != L.in*L.out || len(b) != L.out {
		return fmt.Errorf("mlp: layer %d wants %d×%d weights and %d biases, got %d and %d", l, L.out, L.in, L.out, len(w), len(b))
	}
	L.w.Pack(kernels.Trans, w, L.in)
	copy(L.b, b)
	return nil
}

// Gradients copies layer l's last weight gradient (out×in) and bias
// gradient, as computed by the last TrainStep.
func (n *Network) Gradients(l int, gw, gb []float32) {
	L := &n.layers[l]
	if gw != nil {
		L.gw.Unpack(kernels.Trans, gw, L.in)
	}
	if gb != nil {
		copy(gb, L.gb)
	}
}
