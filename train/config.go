package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// config is one training run. Its defaults are the study's (see
// ../shared/paper/SUMMARY.md): 784-128-64-10, ReLU, dropout 0.02, 60
// epochs, SGD lr 0.001 without momentum, pixels in [0, 1].
type config struct {
	Opt      string  `json:"optimizer"`
	Batch    int     `json:"batch"`
	Epochs   int     `json:"epochs"`
	LR       float64 `json:"lr"`
	Momentum float64 `json:"momentum"`
	Hidden   []int   `json:"hidden"`
	Dropout  float64 `json:"dropout"`
	Seed     uint64  `json:"seed"`
	Dataset  string  `json:"dataset"`
	Norm     string  `json:"norm"`

	// Not part of a run's identity: how and where it runs.
	Threads  int    `json:"-"`
	Kernels  string `json:"-"`
	Data     string `json:"-"`
	Out      string `json:"-"`
	Paper    bool   `json:"-"`
	Resume   bool   `json:"-"`
	Download bool   `json:"-"`
	Quiet    bool   `json:"-"`
}

// name is the run's directory name under -out, e.g. "sgd-b16".
func (c *config) name() string { return fmt.Sprintf("%s-b%d", c.Opt, c.Batch) }

// title is the figure title, e.g. "SGD, batch 16".
func (c *config) title() string {
	return fmt.Sprintf("%s, batch %d", map[string]string{"sgd": "SGD", "adam": "Adam"}[c.Opt], c.Batch)
}

type intList struct{ v *[]int }

func (l intList) String() string {
	if l.v == nil {
		return ""
	}
	s := make([]string, len(*l.v))
	for i, x := range *l.v {
		s[i] = strconv.Itoa(x)
	}
	return strings.Join(s, ",")
}

func (l intList) Set(s string) error {
	var out []int
	for _, f := range strings.Split(s, ",") {
		x, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || x <= 0 {
			return fmt.Errorf("%q is not a list of positive integers", s)
		}
		out = append(out, x)
	}
	*l.v = out
	return nil
}

const usageHead = `Usage: train [flags]

Trains the 784-128-64-10 multilayer perceptron of the study in
../shared/paper on Fashion-MNIST and writes, under -out/<opt>-b<batch>/,
metrics.csv, run.json, accuracy.png and the final model.safetensors
(PyTorch state_dict names). Ctrl-C writes a checkpoint; -resume continues it.
With -paper it runs the study's six configurations and writes results.md.

Flags:
`

// parseFlags reads the command line into a config.
func parseFlags(args []string, stderr io.Writer) (*config, error) {
	c := &config{Hidden: []int{128, 64}}
	fs := flag.NewFlagSet("train", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, usageHead)
		fs.PrintDefaults()
	}
	fs.StringVar(&c.Opt, "opt", "sgd", "optimizer: sgd or adam (Adam with PyTorch's defaults)")
	fs.IntVar(&c.Batch, "batch", 16, "mini-batch size (the study: 16, 64, 100)")
	fs.IntVar(&c.Epochs, "epochs", 60, "epochs")
	fs.Float64Var(&c.LR, "lr", 0.001, "learning rate")
	fs.Float64Var(&c.Momentum, "momentum", 0, "SGD momentum")
	fs.Var(intList{&c.Hidden}, "hidden", "hidden layer widths, comma-separated")
	fs.Float64Var(&c.Dropout, "dropout", 0.02, "dropout probability after each hidden ReLU")
	fs.Uint64Var(&c.Seed, "seed", 1, "seed of the initial weights, the shuffles and the dropout masks")
	fs.IntVar(&c.Threads, "threads", 0, "threads (0: all cores); -paper runs that many configurations at once")
	fs.StringVar(&c.Kernels, "kernels", "", "kernel path: generic, avx2, avx512 or neon (default: the fastest this CPU has)")
	fs.StringVar(&c.Data, "data", "", "directory of the IDX files (default: $SIMDMLP_DATA, ./data/<dataset>, /usr/share/datasets/<dataset>, the cache)")
	fs.StringVar(&c.Out, "out", "out", "output directory")
	fs.StringVar(&c.Dataset, "dataset", "fashion", "data set: fashion or mnist")
	fs.StringVar(&c.Norm, "norm", "unit", "input scaling: unit [0,1], symmetric [-1,1], or standard (training mean and std)")
	fs.BoolVar(&c.Paper, "paper", false, "run the study's six configurations (SGD and Adam × batch 16, 64, 100) and write results.md")
	fs.BoolVar(&c.Resume, "resume", false, "continue the run from its checkpoint in -out")
	fs.BoolVar(&c.Download, "download", true, "download the data set when it is nowhere on disk")
	fs.BoolVar(&c.Quiet, "quiet", false, "print no per-epoch lines")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, usageError(fs, "unexpected argument %q", fs.Arg(0))
	}
	switch {
	case c.Opt != "sgd" && c.Opt != "adam":
		return nil, usageError(fs, "-opt %q: want sgd or adam", c.Opt)
	case c.Batch <= 0:
		return nil, usageError(fs, "-batch %d: want a positive size", c.Batch)
	case c.Epochs <= 0:
		return nil, usageError(fs, "-epochs %d: want a positive count", c.Epochs)
	case !(c.LR > 0):
		return nil, usageError(fs, "-lr %v: want a positive rate", c.LR)
	case c.Momentum < 0 || c.Momentum >= 1:
		return nil, usageError(fs, "-momentum %v: want [0, 1)", c.Momentum)
	case c.Dropout < 0 || c.Dropout >= 1:
		return nil, usageError(fs, "-dropout %v: want [0, 1)", c.Dropout)
	case c.Dataset != "fashion" && c.Dataset != "mnist":
		return nil, usageError(fs, "-dataset %q: want fashion or mnist", c.Dataset)
	case c.Norm != "unit" && c.Norm != "symmetric" && c.Norm != "standard":
		return nil, usageError(fs, "-norm %q: want unit, symmetric or standard", c.Norm)
	case c.Threads < 0:
		return nil, usageError(fs, "-threads %d: want 0 or more", c.Threads)
	}
	return c, nil
}

var errUsage = errors.New("usage")

func usageError(fs *flag.FlagSet, format string, args ...any) error {
	fmt.Fprintf(fs.Output(), "train: "+format+"\n", args...)
	fmt.Fprintf(fs.Output(), "Run 'train -h' for the flags.\n")
	return errUsage
}
