package ref

import (
	"fmt"

	"github.com/piresnet/piresnet/internal/onnx"
)

// QuantizeLinear (opsets 10, 13, 19, 21): y = saturate(round(x / y_scale) +
// y_zero_point), rounding half to even, as the ONNX reference computes it:
// the quotient of float32 x and scale is a float32 (float16 for float16
// inputs), of int32 x a float64. y_scale and y_zero_point are scalars or,
// from opset 13, 1-D along axis (default 1). The output type is the zero
// point's (uint8 when it is absent, or output_dtype in opset 21): uint8,
// int8, uint16 or int16. NaN quantizes to the zero point. Blocked
// quantization (block_size, opset 21) is not supported.
func buildQuantizeLinear(n *onnx.Node, opset int64) (kernel, error) {
	r := attrs{n: n}
	axis := r.int("axis", 1)
	blockSize := r.int("block_size", 0)
	outType := onnx.DataType(r.int("output_dtype", 0))
	r.int("saturate", 1) // only defined for float8 outputs, which are not supported
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
		st, err := input(in, 1, "y_scale")
		if err != nil {
			return nil, err
		}
		zt := optional(in, 2)
		dt := onnx.Uint8
		if outType != 0 {
			dt = outType
		}
		if zt != nil {
			if outType != 0 && zt.DataType != outType {
				return nil, fmt.Errorf("zero point of type %v, output_dtype is %v", zt.DataType, outType)
			}
			dt = zt.DataType
		}
		lo, hi, ok := quantBounds(dt)
		if !ok || dt == onnx.Int32 {
			return nil, fmt.Errorf("cannot quantize to %v", dt)
		}
		perAxis := opset >= 13
		sp, err := axisParam(st, x.Dims, axis, "y_scale", perAxis)
		if err != nil {
			return nil, err
		}
		if sp, err = sp.withScale(st, "y_scale"); err != nil {
			return nil, err
		}
		zp := quantParam{n: 1, inner: 1, i: []int32{0}}
		if zt != nil {
			if zp, err = axisParam(zt, x.Dims, axis, "y_zero_point", perAxis); err != nil {
				return nil, err
			}
			if zp.n != sp.n {
				return nil, fmt.Errorf("y_scale has dims %v and y_zero_point %v: they must match", st.Dims, zt.Dims)
			}
			if zp, err = zp.withZero(zt, "y_zero_point"); err != nil {
				return nil, err
			}
		}
		y, err := newTensor(dt, x.Dims)
		if err != nil {
			return nil, err
		}
		switch x.DataType {
		case onnx.Float:
			for i, v := range x.F32 {
				q := v / sp.f[sp.index(i)]
				storeInt(y, i, saturateRound(float64(q), int64(zp.i[zp.index(i)]), lo, hi))
			}
		case onnx.Float16, onnx.BFloat16:
			xf, _ := x.Float32s()
			for i, v := range xf {
				q := v / sp.f[sp.index(i)]
				if x.DataType == onnx.Float16 {
					q = onnx.HalfToFloat32(onnx.Float32ToHalf(q))
				} else {
					q = bfloat16ToFloat32(bfloat16FromFloat32(q))
				}
				storeInt(y, i, saturateRound(float64(q), int64(zp.i[zp.index(i)]), lo, hi))
			}
		case onnx.Int32:
			for i, v := range x.I32 {
				q := float64(v) / float64(sp.f[sp.index(i)])
				storeInt(y, i, saturateRound(q, int64(zp.i[zp.index(i)]), lo, hi))
			}
		default:
			return nil, fmt.Errorf("QuantizeLinear is not defined for %v input", x.DataType)
		}
		return []*onnx.Tensor{y}, nil
	}), nil
}
