package ref

import (
	"fmt"
	"math"

	"github.com/piresnet/piresnet/internal/onnx"
)

// Softmax (opsets 1, 11, 13). Before opset 13 the input is coerced to 2-D
// [d0*...*d(axis-1), d(axis)*...] (axis default 1) and each row is
// normalized; from opset 13 the softmax runs along the single axis (default
// -1). exp(x - max) and the sum are computed in float64, each result
// rounded once.
func buildSoftmax(n *onnx.Node, opset int64) (kernel, error) {
	r := attrs{n: n}
	def := int64(1)
	if opset >= 13 {
		def = -1
	}
	axis := r.int("axis", def)
	if r.err != nil {
		return nil, r.err
	}
	return kernelFunc(func(in []*onnx.Tensor) ([]*onnx.Tensor, error) {
		x, err := input(in, 0, "input")
		if err != nil {
			return nil, err
		}
		if !isFloat(x.DataType) {
			return nil, fmt.Errorf("Softmax is not defined for %v", x.DataType)
		}
		rank := len(x.Dims)
		var outer, size, inner int
		if opset >= 13 {
			ax, err := normAxis(axis, rank)
			if err != nil {
				return nil, err
			}
			outer, size, inner = prod(x.Dims[:ax]), int(x.Dims[ax]), prod(x.Dims[ax+1:])
		} else {
			a := axis
			if a < 0 {
				a += int64(rank)
			}
			if a < 0 || a > int64(rank) {
				return nil, fmt.Errorf("axis %d out of range for rank %d", axis, rank)
			}
			outer, size, inner = prod(x.Dims[:a]), prod(x.Dims[a:]), 1
		}
		xd := toFloat64(x)
		yd := make([]float64, len(xd))
		for o := 0; o < outer; o++ {
			for i := 0; i < inner; i++ {
				base := o*size*inner + i
				mx := math.Inf(-1)
				for j := 0; j < size; j++ {
					mx = math.Max(mx, xd[base+j*inner])
				}
				sum := 0.0
				for j := 0; j < size; j++ {
					e := math.Exp(xd[base+j*inner] - mx)
					yd[base+j*inner] = e
					sum += e
				}
				for j := 0; j < size; j++ {
					yd[base+j*inner] /= sum
				}
			}
		}
		y, err := newTensor(x.DataType, x.Dims)
		if err != nil {
			return nil, err
		}
		storeFloat64(y, yd)
		return []*onnx.Tensor{y}, nil
	}), nil
}
