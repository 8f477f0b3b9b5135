package runtime

import (
	"github.com/piresnet/piresnet/internal/onnx"
	"github.com/piresnet/piresnet/runtime/internal/qkernel"
)

// avgPoolOp is 2-D average pooling over an NHWC tensor: the integer sum of
// the window's taps, requantized with a multiplier per divisor
// (x_scale / (y_scale · divisor)); ceil_mode and count_include_pad as ONNX
// and torch define them.
type avgPoolOp struct {
	opBase
	win      window
	countPad bool
	xZero    int32
	reqs     []qkernel.Requant // by divisor
	output   qkernel.Output
}

func newAvgPoolOp(nodes []*onnx.Node, win window, countPad bool, xZero int32, reqs []qkernel.Requant, out qkernel.Output) *avgPoolOp {
	return &avgPoolOp{opBase: opBase{kind: "avgpool", nodes: nodes, kernel: "avgpool_generic", lowered: true},
		win: win, countPad: countPad, xZero: xZero, reqs: reqs, output: out}
}

func (o *avgPoolOp) infer(p *plan) error {
	g, err := poolGeom(o.win, p.dims[o.in[0]])
	if err != nil {
		return err
	}
	p.dims[o.out[0]] = []int64{int64(g.N), int64(g.C), int64(g.OH), int64(g.OW)}
	p.needScratch(g.C)
	p.setState(g)
	return nil
}

func (o *avgPoolOp) build(p *plan) (step, error) {
	g := p.getState().(*qkernel.PoolGeom)
	s := &poolStep{g: g, x: p.off[o.in[0]], y: p.off[o.out[0]], parts: 1, avg: true,
		countPad: o.countPad, xZero: o.xZero, reqs: o.reqs, out: &o.output}
	if p.threads > 1 {
		s.parts = partsFor(g.N*g.OH*g.OW, 1, 2*p.threads, 16)
	}
	return s, nil
}
