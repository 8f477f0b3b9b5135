package runtime

import (
	"sync/atomic"
	"testing"
)

type countStep struct {
	n     int
	hits  atomic.Int64
	panic int // task that panics, -1 for none
}

func (s *countStep) tasks() int { return s.n }
func (s *countStep) run(_ *runState, task, _ int) {
	if task == s.panic {
		panic("kernel bug")
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
