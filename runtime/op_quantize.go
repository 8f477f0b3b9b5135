package runtime

import (
	"fmt"

	"github.com/piresnet/piresnet/internal/onnx"
	"github.com/piresnet/piresnet/quant"
	"github.com/piresnet/piresnet/runtime/internal/qkernel"
)

// quantizeOp is a QuantizeLinear with per-tensor parameters: a float
// tensor (the model's input, or a fallback node's output) into the arena,
// NCHW to NHWC. quant.Quantize is ONNX's definition (the division in
// float32, rounding half to even), so the result is the same on every
// architecture.
type quantizeOp struct {
	opBase
	q qparams
}

func newQuantizeOp(n *onnx.Node, q qparams) *quantizeOp {
	return &quantizeOp{opBase: opBase{kind: "quantize", nodes: []*onnx.Node{n}, kernel: qkernel.ElementwiseKernel("quantize")}, q: q}
}

func (o *quantizeOp) infer(p *plan) error {
	if t := p.dtype[o.in[0]]; t != onnx.Float {
		return fmt.Errorf("input %q is %v, want float32", p.m.prog.values[o.in[0]].name, t)
	}
	p.dims[o.out[0]] = p.dims[o.in[0]]
	return nil
}

func (o *quantizeOp) build(p *plan) (step, error) {
	d := p.dims[o.out[0]]
	s := &quantizeStep{in: o.in[0], y: p.off[o.out[0]], scale: o.q.scale, zp: o.q.u8Zero(), planes: 1, plane: numElements(d), parts: 1}
	if len(d) == 4 {
		s.nhwc = true
		s.planes, s.plane, s.c = int(d[0]*d[1]), int(d[2]*d[3]), int(d[1])
	}
	if p.threads > 1 {
		s.parts = min(s.planes, 2*p.threads)
	}
	return s, nil
}

type quantizeStep struct {
	in, y    int
	scale    float32
	zp       int32
	nhwc     bool
	planes   int // N·C (NCHW planes), or 1
	plane, c int
	parts    int
}

func (s *quantizeStep) tasks() int { return s.parts }

func (s *quantizeStep) run(rs *runState, task, _ int) {
	x := rs.tensor(s.in).F32
	p0, p1 := splitRange(s.planes, s.parts, 1, task)
	for pl := p0; pl < p1; pl++ {
		src := x[pl*s.plane : (pl+1)*s.plane]
		if !s.nhwc {
			qkernel.QuantizeU8(rs.arena[s.y:s.y+len(src)], 1, src, s.scale, s.zp)
			continue
		}
		n, c := pl/s.c, pl%s.c
		base := s.y + n*s.plane*s.c + c
		qkernel.QuantizeU8(rs.arena[base:base+(s.plane-1)*s.c+1], s.c, src, s.scale, s.zp)
	}
}

// dequantizeOp is a DequantizeLinear with per-tensor parameters: an arena
// tensor into a float tensor in ONNX layout (a graph output, or the input
// of a fallback node), (q − zp)·scale in float32 as ONNX defines it.
type dequantizeOp struct {
	opBase
	q qparams
}

func newDequantizeOp(n *onnx.Node, q qparams) *dequantizeOp {
	return &dequantizeOp{opBase: opBase{kind: "dequantize", nodes: []*onnx.Node{n}, kernel: "dequantize_generic"}, q: q}
}

func (o *dequantizeOp) infer(p *plan) error {
	p.dims[o.out[0]] = p.dims[o.in[0]]
	p.dtype[o.out[0]] = onnx.Float
	return nil
}

func (o *dequantizeOp) build(p *plan) (step, error) {
	d := p.dims[o.out[0]]
	t := onnx.NewFloat(p.m.prog.values[o.out[0]].name, d, make([]float32, numElements(d)))
	p.floatOut[o.out[0]] = t
	return &dequantizeStep{x: p.off[o.in[0]], out: o.out[0], t: t, scale: o.q.scale, zp: o.q.u8Zero(), idx: layoutOf(d)}, nil
}

// layout describes how to walk a tensor in ONNX order: for rank 4, NCHW
// planes read with stride C from the NHWC arena.
type layout struct {
	nhwc     bool
	n, c, hw int
}

func layoutOf(d []int64) layout {
	if len(d) == 4 {
		return layout{nhwc: true, n: int(d[0]), c: int(d[1]), hw: int(d[2] * d[3])}
	}
	return layout{n: 1, c: 1, hw: numElements(d)}
}

// forEach calls f(i, j) for every element: i its ONNX-order index, j its
// arena offset.
func (l layout) forEach(f func(i, j int)) {
	if !l.nhwc {
		for i := 0; i < l.hw; i++ {
			f(i, i)
		}
		return
	}
	i := 0
	for n := 0; n < l.n; n++ {
		for c := 0; c < l.c; c++ {
			j := n*l.hw*l.c + c
			for k := 0; k < l.hw; k++ {
				f(i, j)
				i++
				j += l.c
			}
		}
	}
}

type dequantizeStep struct {
	x, out int
	t      *onnx.Tensor
	scale  float32
	zp     int32
	idx    layout
}

func (s *dequantizeStep) tasks() int { return 1 }

func (s *dequantizeStep) run(rs *runState, _, _ int) {
	y := s.t.F32
	a := rs.arena[s.x:]
	l := s.idx
	if !l.nhwc {
		for i := range y {
			y[i] = quant.Dequantize(int32(a[i]), s.scale, s.zp)
		}
	} else {
		i := 0
		for n := 0; n < l.n; n++ {
			for c := 0; c < l.c; c++ {
				src := a[n*l.hw*l.c+c:]
				for k := 0; k < l.hw; k++ {
					y[i] = quant.Dequantize(int32(src[k*l.c]), s.scale, s.zp)
					i++
				}
			}
		}
	}
	rs.fvals[s.out] = s.t
}
