package runtime

import (
	"fmt"
	"slices"

	"github.com/piresnet/piresnet/internal/onnx"
	"github.com/piresnet/piresnet/runtime/internal/qkernel"
)

// addOp is a quantized elementwise addition of two tensors of the same
// dims (the residual connection), in integer arithmetic: quant.AddParams,
// TensorFlow Lite's method, run through qkernel.AddTables.
type addOp struct {
	opBase
	params *qkernel.AddTables
}

func newAddOp(nodes []*onnx.Node, p *qkernel.AddTables) *addOp {
	return &addOp{opBase: opBase{kind: "add", nodes: nodes, kernel: qkernel.AddKernel(p), lowered: true}, params: p}
}

func (o *addOp) infer(p *plan) error {
	a, b := p.dims[o.in[0]], p.dims[o.in[1]]
	if !slices.Equal(a, b) {
		return fmt.Errorf("input dims %v and %v differ (broadcasting is not lowered)", a, b)
	}
	p.dims[o.out[0]] = a
	return nil
}

func (o *addOp) build(p *plan) (step, error) {
	n := numElements(p.dims[o.out[0]])
	s := &elementStep{n: n, parts: 1, a: p.off[o.in[0]], b: p.off[o.in[1]], y: p.off[o.out[0]], add: o.params}
	if p.threads > 1 {
		s.parts = partsFor(n, 64, 2*p.threads, 256)
	}
	return s, nil
}

// elementStep runs an elementwise kernel (add, or a table) over ranges of
// elements.
type elementStep struct {
	n, parts int
	a, b, y  int
	add      *qkernel.AddTables
	lut      *[256]uint8
}

func (s *elementStep) tasks() int { return s.parts }

func (s *elementStep) run(rs *runState, task, _ int) {
	lo, hi := splitRange(s.n, s.parts, 64, task)
	if lo >= hi {
		return
	}
	ar := rs.arena
	if s.add != nil {
		qkernel.Add(s.add, ar[s.a+lo:s.a+hi], ar[s.b+lo:s.b+hi], ar[s.y+lo:s.y+hi])
		return
	}
	qkernel.ApplyLUT(ar[s.y+lo:s.y+hi], ar[s.a+lo:s.a+hi], s.lut)
}
