package runtime

import (
	"fmt"
	"slices"

	"github.com/piresnet/piresnet/internal/onnx"
)

// Conversions between an 8-bit tensor in ONNX form (uint8 or int8, ONNX
// layout) and the arena (uint8, NHWC for rank 4): for 8-bit graph inputs
// and outputs and for fallback nodes that read or write arena tensors.

// fromTensor writes t into the arena at off (t must have the value's type).
func fromTensor(arena []byte, off int, t *onnx.Tensor, elem onnx.DataType) error {
	if t.DataType != elem {
		return fmt.Errorf("tensor is %v, want %v", t.DataType, elem)
	}
	l := layoutOf(t.Dims)
	if elem == onnx.Int8 {
		x := t.I8
		l.forEach(func(i, j int) { arena[off+j] = uint8(x[i]) ^ 0x80 })
	} else {
		x := t.U8
		l.forEach(func(i, j int) { arena[off+j] = x[i] })
	}
	return nil
}

// toTensor writes the arena tensor at off into dst (of the value's type
// and dims).
func toTensor(dst *onnx.Tensor, arena []byte, off int) {
	l := layoutOf(dst.Dims)
	if dst.DataType == onnx.Int8 {
		y := dst.I8
		l.forEach(func(i, j int) { y[i] = int8(arena[off+j] ^ 0x80) })
	} else {
		y := dst.U8
		l.forEach(func(i, j int) { y[i] = arena[off+j] })
	}
}

func newQTensor(name string, elem onnx.DataType, dims []int64) *onnx.Tensor {
	n := numElements(dims)
	if elem == onnx.Int8 {
		return onnx.NewInt8(name, slices.Clone(dims), make([]int8, n))
	}
	return onnx.NewUint8(name, slices.Clone(dims), make([]uint8, n))
}

// importOp copies an 8-bit graph input into the arena.
type importOp struct {
	opBase
	elem onnx.DataType
}

func (o *importOp) infer(p *plan) error {
	if t := p.dtype[o.in[0]]; t != o.elem {
		return fmt.Errorf("input %q is %v, want %v", p.m.prog.values[o.in[0]].name, t, o.elem)
	}
	p.dims[o.out[0]] = p.dims[o.in[0]]
	return nil
}

func (o *importOp) build(p *plan) (step, error) {
	return &importStep{in: o.in[0], off: p.off[o.out[0]], elem: o.elem}, nil
}

type importStep struct {
	in, off int
	elem    onnx.DataType
}

func (s *importStep) tasks() int { return 1 }

func (s *importStep) run(rs *runState, _, _ int) {
	if err := fromTensor(rs.arena, s.off, rs.tensor(s.in), s.elem); err != nil && rs.err == nil {
		rs.err = err
	}
}

// exportOp copies an arena tensor to an 8-bit graph output.
type exportOp struct {
	opBase
	elem onnx.DataType
}

func (o *exportOp) infer(p *plan) error {
	p.dims[o.out[0]] = p.dims[o.in[0]]
	p.dtype[o.out[0]] = o.elem
	return nil
}

func (o *exportOp) build(p *plan) (step, error) {
	t := newQTensor(p.m.prog.values[o.out[0]].name, o.elem, p.dims[o.out[0]])
	p.floatOut[o.out[0]] = t
	return &exportStep{off: p.off[o.in[0]], out: o.out[0], t: t}, nil
}

type exportStep struct {
	off, out int
	t        *onnx.Tensor
}

func (s *exportStep) tasks() int { return 1 }

func (s *exportStep) run(rs *runState, _, _ int) {
	toTensor(s.t, rs.arena, s.off)
	rs.fvals[s.out] = s.t
}
