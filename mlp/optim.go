package mlp

import "github.com/simdmlp/simdmlp/kernels"

// Optimizer updates parameter tensors from their gradients in place.
// Init is called once, by Network.SetOptimizer, with the length of each
// tensor; Step then must not allocate. t counts steps from 1.
type Optimizer interface {
	Name() string
	Init(sizes []int)
	Step(t int, params, grads [][]float32)
	// State returns the optimizer's per-parameter tensors (for checkpoints),
	// each named like PyTorch's optimizer state ("momentum_buffer",
	// "exp_avg", "exp_avg_sq").
	State() []StateTensor
}

// StateTensor is one tensor of optimizer state belonging to parameter Param.
type StateTensor struct {
	Param int
	Name  string
	Data  []float32
}

// SGD is torch.optim.SGD (momentum, dampening, Nesterov, weight decay).
type SGD struct {
	kernels.SGD
	buf [][]float32
}

// NewSGD returns an SGD optimizer with the given hyper-parameters.
func NewSGD(h kernels.SGD) *SGD { return &SGD{SGD: h} }

// Name returns "sgd".
func (o *SGD) Name() string { return "sgd" }

// Init allocates a momentum buffer per tensor when Momentum is set.
func (o *SGD) Init(sizes []int) {
	o.buf = make([][]float32, len(sizes))
	if o.Momentum != 0 {
		for i, n := range sizes {
			o.buf[i] = make([]float32, n)
		}
	}
}

// Step updates every tensor; t == 1 starts the momentum buffers as PyTorch does.
func (o *SGD) Step(t int, params, grads [][]float32) {
	for i := range params {
		o.SGD.Step(params[i], grads[i], o.buf[i], t == 1)
	}
}

// State returns the momentum buffers (none without momentum).
func (o *SGD) State() []StateTensor {
	if o.Momentum == 0 {
		return nil
	}
	s := make([]StateTensor, len(o.buf))
	for i, b := range o.buf {
		s[i] = StateTensor{Param: i, Name: "momentum_buffer", Data: b}
	}
	return s
}

// Adam is torch.optim.Adam, or AdamW with Decoupled set.
type Adam struct {
	kernels.Adam
	m, v [][]float32
}

// NewAdam returns an Adam optimizer; kernels.DefaultAdam() gives PyTorch's
// defaults (lr 1e-3, betas 0.9/0.999, eps 1e-8).
func NewAdam(h kernels.Adam) *Adam { return &Adam{Adam: h} }

// Name returns "adam", or "adamw" when decoupled.
func (o *Adam) Name() string {
	if o.Decoupled {
		return "adamw"
	}
	return "adam"
}

// Init allocates the two moments of every tensor.
func (o *Adam) Init(sizes []int) {
	o.m = make([][]float32, len(sizes))
	o.v = make([][]float32, len(sizes))
	for i, n := range sizes {
		o.m[i] = make([]float32, n)
		o.v[i] = make([]float32, n)
	}
}

// Step updates every tensor with bias corrections for step t.
func (o *Adam) Step(t int, params, grads [][]float32) {
	for i := range params {
		o.Adam.Step(params[i], grads[i], o.m[i], o.v[i], t)
	}
}

// State returns the first and second moments of every tensor.
func (o *Adam) State() []StateTensor {
	s := make([]StateTensor, 0, 2*len(o.m))
	for i := range o.m {
		s = append(s, StateTensor{Param: i, Name: "exp_avg", Data: o.m[i]},
			StateTensor{Param: i, Name: "exp_avg_sq", Data: o.v[i]})
	}
	return s
}
