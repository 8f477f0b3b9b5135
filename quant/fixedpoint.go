package quant

import (
	"errors"
	"fmt"
	"math"
)

// Range of Multiplier.Shift. A shift below MinShift would push every bit of
// the product out (QuantizeMultiplier returns the zero multiplier instead); a
// shift above MaxShift would need a left shift that overflows any accumulator
// of interest (QuantizeMultiplier reports ErrMultiplierRange).
const (
	MinShift = -31
	MaxShift = 30
)

// ErrMultiplierRange is returned (wrapped) for a real multiplier of 2^30 or
// more, which a Multiplier cannot represent.
var ErrMultiplierRange = errors.New("quant: real multiplier too large for a fixed-point multiplier (must be < 2^30)")

// Multiplier is a non-negative real multiplier in the fixed-point form of
// gemmlowp and TensorFlow Lite: the value M · 2^(Shift−31), with M a Q0.31
// mantissa in [2^30, 2^31) (or M = 0 for the zero multiplier) and Shift in
// [MinShift, MaxShift]. A positive Shift is applied as a left shift before the
// high multiplication, a negative one as a rounding right shift after it.
//
// Multipliers are made once, when a model is compiled, by QuantizeMultiplier
// or one of the helpers built on it (RequantMultiplier, NewAddParams,
// AveragePoolMultiplier); the board only runs MultiplyByQuantizedMultiplier.
type Multiplier struct {
	M     int32
	Shift int
}

// Float64 returns the real value M · 2^(Shift−31) that m represents (exact).
func (m Multiplier) Float64() float64 {
	return math.Ldexp(float64(m.M), m.Shift-31)
}

// Valid reports whether m is the zero multiplier or has M in [2^30, 2^31) and
// Shift in [MinShift, MaxShift], the domain MultiplyByQuantizedMultiplier is
// documented for.
func (m Multiplier) Valid() bool {
	if m.M == 0 {
		return m.Shift == 0
	}
	return m.M >= 1<<30 && m.Shift >= MinShift && m.Shift <= MaxShift
}

// String formats m as "M·2^(Shift-31)" followed by its real value.
func (m Multiplier) String() string {
	return fmt.Sprintf("%d·2^(%d-31) (%.9g)", m.M, m.Shift, m.Float64())
}

// QuantizeMultiplier converts a non-negative real multiplier into a
// Multiplier, as TensorFlow Lite's QuantizeMultiplier does: the mantissa q of
// frexp(real) (q in [0.5, 1)) is scaled by 2^31 and rounded half away from
// zero; when that rounding gives exactly 2^31, the mantissa becomes 2^30 and
// the shift grows by one. The representation error is at most 2^-32 relative
// (half a unit of the 31-bit mantissa).
//
// A multiplier below 2^-32 (shift below MinShift) becomes the zero
// multiplier: for any int32 x, |x · real| < 1/2, so its correctly rounded
// product is 0 anyway. A multiplier that needs a shift above MaxShift (real ≥
// 2^30 after rounding) returns an error wrapping ErrMultiplierRange; a
// negative, NaN or infinite multiplier returns an error.
//
// QuantizeMultiplier is compile-time (workstation or model load) code; its
// float64 arithmetic is exact (frexp, a power-of-two scaling and one
// rounding), so it gives the same result on every architecture.
func QuantizeMultiplier(real float64) (Multiplier, error) {
	if math.IsNaN(real) || math.IsInf(real, 0) || real < 0 {
		return Multiplier{}, fmt.Errorf("quant: real multiplier %v: must be finite and non-negative", real)
	}
	if real == 0 {
		return Multiplier{}, nil
	}
	q, e := math.Frexp(real)
	m := math.Round(math.Ldexp(q, 31)) // exact scaling, then half away from zero
	if m == 1<<31 {
		m = 1 << 30
		e++
	}
	if e < MinShift {
		return Multiplier{}, nil
	}
	if e > MaxShift {
		return Multiplier{}, fmt.Errorf("%w: got %g", ErrMultiplierRange, real)
	}
	return Multiplier{M: int32(m), Shift: e}, nil
}

// SaturatingRoundingDoublingHighMul returns the high 32 bits of 2·a·b,
// rounded to nearest with ties toward +∞: floor((a·b + 2^30) / 2^31). This is
// gemmlowp's SaturatingRoundingDoublingHighMul and ARM's SQRDMULH (and x86's
// PMULHRSW idea widened to 32 bits). The only input whose result overflows is
// a = b = math.MinInt32 (the exact result is 2^31); it saturates to
// math.MaxInt32.
//
// gemmlowp writes the same rounding as (a·b + nudge) / 2^31 with a division
// truncating toward zero and nudge = 2^30 for a·b ≥ 0, 1 − 2^30 otherwise;
// floor((a·b + 2^30) / 2^31) is that value for every input.
func SaturatingRoundingDoublingHighMul(a, b int32) int32 {
	if a == math.MinInt32 && b == math.MinInt32 {
		return math.MaxInt32
	}
	return int32((int64(a)*int64(b) + 1<<30) >> 31)
}

// RoundingDivideByPOT returns x / 2^exponent rounded to nearest with ties
// away from zero (2.5 → 3, −2.5 → −3): gemmlowp's RoundingDivideByPOT, an
// arithmetic shift plus one when the discarded low bits exceed half of 2^exponent
// (or equal half, for a positive x).
//
// exponent must be in [0, 31]; any other value is a programming error and
// panics. The result never overflows.
func RoundingDivideByPOT(x int32, exponent int) int32 {
	if uint(exponent) > 31 {
		panic(fmt.Sprintf("quant: RoundingDivideByPOT exponent %d outside [0, 31]", exponent))
	}
	mask := int32(uint32(1)<<uint(exponent) - 1)
	remainder := x & mask
	threshold := mask >> 1
	if x < 0 {
		threshold++
	}
	r := x >> uint(exponent)
	if remainder > threshold {
		r++
	}
	return r
}

// saturatingShiftLeft returns x · 2^s clamped to the int32 range; s in [0, 30].
func saturatingShiftLeft(x int32, s int) int32 {
	v := int64(x) << uint(s)
	if v > math.MaxInt32 {
		return math.MaxInt32
	}
	if v < math.MinInt32 {
		return math.MinInt32
	}
	return int32(v)
}

// MultiplyByQuantizedMultiplier returns x · m rounded to an integer, as
// TensorFlow Lite's MultiplyByQuantizedMultiplier (its double-rounding
// variant) computes it: x is shifted left by max(Shift, 0), multiplied by M
// with SaturatingRoundingDoublingHighMul, then divided by 2^max(−Shift, 0)
// with RoundingDivideByPOT. Pure integer arithmetic.
//
// Accuracy, for a valid m (see Multiplier.Valid) and e = x · M · 2^(Shift−31)
// the exact product:
//   - Shift ≥ 0 and |x · 2^Shift| < 2^31: the left shift is exact, so the
//     result is e rounded to nearest, ties toward +∞ (one rounding).
//   - Shift < 0: the high multiplication rounds to a multiple of 2^Shift
//     (error ≤ 2^(Shift−1)) and the right shift rounds again (≤ 1/2), so the
//     error is below 1: the result is floor(e) or ceil(e), at most one step
//     from e rounded to nearest. Nothing overflows for any x.
//
// Overflow: TensorFlow Lite leaves an overflowing x · 2^Shift undefined; here
// the left shift saturates, so when |x · 2^Shift| ≥ 2^31 the result keeps the
// sign of x and has magnitude at least 2^30, far outside any 8-bit output
// range.
//
// This is the reference semantics of gemmlowp and TensorFlow Lite, kept for
// comparison and compatibility; Requantize uses the single rounding of
// MultiplyByQuantizedMultiplierSingleRounding, which is as cheap and more
// accurate.
func MultiplyByQuantizedMultiplier(x int32, m Multiplier) int32 {
	if m.Shift > 0 {
		return SaturatingRoundingDoublingHighMul(saturatingShiftLeft(x, m.Shift), m.M)
	}
	return RoundingDivideByPOT(SaturatingRoundingDoublingHighMul(x, m.M), -m.Shift)
}

// MultiplyByQuantizedMultiplierSingleRounding returns x · m rounded once:
// the exact product x · M · 2^(Shift−31) rounded to nearest with ties
// toward +∞, saturated to the int32 range. It is TensorFlow Lite's
// MultiplyByQuantizedMultiplier when built with TFLITE_SINGLE_ROUNDING,
// (x·M + 2^(30−Shift)) >> (31 − Shift) in 64-bit arithmetic, and XNNPACK's
// "rndnu" requantization. Pure integer arithmetic; nothing overflows for any
// x and valid m (|x·M| < 2^62).
//
// On ARM NEON it is two instructions per four lanes for Shift ≤ 0:
// SQDMULH (doubling high half, truncated: floor(x·M / 2^31)) then SRSHL by
// Shift (rounding right shift, ties up), because flooring before a rounding
// shift by k ≥ 0 bits changes nothing: floor((floor(y) + 2^(k−1)) / 2^k) =
// floor((y + 2^(k−1)) / 2^k).
//
// Requantize uses this rounding rather than the double rounding of
// MultiplyByQuantizedMultiplier: with realistic ResNet scales (output scales
// 1e-5 … 0.1, right shifts of 3 to 16 bits) the double rounding of the
// intermediate SRDHM result disagrees with the correctly rounded product for
// about 1 element in 400, single rounding only at exact ties.
func MultiplyByQuantizedMultiplierSingleRounding(x int32, m Multiplier) int32 {
	total := uint(31 - m.Shift) // in [1, 62] for a valid m
	v := (int64(x)*int64(m.M) + int64(1)<<(total-1)) >> total
	if v > math.MaxInt32 {
		return math.MaxInt32
	}
	if v < math.MinInt32 {
		return math.MinInt32
	}
	return int32(v)
}

// Requantize scales an int32 accumulator by m, adds the output zero point and
// clamps to [qmin, qmax]:
// clamp(MultiplyByQuantizedMultiplierSingleRounding(acc, m) + zeroPoint,
// qmin, qmax). This is the output stage of a quantized convolution or matrix
// product on the board. A fused ReLU is a raised qmin (qmin = max(qmin,
// zeroPoint)); ReLU6 also lowers qmax.
//
// The result is the correctly rounded (ties toward +∞) value of acc · m plus
// the zero point, clamped. Compared with ONNX Runtime's real arithmetic
// (RequantizeReal with the float32 scale m was made from), it differs only
// where the exact product is a tie (ONNX rounds ties to even) or lies within
// float32 rounding of one, and then by one step.
//
// The clamp is applied before the zero point is added (to [qmin − zeroPoint,
// qmax − zeroPoint]), so no intermediate overflows for any acc as long as
// qmin, qmax and zeroPoint lie in [−2^30, 2^30] (8- and 16-bit types do).
func Requantize(acc int32, m Multiplier, zeroPoint, qmin, qmax int32) int32 {
	v := MultiplyByQuantizedMultiplierSingleRounding(acc, m)
	if lo := qmin - zeroPoint; v < lo {
		v = lo
	}
	if hi := qmax - zeroPoint; v > hi {
		v = hi
	}
	return v + zeroPoint
}
