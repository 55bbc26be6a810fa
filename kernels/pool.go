package kernels

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// workers runs the stripes of a parallel product on long-lived goroutines,
// each with its own workspace, so that a parallel call allocates nothing.
//
// A product of a training step takes 0.1–0.5 ms, about what it takes a
// channel handoff to get a parked goroutine running on another core (Go
// queues the woken goroutine on the waker's own P, and a sleeping thread
// takes tens of µs to wake in a VM). So a worker that has just finished
// keeps polling for its next stripe for a while (yielding its P) before it
// parks, and the caller polls for the workers' results the same way.
var workers pool

// spinFor is how long an idle worker polls before it parks.
const spinFor = 2 * time.Millisecond

type pool struct {
	mu      sync.Mutex // one parallel product at a time
	workers []*worker
}

// worker states
const (
	idle int32 = iota
	posted
	done
)

type worker struct {
	t      task
	state  atomic.Int32
	parked atomic.Bool
	wake   chan struct{}
}

type task struct {
	im             *impl
	g              gemmArgs
	i0, i1, j0, j1 int
}

func (p *pool) run(im *impl, g *gemmArgs, parts int, byCols bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for len(p.workers) < parts-1 {
		w := &worker{wake: make(chan struct{}, 1)}
		p.workers = append(p.workers, w)
		go w.loop()
	}
	bounds := func(s int) (i0, i1, j0, j1 int) {
		if byCols {
			j0, j1 = stripe(s, parts, g.n, packWidth)
			return 0, g.m, j0, j1
		}
		i0, i1 = stripe(s, parts, g.m, im.mr)
		return i0, i1, 0, g.n
	}
	for s := 1; s < parts; s++ {
		i0, i1, j0, j1 := bounds(s)
		w := p.workers[s-1]
		w.t = task{im: im, g: *g, i0: i0, i1: i1, j0: j0, j1: j1}
		w.state.Store(posted)
		if w.parked.Load() {
			select {
			case w.wake <- struct{}{}:
			default:
			}
		}
	}
	ws := getWorkspace()
	i0, i1, j0, j1 := bounds(0)
	if i0 < i1 && j0 < j1 {
		ws.gemm(im, g, i0, i1, j0, j1)
	}
	putWorkspace(ws)
	for _, w := range p.workers[:parts-1] {
		for w.state.Load() != done {
			runtime.Gosched()
		}
		w.t.g = gemmArgs{} // drop the references to the operands
		w.state.Store(idle)
	}
}

// loop runs the stripes posted to w: it polls while stripes come often and
// parks on w.wake when they stop.
func (w *worker) loop() {
	ws := newWorkspace()
	for {
		start := time.Now()
		for w.state.Load() != posted {
			if time.Since(start) < spinFor {
				runtime.Gosched()
				continue
			}
			// Park. The poster sets the state before it looks at parked,
			// and w sets parked before it looks at the state, so one of
			// the two always sees the other.
			w.parked.Store(true)
			if w.state.Load() != posted {
				<-w.wake
			}
			w.parked.Store(false)
			start = time.Now()
		}
		t := &w.t
		if t.i0 < t.i1 && t.j0 < t.j1 {
			ws.gemm(t.im, &t.g, t.i0, t.i1, t.j0, t.j1)
		}
		w.state.Store(done)
	}
}
