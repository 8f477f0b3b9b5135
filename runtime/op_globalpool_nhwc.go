package runtime

import (
	"fmt"

	"github.com/piresnet/piresnet/internal/onnx"
	"github.com/piresnet/piresnet/quant"
	"github.com/piresnet/piresnet/runtime/internal/qkernel"
)

// globalPoolOp is global average or max pooling of an NHWC tensor to
// [N, C, 1, 1]: the adaptive pooling kernels with one output cell, so any
// input size works. The average's multiplier depends on H·W and is made per
// plan from the float32 scale x_scale / (y_scale · float32(H·W)), the very
// number ONNX Runtime's QLinearGlobalAveragePool multiplies the int32 sum
// by (MLAS qlgavgpool.cpp; the per-operator test agrees with it on every
// element), rather than quant.AveragePoolMultiplier's float64 quotient
// (which AveragePool uses): both are within 2^-24 of the real scale.
type globalPoolOp struct {
	opBase
	avg            bool
	xScale, yScale float32
	xZero          int32
	lut            *[256]uint8 // max: change of parameters
	output         qkernel.Output
}

func newGlobalPoolOp(nodes []*onnx.Node, avg bool, xScale, yScale float32, xZero int32, lut *[256]uint8, out qkernel.Output) *globalPoolOp {
	kind, kern := "globalmaxpool", "adaptivemaxpool_generic"
	if avg {
		kind, kern = "globalavgpool", "adaptiveavgpool_generic"
	}
	return &globalPoolOp{opBase: opBase{kind: kind, nodes: nodes, kernel: kern, lowered: true},
		avg: avg, xScale: xScale, yScale: yScale, xZero: xZero, lut: lut, output: out}
}

func (o *globalPoolOp) infer(p *plan) error {
	d := p.dims[o.in[0]]
	if len(d) != 4 {
		return fmt.Errorf("input dims %v: want [N, C, H, W]", d)
	}
	g := &qkernel.AdaptiveGeom{N: int(d[0]), C: int(d[1]), H: int(d[2]), W: int(d[3]), OH: 1, OW: 1}
	if g.H*g.W == 0 || g.H*g.W*255 > 1<<31-1 {
		return fmt.Errorf("input dims %v: cannot pool", d)
	}
	p.dims[o.out[0]] = []int64{d[0], d[1], 1, 1}
	p.needScratch(g.C)
	p.setState(g)
	return nil
}

func (o *globalPoolOp) build(p *plan) (step, error) {
	g := p.getState().(*qkernel.AdaptiveGeom)
	s := &globalPoolStep{g: g, x: p.off[o.in[0]], y: p.off[o.out[0]], avg: o.avg, lut: o.lut, out: &o.output, parts: 1}
	if o.avg {
		// The float32 scale ONNX Runtime's QLinearGlobalAveragePool uses.
		scale := o.xScale / (o.yScale * float32(g.H*g.W))
		m, err := quant.QuantizeMultiplier(float64(scale))
		if err != nil {
			return nil, err
		}
		s.reqs = []qkernel.Requant{qkernel.NewRequant(m)}
		s.xZero = o.xZero
	}
	if p.threads > 1 {
		s.parts = partsFor(g.C, 16, p.threads, 1)
	}
	return s, nil
}

type globalPoolStep struct {
	g     *qkernel.AdaptiveGeom
	x, y  int
	avg   bool
	xZero int32
	reqs  []qkernel.Requant
	lut   *[256]uint8
	out   *qkernel.Output
	parts int
}

func (s *globalPoolStep) tasks() int { return s.parts }

func (s *globalPoolStep) run(rs *runState, task, worker int) {
	g := s.g
	c0, c1 := splitRange(g.C, s.parts, 16, task)
	if c0 >= c1 {
		return
	}
	x := rs.arena[s.x : s.x+g.N*g.H*g.W*g.C]
	y := rs.arena[s.y : s.y+g.N*g.C]
	if s.avg {
		qkernel.AdaptiveAvgPool(g, x, s.xZero, s.reqs, s.out, y, c0, c1, rs.scratch[worker])
		return
	}
	qkernel.AdaptiveMaxPool(g, x, y, c0, c1)
	if s.lut != nil {
		for n := 0; n < g.N; n++ {
			r := y[n*g.C+c0 : n*g.C+c1]
			qkernel.ApplyLUT(r, r, s.lut)
		}
	}
}
