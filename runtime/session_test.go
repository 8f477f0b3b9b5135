package runtime

import (
	"slices"
	"sync"
	"testing"

	"github.com/piresnet/piresnet/internal/onnx"
)

func testModel(t testing.TB, act onnx.DataType) *onnx.Model {
	return quantizedModel(t, newRand(t), smallResNet(newRand(t), 3, 10), act, 3, 40, 48)
}

// Every thread count computes the same bits (the work split never changes
// the arithmetic of an output element).
func TestThreadCountsGiveIdenticalOutputs(t *testing.T) {
	qm := testModel(t, onnx.Uint8)
	r := newRand(t)
	inputs := []*onnx.Tensor{randImage(r, 1, 3, 40, 48), randImage(r, 2, 3, 67, 35), randImage(r, 1, 3, 113, 97)}
	var want []map[string]*onnx.Tensor
	for _, threads := range []int{1, 2, 3, 7} {
		m, err := Compile(qm, Options{Threads: threads})
		if err != nil {
			t.Fatal(err)
		}
		s := m.NewSession()
		for i, in := range inputs {
			got, err := s.Run(map[string]*onnx.Tensor{"input": in})
			if err != nil {
				t.Fatal(err)
			}
			if threads == 1 {
				want = append(want, got)
				continue
			}
			for name, w := range want[i] {
				if !slices.Equal(got[name].F32, w.F32) {
					t.Errorf("%d threads, input %v: %s differs from 1 thread", threads, in.Dims, name)
				}
			}
		}
		s.Close()
	}
}

// After the first call at a shape, RunFloat allocates nothing, the worker
// pool's dispatch included.
func TestRunFloatAllocatesNothing(t *testing.T) {
	qm := testModel(t, onnx.Uint8)
	for _, threads := range []int{1, 3} {
		m, err := Compile(qm, Options{Threads: threads})
		if err != nil {
			t.Fatal(err)
		}
		s := m.NewSession()
		x := randImage(newRand(t), 1, 3, 64, 80)
		logits := make([]float32, 10)
		for _, hw := range [][2]int{{64, 80}, {40, 48}} {
			in := x.F32[:3*hw[0]*hw[1]]
			if err := s.RunFloat(in, 1, 3, hw[0], hw[1], logits); err != nil {
				t.Fatal(err)
			}
			allocs := testing.AllocsPerRun(20, func() {
				if err := s.RunFloat(in, 1, 3, hw[0], hw[1], logits); err != nil {
					t.Fatal(err)
				}
			})
			if allocs != 0 {
				t.Errorf("%d threads, %dx%d: %v allocations per RunFloat", threads, hw[0], hw[1], allocs)
			}
		}
		// RunFloat and Run agree.
		out, err := s.Run(map[string]*onnx.Tensor{"input": onnx.NewFloat("input", []int64{1, 3, 40, 48}, x.F32[:3*40*48])})
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range out {
			if !slices.Equal(v.F32, logits) {
				t.Errorf("Run and RunFloat differ")
			}
		}
		s.Close()
	}
}

// One Model, many goroutines, each with its own Session (run with -race).
func TestConcurrentSessions(t *testing.T) {
	qm := testModel(t, onnx.Int8)
	m, err := Compile(qm, Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	r := newRand(t)
	inputs := []*onnx.Tensor{randImage(r, 1, 3, 40, 48), randImage(r, 1, 3, 56, 72)}
	ref := m.NewSession()
	var want [][]float32
	for _, in := range inputs {
		out, err := ref.Run(map[string]*onnx.Tensor{"input": in})
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range out {
			want = append(want, v.F32)
		}
	}
	ref.Close()
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := m.NewSession()
			defer s.Close()
			logits := make([]float32, 10)
			for i := 0; i < 6; i++ {
				in := inputs[(i+g)%len(inputs)]
				if err := s.RunFloat(in.F32, 1, 3, int(in.Dims[2]), int(in.Dims[3]), logits); err != nil {
					t.Error(err)
					return
				}
				if !slices.Equal(logits, want[(i+g)%len(inputs)]) {
					t.Errorf("goroutine %d run %d: outputs differ", g, i)
				}
			}
		}()
	}
	wg.Wait()
}

// A Session keeps at most PlanCache plans, least recently used evicted.
func TestPlanCacheBound(t *testing.T) {
	qm := testModel(t, onnx.Uint8)
	m, err := Compile(qm, Options{Threads: 1, PlanCache: 2})
	if err != nil {
		t.Fatal(err)
	}
	s := m.NewSession()
	defer s.Close()
	logits := make([]float32, 10)
	run := func(h, w int) {
		t.Helper()
		if err := s.RunFloat(make([]float32, 3*h*w), 1, 3, h, w, logits); err != nil {
			t.Fatal(err)
		}
	}
	run(32, 32)
	run(40, 40)
	run(32, 32) // 40x40 is now the least recently used
	run(48, 48) // evicts 40x40
	if len(s.cache.plans) != 2 {
		t.Fatalf("%d plans cached, want 2", len(s.cache.plans))
	}
	var keys [][]int64
	for _, p := range s.cache.plans {
		keys = append(keys, p.inDims[0])
	}
	if !slices.EqualFunc(keys, [][]int64{{1, 3, 32, 32}, {1, 3, 48, 48}}, slices.Equal[[]int64]) {
		t.Errorf("cached plans %v, want 32x32 then 48x48", keys)
	}
	// Using a Session from two goroutines at once is reported.
	s.mu.Lock()
	if err := s.RunFloat(make([]float32, 3*32*32), 1, 3, 32, 32, logits); err != ErrConcurrentUse {
		t.Errorf("concurrent use: %v", err)
	}
	s.mu.Unlock()
}
