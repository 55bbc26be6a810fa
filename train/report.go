package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path/filepath"
	"runtime"
	"time"

	"github.com/klauspost/cpuid/v2"
	"github.com/simdmlp/simdmlp/internal/atomicfile"
	"github.com/simdmlp/simdmlp/kernels"
	"github.com/simdmlp/simdmlp/train/internal/figure"
)

// writeMetrics writes metrics.csv: one row per epoch, only what the seed
// and kernel path determine (timings go to run.json), so that the same
// run gives the same file.
func writeMetrics(dir string, cfg *config, recs []epochRecord) error {
	var b bytes.Buffer
	b.WriteString("epoch,loss,prec_during,prec_train,prec_test\n")
	for _, r := range recs {
		fmt.Fprintf(&b, "%d,%.8f,%.4f,%.4f,%.4f\n", r.Epoch, r.Loss, r.PrecDuring, r.PrecTrain, r.PrecTest)
	}
	return atomicfile.Write(filepath.Join(dir, "metrics.csv"), b.Bytes())
}

// runRecord is run.json: everything needed to trace a run's numbers.
type runRecord struct {
	Config    config        `json:"config"`
	Kernels   string        `json:"kernels"`
	Threads   int           `json:"threads"`
	CPU       string        `json:"cpu"`
	GoVersion string        `json:"go_version"`
	GOARCH    string        `json:"goarch"`
	Written   time.Time     `json:"written"`
	Epochs    []epochRecord `json:"epochs"`
}

func writeRunRecord(dir string, cfg *config, recs []epochRecord) error {
	rec := runRecord{Config: *cfg, Kernels: kernels.Active(), Threads: kernels.Threads(), CPU: cpuid.CPU.BrandName,
		GoVersion: runtime.Version(), GOARCH: runtime.GOARCH, Written: time.Now().UTC(), Epochs: recs}
	js, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(filepath.Join(dir, "run.json"), append(js, '\n'))
}

// curves returns the study's three curves of a run.
func curves(recs []epochRecord) []figure.Curve {
	d, tr, te := make([]float64, len(recs)), make([]float64, len(recs)), make([]float64, len(recs))
	for i, r := range recs {
		d[i], tr[i], te[i] = r.PrecDuring, r.PrecTrain, r.PrecTest
	}
	return []figure.Curve{
		{Name: "Prec. During", Color: figure.Red, Y: d},
		{Name: "Prec. Train", Color: figure.Blue, Y: tr},
		{Name: "Prec. Test", Color: figure.Green, Y: te},
	}
}

func writeFigure(dir string, cfg *config, recs []epochRecord) error {
	return figure.Accuracy(filepath.Join(dir, "accuracy.png"), cfg.title(), curves(recs))
}
