package quant

import (
	"fmt"
	"math"
)

// QType is an 8-bit quantized element type.
type QType uint8

// The 8-bit types of ONNX QuantizeLinear outputs. The zero QType is invalid.
const (
	Uint8 QType = iota + 1 // [0, 255], ONNX TensorProto.UINT8
	Int8                   // [−128, 127], ONNX TensorProto.INT8
)

// Min returns the smallest value of t (0 for Uint8, −128 for Int8).
func (t QType) Min() int32 {
	switch t {
	case Uint8:
		return 0
	case Int8:
		return -128
	}
	panic(fmt.Sprintf("quant: invalid QType %d", uint8(t)))
}

// Max returns the largest value of t (255 for Uint8, 127 for Int8).
func (t QType) Max() int32 {
	switch t {
	case Uint8:
		return 255
	case Int8:
		return 127
	}
	panic(fmt.Sprintf("quant: invalid QType %d", uint8(t)))
}

// String returns "uint8" or "int8".
func (t QType) String() string {
	switch t {
	case Uint8:
		return "uint8"
	case Int8:
		return "int8"
	}
	return fmt.Sprintf("QType(%d)", uint8(t))
}

// roundClamp rounds v half to even and adds zp, saturating to [qmin, qmax].
// v is clamped to [qmin − zp, qmax − zp] first, as ONNX Runtime's MLAS does;
// both bounds are integers, so clamping before or after rounding is the same.
// NaN becomes qmin (MLAS's MAXPS/FMAXNM clamp returns the bound for NaN).
func roundClamp(v float32, zp, qmin, qmax int32) int32 {
	lo, hi := float32(qmin-zp), float32(qmax-zp)
	if !(v >= lo) {
		v = lo
	}
	if v > hi {
		v = hi
	}
	return int32(math.RoundToEven(float64(v))) + zp
}

// Quantize is ONNX QuantizeLinear for one element in real arithmetic:
// saturate(round(x / scale) + zp) with round half to even, the division done
// in float32 (as ONNX's reference implementation and ONNX Runtime do) and
// saturation to [qt.Min(), qt.Max()]. NaN maps to qt.Min(), as in ONNX
// Runtime.
func Quantize(x, scale float32, zp int32, qt QType) int32 {
	return roundClamp(x/scale, zp, qt.Min(), qt.Max())
}

// QuantizeU8 is ONNX QuantizeLinear to uint8 (see Quantize).
func QuantizeU8(x, scale float32, zp uint8) uint8 {
	return uint8(roundClamp(x/scale, int32(zp), 0, 255))
}

// QuantizeS8 is ONNX QuantizeLinear to int8 (see Quantize).
func QuantizeS8(x, scale float32, zp int8) int8 {
	return int8(roundClamp(x/scale, int32(zp), -128, 127))
}

// Dequantize is ONNX DequantizeLinear for one element: (q − zp) · scale,
// the difference converted to float32 and multiplied in float32, as ONNX
// Runtime computes it. It serves uint8, int8 and int32 (bias) tensors; the
// difference is formed in int64, so it cannot overflow.
func Dequantize(q int32, scale float32, zp int32) float32 {
	return float32(int64(q)-int64(zp)) * scale
}

// RequantScale returns the float32 output scale ONNX Runtime uses for
// QLinearConv, QLinearMatMul and QGemm: xScale · wScale / yScale, evaluated
// left to right in float32 (one per output channel when wScale is
// per-channel).
func RequantScale(xScale, wScale, yScale float32) float32 {
	return xScale * wScale / yScale
}

// RequantizeReal is what ONNX Runtime computes for one output element of
// QLinearConv, QLinearMatMul or QGemm from its int32 accumulator (bias
// included): the accumulator converted to float32 (round to nearest even),
// multiplied by scale in float32, rounded half to even, plus zeroPoint,
// saturated to [qmin, qmax] (MLAS's MlasRequantizeOutput). scale is
// RequantScale(xScale, wScale[c], yScale).
//
// This is the float reference runtime's requantization; the board uses
// Requantize with RequantMultiplier, which agrees on all but a small share
// of elements and is never more than one step away.
func RequantizeReal(acc int32, scale float32, zeroPoint, qmin, qmax int32) int32 {
	return roundClamp(float32(acc)*scale, zeroPoint, qmin, qmax)
}

// RequantMultiplier returns the fixed-point multiplier for the float32 scale
// ONNX Runtime would use, RequantScale(xScale, wScale, yScale). A float32 has
// a 24-bit significand, so the Multiplier (31 bits) represents that scale
// exactly whenever it is in the supported range: the fixed-point and the
// real-arithmetic requantization then multiply by the very same number and
// differ only in how they round.
func RequantMultiplier(xScale, wScale, yScale float32) (Multiplier, error) {
	for _, s := range [...]float32{xScale, wScale, yScale} {
		if !(s > 0) || math.IsInf(float64(s), 0) {
			return Multiplier{}, fmt.Errorf("quant: scales x=%g w=%g y=%g: each must be positive and finite", xScale, wScale, yScale)
		}
	}
	return QuantizeMultiplier(float64(RequantScale(xScale, wScale, yScale)))
}
