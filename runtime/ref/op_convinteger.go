package ref

import (
	"fmt"

	"github.com/piresnet/piresnet/internal/onnx"
)

// ConvInteger (opset 10): the int32 convolution of (x - x_zero_point) and
// (w - w_zero_point), x and w int8 or uint8; x_zero_point is a scalar,
// w_zero_point a scalar or one per filter; both optional (0). Exact integer
// arithmetic with int32 accumulators.
func buildConvInteger(n *onnx.Node, opset int64) (kernel, error) {
	r := attrs{n: n}
	wa := readWindowAttrs(&r, true)
	group := r.int("group", 1)
	if group < 1 || group > maxDim {
		r.fail("group %d must be positive", group)
	}
	if r.err != nil {
		return nil, r.err
	}
	return kernelFunc(func(in []*onnx.Tensor) ([]*onnx.Tensor, error) {
		x, err := input(in, 0, "x")
		if err != nil {
			return nil, err
		}
		w, err := input(in, 1, "w")
		if err != nil {
			return nil, err
		}
		if !is8bit(x.DataType) || !is8bit(w.DataType) {
			return nil, fmt.Errorf("x and w must be int8 or uint8, got %v and %v", x.DataType, w.DataType)
		}
		var xz int32
		if zt := optional(in, 2); zt != nil {
			if zt.DataType != x.DataType || zt.Len() != 1 {
				return nil, fmt.Errorf("x_zero_point must be one %v value, got %v %v", x.DataType, zt.DataType, zt.Dims)
			}
			v, _ := intData(zt)
			xz = v[0]
		}
		cs, err := checkConvShapes(x, w, group, wa)
		if err != nil {
			return nil, err
		}
		wz, err := filterZeros(optional(in, 3), w, cs.m)
		if err != nil {
			return nil, err
		}
		acc, err := convInt32(x, w, xz, wz, nil, cs)
		if err != nil {
			return nil, err
		}
		y := onnx.NewInt32("", cs.g.outDims(int64(cs.batch), int64(cs.m)), acc)
		return []*onnx.Tensor{y}, nil
	}), nil
}

func is8bit(dt onnx.DataType) bool { return dt == onnx.Int8 || dt == onnx.Uint8 }
