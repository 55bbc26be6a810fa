package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/simdmlp/simdmlp/dataset"
	"github.com/simdmlp/simdmlp/kernels"
	"github.com/simdmlp/simdmlp/mlp"
)

// epochRecord is what one epoch measured.
type epochRecord struct {
	Epoch      int     `json:"epoch"`
	Loss       float64 `json:"loss"`        // mean training loss over the epoch's batches
	PrecDuring float64 `json:"prec_during"` // % of training rows right as they were trained on
	PrecTrain  float64 `json:"prec_train"`  // % of the training set right at the end (eval mode)
	PrecTest   float64 `json:"prec_test"`   // % of the test set right at the end (eval mode)
	TrainSec   float64 `json:"train_seconds"`
	EvalSec    float64 `json:"eval_seconds"`
}

// progress is where a run stands: saved in checkpoints.
type progress struct {
	Config  config        `json:"config"`
	Epoch   int           `json:"epoch"` // epochs completed
	Batch   int           `json:"batch"` // batches of the current epoch completed
	LossSum float64       `json:"loss_sum"`
	Correct int           `json:"correct"`
	Seen    int           `json:"seen"`
	Seconds float64       `json:"seconds"` // training seconds of the current epoch so far
	Records []epochRecord `json:"records"`
}

// data is a loaded data set with the input scaling of a run.
type data struct {
	train, test   *dataset.Set
	scale, offset float32
}

// inputScaling returns x ↦ x·scale + offset for a -norm mode.
func inputScaling(norm string, train *dataset.Set) (scale, offset float32) {
	switch norm {
	case "symmetric":
		return 2.0 / 255, -1
	case "standard":
		var s, ss float64
		for _, b := range train.Images {
			v := float64(b) / 255
			s += v
			ss += v * v
		}
		n := float64(len(train.Images))
		mean := s / n
		std := math.Sqrt(ss/n - mean*mean)
		return float32(1 / (255 * std)), float32(-mean / std)
	}
	return 1.0 / 255, 0
}

// errInterrupted reports a run stopped by a signal after its checkpoint.
var errInterrupted = errors.New("interrupted")

// run trains one configuration. stop is polled after every step; when it
// is set, run writes a checkpoint and returns errInterrupted.
type run struct {
	cfg   *config
	dir   string
	d     *data
	net   *mlp.Network
	log   io.Writer
	stop  *atomic.Bool
	label string // prefix of printed lines, for -paper
	// onStep, if set, is called after every training step (tests use it to
	// interrupt a run at a chosen point).
	onStep func()
	// resumedAt is the number of epochs a resumed run found done (for the ETA).
	resumedAt int
}

func (r *run) checkpointPath() string { return filepath.Join(r.dir, "checkpoint.safetensors") }

func newNetwork(cfg *config, d *data) (*mlp.Network, error) {
	sizes := append([]int{d.train.Features()}, cfg.Hidden...)
	sizes = append(sizes, 10)
	net, err := mlp.New(mlp.Config{Sizes: sizes, Dropout: cfg.Dropout, Seed: cfg.Seed, MaxBatch: cfg.Batch,
		EvalBatch: 1000, InputScale: d.scale, InputOffset: d.offset})
	if err != nil {
		return nil, err
	}
	if cfg.Opt == "adam" {
		h := kernels.DefaultAdam()
		h.LR = float32(cfg.LR)
		net.SetOptimizer(mlp.NewAdam(h))
	} else {
		net.SetOptimizer(mlp.NewSGD(kernels.SGD{LR: float32(cfg.LR), Momentum: float32(cfg.Momentum)}))
	}
	return net, nil
}

// execute runs (or resumes) the training and writes the run's outputs.
func (r *run) execute() ([]epochRecord, error) {
	cfg := r.cfg
	if err := os.MkdirAll(r.dir, 0o755); err != nil {
		return nil, err
	}
	net, err := newNetwork(cfg, r.d)
	if err != nil {
		return nil, err
	}
	r.net = net
	p := &progress{Config: *cfg}
	if cfg.Resume {
		if err := r.resume(p); err != nil {
			return nil, err
		}
	}
	tr := r.d.train
	n, f := tr.N, tr.Features()
	perm := make([]int, n)
	x := make([]uint8, cfg.Batch*f)
	labels := make([]uint8, cfg.Batch)
	batches := (n + cfg.Batch - 1) / cfg.Batch // the last one partial, as PyTorch's DataLoader
	start := time.Now()
	for p.Epoch < cfg.Epochs {
		epoch := p.Epoch + 1
		shuffle(perm, cfg.Seed, epoch)
		t0 := time.Now()
		for ; p.Batch < batches; p.Batch++ {
			lo := p.Batch * cfg.Batch
			hi := min(n, lo+cfg.Batch)
			for i, idx := range perm[lo:hi] {
				copy(x[i*f:(i+1)*f], tr.Image(idx))
				labels[i] = tr.Labels[idx]
			}
			rows := hi - lo
			loss, correct, err := net.TrainStepBytes(x[:rows*f], labels[:rows])
			if err != nil {
				return p.Records, fmt.Errorf("%s: epoch %d, step %d (batch %d of %d): loss %v: %w", cfg.name(), epoch, net.Steps()+1, p.Batch+1, batches, loss, err)
			}
			p.LossSum += loss * float64(rows)
			p.Correct += correct
			p.Seen += rows
			if r.onStep != nil {
				r.onStep()
			}
			if r.stop != nil && r.stop.Load() {
				p.Batch++
				p.Seconds += time.Since(t0).Seconds()
				if err := r.checkpoint(p); err != nil {
					return p.Records, err
				}
				fmt.Fprintf(r.log, "%sinterrupted in epoch %d after batch %d: checkpoint written to %s; continue with -resume\n",
					r.label, epoch, p.Batch, r.checkpointPath())
				return p.Records, errInterrupted
			}
		}
		trainSec := p.Seconds + time.Since(t0).Seconds()
		t1 := time.Now()
		trainOK, err := net.Evaluate(tr.Images, tr.Labels)
		if err != nil {
			return p.Records, err
		}
		testOK, err := net.Evaluate(r.d.test.Images, r.d.test.Labels)
		if err != nil {
			return p.Records, err
		}
		rec := epochRecord{Epoch: epoch, Loss: p.LossSum / float64(p.Seen),
			PrecDuring: 100 * float64(p.Correct) / float64(p.Seen),
			PrecTrain:  100 * float64(trainOK) / float64(tr.N),
			PrecTest:   100 * float64(testOK) / float64(r.d.test.N),
			TrainSec:   trainSec, EvalSec: time.Since(t1).Seconds()}
		p.Records = append(p.Records, rec)
		p.Epoch, p.Batch, p.LossSum, p.Correct, p.Seen, p.Seconds = epoch, 0, 0, 0, 0, 0
		if !cfg.Quiet {
			eta := time.Duration(float64(time.Since(start)) / float64(len(p.Records)-r.resumedAt) * float64(cfg.Epochs-epoch))
			fmt.Fprintf(r.log, "%sepoch %3d/%d  loss %.4f  during %6.2f%%  train %6.2f%%  test %6.2f%%  %6.2fs train %5.2fs eval  ETA %s\n",
				r.label, epoch, cfg.Epochs, rec.Loss, rec.PrecDuring, rec.PrecTrain, rec.PrecTest, rec.TrainSec, rec.EvalSec, fmtDuration(eta))
		}
		if err := r.checkpoint(p); err != nil {
			return p.Records, err
		}
		if err := writeMetrics(r.dir, cfg, p.Records); err != nil {
			return p.Records, err
		}
	}
	if err := net.Save(filepath.Join(r.dir, "model.safetensors"), nil); err != nil {
		return p.Records, err
	}
	if err := writeRunRecord(r.dir, cfg, p.Records); err != nil {
		return p.Records, err
	}
	if err := writeFigure(r.dir, cfg, p.Records); err != nil {
		return p.Records, err
	}
	return p.Records, nil
}

// shuffle sets perm to the training order of an epoch: a permutation that
// depends only on the seed and the epoch, so a resumed run sees the same.
func shuffle(perm []int, seed uint64, epoch int) {
	for i := range perm {
		perm[i] = i
	}
	rng := rand.New(rand.NewPCG(seed, 0x5eed0000+uint64(epoch)))
	rng.Shuffle(len(perm), func(i, j int) { perm[i], perm[j] = perm[j], perm[i] })
}

// checkpoint saves weights, optimizer state and progress atomically.
func (r *run) checkpoint(p *progress) error {
	js, err := json.Marshal(p)
	if err != nil {
		return err
	}
	return r.net.Save(r.checkpointPath(), map[string]string{"simdmlp.progress": string(js)})
}

// resume loads the checkpoint of this run into r.net and p.
func (r *run) resume(p *progress) error {
	path := r.checkpointPath()
	meta, err := r.net.Load(path)
	if err != nil {
		return fmt.Errorf("resume: %w", err)
	}
	var saved progress
	if err := json.Unmarshal([]byte(meta["simdmlp.progress"]), &saved); err != nil {
		return fmt.Errorf("resume: %s: no training progress in the checkpoint: %v", path, err)
	}
	if a, b := identity(&saved.Config), identity(r.cfg); a != b {
		return fmt.Errorf("resume: %s was written by a different run (%s), not %s", path, a, b)
	}
	epochs := r.cfg.Epochs
	*p = saved
	p.Config = *r.cfg
	p.Config.Epochs = epochs
	r.resumedAt = p.Epoch
	fmt.Fprintf(r.log, "%sresuming %s at epoch %d, batch %d\n", r.label, path, p.Epoch+1, p.Batch)
	return nil
}

// identity is what must agree between a checkpoint and the run resuming it.
func identity(c *config) string {
	cc := *c
	cc.Epochs = 0
	js, _ := json.Marshal(cc)
	return strings.TrimSpace(string(js))
}

func fmtDuration(d time.Duration) string {
	d = d.Round(time.Second)
	return fmt.Sprintf("%d:%02d", int(d.Minutes()), int(d.Seconds())%60)
}
