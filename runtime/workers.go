package runtime

import (
	goruntime "runtime"
	"sync"
	"sync/atomic"
	"time"
)

// workers is a Session's persistent worker pool: n goroutines that wait
// for a step, take its tasks one at a time from an atomic counter (the
// caller takes them too) and report when the counter runs out.
//
// # Handing over a step
//
// A step lasts from a few microseconds (a late ResNet layer on 7×7 pixels)
// to milliseconds, and a ResNet-50 runs about 70 of them per inference, so
// waking a parked goroutine for each (a futex wake of an idle OS thread,
// tens of microseconds) costs more than some steps. As ONNX Runtime's and
// ncnn's thread pools do, the pool spins first: run publishes a step by
// bumping gen, and workers that finished the previous step within spin
// see it at once; a worker that has waited longer parks on its wake
// channel, and run sends it a token. The caller waits for the workers the
// same way (spin, then the done channel). Each park is a handshake on an
// asleep flag, checked after it is set, so that neither side can miss the
// other (Go's atomics are sequentially consistent): a worker sets asleep
// and re-reads gen; run bumps gen and then claims asleep flags it finds
// set, sending a token for each one it claims. Handing a step over
// allocates nothing.
type workers struct {
	n     int
	slots []workerSlot
	quit  chan struct{}
	once  sync.Once

	// The current step, written by run before it bumps gen.
	gen    atomic.Uint64
	next   atomic.Int64
	st     step
	rs     *runState
	ntasks int64

	// pending counts the workers not yet done with the current step; the
	// last one wakes the caller if it parked (callerAsleep).
	pending      atomic.Int64
	callerAsleep atomic.Bool
	done         chan struct{}

	// panicked holds the first panic of a worker during a step; run
	// re-raises it on the caller's goroutine, where the caller can recover
	// it (a panic on a worker goroutine would end the process with a trace).
	panicked atomic.Pointer[workerPanic]
}

type workerSlot struct {
	asleep atomic.Bool
	wake   chan struct{}
	_      [40]byte // keep slots on separate cache lines
}

type workerPanic struct{ v any }

// spin is how long a worker, and the caller waiting for workers, polls
// before parking: longer than the gaps between the steps of one inference,
// short enough that an idle session costs nothing measurable.
const spin = 200 * time.Microsecond

func newWorkers(n int) *workers {
	w := &workers{n: n, slots: make([]workerSlot, n), quit: make(chan struct{}), done: make(chan struct{}, 1)}
	for i := range w.slots {
		w.slots[i].wake = make(chan struct{}, 1)
	}
	for id := 1; id <= n; id++ {
		go w.loop(id)
	}
	return w
}

func (w *workers) loop(id int) {
	slot := &w.slots[id-1]
	var seen uint64
	for {
		g, ok := w.await(slot, seen)
		if !ok {
			return
		}
		seen = g
		w.safeWork(id)
		if w.pending.Add(-1) == 0 && w.callerAsleep.CompareAndSwap(true, false) {
			w.done <- struct{}{}
		}
	}
}

// await returns the generation of the next step after seen, spinning for
// up to spin and then parking; false when the pool is closed.
func (w *workers) await(slot *workerSlot, seen uint64) (uint64, bool) {
	deadline := time.Now().Add(spin)
	for i := 0; ; i++ {
		if g := w.gen.Load(); g != seen {
			return g, true
		}
		if i%16 == 15 && time.Now().After(deadline) {
			break
		}
		goruntime.Gosched()
	}
	slot.asleep.Store(true)
	if g := w.gen.Load(); g != seen {
		if !slot.asleep.CompareAndSwap(true, false) {
			<-slot.wake // run claimed the flag: its token is on the way
		}
		return g, true
	}
	select {
	case <-slot.wake:
		return w.gen.Load(), true
	case <-w.quit:
		return 0, false
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

// run runs the n tasks of st on the caller (worker 0) and the workers, and
// returns when all are done. Every worker takes part in every step (one
// with no task left returns at once), so that none can miss a generation.
func (w *workers) run(st step, rs *runState, n int) {
	w.st, w.rs, w.ntasks = st, rs, int64(n)
	w.next.Store(0)
	w.pending.Store(int64(w.n))
	w.gen.Add(1)
	for i := range w.slots {
		if w.slots[i].asleep.CompareAndSwap(true, false) {
			w.slots[i].wake <- struct{}{}
		}
	}
	w.safeWork(0)
	w.wait()
	w.st, w.rs = nil, nil
	if p := w.panicked.Swap(nil); p != nil {
		panic(p.v)
	}
}

// wait returns when every worker is done with the current step.
func (w *workers) wait() {
	deadline := time.Now().Add(spin)
	for i := 0; w.pending.Load() != 0; i++ {
		if i%16 == 15 && time.Now().After(deadline) {
			w.callerAsleep.Store(true)
			if w.pending.Load() == 0 && w.callerAsleep.CompareAndSwap(true, false) {
				return
			}
			<-w.done // the last worker claimed the flag and sends a token
			return
		}
		goruntime.Gosched()
	}
}

func (w *workers) close() { w.once.Do(func() { close(w.quit) }) }
