package ref

import (
	"fmt"

	"github.com/piresnet/piresnet/internal/onnx"
)

// Squeeze (opsets 1, 11, 13, 21): removes the listed axes, which must have
// size 1, or every axis of size 1 when none are listed. The axes are an
// attribute before opset 13 and an optional int64 input from opset 13;
// negative from opset 11.
func buildSqueeze(n *onnx.Node, opset int64) (kernel, error) {
	r := attrs{n: n}
	attrAxes, hasAttr := r.ints("axes")
	if r.err != nil {
		return nil, r.err
	}
	return kernelFunc(func(in []*onnx.Tensor) ([]*onnx.Tensor, error) {
		x, err := input(in, 0, "data")
		if err != nil {
			return nil, err
		}
		axes, has := attrAxes, hasAttr
		if opset >= 13 {
			axes, has = nil, false
			if t := optional(in, 1); t != nil {
				if axes, err = axesInput(t); err != nil {
					return nil, err
				}
				has = true
			}
		}
		rank := len(x.Dims)
		drop := make([]bool, rank)
		if !has {
			for i, d := range x.Dims {
				drop[i] = d == 1
			}
		}
		for _, a := range axes {
			ax, err := normAxis(a, rank)
			if err != nil {
				return nil, err
			}
			if drop[ax] {
				return nil, fmt.Errorf("axes %v repeat axis %d", axes, ax)
			}
			if x.Dims[ax] != 1 {
				return nil, fmt.Errorf("axis %d has size %d, not 1 (dims %v)", ax, x.Dims[ax], x.Dims)
			}
			drop[ax] = true
		}
		dims := []int64{}
		for i, d := range x.Dims {
			if !drop[i] {
				dims = append(dims, d)
			}
		}
		return []*onnx.Tensor{withDims(x, dims)}, nil
	}), nil
}

// axesInput reads the 1-D int64 axes input of Squeeze, Unsqueeze and Slice.
func axesInput(t *onnx.Tensor) ([]int64, error) {
	if len(t.Dims) > 1 {
		return nil, fmt.Errorf("axes must be 1-D, got dims %v", t.Dims)
	}
	return int64Values(t, "axes")
}
