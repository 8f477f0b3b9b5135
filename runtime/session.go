package runtime

import (
	"errors"
	"fmt"
	goruntime "runtime"
	"slices"
	"sync"

	"github.com/piresnet/piresnet/internal/onnx"
)

// A Session runs a Model. It owns the plans (one per input shape, with
// their arenas) and a worker pool, so it must not be used by two
// goroutines at once: give each goroutine its own Session. After the first
// call at a shape, RunFloat allocates nothing.
type Session struct {
	m       *Model
	cache   planCache
	pool    *workers
	rs      runState
	fvals   []*onnx.Tensor
	scratch [][]int32
	// Reusable input description for RunFloat.
	inDims  [1][]int64
	inBuf   [4]int64
	inTypes [1]onnx.DataType
	inT     onnx.Tensor
	closed  bool
	mu      sync.Mutex // guards against concurrent use (reported, not waited on)
}

// NewSession returns a Session on m with its own plans and workers. The
// workers stop when the Session is closed or garbage collected.
func (m *Model) NewSession() *Session {
	s := &Session{m: m, cache: planCache{max: m.opt.PlanCache}}
	if m.prog != nil {
		s.fvals = make([]*onnx.Tensor, len(m.prog.values))
		if m.opt.Threads > 1 {
			s.pool = newWorkers(m.opt.Threads - 1)
			goruntime.AddCleanup(s, func(w *workers) { w.close() }, s.pool)
		}
		s.scratch = make([][]int32, m.opt.Threads)
	}
	return s
}

// Close stops the session's workers. A closed Session cannot run.
func (s *Session) Close() {
	if !s.closed && s.pool != nil {
		s.pool.close()
	}
	s.closed = true
}

// ErrConcurrentUse is returned when two goroutines use one Session at
// once.
var ErrConcurrentUse = errors.New("runtime: a Session was used by two goroutines at once (give each goroutine its own Session)")

// plan returns the plan for inputs of the given dims and types, building
// and caching it on the first call.
func (s *Session) plan(dims [][]int64, types []onnx.DataType) (*plan, error) {
	for _, p := range s.cache.plans {
		if p.matches(dims, types) {
			return s.cache.get(p.key), nil
		}
	}
	p, err := newPlan(s.m, dims, types, s.m.opt.Threads)
	if err != nil {
		return nil, err
	}
	p.inDims = make([][]int64, len(dims))
	for i := range dims {
		p.inDims[i] = slices.Clone(dims[i])
	}
	p.inTypes = slices.Clone(types)
	for w := range s.scratch {
		if len(s.scratch[w]) < p.scratch {
			s.scratch[w] = make([]int32, p.scratch)
		}
	}
	s.cache.put(p)
	return p, nil
}

func (p *plan) matches(dims [][]int64, types []onnx.DataType) bool {
	if len(dims) != len(p.inDims) {
		return false
	}
	for i := range dims {
		if !slices.Equal(dims[i], p.inDims[i]) || types[i] != p.inTypes[i] {
			return false
		}
	}
	return true
}

// prepper is a step with serial work before its tasks.
type prepper interface{ prep(rs *runState) }

// exec runs a plan with the graph inputs in s.fvals.
func (s *Session) exec(p *plan) error {
	rs := &s.rs
	rs.p, rs.arena, rs.fvals, rs.scratch, rs.err = p, p.arena, s.fvals, s.scratch, nil
	for _, st := range p.steps {
		if pr, ok := st.(prepper); ok {
			pr.prep(rs)
		}
		n := st.tasks()
		if n == 1 || s.pool == nil {
			for t := 0; t < n; t++ {
				st.run(rs, t, 0)
			}
		} else {
			s.pool.run(st, rs, n)
		}
		if rs.err != nil {
			return rs.err
		}
	}
	return nil
}

func (s *Session) enter() error {
	if !s.mu.TryLock() {
		return ErrConcurrentUse
	}
	if s.closed {
		s.mu.Unlock()
		return errors.New("runtime: session is closed")
	}
	return nil
}

// Run runs the model on named input tensors (float32 images in NCHW for a
// classifier; any types the model declares) and returns its outputs by
// name, in ONNX layout. The outputs are the caller's.
func (s *Session) Run(inputs map[string]*onnx.Tensor) (map[string]*onnx.Tensor, error) {
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	if s.m.float != nil {
		return s.m.float.Run(inputs)
	}
	pr := s.m.prog
	dims := make([][]int64, len(pr.inputs))
	types := make([]onnx.DataType, len(pr.inputs))
	for i, id := range pr.inputs {
		name := pr.values[id].name
		t := inputs[name]
		if t == nil {
			return nil, fmt.Errorf("runtime: input %q is missing", name)
		}
		if err := checkInput(t, pr.inputInfo[i]); err != nil {
			return nil, err
		}
		dims[i], types[i] = t.Dims, t.DataType
	}
	for name := range inputs {
		if !slices.ContainsFunc(pr.inputs, func(id int) bool { return pr.values[id].name == name }) {
			return nil, fmt.Errorf("runtime: the model has no input %q", name)
		}
	}
	p, err := s.plan(dims, types)
	if err != nil {
		return nil, fmt.Errorf("runtime: %v", err)
	}
	for _, id := range pr.inputs {
		s.fvals[id] = inputs[pr.values[id].name]
	}
	err = s.exec(p)
	out := map[string]*onnx.Tensor{}
	if err == nil {
		for _, id := range pr.outputs {
			t := s.rs.tensor(id)
			if t == nil {
				err = fmt.Errorf("runtime: output %q was not computed", pr.values[id].name)
				break
			}
			c := cloneTensor(t)
			c.Name = pr.values[id].name
			out[c.Name] = c
		}
	}
	clear(s.fvals)
	if err != nil {
		return nil, fmt.Errorf("runtime: %v", err)
	}
	return out, nil
}

// checkInput checks a tensor against what the graph declares.
func checkInput(t *onnx.Tensor, vi *onnx.ValueInfo) error {
	if int64(t.Len()) != t.NumElements() {
		return fmt.Errorf("runtime: input %q has %d values for dims %v", vi.Name, t.Len(), t.Dims)
	}
	if vi.Type == nil || !vi.Type.IsTensor {
		return nil
	}
	if vi.Type.Elem != onnx.Undefined && vi.Type.Elem != t.DataType {
		return fmt.Errorf("runtime: input %q is %v, the model wants %v", vi.Name, t.DataType, vi.Type.Elem)
	}
	if vi.Type.HasShape {
		if len(vi.Type.Shape) != len(t.Dims) {
			return fmt.Errorf("runtime: input %q has dims %v, the model wants rank %d", vi.Name, t.Dims, len(vi.Type.Shape))
		}
		for i, d := range vi.Type.Shape {
			if d.HasValue && d.Value != t.Dims[i] {
				return fmt.Errorf("runtime: input %q has dims %v, the model wants %s at axis %d", vi.Name, t.Dims, d, i)
			}
		}
	}
	return nil
}

func cloneTensor(t *onnx.Tensor) *onnx.Tensor {
	c := &onnx.Tensor{Name: t.Name, DataType: t.DataType, Dims: slices.Clone(t.Dims)}
	c.F32 = slices.Clone(t.F32)
	c.F64 = slices.Clone(t.F64)
	c.I64 = slices.Clone(t.I64)
	c.I32 = slices.Clone(t.I32)
	c.I8 = slices.Clone(t.I8)
	c.U8 = slices.Clone(t.U8)
	c.U16 = slices.Clone(t.U16)
	c.U64 = slices.Clone(t.U64)
	c.Strs = slices.Clone(t.Strs)
	return c
}

// RunFloat runs a classifier with one float32 input image batch (NCHW,
// n·c·h·w values) and one float32 output, written to logits (which must
// hold exactly as many values as the output has). After the first call at
// a shape it allocates nothing when every node of the model is lowered.
func (s *Session) RunFloat(input []float32, n, c, h, w int, logits []float32) error {
	if len(input) != n*c*h*w || n < 1 || c < 1 || h < 1 || w < 1 {
		return fmt.Errorf("runtime: RunFloat: %d input values for %dx%dx%dx%d", len(input), n, c, h, w)
	}
	if s.m.float != nil {
		return s.runFloatRef(input, n, c, h, w, logits)
	}
	if err := s.enter(); err != nil {
		return err
	}
	defer s.mu.Unlock()
	pr := s.m.prog
	if len(pr.inputs) != 1 || len(pr.outputs) != 1 {
		return fmt.Errorf("runtime: RunFloat needs a model with one input and one output (this one has %d and %d)", len(pr.inputs), len(pr.outputs))
	}
	s.inBuf = [4]int64{int64(n), int64(c), int64(h), int64(w)}
	s.inDims[0] = s.inBuf[:]
	s.inTypes[0] = onnx.Float
	s.inT = onnx.Tensor{Name: pr.values[pr.inputs[0]].name, DataType: onnx.Float, Dims: s.inBuf[:], F32: input}
	if err := checkInput(&s.inT, pr.inputInfo[0]); err != nil {
		return err
	}
	p, err := s.plan(s.inDims[:], s.inTypes[:])
	if err != nil {
		return fmt.Errorf("runtime: %v", err)
	}
	s.fvals[pr.inputs[0]] = &s.inT
	err = s.exec(p)
	var out *onnx.Tensor
	if err == nil {
		out = s.rs.tensor(pr.outputs[0])
	}
	clear(s.fvals)
	s.inT.F32 = nil
	if err != nil {
		return fmt.Errorf("runtime: %v", err)
	}
	if out == nil || out.DataType != onnx.Float {
		return fmt.Errorf("runtime: RunFloat: the output is not float32")
	}
	if len(out.F32) != len(logits) {
		return fmt.Errorf("runtime: RunFloat: the output has %d values (dims %v), logits holds %d", len(out.F32), out.Dims, len(logits))
	}
	copy(logits, out.F32)
	return nil
}

func (s *Session) runFloatRef(input []float32, n, c, h, w int, logits []float32) error {
	names := s.m.float.InputNames()
	outs := s.m.float.OutputNames()
	if len(names) != 1 || len(outs) != 1 {
		return fmt.Errorf("runtime: RunFloat needs a model with one input and one output")
	}
	res, err := s.m.float.Run(map[string]*onnx.Tensor{names[0]: onnx.NewFloat(names[0], []int64{int64(n), int64(c), int64(h), int64(w)}, input)})
	if err != nil {
		return err
	}
	out := res[outs[0]]
	if out == nil || out.DataType != onnx.Float || len(out.F32) != len(logits) {
		return fmt.Errorf("runtime: RunFloat: the output does not fit logits (%d values)", len(logits))
	}
	copy(logits, out.F32)
	return nil
}
