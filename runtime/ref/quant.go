package ref

import (
	"fmt"
	"math"

	"github.com/piresnet/piresnet/internal/onnx"
)

// Helpers of the quantized operators.

// quantBounds returns the saturation range of a quantized element type.
func quantBounds(dt onnx.DataType) (lo, hi int64, ok bool) {
	switch dt {
	case onnx.Uint8:
		return 0, math.MaxUint8, true
	case onnx.Int8:
		return math.MinInt8, math.MaxInt8, true
	case onnx.Uint16:
		return 0, math.MaxUint16, true
	case onnx.Int16:
		return math.MinInt16, math.MaxInt16, true
	case onnx.Int32:
		return math.MinInt32, math.MaxInt32, true
	}
	return 0, 0, false
}

// intData widens the data of an 8-, 16- or 32-bit integer tensor to int32.
func intData(t *onnx.Tensor) ([]int32, error) {
	switch t.DataType {
	case onnx.Int8:
		out := make([]int32, len(t.I8))
		for i, v := range t.I8 {
			out[i] = int32(v)
		}
		return out, nil
	case onnx.Uint8:
		out := make([]int32, len(t.U8))
		for i, v := range t.U8 {
			out[i] = int32(v)
		}
		return out, nil
	case onnx.Int16, onnx.Uint16, onnx.Int32:
		return t.I32, nil
	}
	return nil, fmt.Errorf("%v is not a quantized integer type", t.DataType)
}

// storeInt writes saturated integers into a quantized tensor.
func storeInt(t *onnx.Tensor, i int, v int64) {
	lo, hi, _ := quantBounds(t.DataType)
	v = min(max(v, lo), hi)
	switch t.DataType {
	case onnx.Int8:
		t.I8[i] = int8(v)
	case onnx.Uint8:
		t.U8[i] = uint8(v)
	default:
		t.I32[i] = int32(v)
	}
}

// saturateRound rounds v half to even, adds zp and saturates to [lo, hi].
// NaN gives zp.
func saturateRound(v float64, zp, lo, hi int64) int64 {
	if v != v {
		return min(max(zp, lo), hi)
	}
	r := math.RoundToEven(v)
	// Clamp in float first so that huge values cannot overflow int64.
	r = math.Max(math.Min(r, float64(hi-zp)), float64(lo-zp))
	return int64(r) + zp
}

// quantParam is a scale or zero point: one value, or one per index along an
// axis of the tensor it applies to.
type quantParam struct {
	f     []float32 // scale values
	i     []int32   // zero-point values
	inner int       // elements between consecutive indices of the axis
	n     int       // values (1 or the axis size)
}

func (q quantParam) index(i int) int {
	if q.n == 1 {
		return 0
	}
	return (i / q.inner) % q.n
}

// axisParam checks that p is a scalar (or one element) or a 1-D tensor with
// one value per index of axis of dims, and returns how to index it.
func axisParam(p *onnx.Tensor, dims []int64, axis int64, what string, perAxis bool) (quantParam, error) {
	var q quantParam
	if p.Len() == 1 && len(p.Dims) <= 1 {
		q.n, q.inner = 1, 1
	} else {
		if !perAxis {
			return q, fmt.Errorf("%s must be a scalar, got dims %v", what, p.Dims)
		}
		ax, err := normAxis(axis, len(dims))
		if err != nil {
			return q, err
		}
		if len(p.Dims) != 1 || p.Dims[0] != dims[ax] {
			return q, fmt.Errorf("%s has dims %v, want a scalar or [%d] (axis %d of %v)", what, p.Dims, dims[ax], ax, dims)
		}
		q.n, q.inner = int(dims[ax]), prod(dims[ax+1:])
	}
	return q, nil
}

func (q quantParam) withScale(p *onnx.Tensor, what string) (quantParam, error) {
	v, err := p.Float32s()
	if err != nil || !isFloat(p.DataType) {
		return q, fmt.Errorf("%s must be a float tensor, got %v", what, p.DataType)
	}
	q.f = v
	return q, nil
}

func (q quantParam) withZero(p *onnx.Tensor, what string) (quantParam, error) {
	v, err := intData(p)
	if err != nil {
		return q, fmt.Errorf("%s: %v", what, err)
	}
	q.i = v
	return q, nil
}

// scalarParams reads a float scale and an optional integer zero point that
// must both be one value; a missing zero point is 0.
func scalarQuant(scale, zero *onnx.Tensor, what string) (float32, int32, error) {
	if scale == nil {
		return 0, 0, fmt.Errorf("missing %s scale", what)
	}
	s, err := floatScalar(scale, what+" scale")
	if err != nil {
		return 0, 0, err
	}
	var z int32
	if zero != nil {
		if zero.Len() != 1 {
			return 0, 0, fmt.Errorf("%s zero point must have one element, got dims %v", what, zero.Dims)
		}
		v, err := intData(zero)
		if err != nil {
			return 0, 0, fmt.Errorf("%s zero point: %v", what, err)
		}
		z = v[0]
	}
	return s, z, nil
}
