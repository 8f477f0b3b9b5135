package ref

import (
	"github.com/piresnet/piresnet/internal/onnx"
)

// Shape (opsets 1, 13, 15, 19, 21): the input's dims as a 1-D int64 tensor,
// from opset 15 only dims[start:end] (negative values count from the end;
// both are clamped to [0, rank]; empty when start >= end).
func buildShape(n *onnx.Node, opset int64) (kernel, error) {
	r := attrs{n: n}
	start := r.int("start", 0)
	end := r.int("end", 0)
	hasEnd := r.has("end")
	if r.err != nil {
		return nil, r.err
	}
	if opset < 15 {
		start, hasEnd = 0, false
	}
	return kernelFunc(func(in []*onnx.Tensor) ([]*onnx.Tensor, error) {
		x, err := input(in, 0, "data")
		if err != nil {
			return nil, err
		}
		rank := int64(len(x.Dims))
		clamp := func(v int64) int64 {
			if v < 0 {
				v += rank
			}
			return min(max(v, 0), rank)
		}
		s, e := clamp(start), rank
		if hasEnd {
			e = clamp(end)
		}
		dims := []int64{}
		if s < e {
			dims = append(dims, x.Dims[s:e]...)
		}
		return []*onnx.Tensor{onnx.NewInt64("", []int64{int64(len(dims))}, dims)}, nil
	}), nil
}
