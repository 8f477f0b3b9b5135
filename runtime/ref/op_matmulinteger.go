package ref

import (
	"fmt"

	"github.com/piresnet/piresnet/internal/onnx"
)

// MatMulInteger (opset 10): numpy.matmul of (A - a_zero_point) and (B -
// b_zero_point) with int32 results; A and B int8 or uint8; a_zero_point per
// tensor or per row of A, b_zero_point per tensor or per column of B (both
// optional, 0). Exact, with int32 accumulators.
func buildMatMulInteger(n *onnx.Node, opset int64) (kernel, error) {
	return kernelFunc(func(in []*onnx.Tensor) ([]*onnx.Tensor, error) {
		a, err := input(in, 0, "A")
		if err != nil {
			return nil, err
		}
		b, err := input(in, 1, "B")
		if err != nil {
			return nil, err
		}
		if !is8bit(a.DataType) || !is8bit(b.DataType) {
			return nil, fmt.Errorf("A and B must be int8 or uint8, got %v and %v", a.DataType, b.DataType)
		}
		s, err := matmulShapes(a.Dims, b.Dims)
		if err != nil {
			return nil, err
		}
		av, err := shiftedInt32(a, optional(in, 2), true, "A")
		if err != nil {
			return nil, err
		}
		bv, err := shiftedInt32(b, optional(in, 3), false, "B")
		if err != nil {
			return nil, err
		}
		return []*onnx.Tensor{onnx.NewInt32("", s.out, matmulInt32(s, av, bv))}, nil
	}), nil
}
