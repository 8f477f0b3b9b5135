package ref

import (
	"fmt"

	"github.com/piresnet/piresnet/internal/onnx"
)

// Concat (opsets 1, 4, 11, 13): joins tensors of one type along axis (1 by
// default in opset 1, required from opset 4, negative from opset 11). The
// other dimensions must match.
func buildConcat(n *onnx.Node, opset int64) (kernel, error) {
	r := attrs{n: n}
	axis := r.int("axis", 1)
	if opset >= 4 && !r.has("axis") {
		r.fail("attribute axis is required")
	}
	if r.err != nil {
		return nil, r.err
	}
	return kernelFunc(func(in []*onnx.Tensor) ([]*onnx.Tensor, error) {
		y, err := concat(in, axis)
		if err != nil {
			return nil, err
		}
		return []*onnx.Tensor{y}, nil
	}), nil
}

func concat(in []*onnx.Tensor, axis int64) (*onnx.Tensor, error) {
	if len(in) == 0 {
		return nil, fmt.Errorf("no inputs")
	}
	for i, t := range in {
		if t == nil {
			return nil, fmt.Errorf("input %d is missing", i)
		}
	}
	first := in[0]
	rank := len(first.Dims)
	if rank == 0 {
		return nil, fmt.Errorf("cannot concatenate scalars")
	}
	ax, err := normAxis(axis, rank)
	if err != nil {
		return nil, err
	}
	dims := append([]int64(nil), first.Dims...)
	dims[ax] = 0
	for i, t := range in {
		if t.DataType != first.DataType {
			return nil, fmt.Errorf("input %d has type %v, input 0 has %v", i, t.DataType, first.DataType)
		}
		if len(t.Dims) != rank {
			return nil, fmt.Errorf("input %d has dims %v, input 0 has %v: ranks differ", i, t.Dims, first.Dims)
		}
		for a := range t.Dims {
			if a != ax && t.Dims[a] != first.Dims[a] {
				return nil, fmt.Errorf("input %d has dims %v, input 0 has %v: they differ off axis %d", i, t.Dims, first.Dims, ax)
			}
		}
		dims[ax] += t.Dims[ax]
		if dims[ax] > maxElements {
			return nil, fmt.Errorf("concatenated axis is too long")
		}
	}
	y, err := newTensor(first.DataType, dims)
	if err != nil {
		return nil, err
	}
	outer := prod(dims[:ax])
	inner := prod(dims[ax+1:])
	rowOut := int(dims[ax]) * inner
	off := 0
	for _, t := range in {
		row := int(t.Dims[ax]) * inner
		for o := 0; o < outer; o++ {
			copyElems(y, o*rowOut+off, t, o*row, row)
		}
		off += row
	}
	return y, nil
}
