package ref

import (
	"fmt"

	"github.com/piresnet/piresnet/internal/onnx"
)

// DequantizeLinear (opsets 10, 13, 19, 21): y = (x - x_zero_point) *
// x_scale, evaluated as the ONNX reference does: float32(x) -
// float32(zero_point) in float32, times the scale in float32 (the result is
// rounded to the scale's type when that is float16 or bfloat16). x is
// int8, uint8, int32, or int16/uint16 (opset 21); scale and zero point are
// scalars or, from opset 13, 1-D along axis (default 1). Blocked
// quantization (block_size, opset 21) is not supported.
func buildDequantizeLinear(n *onnx.Node, opset int64) (kernel, error) {
	r := attrs{n: n}
	axis := r.int("axis", 1)
	blockSize := r.int("block_size", 0)
	if r.err != nil {
		return nil, r.err
	}
	if blockSize != 0 {
		return nil, fmt.Errorf("blocked quantization (block_size %d) is not supported", blockSize)
	}
	return kernelFunc(func(in []*onnx.Tensor) ([]*onnx.Tensor, error) {
		x, err := input(in, 0, "x")
		if err != nil {
			return nil, err
		}
		st, err := input(in, 1, "x_scale")
		if err != nil {
			return nil, err
		}
		zt := optional(in, 2)
		if st.DataType != onnx.Float && st.DataType != onnx.Float16 && st.DataType != onnx.BFloat16 {
			return nil, fmt.Errorf("x_scale has type %v, want float32, float16 or bfloat16", st.DataType)
		}
		xv, err := intData(x)
		if err != nil {
			return nil, err
		}
		perAxis := opset >= 13
		sp, err := axisParam(st, x.Dims, axis, "x_scale", perAxis)
		if err != nil {
			return nil, err
		}
		if sp, err = sp.withScale(st, "x_scale"); err != nil {
			return nil, err
		}
		zp := quantParam{n: 1, inner: 1, i: []int32{0}}
		if zt != nil {
			if zt.DataType != x.DataType {
				return nil, fmt.Errorf("x_zero_point has type %v, x has %v", zt.DataType, x.DataType)
			}
			if zp, err = axisParam(zt, x.Dims, axis, "x_zero_point", perAxis); err != nil {
				return nil, err
			}
			if zp.n != sp.n {
				return nil, fmt.Errorf("x_scale has dims %v and x_zero_point %v: they must match", st.Dims, zt.Dims)
			}
			if zp, err = zp.withZero(zt, "x_zero_point"); err != nil {
				return nil, err
			}
		}
		y, err := newTensor(st.DataType, x.Dims)
		if err != nil {
			return nil, err
		}
		yf := y.F32
		if st.DataType != onnx.Float {
			yf = make([]float32, len(xv))
		}
		for i, v := range xv {
			d := float32(v) - float32(zp.i[zp.index(i)])
			yf[i] = d * sp.f[sp.index(i)]
		}
		if st.DataType != onnx.Float {
			fromFloat32(y, yf)
		}
		return []*onnx.Tensor{y}, nil
	}), nil
}
