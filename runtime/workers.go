package runtime

import (
	"sync"
	"sync/atomic"
)

// workers is a Session's persistent worker pool: n goroutines that wait
// for a step, take its tasks one at a time from an atomic counter (the
// caller takes them too) and report when the counter runs out. Handing a
// step over is a few channel operations and allocates nothing.
type workers struct {
	n      int
	wake   chan struct{}
	done   chan struct{}
	quit   chan struct{}
	next   atomic.Int64
	st     step
	rs     *runState
	ntasks int64
	once   sync.Once
	// panicked holds the first panic of a worker during a step; run
	// re-raises it on the caller's goroutine, where the caller can recover
	// it (a panic on a worker goroutine would end the process with a trace).
	panicked atomic.Pointer[workerPanic]
}

type workerPanic struct{ v any }

func newWorkers(n int) *workers {
	w := &workers{n: n, wake: make(chan struct{}, n), done: make(chan struct{}, n), quit: make(chan struct{})}
	for id := 1; id <= n; id++ {
		go w.loop(id)
	}
	return w
}

func (w *workers) loop(id int) {
	for {
		select {
		case <-w.wake:
			w.safeWork(id)
			w.done <- struct{}{}
		case <-w.quit:
			return
		}
	}
}

func (w *workers) safeWork(id int) {
	defer func() {
		if r := recover(); r != nil {
			w.next.Store(w.ntasks) // the others stop taking tasks
			w.panicked.CompareAndSwap(nil, &workerPanic{r})
		}
	}()
	w.work(id)
}

func (w *workers) work(id int) {
	for {
		t := w.next.Add(1) - 1
		if t >= w.ntasks {
			return
		}
		w.st.run(w.rs, int(t), id)
	}
}

// run runs the n tasks of st on the caller (worker 0) and up to w.n
// workers, and returns when all are done.
func (w *workers) run(st step, rs *runState, n int) {
	w.st, w.rs, w.ntasks = st, rs, int64(n)
	w.next.Store(0)
	k := min(w.n, n-1)
	for i := 0; i < k; i++ {
		w.wake <- struct{}{}
	}
	w.safeWork(0)
	for i := 0; i < k; i++ {
		<-w.done
	}
	w.st, w.rs = nil, nil
	if p := w.panicked.Swap(nil); p != nil {
		panic(p.v)
	}
}

func (w *workers) close() { w.once.Do(func() { close(w.quit) }) }
