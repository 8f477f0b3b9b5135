package runtime

import (
	"flag"
	"fmt"
	goruntime "runtime"
	"sync/atomic"
	"testing"
	"time"
)

// workerSteps is the length of the hand-over test per configuration; raise
// it for a stress run (go test -race -run WorkersHandOver -workers.steps
// 20000).
var workerSteps = flag.Int("workers.steps", 400, "steps per configuration in TestWorkersHandOver")

type countStep struct {
	n     int
	hits  atomic.Int64
	panic int // task that panics, -1 for none
	// slow makes tasks on workers (not the caller) take this long, and
	// the caller's 50us, so that workers get tasks and the caller waits.
	slow time.Duration
}

func (s *countStep) tasks() int { return s.n }
func (s *countStep) run(_ *runState, task, worker int) {
	if task == s.panic {
		panic("kernel bug")
	}
	if s.slow > 0 {
		if worker == 0 {
			time.Sleep(50 * time.Microsecond)
		} else {
			time.Sleep(s.slow)
		}
	}
	s.hits.Add(1)
}

// A panic in a task, on whichever goroutine runs it, reaches the caller of
// run as a panic it can recover (no trace from a worker goroutine), and the
// pool keeps working afterwards.
func TestWorkersPanicReachesCaller(t *testing.T) {
	w := newWorkers(3)
	defer w.close()
	for trial := range 20 {
		st := &countStep{n: 64, panic: trial * 3 % 64}
		got := func() (r any) {
			defer func() { r = recover() }()
			w.run(st, nil, st.n)
			return nil
		}()
		if got != "kernel bug" {
			t.Fatalf("trial %d: recovered %v, want the task's panic", trial, got)
		}
		ok := &countStep{n: 100, panic: -1}
		w.run(ok, nil, ok.n)
		if ok.hits.Load() != 100 {
			t.Fatalf("trial %d: after a panic the pool ran %d of 100 tasks", trial, ok.hits.Load())
		}
	}
}

// Steps handed over with gaps between them (around and beyond the spin
// time, so that workers and caller are caught spinning, parking and
// parked) and tasks of varied length (some long enough that the caller
// waits for the workers): every task of every step runs exactly once and
// run returns only when all are done; under -race this also checks the
// handshake's happens-before edges. Spinning pools, parking-only pools and
// a short spin that makes the parking races frequent are all run.
func TestWorkersHandOver(t *testing.T) {
	steps := *workerSteps
	if testing.Short() {
		steps = min(steps, 100)
	}
	gaps := []time.Duration{0, 0, 30 * time.Microsecond, 0, workerSpin, 0, time.Millisecond, 0, 0, 8 * time.Microsecond, 5 * time.Millisecond, 150 * time.Microsecond}
	for _, spin := range []time.Duration{workerSpin, 0, 10 * time.Microsecond} {
		for _, n := range []int{1, 2, 3} {
			w := newSpinningWorkers(n, spin)
			for i := range steps {
				st := &countStep{n: 1 + i%9, panic: -1}
				if i%7 == 4 {
					st.slow = time.Duration(i%3) * 200 * time.Microsecond
				}
				done := make(chan struct{})
				go func() {
					select {
					case <-done:
					case <-time.After(20 * time.Second):
						panic(fmt.Sprintf("spin %v, %d workers, step %d: run has not returned after 20s", spin, n, i))
					}
				}()
				w.run(st, nil, st.n)
				close(done)
				if got := st.hits.Load(); got != int64(st.n) {
					t.Fatalf("spin %v, %d workers, step %d: %d of %d tasks ran before run returned", spin, n, i, got, st.n)
				}
				time.Sleep(gaps[i%len(gaps)])
			}
			w.close()
		}
	}
}

// Closing a pool ends its goroutines.
func TestWorkersCloseEndsGoroutines(t *testing.T) {
	before := goruntime.NumGoroutine()
	for range 10 {
		w := newWorkers(3)
		st := &countStep{n: 8, panic: -1}
		w.run(st, nil, st.n)
		w.close()
	}
	deadline := time.Now().Add(5 * time.Second)
	for goruntime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if n := goruntime.NumGoroutine(); n > before {
		t.Fatalf("%d goroutines after closing the pools, %d before", n, before)
	}
}
