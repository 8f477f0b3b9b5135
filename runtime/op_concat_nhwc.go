package runtime

import (
	"fmt"

	"github.com/piresnet/piresnet/internal/onnx"
	"github.com/piresnet/piresnet/runtime/internal/qkernel"
)

// concatOp concatenates NHWC tensors along channels (ONNX axis 1 of a
// rank-4 or rank-2 tensor): per pixel, the inputs' channel rows one after
// the other, each through a table when its parameters differ from the
// output's.
type concatOp struct {
	opBase
	axis int
	luts []*[256]uint8
}

func newConcatOp(nodes []*onnx.Node, axis int, luts []*[256]uint8) *concatOp {
	return &concatOp{opBase: opBase{kind: "concat", nodes: nodes, kernel: "concat_generic", lowered: true}, axis: axis, luts: luts}
}

func (o *concatOp) infer(p *plan) error {
	d0 := p.dims[o.in[0]]
	r := len(d0)
	ax := o.axis
	if ax < 0 {
		ax += r
	}
	if (r != 4 && r != 2) || ax != 1 {
		return fmt.Errorf("concat of rank-%d tensors along axis %d is not lowered (channels only)", r, o.axis)
	}
	out := append([]int64(nil), d0...)
	out[1] = 0
	for _, v := range o.in {
		d := p.dims[v]
		if len(d) != r {
			return fmt.Errorf("inputs of ranks %d and %d", r, len(d))
		}
		for i := range d {
			if i != 1 && d[i] != d0[i] {
				return fmt.Errorf("input dims %v and %v differ outside the channel axis", d0, d)
			}
		}
		out[1] += d[1]
	}
	p.dims[o.out[0]] = out
	return nil
}

func (o *concatOp) build(p *plan) (step, error) {
	n, h, w, c, _ := nhwc(p.dims[o.out[0]])
	s := &concatStep{pixels: n * h * w, cy: c, y: p.off[o.out[0]], luts: o.luts, parts: 1}
	for _, v := range o.in {
		_, _, _, ci, _ := nhwc(p.dims[v])
		s.x = append(s.x, p.off[v])
		s.cx = append(s.cx, ci)
	}
	if p.threads > 1 {
		s.parts = partsFor(s.pixels, 1, 2*p.threads, 64)
	}
	return s, nil
}

type concatStep struct {
	pixels, cy, y, parts int
	x, cx                []int
	luts                 []*[256]uint8
}

func (s *concatStep) tasks() int { return s.parts }

func (s *concatStep) run(rs *runState, task, _ int) {
	p0, p1 := splitRange(s.pixels, s.parts, 1, task)
	ar := rs.arena
	for p := p0; p < p1; p++ {
		dst := ar[s.y+p*s.cy : s.y+(p+1)*s.cy]
		off := 0
		for i, x := range s.x {
			c := s.cx[i]
			src := ar[x+p*c : x+(p+1)*c]
			if s.luts[i] != nil {
				qkernel.ApplyLUT(dst[off:off+c], src, s.luts[i])
			} else {
				copy(dst[off:off+c], src)
			}
			off += c
		}
	}
}
