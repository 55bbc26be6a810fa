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
// A product of a training step takes 0.02–0.5 ms, about what it takes a
// channel handoff to get a parked goroutine running on another core (a
// sleeping thread takes tens of µs to wake in a VM). So a worker that has
// just finished polls for its next stripe before it parks, and the caller
// polls for the workers' results. Polling first spins on the flag alone:
// runtime.Gosched in the loop puts the goroutine on the global run queue,
// where the other P may pick it up, and a training step whose goroutines
// trade cores loses its L2-resident weights (B = 16 steps on two threads
// measured up to 3× slower than on one). After spinFor of spinning it yields
// (other goroutines get the P), and after yieldFor it parks.
var workers pool

// spinFor is how long a waiting goroutine polls without yielding its P;
// yieldFor is how long an idle worker polls in all before it parks.
const (
	spinFor  = 50 * time.Microsecond
	yieldFor = 2 * time.Millisecond
)

// await polls until w's state is want: spinning, then yielding the P
// between polls; after park (if > 0) of polling it returns false.
func (w *worker) await(want int32, park time.Duration) bool {
	start := time.Now()
	for i := 0; ; i++ {
		if w.state.Load() == want {
			return true
		}
		if i%64 != 0 {
			continue
		}
		d := time.Since(start)
		if park > 0 && d >= park {
			return false
		}
		if d >= spinFor {
			runtime.Gosched()
		}
	}
}

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

// task is one stripe: of a product (g, the C block [i0, i1)×[j0, j1)), or,
// where e.op is set, of an element-wise update (elements [i0, i1)).
type task struct {
	im             *impl
	g              gemmArgs
	i0, i1, j0, j1 int
	e              elemTask
}

func (t *task) run(ws *workspace) {
	if t.e.op != elemNone {
		t.e.run(t.im, t.i0, t.i1)
		return
	}
	if t.i0 < t.i1 && t.j0 < t.j1 {
		ws.gemm(t.im, &t.g, t.i0, t.i1, t.j0, t.j1)
	}
}

// run computes the product in parts stripes of C: columns (byCols) or rows.
func (p *pool) run(im *impl, g *gemmArgs, parts int, byCols bool) {
	p.dispatch(parts, func(s int) task {
		t := task{im: im, g: *g, j1: g.n, i1: g.m}
		if byCols {
			t.j0, t.j1 = stripe(s, parts, g.n, packWidth)
		} else {
			t.i0, t.i1 = stripe(s, parts, g.m, im.mr)
		}
		return t
	})
}

// runElem runs the element-wise update e in parts stripes of whole vectors.
func (p *pool) runElem(im *impl, e *elemTask, parts int) {
	p.dispatch(parts, func(s int) task {
		lo, hi := stripe(s, parts, len(e.p), 16)
		return task{im: im, i0: lo, i1: hi, e: *e}
	})
}

// dispatch posts stripes 1..parts-1, as fill returns them, to workers,
// runs stripe 0 itself, and returns when all are done. (fill returns the
// task rather than filling one through a pointer: the caller's own task
// would then escape to the heap on every call.)
func (p *pool) dispatch(parts int, fill func(s int) task) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for len(p.workers) < parts-1 {
		w := &worker{wake: make(chan struct{}, 1)}
		p.workers = append(p.workers, w)
		go w.loop()
	}
	for s := 1; s < parts; s++ {
		w := p.workers[s-1]
		w.t = fill(s)
		w.state.Store(posted)
		if w.parked.Load() {
			select {
			case w.wake <- struct{}{}:
			default:
			}
		}
	}
	// Collect the workers even if the caller's own stripe panics, so that
	// none is left holding a task.
	defer func() {
		for _, w := range p.workers[:parts-1] {
			w.await(done, 0)
			w.t = task{} // drop the references to the operands
			w.state.Store(idle)
		}
	}()
	own := fill(0)
	if own.e.op != elemNone {
		own.run(nil)
		return
	}
	ws := getWorkspace()
	own.run(ws)
	putWorkspace(ws)
}

// loop runs the stripes posted to w: it polls while stripes come often and
// parks on w.wake when they stop.
func (w *worker) loop() {
	ws := newWorkspace()
	for {
		for !w.await(posted, yieldFor) {
			// Park. The poster sets the state before it looks at parked,
			// and w sets parked before it looks at the state, so one of
			// the two always sees the other.
			w.parked.Store(true)
			if w.state.Load() != posted {
				<-w.wake
			}
			w.parked.Store(false)
		}
		w.t.run(ws)
		w.state.Store(done)
	}
}
