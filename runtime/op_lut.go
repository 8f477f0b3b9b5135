package runtime

import (
	"github.com/piresnet/piresnet/internal/onnx"
)

// lutOp maps every element through a 256-entry table: an elementwise
// operator between DequantizeLinear and QuantizeLinear (the table is that
// composition, evaluated once at load by the float reference), or a change
// of quantization parameters.
type lutOp struct {
	opBase
	lut *[256]uint8
}

func newLUTOp(nodes []*onnx.Node, kind string, lut *[256]uint8) *lutOp {
	if lut == nil {
		lut = new([256]uint8)
		for i := range lut {
			lut[i] = uint8(i)
		}
	}
	return &lutOp{opBase: opBase{kind: kind, nodes: nodes, kernel: "lut_generic", lowered: true}, lut: lut}
}

func (o *lutOp) infer(p *plan) error {
	p.dims[o.out[0]] = p.dims[o.in[0]]
	return nil
}

func (o *lutOp) build(p *plan) (step, error) {
	n := numElements(p.dims[o.out[0]])
	s := &elementStep{n: n, parts: 1, a: p.off[o.in[0]], y: p.off[o.out[0]], lut: o.lut}
	if p.threads > 1 {
		s.parts = partsFor(n, 64, 2*p.threads, 256)
	}
	return s, nil
}
