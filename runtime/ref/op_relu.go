package ref

import (
	"fmt"

	"github.com/piresnet/piresnet/internal/onnx"
)

// Relu (opsets 1, 6, 13, 14): max(x, 0). Float types, and signed integers
// from opset 14. NaN stays NaN.
func buildRelu(n *onnx.Node, opset int64) (kernel, error) {
	return kernelFunc(func(in []*onnx.Tensor) ([]*onnx.Tensor, error) {
		x, err := input(in, 0, "X")
		if err != nil {
			return nil, err
		}
		var y *onnx.Tensor
		switch x.DataType {
		case onnx.Int8, onnx.Int16, onnx.Int32, onnx.Int64:
			y = cloneTensor(x)
			for i, v := range y.I8 {
				y.I8[i] = max(v, 0)
			}
			for i, v := range y.I32 {
				y.I32[i] = max(v, 0)
			}
			for i, v := range y.I64 {
				y.I64[i] = max(v, 0)
			}
		case onnx.Float:
			y, err = newTensor(x.DataType, x.Dims)
			if err != nil {
				return nil, err
			}
			relu(x.F32, y.F32)
		default:
			if !isFloat(x.DataType) {
				return nil, fmt.Errorf("Relu is not defined for %v", x.DataType)
			}
			y, err = mapFloat(x, func(v float32) float32 {
				if v < 0 {
					return 0
				}
				return v
			}, func(v float64) float64 {
				if v < 0 {
					return 0
				}
				return v
			})
			if err != nil {
				return nil, err
			}
		}
		y.Name = ""
		return []*onnx.Tensor{y}, nil
	}), nil
}

func relu(x, y []float32) {
	parallelChunks(len(x), func(lo, hi int) {
		xs, ys := x[lo:hi], y[lo:hi]
		for i, v := range xs {
			if v < 0 {
				v = 0
			}
			ys[i] = v
		}
	})
}
