package ref

import (
	"fmt"
	"math"

	"github.com/piresnet/piresnet/internal/onnx"
)

// Clip (opsets 1, 6, 11, 12, 13): y = min(max(x, min), max). Before opset
// 11 the bounds are the float attributes min and max (default: none); from
// opset 11 they are optional scalar inputs of x's type. When min > max every
// element becomes max (the ONNX reference, numpy.clip). NaN stays NaN.
func buildClip(n *onnx.Node, opset int64) (kernel, error) {
	r := attrs{n: n}
	attrMin := r.float("min", -math.MaxFloat32)
	attrMax := r.float("max", math.MaxFloat32)
	if r.err != nil {
		return nil, r.err
	}
	return kernelFunc(func(in []*onnx.Tensor) ([]*onnx.Tensor, error) {
		x, err := input(in, 0, "input")
		if err != nil {
			return nil, err
		}
		var lo, hi *onnx.Tensor
		if opset < 11 {
			if !isFloat(x.DataType) {
				return nil, fmt.Errorf("Clip-%d is not defined for %v", opset, x.DataType)
			}
			lo = &onnx.Tensor{DataType: onnx.Float, Dims: []int64{}, F32: []float32{attrMin}}
			hi = &onnx.Tensor{DataType: onnx.Float, Dims: []int64{}, F32: []float32{attrMax}}
		} else {
			lo, hi = optional(in, 1), optional(in, 2)
			for _, b := range []*onnx.Tensor{lo, hi} {
				if b == nil {
					continue
				}
				if b.DataType != x.DataType {
					return nil, fmt.Errorf("bound of type %v, input is %v", b.DataType, x.DataType)
				}
				if b.Len() != 1 {
					return nil, fmt.Errorf("bound must be a scalar, got dims %v", b.Dims)
				}
			}
		}
		y := cloneTensor(x)
		y.Name = ""
		switch x.DataType {
		case onnx.Float:
			clampSlice(y.F32, boundF32(lo, float32(math.Inf(-1))), boundF32(hi, float32(math.Inf(1))))
		case onnx.Double:
			clampSlice(y.F64, boundF64(lo, math.Inf(-1)), boundF64(hi, math.Inf(1)))
		case onnx.Float16, onnx.BFloat16:
			v, _ := x.Float32s()
			clampSlice(v, boundF32(lo, float32(math.Inf(-1))), boundF32(hi, float32(math.Inf(1))))
			fromFloat32(y, v) // exact: every value is one of the inputs
		case onnx.Int8:
			clampSlice(y.I8, boundOf(lo, func(t *onnx.Tensor) int8 { return t.I8[0] }, math.MinInt8), boundOf(hi, func(t *onnx.Tensor) int8 { return t.I8[0] }, math.MaxInt8))
		case onnx.Uint8:
			clampSlice(y.U8, boundOf(lo, func(t *onnx.Tensor) uint8 { return t.U8[0] }, 0), boundOf(hi, func(t *onnx.Tensor) uint8 { return t.U8[0] }, math.MaxUint8))
		case onnx.Int16, onnx.Uint16, onnx.Int32:
			clampSlice(y.I32, boundOf(lo, func(t *onnx.Tensor) int32 { return t.I32[0] }, math.MinInt32), boundOf(hi, func(t *onnx.Tensor) int32 { return t.I32[0] }, math.MaxInt32))
		case onnx.Int64:
			clampSlice(y.I64, boundOf(lo, func(t *onnx.Tensor) int64 { return t.I64[0] }, math.MinInt64), boundOf(hi, func(t *onnx.Tensor) int64 { return t.I64[0] }, math.MaxInt64))
		case onnx.Uint32, onnx.Uint64:
			clampSlice(y.U64, boundOf(lo, func(t *onnx.Tensor) uint64 { return t.U64[0] }, 0), boundOf(hi, func(t *onnx.Tensor) uint64 { return t.U64[0] }, math.MaxUint64))
		default:
			return nil, fmt.Errorf("Clip is not defined for %v", x.DataType)
		}
		return []*onnx.Tensor{y}, nil
	}), nil
}

func clampSlice[T int8 | uint8 | int32 | int64 | uint64 | float32 | float64](v []T, lo, hi T) {
	for i, x := range v {
		if x < lo {
			x = lo
		}
		if x > hi {
			x = hi
		}
		v[i] = x
	}
}

func boundOf[T any](b *onnx.Tensor, get func(*onnx.Tensor) T, def T) T {
	if b == nil {
		return def
	}
	return get(b)
}

func boundF32(b *onnx.Tensor, def float32) float32 {
	if b == nil {
		return def
	}
	v, _ := b.Float32s()
	return v[0]
}

func boundF64(b *onnx.Tensor, def float64) float64 {
	if b == nil {
		return def
	}
	if b.DataType == onnx.Double {
		return b.F64[0]
	}
	v, _ := b.Float32s()
	return float64(v[0])
}
