package main

import (
	"bytes"
	_ "embed"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/simdmlp/simdmlp/internal/atomicfile"
	"github.com/simdmlp/simdmlp/kernels"
	"github.com/simdmlp/simdmlp/train/internal/figure"
)

// reported holds the study's values (../shared/paper/SUMMARY.md); NaN-free
// strings keep the study's own wording where it gives only a bound.
type reported struct {
	opt             string
	batch           int
	train, test     string  // as the study states them
	trainV, testV   float64 // exact values, 0 where the study gives a bound
	order           string  // the order of the curves the study reports
	trainAt, testAt int     // epoch of a stated maximum, 0 if not stated
}

var study = []reported{
	{"sgd", 16, "89.97 %", "87.67 %", 89.97, 87.67, "Train > During > Test (During passes Test from epoch 19)", 60, 60},
	{"sgd", 64, "85.30 %", "83.84 %", 85.30, 83.84, "Train > Test > During", 0, 0},
	{"sgd", 100, "83.56 %", "82.13 %", 83.56, 82.13, "Train > Test > During", 0, 0},
	{"adam", 16, "< 94 %", "< 89 %", 0, 0, "", 0, 0},
	{"adam", 64, "94.4 % (epoch 56)", "89.01 % (epoch 33)", 94.4, 89.01, "", 56, 33},
	{"adam", 100, "95.1 %", "< 90 %", 95.1, 0, "Train > During > Test", 0, 0},
}

// evidence is the hand-written account of the experiments behind the
// differences from the study, appended to results.md.
//
//go:embed evidence.md
var evidence []byte

// paper runs the study's six configurations, workers at a time with one
// kernel thread each, then writes the combined figure and results.md.
func paper(base *config, d *data, log io.Writer, stop *atomic.Bool) error {
	kernels.SetThreads(1)
	type job struct {
		cfg  config
		recs []epochRecord
		err  error
		secs float64
	}
	// Longest first (Adam and small batches cost more per epoch), so the
	// cores finish together; when fewer runs are left than cores, the rest
	// use the idle cores for their products (results do not depend on the
	// thread count).
	var jobs []*job
	for _, oc := range []struct {
		opt   string
		batch int
	}{{"adam", 16}, {"sgd", 16}, {"adam", 64}, {"adam", 100}, {"sgd", 64}, {"sgd", 100}} {
		c := *base
		c.Opt, c.Batch, c.Paper = oc.opt, oc.batch, false
		jobs = append(jobs, &job{cfg: c})
	}
	w := workers(base)
	fmt.Fprintf(log, "paper: 6 runs of %d epochs, %d at a time, %s kernels\n", base.Epochs, w, kernels.Active())
	start := time.Now()
	var mu sync.Mutex
	queue := make(chan *job, len(jobs))
	for _, j := range jobs {
		queue <- j
	}
	close(queue)
	var unfinished atomic.Int32
	unfinished.Store(int32(len(jobs)))
	var wg sync.WaitGroup
	for range w {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range queue {
				if stop.Load() {
					j.err = errInterrupted
					continue
				}
				dir := filepath.Join(base.Out, j.cfg.name())
				if _, err := os.Stat(filepath.Join(dir, "checkpoint.safetensors")); err != nil {
					j.cfg.Resume = false
				}
				r := &run{cfg: &j.cfg, dir: dir, d: d, log: &lockedWriter{w: log, mu: &mu}, stop: stop,
					label: fmt.Sprintf("%-9s ", j.cfg.name())}
				t0 := time.Now()
				j.recs, j.err = r.execute()
				j.secs = time.Since(t0).Seconds()
				if left := int(unfinished.Add(-1)); left > 0 && left < w {
					kernels.SetThreads(w / left)
				}
			}
		}()
	}
	wg.Wait()
	for _, j := range jobs {
		if j.err != nil {
			return j.err
		}
	}
	total := time.Since(start)
	fmt.Fprintf(log, "paper: done in %s\n", fmtDuration(total))
	var panels []figure.Panel
	results := map[string][]epochRecord{}
	secs := map[string]float64{}
	for _, j := range jobs {
		results[j.cfg.name()] = j.recs
		secs[j.cfg.name()] = j.secs
	}
	for _, opt := range []string{"sgd", "adam"} {
		for _, b := range []int{16, 64, 100} {
			c := config{Opt: opt, Batch: b}
			panels = append(panels, figure.Panel{Title: c.title(), Curves: curves(results[c.name()])})
		}
	}
	if err := figure.Grid(filepath.Join(base.Out, "paper.png"), panels, 3); err != nil {
		return err
	}
	md := resultsMarkdown(base, results, secs, total, w)
	if err := atomicfile.Write(filepath.Join(base.Out, "results.md"), md); err != nil {
		return err
	}
	fmt.Fprintf(log, "wrote %s and %s\n", filepath.Join(base.Out, "results.md"), filepath.Join(base.Out, "paper.png"))
	return nil
}

type lockedWriter struct {
	w  io.Writer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// best returns the maximum of a metric and its (first) epoch.
func best(recs []epochRecord, f func(epochRecord) float64) (float64, int) {
	m, at := -1.0, 0
	for _, r := range recs {
		if v := f(r); v > m {
			m, at = v, r.Epoch
		}
	}
	return m, at
}

func train(r epochRecord) float64 { return r.PrecTrain }
func test(r epochRecord) float64  { return r.PrecTest }

// resultsMarkdown compares the runs with the study and checks its findings.
func resultsMarkdown(base *config, res map[string][]epochRecord, secs map[string]float64, total time.Duration, w int) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# Results: the study's six runs\n\n")
	fmt.Fprintf(&b, "Command: `go run ./train -paper -epochs %d -seed %d -norm %s` (%s kernels, %d runs at a time, one thread each); whole sweep %s.\n\n",
		base.Epochs, base.Seed, base.Norm, kernels.Active(), w, fmtDuration(total))
	fmt.Fprintf(&b, "Max and final accuracy (%%) with the epoch of the max; the study's values beside them (Δ = ours − study where it states a value).\n\n")
	fmt.Fprintf(&b, "| optimizer | batch | max Train (epoch) | final Train | study Train | Δ | max Test (epoch) | final Test | study Test | Δ | s/epoch |\n")
	fmt.Fprintf(&b, "|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, s := range study {
		c := config{Opt: s.opt, Batch: s.batch}
		recs := res[c.name()]
		if len(recs) == 0 {
			continue
		}
		mt, mtAt := best(recs, train)
		me, meAt := best(recs, test)
		last := recs[len(recs)-1]
		delta := func(ours, theirs float64) string {
			if theirs == 0 {
				return "–"
			}
			return fmt.Sprintf("%+.2f", ours-theirs)
		}
		fmt.Fprintf(&b, "| %s | %d | %.2f (%d) | %.2f | %s | %s | %.2f (%d) | %.2f | %s | %s | %.2f |\n",
			s.opt, s.batch, mt, mtAt, last.PrecTrain, s.train, delta(mt, s.trainV), me, meAt, last.PrecTest, s.test, delta(me, s.testV),
			secs[c.name()]/float64(len(recs)))
	}
	fmt.Fprintf(&b, "\n## The study's findings\n\n")
	get := func(opt string, batch int) []epochRecord { return res[(&config{Opt: opt, Batch: batch}).name()] }
	holds := func(ok bool) string {
		if ok {
			return "holds"
		}
		return "does not hold"
	}
	// 1. Order of the curves at the last epoch.
	fmt.Fprintf(&b, "1. Order of the three curves at the last epoch:\n")
	for _, s := range study {
		recs := get(s.opt, s.batch)
		if len(recs) == 0 {
			continue
		}
		l := recs[len(recs)-1]
		fmt.Fprintf(&b, "   - %s b%d: %s", s.opt, s.batch, order(l))
		if s.order != "" {
			fmt.Fprintf(&b, " (study: %s)", s.order)
		}
		fmt.Fprintf(&b, "\n")
	}
	// 2. Smaller batches help SGD.
	m16, _ := best(get("sgd", 16), test)
	m64, _ := best(get("sgd", 64), test)
	m100, _ := best(get("sgd", 100), test)
	fmt.Fprintf(&b, "2. Smaller batches help SGD (max Test b16 %.2f > b64 %.2f > b100 %.2f): %s.\n", m16, m64, m100, holds(m16 > m64 && m64 > m100))
	// 3. Adam rises fastest early.
	early := true
	fmt.Fprintf(&b, "3. Adam rises fastest early (Test after epoch 1, Adam vs SGD):")
	for _, bs := range []int{16, 64, 100} {
		a, s := get("adam", bs), get("sgd", bs)
		if len(a) == 0 || len(s) == 0 {
			continue
		}
		fmt.Fprintf(&b, " b%d %.2f vs %.2f;", bs, a[0].PrecTest, s[0].PrecTest)
		early = early && a[0].PrecTest > s[0].PrecTest
	}
	fmt.Fprintf(&b, " %s.\n", holds(early))
	// 4. Test plateaus while Train rises (second half of the run).
	fmt.Fprintf(&b, "4. Test plateaus while Train keeps rising (gain over the second half of the epochs):")
	plateau := true
	for _, opt := range []string{"sgd", "adam"} {
		for _, bs := range []int{16, 64, 100} {
			r := get(opt, bs)
			if len(r) < 2 {
				continue
			}
			mid, last := r[len(r)/2-1], r[len(r)-1]
			dtr, dte := last.PrecTrain-mid.PrecTrain, last.PrecTest-mid.PrecTest
			fmt.Fprintf(&b, " %s b%d Train %+.2f, Test %+.2f;", opt, bs, dtr, dte)
			if opt == "adam" {
				plateau = plateau && dtr > dte
			}
		}
	}
	fmt.Fprintf(&b, " for Adam: %s.\n", holds(plateau))
	fmt.Fprintf(&b, "\n![the six runs](paper.png)\n\n")
	b.Write(evidence)
	return b.Bytes()
}

// order names the curves from highest to lowest.
func order(r epochRecord) string {
	type c struct {
		n string
		v float64
	}
	cs := []c{{"Train", r.PrecTrain}, {"Test", r.PrecTest}, {"During", r.PrecDuring}}
	for i := range cs {
		for j := i + 1; j < len(cs); j++ {
			if cs[j].v > cs[i].v {
				cs[i], cs[j] = cs[j], cs[i]
			}
		}
	}
	return fmt.Sprintf("%s %.2f > %s %.2f > %s %.2f", cs[0].n, cs[0].v, cs[1].n, cs[1].v, cs[2].n, cs[2].v)
}
