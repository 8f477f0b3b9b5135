package ref

import (
	"fmt"

	"github.com/piresnet/piresnet/internal/onnx"
)

// Unsqueeze (opsets 1, 11, 13, 21): inserts axes of size 1 at the listed
// positions of the output (any order; negative from opset 11, counted
// from the end of the output). The axes are a required attribute before
// opset 13 and a required int64 input from opset 13.
func buildUnsqueeze(n *onnx.Node, opset int64) (kernel, error) {
	r := attrs{n: n}
	attrAxes, hasAttr := r.ints("axes")
	if opset < 13 && !hasAttr {
		r.fail("attribute axes is required")
	}
	if r.err != nil {
		return nil, r.err
	}
	return kernelFunc(func(in []*onnx.Tensor) ([]*onnx.Tensor, error) {
		x, err := input(in, 0, "data")
		if err != nil {
			return nil, err
		}
		axes := attrAxes
		if opset >= 13 {
			t, err := input(in, 1, "axes")
			if err != nil {
				return nil, err
			}
			if axes, err = axesInput(t); err != nil {
				return nil, err
			}
		}
		rank := len(x.Dims) + len(axes)
		if rank > 64 {
			return nil, fmt.Errorf("output rank %d is too large", rank)
		}
		ins := make([]bool, rank)
		for _, a := range axes {
			ax, err := normAxis(a, rank)
			if err != nil {
				return nil, err
			}
			if ins[ax] {
				return nil, fmt.Errorf("axes %v repeat axis %d", axes, ax)
			}
			ins[ax] = true
		}
		dims := make([]int64, rank)
		j := 0
		for i := range dims {
			if ins[i] {
				dims[i] = 1
			} else {
				dims[i] = x.Dims[j]
				j++
			}
		}
		return []*onnx.Tensor{withDims(x, dims)}, nil
	}), nil
}
