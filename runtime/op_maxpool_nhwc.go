package runtime

import (
	"fmt"

	"github.com/piresnet/piresnet/internal/onnx"
	"github.com/piresnet/piresnet/runtime/internal/qkernel"
)

// maxPoolOp is 2-D max pooling over an NHWC tensor (ceil_mode, pads,
// dilations). Max commutes with the monotone change of quantization
// parameters, so different output parameters (or a fused ReLU) are a table
// applied to the result.
type maxPoolOp struct {
	opBase
	win window
	lut *[256]uint8 // nil: output parameters equal the input's
}

func newMaxPoolOp(nodes []*onnx.Node, win window, lut *[256]uint8) *maxPoolOp {
	return &maxPoolOp{opBase: opBase{kind: "maxpool", nodes: nodes, kernel: qkernel.ElementwiseKernel("maxpool"), lowered: true}, win: win, lut: lut}
}

// poolGeom resolves a pooling window against an NCHW input.
func poolGeom(w window, d []int64) (*qkernel.PoolGeom, error) {
	if len(d) != 4 {
		return nil, fmt.Errorf("input dims %v: want [N, C, H, W]", d)
	}
	g := &qkernel.PoolGeom{N: int(d[0]), C: int(d[1]), H: int(d[2]), W: int(d[3]),
		KH: w.kh, KW: w.kw, SH: w.sh, SW: w.sw, DH: w.dh, DW: w.dw}
	oh, ow, pad, err := w.resolve(g.H, g.W)
	if err != nil {
		return nil, err
	}
	g.OH, g.OW = oh, ow
	g.PadT, g.PadL, g.PadB, g.PadR = pad[0], pad[1], pad[2], pad[3]
	if err := g.Check(); err != nil {
		return nil, err
	}
	return g, nil
}

func (o *maxPoolOp) infer(p *plan) error {
	g, err := poolGeom(o.win, p.dims[o.in[0]])
	if err != nil {
		return err
	}
	p.dims[o.out[0]] = []int64{int64(g.N), int64(g.C), int64(g.OH), int64(g.OW)}
	p.setState(g)
	return nil
}

func (o *maxPoolOp) build(p *plan) (step, error) {
	g := p.getState().(*qkernel.PoolGeom)
	s := &poolStep{g: g, x: p.off[o.in[0]], y: p.off[o.out[0]], lut: o.lut, parts: 1}
	if p.threads > 1 {
		s.parts = partsFor(g.N*g.OH*g.OW, 1, 2*p.threads, 16)
	}
	return s, nil
}

// poolStep runs max or average pooling over ranges of output pixels.
type poolStep struct {
	g        *qkernel.PoolGeom
	x, y     int
	parts    int
	lut      *[256]uint8
	avg      bool
	countPad bool
	xZero    int32
	reqs     []qkernel.Requant
	out      *qkernel.Output
}

func (s *poolStep) tasks() int { return s.parts }

func (s *poolStep) run(rs *runState, task, worker int) {
	g := s.g
	p0, p1 := splitRange(g.N*g.OH*g.OW, s.parts, 1, task)
	if p0 >= p1 {
		return
	}
	x := rs.arena[s.x : s.x+g.N*g.H*g.W*g.C]
	y := rs.arena[s.y : s.y+g.N*g.OH*g.OW*g.C]
	if s.avg {
		qkernel.AvgPool(g, x, s.xZero, s.countPad, s.reqs, s.out, y, p0, p1, rs.scratch[worker])
		return
	}
	qkernel.MaxPool(g, x, y, p0, p1)
	if s.lut != nil {
		r := y[p0*g.C : p1*g.C]
		qkernel.ApplyLUT(r, r, s.lut)
	}
}
