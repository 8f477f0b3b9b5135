package runtime

import (
	"github.com/piresnet/piresnet/internal/onnx"
)

// valueKind says where a tensor of the lowered program lives.
type valueKind uint8

const (
	// kindConst: a constant known at load (initializer, folded node).
	kindConst valueKind = iota
	// kindFloat: a tensor outside the arena, in ONNX layout (the float
	// world of fallback nodes; any element type).
	kindFloat
	// kindQuant: an 8-bit activation in the plan's arena, held as uint8
	// (int8 tensors shifted by 128), NHWC when it has rank 4, else in
	// ONNX order.
	kindQuant
)

// value is one tensor of the lowered program.
type value struct {
	name  string
	kind  valueKind
	konst *onnx.Tensor  // kindConst
	elem  onnx.DataType // kindQuant: the file's type, Uint8 or Int8
	// static: a kindFloat value that depends only on the input shapes
	// (Shape → Gather → … chains); computed once per plan.
	static      bool
	graphInput  bool
	graphOutput bool
}

// op is one operation of the lowered program: an integer kernel over
// arena tensors, a conversion between the arena and the float world, or a
// fallback node run by the float reference.
type op interface {
	base() *opBase
	// infer sets the dims of the outputs from those of the inputs and
	// asks the plan for what the op needs (constant regions, scratch).
	infer(p *plan) error
	// build returns the op's step once every arena offset is known.
	build(p *plan) (step, error)
}

// opBase is what every op has.
type opBase struct {
	kind    string       // conv, fc, add, maxpool, … (Info, edge info)
	nodes   []*onnx.Node // the ONNX nodes it runs
	in, out []int        // value ids
	kernel  string       // kernel that runs it
	lowered bool         // integer kernel (false: fallback or conversion)
	weights int          // bytes of packed constants
}

func (b *opBase) base() *opBase { return b }

// step is an op bound to one plan: its work split into tasks that the
// worker pool runs in any order and on any thread.
type step interface {
	tasks() int
	run(rs *runState, task, worker int)
}

// runState is what a run of a plan works on.
type runState struct {
	p       *plan
	arena   []byte
	fvals   []*onnx.Tensor // kindFloat values of this run (and graph inputs)
	scratch [][]int32      // per worker
	err     error          // set by single-task steps (fallback)
}

// splitRange returns the bounds of part i of n parts of [0, total), each a
// multiple of unit except the last.
func splitRange(total, parts, unit, i int) (int, int) {
	units := (total + unit - 1) / unit
	per := (units + parts - 1) / parts
	lo := min(total, i*per*unit)
	hi := min(total, (i+1)*per*unit)
	return lo, hi
}

// partsFor returns how many parts to split total into, each at least
// minPer units of unit elements, aiming at want parts.
func partsFor(total, unit, want, minPer int) int {
	units := (total + unit - 1) / unit
	n := min(want, max(1, units/max(1, minPer)))
	// Re-balance so that no part is empty.
	per := (units + n - 1) / n
	return (units + per - 1) / per
}
