package ref

import (
	"fmt"
	"math"

	"github.com/piresnet/piresnet/internal/onnx"
)

// MaxPool (opsets 1, 8, 10, 11, 12): max over each window, N-d, with
// strides, pads or auto_pad, dilations and ceil_mode (opset 10), and the
// optional Indices output (opset 8): the flattened index of each maximum in
// the input tensor, row-major or, with storage_order=1, column-major over
// the spatial axes (index = plane*D1*D2... + h + w*H for 2-D), ignoring
// padding. Ties keep the first maximum in window order; NaN is never
// selected. Float types, and int8 and uint8 from opset 12.
func buildMaxPool(n *onnx.Node, opset int64) (kernel, error) {
	r := attrs{n: n}
	wa := readWindowAttrs(&r, true)
	storageOrder := r.int("storage_order", 0)
	if wa.kernel == nil {
		r.fail("kernel_shape is required")
	}
	if storageOrder != 0 && storageOrder != 1 {
		r.fail("storage_order %d is not 0 or 1", storageOrder)
	}
	if r.err != nil {
		return nil, r.err
	}
	wantIdx := wantOutput(n, 1)
	return kernelFunc(func(in []*onnx.Tensor) ([]*onnx.Tensor, error) {
		x, err := input(in, 0, "X")
		if err != nil {
			return nil, err
		}
		if err := checkImage(x, 1); err != nil {
			return nil, err
		}
		g, err := wa.resolve(x.Dims[2:], wa.kernel, true)
		if err != nil {
			return nil, err
		}
		outDims := g.outDims(x.Dims[0], x.Dims[1])
		y, err := newTensor(x.DataType, outDims)
		if err != nil {
			return nil, err
		}
		var idx *onnx.Tensor
		var iv []int64
		if wantIdx {
			if idx, err = newTensor(onnx.Int64, outDims); err != nil {
				return nil, err
			}
			iv = idx.I64
		}
		planes := int(x.Dims[0] * x.Dims[1])
		col := storageOrder == 1
		switch x.DataType {
		case onnx.Float:
			maxPoolPlanes(x.F32, y.F32, iv, planes, g, -math.MaxFloat32, col)
		case onnx.Double:
			maxPoolPlanes(x.F64, y.F64, iv, planes, g, -math.MaxFloat64, col)
		case onnx.Int8:
			maxPoolPlanes(x.I8, y.I8, iv, planes, g, math.MinInt8, col)
		case onnx.Uint8:
			maxPoolPlanes(x.U8, y.U8, iv, planes, g, 0, col)
		case onnx.Float16, onnx.BFloat16:
			xf, _ := x.Float32s()
			yf := make([]float32, y.Len())
			lowest := float32(-65504)
			if x.DataType == onnx.BFloat16 {
				lowest = bfloat16ToFloat32(0xff7f)
			}
			maxPoolPlanes(xf, yf, iv, planes, g, lowest, col)
			fromFloat32(y, yf) // exact: every value is an input value
		default:
			return nil, fmt.Errorf("MaxPool is not defined for %v", x.DataType)
		}
		return []*onnx.Tensor{y, idx}, nil
	}), nil
}
