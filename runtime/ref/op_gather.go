package ref

import (
	"fmt"

	"github.com/piresnet/piresnet/internal/onnx"
)

// Gather (opsets 1, 11, 13): takes the entries of data along axis (default
// 0) at int32 or int64 indices (negative counts from the end); the output
// shape is data.shape[:axis] + indices.shape + data.shape[axis+1:]. An index
// out of range is an error.
func buildGather(n *onnx.Node, opset int64) (kernel, error) {
	r := attrs{n: n}
	axis := r.int("axis", 0)
	if r.err != nil {
		return nil, r.err
	}
	return kernelFunc(func(in []*onnx.Tensor) ([]*onnx.Tensor, error) {
		x, err := input(in, 0, "data")
		if err != nil {
			return nil, err
		}
		it, err := input(in, 1, "indices")
		if err != nil {
			return nil, err
		}
		idx, err := int64Values(it, "indices")
		if err != nil {
			return nil, err
		}
		if len(x.Dims) == 0 {
			return nil, fmt.Errorf("data must have rank at least 1")
		}
		ax, err := normAxis(axis, len(x.Dims))
		if err != nil {
			return nil, err
		}
		size := x.Dims[ax]
		dims := append(append(append([]int64{}, x.Dims[:ax]...), it.Dims...), x.Dims[ax+1:]...)
		y, err := newTensor(x.DataType, dims)
		if err != nil {
			return nil, err
		}
		outer, inner := prod(x.Dims[:ax]), prod(x.Dims[ax+1:])
		for o := 0; o < outer; o++ {
			for k, i := range idx {
				if i < -size || i >= size {
					return nil, fmt.Errorf("index %d out of range for axis %d of size %d", i, ax, size)
				}
				if i < 0 {
					i += size
				}
				copyElems(y, (o*len(idx)+k)*inner, x, (o*int(size)+int(i))*inner, inner)
			}
		}
		return []*onnx.Tensor{y}, nil
	}), nil
}
