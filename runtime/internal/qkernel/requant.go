package qkernel

import (
	"fmt"

	"github.com/piresnet/piresnet/quant"
)

// Output is the output stage shared by every channel of one layer: the
// output zero point and the clamp bounds, relative to the zero point
// (Lo = qmin − ZeroPoint, Hi = qmax − ZeroPoint, with a fused ReLU or Clip
// already folded into qmin and qmax). All values are in the uint8 domain
// the engine keeps activations in.
type Output struct {
	ZeroPoint int32
	Lo, Hi    int32
}

// NewOutput returns the output stage for zero point zp and the clamp range
// [qmin, qmax] (uint8 domain: 0 ≤ qmin ≤ qmax ≤ 255).
func NewOutput(zp, qmin, qmax int32) Output {
	if qmin < 0 || qmax > 255 || qmin > qmax || zp < 0 || zp > 255 {
		panic(fmt.Sprintf("qkernel: output zero point %d, range [%d, %d] outside uint8", zp, qmin, qmax))
	}
	return Output{ZeroPoint: zp, Lo: qmin - zp, Hi: qmax - zp}
}

// Qmin and Qmax return the absolute clamp bounds.
func (o Output) Qmin() int32 { return o.Lo + o.ZeroPoint }
func (o Output) Qmax() int32 { return o.Hi + o.ZeroPoint }

// Requant is one channel's fixed-point multiplier in the form the kernels
// use: the result of an accumulator acc is
//
//	(int64(acc)·Mult + 2^(Shift−1)) >> Shift    (arithmetic shift)
//
// which is quant.MultiplyByQuantizedMultiplierSingleRounding for the
// quant.Multiplier {M: Mult, Shift: 31 − Shift}: the exact product rounded
// once, ties toward +∞. Shift is in [1, 62].
type Requant struct {
	Mult  int32
	Shift int32
}

// NewRequant converts a quant.Multiplier. An invalid multiplier is a
// programming error (the compiler builds multipliers with
// quant.QuantizeMultiplier) and panics.
func NewRequant(m quant.Multiplier) Requant {
	if !m.Valid() {
		panic(fmt.Sprintf("qkernel: invalid multiplier %v", m))
	}
	return Requant{Mult: m.M, Shift: int32(31 - m.Shift)}
}

// requantize is the output stage of every kernel: acc scaled by r, clamped
// to [o.Lo, o.Hi], plus the zero point. It equals
// quant.Requantize(acc, m, o.ZeroPoint, o.Qmin(), o.Qmax()) for the
// multiplier r was made from (requant_test.go checks this).
func requantize(acc int32, mult int64, shift uint, o *Output) uint8 {
	v := (int64(acc)*mult + int64(1)<<(shift-1)) >> shift
	if v < int64(o.Lo) {
		v = int64(o.Lo)
	}
	if v > int64(o.Hi) {
		v = int64(o.Hi)
	}
	return uint8(int32(v) + o.ZeroPoint)
}

// Requantize is requantize for callers outside the kernels (tests, the
// runtime's table builders).
func Requantize(acc int32, r Requant, o *Output) uint8 {
	return requantize(acc, int64(r.Mult), uint(r.Shift), o)
}

// ApplyLUT writes lut[x[i]] to y[i]: requantizing an 8-bit tensor to other
// parameters (concat inputs, max pooling or flatten whose output
// parameters differ from the input's, elementwise operators) is a lookup
// in a table made at load.
func ApplyLUT(y, x []uint8, lut *[256]uint8) {
	y = y[:len(x)]
	for i, v := range x {
		y[i] = lut[v]
	}
}
