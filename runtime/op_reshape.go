package runtime

import (
	"fmt"

	"github.com/piresnet/piresnet/internal/onnx"
	"github.com/piresnet/piresnet/runtime/internal/qkernel"
)

// reshapeOp is Flatten or Reshape of an 8-bit tensor. A rank-4 tensor is
// held NHWC while ONNX orders elements NCHW, so unless the two orders
// agree (H·W = 1, as after global pooling) the op gathers through a table
// of source offsets built per plan.
type reshapeOp struct {
	opBase
	lut *[256]uint8
}

func newReshapeOp(nodes []*onnx.Node, lut *[256]uint8) *reshapeOp {
	return &reshapeOp{opBase: opBase{kind: "reshape", nodes: nodes, kernel: "gather_generic", lowered: true}, lut: lut}
}

func (o *reshapeOp) infer(p *plan) error {
	n := o.nodes[0]
	d := p.dims[o.in[0]]
	var out []int64
	if n.OpType == "Flatten" {
		ax := int(n.AttrInt("axis", 1))
		if ax < 0 {
			ax += len(d)
		}
		if ax < 0 || ax > len(d) {
			return fmt.Errorf("axis %d of a rank-%d tensor", ax, len(d))
		}
		out = []int64{int64(numElements(d[:ax])), int64(numElements(d[ax:]))}
	} else {
		st := p.valueTensor(o.in[1])
		if st == nil || st.DataType != onnx.Int64 || len(st.Dims) != 1 {
			return fmt.Errorf("the target shape is not known when planning (it must be a constant or depend only on the input shape)")
		}
		var err error
		if out, err = reshapeDims(d, st.I64); err != nil {
			return err
		}
	}
	p.dims[o.out[0]] = out
	return nil
}

// reshapeDims applies ONNX Reshape's rules (0 copies, one −1 is inferred).
func reshapeDims(in, shape []int64) ([]int64, error) {
	out := make([]int64, len(shape))
	infer, known := -1, int64(1)
	for i, v := range shape {
		switch {
		case v == -1 && infer < 0:
			infer = i
			continue
		case v == 0 && i < len(in):
			v = in[i]
		case v < 0:
			return nil, fmt.Errorf("bad target shape %v", shape)
		}
		out[i] = v
		known *= v
	}
	total := int64(numElements(in))
	if infer >= 0 {
		if known == 0 || total%known != 0 {
			return nil, fmt.Errorf("cannot reshape %v to %v", in, shape)
		}
		out[infer] = total / known
	} else if known != total {
		return nil, fmt.Errorf("cannot reshape %v to %v", in, shape)
	}
	return out, nil
}

// storageIndex returns, for each element in ONNX (row-major) order, its
// offset in the engine's layout of a tensor of dims d.
func storageIndex(d []int64) []int32 {
	idx := make([]int32, numElements(d))
	if len(d) != 4 {
		for i := range idx {
			idx[i] = int32(i)
		}
		return idx
	}
	N, C, H, W := int(d[0]), int(d[1]), int(d[2]), int(d[3])
	i := 0
	for n := 0; n < N; n++ {
		for c := 0; c < C; c++ {
			for h := 0; h < H; h++ {
				for w := 0; w < W; w++ {
					idx[i] = int32(((n*H+h)*W+w)*C + c)
					i++
				}
			}
		}
	}
	return idx
}

func (o *reshapeOp) build(p *plan) (step, error) {
	din, dout := p.dims[o.in[0]], p.dims[o.out[0]]
	s := &gatherStep{n: numElements(dout), x: p.off[o.in[0]], y: p.off[o.out[0]], lut: o.lut}
	src, dst := storageIndex(din), storageIndex(dout)
	identity := true
	for i := range src {
		if src[i] != dst[i] {
			identity = false
			break
		}
	}
	if !identity {
		s.table = make([]int32, len(src))
		for i := range src {
			s.table[dst[i]] = src[i]
		}
		p.indirection += 4 * len(s.table)
	}
	return s, nil
}

// gatherStep copies (through a table of source offsets when not nil, and
// a LUT when not nil).
type gatherStep struct {
	n, x, y int
	table   []int32
	lut     *[256]uint8
}

func (s *gatherStep) tasks() int { return 1 }

func (s *gatherStep) run(rs *runState, _, _ int) {
	x := rs.arena[s.x:]
	y := rs.arena[s.y : s.y+s.n]
	if s.table == nil {
		copy(y, x[:s.n])
	} else {
		for i, j := range s.table[:len(y)] {
			y[i] = x[j]
		}
	}
	if s.lut != nil {
		qkernel.ApplyLUT(y, y, s.lut)
	}
}
