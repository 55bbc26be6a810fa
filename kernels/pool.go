package kernels

import "sync"

// workers runs the stripes of a parallel product on long-lived goroutines,
// each with its own workspace, so that a parallel call allocates nothing.
var workers pool

type pool struct {
	mu    sync.Mutex // one parallel product at a time
	wg    sync.WaitGroup
	tasks []chan task
}

type task struct {
	im             *impl
	g              gemmArgs
	i0, i1, j0, j1 int
}

func (p *pool) run(im *impl, g *gemmArgs, parts int, byCols bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for len(p.tasks) < parts-1 {
		ch := make(chan task)
		p.tasks = append(p.tasks, ch)
		go p.work(ch)
	}
	bounds := func(s int) (i0, i1, j0, j1 int) {
		if byCols {
			j0, j1 = stripe(s, parts, g.n, packWidth)
			return 0, g.m, j0, j1
		}
		i0, i1 = stripe(s, parts, g.m, im.mr)
		return i0, i1, 0, g.n
	}
	p.wg.Add(parts - 1)
	for s := 1; s < parts; s++ {
		i0, i1, j0, j1 := bounds(s)
		p.tasks[s-1] <- task{im: im, g: *g, i0: i0, i1: i1, j0: j0, j1: j1}
	}
	w := getWorkspace()
	i0, i1, j0, j1 := bounds(0)
	if i0 < i1 && j0 < j1 {
		w.gemm(im, g, i0, i1, j0, j1)
	}
	putWorkspace(w)
	p.wg.Wait()
}

func (p *pool) work(ch chan task) {
	w := newWorkspace()
	for t := range ch {
		if t.i0 < t.i1 && t.j0 < t.j1 {
			w.gemm(t.im, &t.g, t.i0, t.i1, t.j0, t.j1)
		}
		p.wg.Done()
	}
}
