package ref

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/piresnet/piresnet/internal/onnx"
)

// Program is a compiled model: its nodes in execution order with their
// kernels, its constants, and a cache of the values that depend only on the
// shapes of the inputs. A Program is immutable after Compile (the cache has
// its own lock), so Run may be called from several goroutines at once.
type Program struct {
	inputs  []inputSpec
	outputs []string
	nodes   []step
	nslots  int
	slotOf  map[string]int
	consts  []*onnx.Tensor // by slot; nil for values computed at run time
	outSlot []int          // slot of each graph output
	// release[i] lists the slots whose last reader is step i.
	release [][]int
	// hasFoldable is set when some steps depend only on input shapes.
	hasFoldable bool

	mu    sync.Mutex
	cache map[string]*foldEntry
	order []string // insertion order of cache keys, oldest first
}

// inputSpec is a graph input and what its ValueInfo declares.
type inputSpec struct {
	name     string
	slot     int
	elem     onnx.DataType // Undefined when not declared
	hasShape bool
	dims     []onnx.Dim
}

// step is one node bound to its kernel and value slots.
type step struct {
	node *onnx.Node
	k    kernel
	in   []int // slot per input, -1 for an omitted one
	out  []int // slot per output, -1 for an unnamed one
	// foldable: every input is a constant or a value that depends only on
	// the shapes of the graph inputs, so the outputs are the same for every
	// run with the same input shapes.
	foldable bool
}

// foldEntry holds the values of the foldable steps for one set of input
// shapes. values is nil when they were too large to keep.
type foldEntry struct {
	values map[int]*onnx.Tensor
}

const (
	// maxFoldEntries bounds the shape cache: sets of input shapes beyond it
	// evict the oldest.
	maxFoldEntries = 64
	// maxFoldElements bounds the elements one cache entry may hold.
	maxFoldElements = 1 << 16
)

// Compile checks a model and prepares it to run: the graph is sorted
// (every input defined, no cycle), every operator must be supported at the
// imported opset of its domain, attributes are parsed and checked, and nodes
// whose inputs are all constants are evaluated once. Errors name the node:
//
//	ref: node Conv "conv1": kernel_shape [3 3 3] has 3 dims, the weight has 2 spatial dims
//	ref: unsupported op "Loop" (node "loop_1")
func Compile(m *onnx.Model) (*Program, error) {
	if m == nil || m.Graph == nil {
		return nil, errors.New("ref: model has no graph")
	}
	g := m.Graph
	order, err := g.SortNodes()
	if err != nil {
		return nil, fmt.Errorf("ref: %v", err)
	}
	p := &Program{slotOf: map[string]int{}, cache: map[string]*foldEntry{}}
	slot := func(name string) int {
		if s, ok := p.slotOf[name]; ok {
			return s
		}
		s := p.nslots
		p.nslots++
		p.slotOf[name] = s
		return s
	}
	var consts []*onnx.Tensor
	setConst := func(s int, t *onnx.Tensor) {
		for len(consts) <= s {
			consts = append(consts, nil)
		}
		consts[s] = t
	}
	for _, t := range g.Initializers {
		if t.Name == "" {
			return nil, errors.New("ref: initializer without a name")
		}
		if _, dup := p.slotOf[t.Name]; dup {
			return nil, fmt.Errorf("ref: initializer %q is listed twice", t.Name)
		}
		if err := checkTensor(t); err != nil {
			return nil, fmt.Errorf("ref: initializer %q: %v", t.Name, err)
		}
		setConst(slot(t.Name), t)
	}
	for _, vi := range g.RealInputs() {
		if _, dup := p.slotOf[vi.Name]; dup {
			return nil, fmt.Errorf("ref: graph input %q is listed twice", vi.Name)
		}
		in := inputSpec{name: vi.Name, slot: slot(vi.Name)}
		if vi.Type != nil {
			if !vi.Type.IsTensor {
				return nil, fmt.Errorf("ref: graph input %q is not a tensor (sequences, maps and optionals are not supported)", vi.Name)
			}
			in.elem = vi.Type.Elem
			in.hasShape = vi.Type.HasShape
			in.dims = vi.Type.Shape
		}
		p.inputs = append(p.inputs, in)
	}
	for _, vi := range g.Outputs {
		if vi.Type != nil && !vi.Type.IsTensor {
			return nil, fmt.Errorf("ref: graph output %q is not a tensor (sequences, maps and optionals are not supported)", vi.Name)
		}
		p.outputs = append(p.outputs, vi.Name)
	}

	opsets := map[string]int64{}
	for _, o := range m.OpsetImports {
		opsets[canonicalDomain(o.Domain)] = o.Version
	}
	if _, ok := opsets[domainONNX]; !ok && m.IRVersion < 3 {
		opsets[domainONNX] = 1 // IR versions 1 and 2 predate opset imports
	}

	// Value classes for folding: const (known now), shaped (its shape
	// depends only on the graph input shapes) and foldable (its value
	// depends only on the graph input shapes).
	shaped := map[int]bool{}
	foldable := map[int]bool{}
	for _, in := range p.inputs {
		shaped[in.slot] = true
	}
	isConst := func(s int) bool { return s < len(consts) && consts[s] != nil }

	for _, n := range order {
		domain := canonicalDomain(n.Domain)
		opset, ok := opsets[domain]
		if !ok {
			if _, known := registry[domain]; known {
				return nil, fmt.Errorf("ref: node %s: the model imports no opset for domain %q", n, n.Domain)
			}
			return nil, fmt.Errorf("ref: unsupported op %q (node %q)", qualified(domain, n.OpType), nodeName(n))
		}
		def, err := lookup(domain, n.OpType, opset)
		if err != nil {
			if !Supported(domain, n.OpType) {
				return nil, fmt.Errorf("ref: unsupported op %q (node %q)", qualified(domain, n.OpType), nodeName(n))
			}
			return nil, fmt.Errorf("ref: node %s: %v", n, err)
		}
		k, err := safeBuild(def, n, opset)
		if err != nil {
			return nil, fmt.Errorf("ref: node %s: %v", n, err)
		}
		st := step{node: n, k: k}
		allConst, allFold, shapesKnown := true, true, true
		for i, name := range n.Inputs {
			if name == "" {
				st.in = append(st.in, -1)
				continue
			}
			s := slot(name)
			st.in = append(st.in, s)
			c := isConst(s)
			allConst = allConst && c
			allFold = allFold && (c || foldable[s])
			if slices.Contains(def.shapeInputs, i) {
				shapesKnown = shapesKnown && (c || foldable[s])
			} else {
				shapesKnown = shapesKnown && (c || shaped[s] || foldable[s])
			}
		}
		for _, name := range n.Outputs {
			if name == "" {
				st.out = append(st.out, -1)
				continue
			}
			st.out = append(st.out, slot(name))
		}
		if allConst {
			// Constant folding: evaluate now, once.
			in := make([]*onnx.Tensor, len(st.in))
			for i, s := range st.in {
				if s >= 0 {
					in[i] = consts[s]
				}
			}
			out, err := runKernel(n, k, in)
			if err != nil {
				return nil, fmt.Errorf("ref: node %s: %v", n, err)
			}
			for i, s := range st.out {
				if s >= 0 {
					setConst(s, out[i])
				}
			}
			continue
		}
		st.foldable = allFold || (n.OpType == "Shape" && domain == domainONNX && shapesKnown)
		for _, s := range st.out {
			if s < 0 {
				continue
			}
			if st.foldable {
				foldable[s] = true
				p.hasFoldable = true
			}
			if shapesKnown {
				shaped[s] = true
			}
		}
		p.nodes = append(p.nodes, st)
	}
	for len(consts) < p.nslots {
		consts = append(consts, nil)
	}
	p.consts = consts
	for _, name := range p.outputs {
		s, ok := p.slotOf[name]
		if !ok {
			return nil, fmt.Errorf("ref: graph output %q is not produced by any node", name)
		}
		p.outSlot = append(p.outSlot, s)
	}

	// Liveness: free each run-time value after its last reader.
	last := make([]int, p.nslots)
	for i := range last {
		last[i] = -1
	}
	for i, st := range p.nodes {
		for _, s := range st.in {
			if s >= 0 {
				last[s] = i
			}
		}
	}
	for _, s := range p.outSlot {
		last[s] = len(p.nodes) // keep graph outputs
	}
	p.release = make([][]int, len(p.nodes))
	for s, i := range last {
		if i >= 0 && i < len(p.nodes) && p.consts[s] == nil {
			p.release[i] = append(p.release[i], s)
		}
	}
	return p, nil
}

func nodeName(n *onnx.Node) string {
	if n.Name != "" {
		return n.Name
	}
	if len(n.Outputs) > 0 {
		return n.Outputs[0]
	}
	return ""
}

// InputNames lists the graph inputs that Run needs (initializers excluded),
// in graph order.
func (p *Program) InputNames() []string {
	out := make([]string, len(p.inputs))
	for i, in := range p.inputs {
		out[i] = in.name
	}
	return out
}

// OutputNames lists the graph outputs in graph order.
func (p *Program) OutputNames() []string { return slices.Clone(p.outputs) }

// Run evaluates the graph. inputs maps every name of InputNames to a tensor
// whose element type and rank match the graph's declaration and whose fixed
// dimensions match (symbolic dimensions such as N, H and W take any size).
// It returns every graph output by name. The inputs are not modified and the
// outputs are new tensors owned by the caller. Run may be called
// concurrently.
func (p *Program) Run(inputs map[string]*onnx.Tensor) (map[string]*onnx.Tensor, error) {
	vals := make([]*onnx.Tensor, p.nslots)
	copy(vals, p.consts)
	for name := range inputs {
		if !slices.ContainsFunc(p.inputs, func(in inputSpec) bool { return in.name == name }) {
			return nil, fmt.Errorf("ref: %q is not an input of the graph (inputs: %s)", name, strings.Join(p.InputNames(), ", "))
		}
	}
	var key strings.Builder
	for _, in := range p.inputs {
		t, ok := inputs[in.name]
		if !ok || t == nil {
			return nil, fmt.Errorf("ref: missing input %q", in.name)
		}
		if err := in.check(t); err != nil {
			return nil, fmt.Errorf("ref: input %q: %v", in.name, err)
		}
		vals[in.slot] = t
		fmt.Fprintf(&key, "%d%v;", t.DataType, t.Dims)
	}

	var folded map[int]*onnx.Tensor
	var entry *foldEntry
	if p.hasFoldable {
		entry = p.lookupFold(key.String())
		if entry != nil && entry.values != nil {
			folded = entry.values
		}
	}
	var fresh map[int]*onnx.Tensor
	if p.hasFoldable && entry == nil {
		fresh = map[int]*onnx.Tensor{}
	}

	in := make([]*onnx.Tensor, 0, 8)
	for i := range p.nodes {
		st := &p.nodes[i]
		if st.foldable && folded != nil {
			for _, s := range st.out {
				if s >= 0 {
					vals[s] = folded[s]
				}
			}
			continue
		}
		in = in[:0]
		for _, s := range st.in {
			if s < 0 {
				in = append(in, nil)
				continue
			}
			in = append(in, vals[s])
		}
		out, err := safeRun(st.k, in)
		if err == nil {
			err = checkOutputs(st, out)
		}
		if err != nil {
			return nil, fmt.Errorf("ref: node %s: %v", st.node, err)
		}
		for j, s := range st.out {
			if s >= 0 {
				vals[s] = out[j]
				if st.foldable && fresh != nil {
					fresh[s] = out[j]
				}
			}
		}
		for _, s := range p.release[i] {
			vals[s] = nil
		}
	}
	if fresh != nil {
		p.storeFold(key.String(), fresh)
	}

	res := make(map[string]*onnx.Tensor, len(p.outputs))
	owned := true
	for i, name := range p.outputs {
		t := vals[p.outSlot[i]]
		if t == nil {
			return nil, fmt.Errorf("ref: graph output %q was not computed", name)
		}
		// Values the caller must not share with the Program or with its
		// own inputs are copied: constants, cached shape values, inputs,
		// and a value listed twice among the outputs.
		s := p.outSlot[i]
		owned = p.consts[s] == nil && !p.isInputSlot(s) && !p.isFoldSlot(s)
		for j := 0; j < i; j++ {
			if p.outSlot[j] == s {
				owned = false
			}
		}
		if !owned {
			t = cloneTensor(t)
		}
		t.Name = name
		res[name] = t
	}
	return res, nil
}

func (p *Program) isInputSlot(s int) bool {
	for _, in := range p.inputs {
		if in.slot == s {
			return true
		}
	}
	return false
}

func (p *Program) isFoldSlot(s int) bool {
	for i := range p.nodes {
		if p.nodes[i].foldable && slices.Contains(p.nodes[i].out, s) {
			return true
		}
	}
	return false
}

func checkOutputs(st *step, out []*onnx.Tensor) error {
	if len(out) < len(st.out) {
		out = append(out, make([]*onnx.Tensor, len(st.out)-len(out))...)
	}
	for j, s := range st.out {
		if s >= 0 && out[j] == nil {
			return fmt.Errorf("output %d (%q) is not produced", j, st.node.Outputs[j])
		}
	}
	return nil
}

func (p *Program) lookupFold(key string) *foldEntry {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cache[key]
}

func (p *Program) storeFold(key string, values map[int]*onnx.Tensor) {
	total := 0
	for _, t := range values {
		total += t.Len()
	}
	e := &foldEntry{values: values}
	if total > maxFoldElements {
		e.values = nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.cache[key]; ok {
		return
	}
	if len(p.order) >= maxFoldEntries {
		delete(p.cache, p.order[0])
		p.order = p.order[1:]
	}
	p.cache[key] = e
	p.order = append(p.order, key)
}

// check verifies a run-time input against the graph's declaration.
func (in *inputSpec) check(t *onnx.Tensor) error {
	if err := checkTensor(t); err != nil {
		return err
	}
	if in.elem != onnx.Undefined && t.DataType != in.elem {
		return fmt.Errorf("element type %v, the graph declares %v", t.DataType, in.elem)
	}
	if !in.hasShape {
		return nil
	}
	if len(t.Dims) != len(in.dims) {
		return fmt.Errorf("dims %v have rank %d, the graph declares rank %d (%s)", t.Dims, len(t.Dims), len(in.dims), declShape(in.dims))
	}
	for i, d := range in.dims {
		if d.HasValue && d.Value != t.Dims[i] {
			return fmt.Errorf("dims %v: dimension %d is %d, the graph declares %s", t.Dims, i, t.Dims[i], declShape(in.dims))
		}
	}
	return nil
}

func declShape(dims []onnx.Dim) string {
	parts := make([]string, len(dims))
	for i, d := range dims {
		parts[i] = d.String()
	}
	return "[" + strings.Join(parts, " ") + "]"
}

// errInternal marks a kernel that panicked: a bug in this package, turned
// into an error so that a malformed model cannot crash the caller. Tests
// fail on it.
const errInternal = "internal error"

// safeRun runs a kernel, turning a panic into an error.
func safeRun(k kernel, in []*onnx.Tensor) (out []*onnx.Tensor, err error) {
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, fmt.Errorf("%s: %v", errInternal, r)
		}
	}()
	return k.run(in)
}
