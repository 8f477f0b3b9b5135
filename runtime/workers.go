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
// A network is a few dozen steps of 0.1-2 ms each, so the hand-over between
// steps matters: a goroutine parked on a channel takes tens of
// microseconds to wake when its thread sleeps in the kernel. Workers
// therefore spin for spinFor after a step, watching for the next one, and
// only then park; the caller spins the same way while it waits for the
// last worker. Measured on ResNet-18/50 with 2 threads: 1.56-1.67x over one
// thread with parking alone, 1.79-1.93x with the spin (docs/BENCHMARKS.md).
//
// The protocol, which allocates nothing per step:
//   - A step is published by storing its fields, resetting next and
//     pending, then incrementing seq. Every worker runs every step (its
//     task loop may find nothing left) and decrements pending once; the
//     caller returns when pending is 0. So no worker is inside step k when
//     step k+1 is published, and a worker cannot miss a step.
//   - Parking is a lost-wakeup-free handshake on a per-goroutine sleeper: a
//     sleeper stores parked, re-checks its condition, and either takes
//     itself back (CAS parked->awake) or, when a waker won that CAS first,
//     receives the waker's token. A waker sends a token only after winning
//     the CAS, so a token is never sent to a goroutine that is not going
//     to receive it, and the one-slot channel never holds two.
//   - A late waker of the caller (the worker that brought pending to 0 in
//     step k, descheduled before its CAS, while the caller, seeing 0 by
//     spinning, has gone on to park in step k+1) wakes the caller early;
//     the caller re-checks pending and parks again. Correctness never
//     depends on a wake being for the current step.
type workers struct {
	n       int
	spinFor time.Duration
	seq     atomic.Uint64 // number of steps published (and closes)
	pending atomic.Int64  // workers that have not finished the current step
	next    atomic.Int64  // next task of the current step
	quit    atomic.Bool
	sleep   []sleeper // one per worker, index id-1
	caller  sleeper
	st      step
	rs      *runState
	ntasks  int64
	once    sync.Once
	// panicked holds the first panic of a worker during a step; run
	// re-raises it on the caller's goroutine, where the caller can recover
	// it (a panic on a worker goroutine would end the process with a trace).
	panicked atomic.Pointer[workerPanic]
}

type workerPanic struct{ v any }

// sleeper is one goroutine's parking place (see workers).
type sleeper struct {
	parked atomic.Bool
	wake   chan struct{} // capacity 1
}

// park blocks until ready returns true. It spins for up to spin first.
func (s *sleeper) park(spin time.Duration, ready func() bool) {
	if spinUntil(spin, ready) {
		return
	}
	for !ready() {
		s.parked.Store(true)
		if ready() {
			if s.parked.CompareAndSwap(true, false) {
				return
			}
			<-s.wake // a waker took us: take its token
			return
		}
		<-s.wake
	}
}

// unpark wakes s if it is parked.
func (s *sleeper) unpark() {
	if s.parked.CompareAndSwap(true, false) {
		s.wake <- struct{}{}
	}
}

// spinUntil polls ready for up to d and reports whether it became true.
func spinUntil(d time.Duration, ready func() bool) bool {
	if d <= 0 {
		return false
	}
	var deadline time.Time
	for i := 0; ; i++ {
		if ready() {
			return true
		}
		if i&255 == 255 {
			now := time.Now()
			if deadline.IsZero() {
				deadline = now.Add(d)
			} else if now.After(deadline) {
				return false
			}
		}
	}
}

// workerSpin is how long an idle worker or a waiting caller spins before
// parking: long enough to bridge the serial work between two steps of a
// network (a pad, a prep), short enough to cost little after the last one.
const workerSpin = 100 * time.Microsecond

// newWorkers starts n workers that spin for workerSpin when every spinner
// has a processor of its own next to the caller, and otherwise park at
// once (a spinner without a processor steals the time of the goroutine it
// waits for).
func newWorkers(n int) *workers {
	spin := time.Duration(0)
	if goruntime.GOMAXPROCS(0) > n {
		spin = workerSpin
	}
	return newSpinningWorkers(n, spin)
}

func newSpinningWorkers(n int, spin time.Duration) *workers {
	w := &workers{n: n, spinFor: spin, sleep: make([]sleeper, n), caller: sleeper{wake: make(chan struct{}, 1)}}
	for i := range w.sleep {
		w.sleep[i].wake = make(chan struct{}, 1)
	}
	for id := 1; id <= n; id++ {
		go w.loop(id)
	}
	return w
}

func (w *workers) loop(id int) {
	s := &w.sleep[id-1]
	var seen uint64 // steps published before this goroutine started are still to run
	for {
		s.park(w.spinFor, func() bool { return w.seq.Load() != seen })
		seen = w.seq.Load()
		if w.quit.Load() {
			return
		}
		w.safeWork(id)
		if w.pending.Add(-1) == 0 {
			w.caller.unpark()
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

// run runs the n tasks of st on the caller (worker 0) and the w.n workers,
// and returns when all are done.
func (w *workers) run(st step, rs *runState, n int) {
	w.st, w.rs, w.ntasks = st, rs, int64(n)
	w.next.Store(0)
	w.pending.Store(int64(w.n))
	w.seq.Add(1)
	for i := range w.sleep {
		w.sleep[i].unpark()
	}
	w.safeWork(0)
	w.caller.park(w.spinFor, w.allDone)
	w.st, w.rs = nil, nil
	if p := w.panicked.Swap(nil); p != nil {
		panic(p.v)
	}
}

func (w *workers) allDone() bool { return w.pending.Load() == 0 }

// close ends the workers; it must not run concurrently with run.
func (w *workers) close() {
	w.once.Do(func() {
		w.quit.Store(true)
		w.seq.Add(1)
		for i := range w.sleep {
			w.sleep[i].unpark()
		}
	})
}
