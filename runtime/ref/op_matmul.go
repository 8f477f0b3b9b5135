package ref

import (
	"fmt"

	"github.com/piresnet/piresnet/internal/onnx"
)

// MatMul (opsets 1, 9, 13): numpy.matmul on float tensors: 1-D operands
// are promoted to a row (A) or a column (B) and the unit axis dropped, the
// leading axes broadcast. Float32 GEMM (float64 for double; float16 and
// bfloat16 widened to float32, rounded once).
func buildMatMul(n *onnx.Node, opset int64) (kernel, error) {
	return kernelFunc(func(in []*onnx.Tensor) ([]*onnx.Tensor, error) {
		a, err := input(in, 0, "A")
		if err != nil {
			return nil, err
		}
		b, err := input(in, 1, "B")
		if err != nil {
			return nil, err
		}
		if !isFloat(a.DataType) || b.DataType != a.DataType {
			return nil, fmt.Errorf("inputs must share one float type, got %v and %v", a.DataType, b.DataType)
		}
		s, err := matmulShapes(a.Dims, b.Dims)
		if err != nil {
			return nil, err
		}
		y, err := newTensor(a.DataType, s.out)
		if err != nil {
			return nil, err
		}
		switch a.DataType {
		case onnx.Float:
			runGemms(matmulTasks(s, a.F32, b.F32, y.F32))
		case onnx.Double:
			runGemms(matmulTasks(s, a.F64, b.F64, y.F64))
		default:
			af, _ := a.Float32s()
			bf, _ := b.Float32s()
			yf := make([]float32, y.Len())
			runGemms(matmulTasks(s, af, bf, yf))
			fromFloat32(y, yf)
		}
		return []*onnx.Tensor{y}, nil
	}), nil
}
