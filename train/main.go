// Command train reproduces the Fashion-MNIST study in ../shared/paper:
// a 784-128-64-10 ReLU network with dropout 0.02, trained for 60 epochs
// with SGD or Adam at batch 16, 64 or 100, recording three accuracies per
// epoch (during training, on the training set, on the test set).
//
//	go run ./train -opt sgd -batch 16     # one run
//	go run ./train -paper                 # the six runs, figures, results.md
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"syscall"

	"github.com/simdmlp/simdmlp/dataset"
	"github.com/simdmlp/simdmlp/kernels"
)

func main() {
	os.Exit(mainErr(os.Args[1:], os.Stdout, os.Stderr))
}

func mainErr(args []string, stdout, stderr io.Writer) int {
	cfg, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		return 2
	}
	var stop atomic.Bool
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sig)
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case s := <-sig:
			fmt.Fprintf(stderr, "train: %v: stopping after the current step (again to quit at once)\n", s)
			stop.Store(true)
			signal.Stop(sig)
		case <-done:
		}
	}()
	if err := execute(cfg, stdout, &stop); err != nil {
		if errors.Is(err, errInterrupted) {
			return 130
		}
		fmt.Fprintf(stderr, "train: %v\n", err)
		return 1
	}
	return 0
}

// execute runs what cfg asks for.
func execute(cfg *config, log io.Writer, stop *atomic.Bool) error {
	if cfg.Kernels != "" {
		if _, err := kernels.Use(cfg.Kernels); err != nil {
			return err
		}
	}
	d, err := loadData(cfg, log)
	if err != nil {
		return err
	}
	if cfg.Paper {
		return paper(cfg, d, log, stop)
	}
	kernels.SetThreads(cfg.Threads)
	r := &run{cfg: cfg, dir: filepath.Join(cfg.Out, cfg.name()), d: d, log: log, stop: stop, onStep: testStepHook}
	fmt.Fprintf(log, "%s: %s, lr %g, %d epochs, hidden %v, dropout %g, seed %d, %s kernels, %d threads\n",
		cfg.name(), cfg.title(), cfg.LR, cfg.Epochs, cfg.Hidden, cfg.Dropout, cfg.Seed, kernels.Active(), kernels.Threads())
	_, err = r.execute()
	if err == nil {
		fmt.Fprintf(log, "wrote %s/{metrics.csv,run.json,accuracy.png,model.safetensors}\n", r.dir)
	}
	return err
}

// loadData finds and loads the data set and the input scaling.
func loadData(cfg *config, log io.Writer) (*data, error) {
	name := map[string]string{"fashion": "fashion-mnist", "mnist": "mnist"}[cfg.Dataset]
	dir, err := dataset.Find(dataset.FindOptions{Name: name, Dir: cfg.Data, Download: cfg.Download,
		Logf: func(f string, a ...any) { fmt.Fprintf(log, f+"\n", a...) }})
	if err != nil {
		return nil, err
	}
	train, test, err := dataset.Load(dir)
	if err != nil {
		return nil, err
	}
	scale, offset := inputScaling(cfg.Norm, train)
	return &data{train: train, test: test, scale: scale, offset: offset}, nil
}

// testStepHook, when a test sets it, runs after every training step.
var testStepHook func()

// workers returns how many runs -paper trains at once.
func workers(cfg *config) int {
	if cfg.Threads > 0 {
		return cfg.Threads
	}
	return runtime.GOMAXPROCS(0)
}
