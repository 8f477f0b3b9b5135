package ref

import (
	"fmt"

	"github.com/piresnet/piresnet/internal/onnx"
)

// Flatten (opsets 1, 9, 11, 13, 21): reshapes to 2-D [d0*...*d(axis-1),
// d(axis)*...]; axis in [0, rank] (default 1), negative from opset 11.
func buildFlatten(n *onnx.Node, opset int64) (kernel, error) {
	r := attrs{n: n}
	axis := r.int("axis", 1)
	if r.err != nil {
		return nil, r.err
	}
	return kernelFunc(func(in []*onnx.Tensor) ([]*onnx.Tensor, error) {
		x, err := input(in, 0, "input")
		if err != nil {
			return nil, err
		}
		rank := int64(len(x.Dims))
		a := axis
		if a < 0 && opset >= 11 {
			a += rank
		}
		if a < 0 || a > rank {
			return nil, fmt.Errorf("axis %d out of range for rank %d", axis, rank)
		}
		return []*onnx.Tensor{withDims(x, []int64{int64(prod(x.Dims[:a])), int64(prod(x.Dims[a:]))})}, nil
	}), nil
}
