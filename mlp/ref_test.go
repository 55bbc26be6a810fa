package mlp

import (
	"math"
	"testing"

	"github.com/simdmlp/simdmlp/kernels"
)

// refNet is a plain float64 transcription of the network, for the tests.
type refNet struct {
	sizes []int
	w, b  [][]float64 // w[l] is out×in (PyTorch layout)
}

func refFrom(n *Network) *refNet {
	r := &refNet{sizes: n.cfg.Sizes}
	for l := 0; l < n.Layers(); l++ {
		L := n.layers[l]
		w32, b32 := make([]float32, L.in*L.out), make([]float32, L.out)
		n.Weights(l, w32, b32)
		r.w = append(r.w, to64(w32))
		r.b = append(r.b, to64(b32))
	}
	return r
}

func to64(v []float32) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

// masks[l] is the dropout multiplier (0 or 1/(1-p)) of hidden layer l, per
// element of the batch; nil means no dropout.
func (r *refNet) lossAndGrads(x []float64, labels []uint8, masks [][]float64) (loss float64, gw, gb [][]float64) {
	bsz := len(labels)
	acts := [][]float64{x}
	pre := [][]float64{}
	L := len(r.w)
	for l := 0; l < L; l++ {
		in, out := r.sizes[l], r.sizes[l+1]
		z := make([]float64, bsz*out)
		for i := 0; i < bsz; i++ {
			for o := 0; o < out; o++ {
				s := r.b[l][o]
				for k := 0; k < in; k++ {
					s += acts[l][i*in+k] * r.w[l][o*in+k]
				}
				z[i*out+o] = s
			}
		}
		pre = append(pre, z)
		if l == L-1 {
			acts = append(acts, z)
			break
		}
		h := make([]float64, len(z))
		for i, v := range z {
			if v > 0 {
				h[i] = v
				if masks != nil {
					h[i] *= masks[l][i]
				}
			}
		}
		acts = append(acts, h)
	}
	c := r.sizes[L]
	logits := acts[L]
	dy := make([]float64, bsz*c)
	for i := 0; i < bsz; i++ {
		row := logits[i*c : (i+1)*c]
		m := row[0]
		for _, v := range row {
			m = math.Max(m, v)
		}
		var s float64
		for _, v := range row {
			s += math.Exp(v - m)
		}
		loss += (math.Log(s) + m - row[labels[i]]) / float64(bsz)
		for j, v := range row {
			p := math.Exp(v-m) / s
			if j == int(labels[i]) {
				p--
			}
			dy[i*c+j] = p / float64(bsz)
		}
	}
	gw = make([][]float64, L)
	gb = make([][]float64, L)
	for l := L - 1; l >= 0; l-- {
		in, out := r.sizes[l], r.sizes[l+1]
		gw[l] = make([]float64, out*in)
		gb[l] = make([]float64, out)
		for i := 0; i < bsz; i++ {
			for o := 0; o < out; o++ {
				g := dy[i*out+o]
				gb[l][o] += g
				for k := 0; k < in; k++ {
					gw[l][o*in+k] += g * acts[l][i*in+k]
				}
			}
		}
		if l == 0 {
			break
		}
		dx := make([]float64, bsz*in)
		for i := 0; i < bsz; i++ {
			for k := 0; k < in; k++ {
				var s float64
				for o := 0; o < out; o++ {
					s += dy[i*out+o] * r.w[l][o*in+k]
				}
				if pre[l-1][i*in+k] > 0 {
					if masks != nil {
						s *= masks[l-1][i*in+k]
					}
				} else {
					s = 0
				}
				dx[i*in+k] = s
			}
		}
		dy = dx
	}
	return loss, gw, gb
}

// dropoutMasks returns the multipliers the network's step `step` applies
// to a batch of bsz rows, read off the kernel itself (ones through
// BiasReLUDropout with a zero bias).
func dropoutMasks(n *Network, bsz, step int) [][]float64 {
	var masks [][]float64
	for l := 0; l+1 < n.Layers(); l++ {
		out := n.cfg.Sizes[l+1]
		y := make([]float32, bsz*out)
		for i := range y {
			y[i] = 1
		}
		kernels.BiasReLUDropout(y, bsz, out, make([]float32, out), kernels.NewDropout(n.cfg.Dropout, n.cfg.Seed, uint64(step), l))
		masks = append(masks, to64(y))
	}
	return masks
}

// forEachImpl runs f under every kernel path this machine has.
func forEachImpl(t *testing.T, f func(t *testing.T)) {
	for _, name := range kernels.Available() {
		t.Run(name, func(t *testing.T) {
			restore, err := kernels.Use(name)
			if err != nil {
				t.Fatal(err)
			}
			defer restore()
			f(t)
		})
	}
}
