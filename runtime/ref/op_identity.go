package ref

import (
	"github.com/piresnet/piresnet/internal/onnx"
)

// Identity (opsets 1, 13, 14, 16, 19, 21): a copy of a tensor of any type.
// Sequences and optionals (opsets 14 and 16) are not tensors and are not
// supported.
func buildIdentity(n *onnx.Node, opset int64) (kernel, error) {
	return kernelFunc(func(in []*onnx.Tensor) ([]*onnx.Tensor, error) {
		x, err := input(in, 0, "input")
		if err != nil {
			return nil, err
		}
		y := cloneTensor(x)
		y.Name = ""
		return []*onnx.Tensor{y}, nil
	}), nil
}
