package runtime

import (
	goruntime "runtime"
	"sync/atomic"
	"testing"
	"time"
)

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

// Steps handed over with gaps between them and tasks of varied length
// (some long enough that the caller waits for the workers): every task of
// every step runs exactly once and run returns only when all are done;
// under -race this also checks the channel handshake's happens-before
// edges.
func TestWorkersHandOver(t *testing.T) {
	for _, n := range []int{1, 3} {
		w := newWorkers(n)
		gaps := []time.Duration{0, 0, 100 * time.Microsecond, time.Millisecond, 0, 5 * time.Millisecond}
		steps := 400
		if testing.Short() {
			steps = 80
		}
		for i := range steps {
			st := &countStep{n: 1 + i%9, panic: -1}
			if i%5 == 4 {
				st.slow = 500 * time.Microsecond
			}
			w.run(st, nil, st.n)
			if got := st.hits.Load(); got != int64(st.n) {
				t.Fatalf("%d workers, step %d: %d of %d tasks ran before run returned", n, i, got, st.n)
			}
			time.Sleep(gaps[i%len(gaps)])
		}
		w.close()
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
