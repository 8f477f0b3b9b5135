package runtime

import (
	"fmt"
	"slices"

	"github.com/piresnet/piresnet/internal/onnx"
	"github.com/piresnet/piresnet/runtime/ref"
)

// fallbackOp runs one ONNX node on the float reference (ref.RunNode): the
// nodes the engine has no integer kernel for. Arena inputs are converted
// to 8-bit tensors in ONNX layout and outputs that lowered ops read are
// written back to the arena. A node whose inputs are all constants or
// static (depending only on the input shapes, as the Shape → Gather →
// Concat chains around a flatten) is static: it runs once per plan.
type fallbackOp struct {
	opBase
	node   *onnx.Node
	opset  int64
	static bool
}

func newFallbackOp(n *onnx.Node, opset int64) *fallbackOp {
	return &fallbackOp{opBase: opBase{kind: "fallback", nodes: []*onnx.Node{n}, kernel: "ref"}, node: n, opset: opset}
}

// valueTensor returns the tensor of a constant or static value, or nil.
func (p *plan) valueTensor(v int) *onnx.Tensor {
	val := p.m.prog.values[v]
	if val.kind == kindConst {
		return val.konst
	}
	return p.statics[v]
}

// zeroTensor is a tensor of zeros of the dims and type of value v (shape
// inference for fallback nodes).
func (p *plan) zeroTensor(v int) (*onnx.Tensor, error) {
	val := p.m.prog.values[v]
	d := slices.Clone(p.dims[v])
	if val.kind == kindQuant {
		return newQTensor(val.name, val.elem, d), nil
	}
	n := numElements(d)
	t := &onnx.Tensor{Name: val.name, DataType: p.dtype[v], Dims: d}
	switch p.dtype[v] {
	case onnx.Float:
		t.F32 = make([]float32, n)
	case onnx.Uint8, onnx.Bool:
		t.U8 = make([]uint8, n)
	case onnx.Int8:
		t.I8 = make([]int8, n)
	case onnx.Int32:
		t.I32 = make([]int32, n)
	case onnx.Int64:
		t.I64 = make([]int64, n)
	default:
		return nil, fmt.Errorf("value %q of type %v", val.name, p.dtype[v])
	}
	return t, nil
}

func (o *fallbackOp) infer(p *plan) error {
	in := make([]*onnx.Tensor, len(o.in))
	for i, v := range o.in {
		if v < 0 {
			continue
		}
		if o.static && o.node.OpType == "Shape" && i == 0 {
			// Only the dims matter: avoid materializing the input.
			in[i] = shapeOnly(p, v)
			continue
		}
		if t := p.valueTensor(v); t != nil {
			in[i] = t
			continue
		}
		t, err := p.zeroTensor(v)
		if err != nil {
			return err
		}
		in[i] = t
	}
	out, err := ref.RunNode(o.node, o.opset, in)
	if err != nil {
		return err
	}
	for i, v := range o.out {
		if v < 0 || out[i] == nil {
			continue
		}
		val := p.m.prog.values[v]
		if val.kind == kindQuant && out[i].DataType != val.elem {
			return fmt.Errorf("output %q is %v, the lowered ops reading it expect %v", val.name, out[i].DataType, val.elem)
		}
		p.dims[v], p.dtype[v] = out[i].Dims, out[i].DataType
		if o.static {
			out[i].Name = val.name
			p.statics[v] = out[i]
		}
	}
	return nil
}

// shapeOnly stands for a value whose dims alone a Shape node reads: a
// tensor of the right dims without data when it is large.
func shapeOnly(p *plan, v int) *onnx.Tensor {
	if t := p.valueTensor(v); t != nil {
		return t
	}
	t, err := p.zeroTensor(v)
	if err != nil {
		return onnx.NewFloat("", slices.Clone(p.dims[v]), make([]float32, numElements(p.dims[v])))
	}
	return t
}

func (o *fallbackOp) build(p *plan) (step, error) {
	if o.static {
		return nil, nil
	}
	s := &fallbackStep{op: o, inOff: make([]int, len(o.in)), outOff: make([]int, len(o.out))}
	for i, v := range o.in {
		s.inOff[i] = -1
		if v >= 0 && p.m.prog.values[v].kind == kindQuant {
			s.inOff[i] = p.off[v]
		}
	}
	for i, v := range o.out {
		s.outOff[i] = -1
		if v >= 0 && p.m.prog.values[v].kind == kindQuant {
			s.outOff[i] = p.off[v]
		}
	}
	return s, nil
}

type fallbackStep struct {
	op            *fallbackOp
	inOff, outOff []int
}

func (s *fallbackStep) tasks() int { return 1 }

func (s *fallbackStep) run(rs *runState, _, _ int) {
	if rs.err != nil {
		return
	}
	o, p := s.op, rs.p
	vals := p.m.prog.values
	in := make([]*onnx.Tensor, len(o.in))
	for i, v := range o.in {
		switch {
		case v < 0:
		case s.inOff[i] >= 0:
			t := newQTensor(vals[v].name, vals[v].elem, p.dims[v])
			toTensor(t, rs.arena, s.inOff[i])
			in[i] = t
		default:
			in[i] = rs.tensor(v)
		}
	}
	out, err := ref.RunNode(o.node, o.opset, in)
	if err != nil {
		rs.err = err
		return
	}
	for i, v := range o.out {
		if v < 0 || out[i] == nil {
			continue
		}
		if !slices.Equal(out[i].Dims, p.dims[v]) || out[i].DataType != p.dtype[v] {
			rs.err = fmt.Errorf("node %s: output %q is %v %v, planned %v %v", o.node, vals[v].name, out[i].DataType, out[i].Dims, p.dtype[v], p.dims[v])
			return
		}
		out[i].Name = vals[v].name
		if s.outOff[i] >= 0 {
			if err := fromTensor(rs.arena, s.outOff[i], out[i], vals[v].elem); err != nil {
				rs.err = err
				return
			}
			continue
		}
		rs.fvals[v] = out[i]
	}
}

// tensor returns the tensor of a non-arena value in this run.
func (rs *runState) tensor(v int) *onnx.Tensor {
	if t := rs.p.valueTensor(v); t != nil {
		return t
	}
	return rs.fvals[v]
}
