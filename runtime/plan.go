package runtime

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/piresnet/piresnet/internal/onnx"
	"github.com/piresnet/piresnet/runtime/internal/qkernel"
)

// A plan is the program bound to one set of input shapes: the dims of
// every tensor, the arena offset of every 8-bit activation (from a
// liveness-based allocator), the indirection buffers and zero rows of the
// convolutions, the work split of every layer, and the arena itself. It is
// built on the first call at a shape and cached (Options.PlanCache); a call
// at a cached shape allocates nothing.
type plan struct {
	m       *Model
	key     string
	threads int
	dims    [][]int64
	dtype   []onnx.DataType
	statics []*onnx.Tensor // static kindFloat values of this plan
	off     []int          // arena offset of each kindQuant value
	regions []region
	steps   []step
	scratch int // int32 scratch per worker
	macs    int64
	// indirection is the bytes of indirection buffers (and other per-plan
	// tables); arenaBytes the arena's size.
	indirection int
	arenaBytes  int
	// floatOut holds, per value, the tensor a conversion writes a graph
	// output or fallback input into (reused across runs).
	floatOut []*onnx.Tensor
	arena    []byte
	// fallback reports whether some step runs on the float reference (such
	// a run allocates).
	fallback bool
	// inDims and inTypes are the input shapes the plan is for.
	inDims  [][]int64
	inTypes []onnx.DataType
	// state holds what each op's infer leaves for its build (by op index;
	// cur is the op being planned).
	state []any
	cur   int
}

func (p *plan) setState(s any) { p.state[p.cur] = s }
func (p *plan) getState() any  { return p.state[p.cur] }

// region is a constant part of the arena (a zero row filled with an input
// zero point).
type region struct {
	off, size int
	fill      byte
}

// addRegion asks for a constant region; its offset is known at build time.
func (p *plan) addRegion(size int, fill byte) int {
	p.regions = append(p.regions, region{size: size, fill: fill})
	return len(p.regions) - 1
}

func (p *plan) regionOff(i int) int { return p.regions[i].off }

func (p *plan) needScratch(n int) { p.scratch = max(p.scratch, n) }

// nhwc returns a kindQuant tensor's dims as N, H, W, C: rank 4 is NCHW in
// ONNX terms (held NHWC), rank 2 is [N, C].
func nhwc(d []int64) (n, h, w, c int, ok bool) {
	switch len(d) {
	case 4:
		return int(d[0]), int(d[2]), int(d[3]), int(d[1]), true
	case 2:
		return int(d[0]), 1, 1, int(d[1]), true
	}
	return 0, 0, 0, 0, false
}

// numElements is the product of dims, saturated at the largest int (so a
// size check catches an overflowing product on 32-bit targets).
func numElements(d []int64) int {
	n := int64(1)
	for _, v := range d {
		if v < 0 {
			return 0
		}
		if v != 0 && n > math.MaxInt/v {
			return math.MaxInt
		}
		n *= v
	}
	return int(n)
}

// Limits of a plan: sizes from the caller are checked before anything is
// allocated.
const (
	maxDim        = 1 << 16
	maxArenaBytes = 1<<31 - 1 // arena offsets are int32 in indirection buffers
)

// shapeKey identifies a set of input shapes.
func shapeKey(dims [][]int64) string {
	var b strings.Builder
	for _, d := range dims {
		for _, v := range d {
			fmt.Fprintf(&b, "%d,", v)
		}
		b.WriteByte(';')
	}
	return b.String()
}

// newPlan builds the plan of m for inputs of the given dims and types (in
// the order of m.prog.inputs).
func newPlan(m *Model, dims [][]int64, types []onnx.DataType, threads int) (*plan, error) {
	pr := m.prog
	nv := len(pr.values)
	p := &plan{m: m, key: shapeKey(dims), threads: threads, dims: make([][]int64, nv),
		dtype: make([]onnx.DataType, nv), statics: make([]*onnx.Tensor, nv), off: make([]int, nv),
		floatOut: make([]*onnx.Tensor, nv)}
	for i, v := range pr.values {
		p.off[i] = -1
		if v.kind == kindConst {
			p.dims[i] = v.konst.Dims
			p.dtype[i] = v.konst.DataType
		}
	}
	for i, id := range pr.inputs {
		for _, d := range dims[i] {
			if d < 0 || d > maxDim {
				return nil, fmt.Errorf("input %q: dims %v out of range", pr.values[id].name, dims[i])
			}
		}
		p.dims[id] = dims[i]
		p.dtype[id] = types[i]
	}
	p.state = make([]any, len(pr.ops))
	for i, o := range pr.ops {
		p.cur = i
		if err := o.infer(p); err != nil {
			return nil, fmt.Errorf("%s: %v", describeOp(o), err)
		}
		for _, v := range o.base().out {
			if v >= 0 && pr.values[v].kind == kindQuant && numElements(p.dims[v]) > maxArenaBytes/4 {
				return nil, fmt.Errorf("%s: output %q of dims %v is too large", describeOp(o), pr.values[v].name, p.dims[v])
			}
		}
		if o.base().kind == "fallback" && !o.(*fallbackOp).static {
			p.fallback = true
		}
	}
	if err := p.allocate(); err != nil {
		return nil, err
	}
	for i, o := range pr.ops {
		p.cur = i
		s, err := o.build(p)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", describeOp(o), err)
		}
		if s != nil {
			p.steps = append(p.steps, s)
		}
	}
	p.state = nil
	p.arena = make([]byte, p.arenaBytes)
	for _, r := range p.regions {
		fill := p.arena[r.off : r.off+r.size]
		for i := range fill {
			fill[i] = r.fill
		}
	}
	return p, nil
}

func describeOp(o op) string {
	b := o.base()
	if len(b.nodes) > 0 {
		return "node " + b.nodes[0].String()
	}
	return b.kind
}

// allocate places every kindQuant value in the arena. Values whose
// lifetimes (from the op that writes them to the last op that reads them)
// overlap get disjoint ranges; the rest share memory. Greedy by size, as
// TensorFlow Lite's arena planner: the largest value first, each at the
// lowest offset that fits beside the values already placed whose lifetimes
// overlap its own.
func (p *plan) allocate() error {
	pr := p.m.prog
	first := make([]int, len(pr.values))
	last := make([]int, len(pr.values))
	for i := range first {
		first[i], last[i] = -2, -2
	}
	for i, o := range pr.ops {
		b := o.base()
		for _, v := range b.out {
			if v >= 0 && pr.values[v].kind == kindQuant && first[v] == -2 {
				first[v], last[v] = i, i
			}
		}
		for _, v := range b.in {
			if v >= 0 && pr.values[v].kind == kindQuant {
				if first[v] == -2 {
					first[v] = i
				}
				last[v] = max(last[v], i)
			}
		}
	}
	type item struct{ v, size, first, last, off int }
	var items []item
	for v, val := range pr.values {
		if val.kind != kindQuant || first[v] == -2 {
			continue
		}
		items = append(items, item{v: v, size: alignUp(numElements(p.dims[v]), 64), first: first[v], last: last[v]})
	}
	sort.SliceStable(items, func(i, j int) bool { return items[i].size > items[j].size })
	var placed []item
	top := 0
	for _, it := range items {
		var busy [][2]int
		for _, q := range placed {
			if q.first <= it.last && it.first <= q.last {
				busy = append(busy, [2]int{q.off, q.off + q.size})
			}
		}
		slices.SortFunc(busy, func(a, b [2]int) int { return a[0] - b[0] })
		off := 0
		for _, b := range busy {
			if off+it.size <= b[0] {
				break
			}
			off = max(off, b[1])
		}
		it.off = off
		placed = append(placed, it)
		p.off[it.v] = off
		top = max(top, off+it.size)
	}
	for i := range p.regions {
		p.regions[i].off = top
		top += alignUp(p.regions[i].size, 64)
	}
	p.arenaBytes = top + qkernel.XSlack
	if p.arenaBytes > maxArenaBytes {
		return fmt.Errorf("the arena would need %d bytes", p.arenaBytes)
	}
	return nil
}

func alignUp(n, a int) int { return (n + a - 1) / a * a }

// planCache is a small LRU of plans keyed by input shapes.
type planCache struct {
	max   int
	plans []*plan // most recently used last
}

func (c *planCache) get(key string) *plan {
	for i, p := range c.plans {
		if p.key == key {
			if i != len(c.plans)-1 {
				copy(c.plans[i:], c.plans[i+1:])
				c.plans[len(c.plans)-1] = p
			}
			return p
		}
	}
	return nil
}

func (c *planCache) put(p *plan) {
	if len(c.plans) >= c.max {
		copy(c.plans, c.plans[1:])
		c.plans = c.plans[:len(c.plans)-1]
	}
	c.plans = append(c.plans, p)
}
