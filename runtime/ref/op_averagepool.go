package ref

import (
	"fmt"

	"github.com/piresnet/piresnet/internal/onnx"
)

// AveragePool (opsets 1, 7, 10, 11, 19): mean over each window, N-d, with
// strides, pads or auto_pad, ceil_mode (opset 10), dilations (opset 19) and
// count_include_pad (opset 7): the divisor counts the taps inside the input,
// or with count_include_pad those inside the padded input; taps of a
// ceil_mode window past the end padding never count (torch's rule and the
// ONNX reference's). Summed in float64, rounded once to the input's type.
func buildAveragePool(n *onnx.Node, opset int64) (kernel, error) {
	r := attrs{n: n}
	wa := readWindowAttrs(&r, opset >= 19)
	countPad := r.int("count_include_pad", 0) != 0
	if wa.kernel == nil {
		r.fail("kernel_shape is required")
	}
	if r.err != nil {
		return nil, r.err
	}
	return kernelFunc(func(in []*onnx.Tensor) ([]*onnx.Tensor, error) {
		x, err := input(in, 0, "X")
		if err != nil {
			return nil, err
		}
		if !isFloat(x.DataType) {
			return nil, fmt.Errorf("AveragePool is not defined for %v", x.DataType)
		}
		if err := checkImage(x, 1); err != nil {
			return nil, err
		}
		g, err := wa.resolve(x.Dims[2:], wa.kernel, true)
		if err != nil {
			return nil, err
		}
		y, err := newTensor(x.DataType, g.outDims(x.Dims[0], x.Dims[1]))
		if err != nil {
			return nil, err
		}
		xd := toFloat64(x)
		yd := make([]float64, y.Len())
		avgPoolPlanes(xd, yd, int(x.Dims[0]*x.Dims[1]), g, countPad)
		storeFloat64(y, yd)
		return []*onnx.Tensor{y}, nil
	}), nil
}
