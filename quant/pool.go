package quant

import (
	"fmt"
	"math"
)

// MaxPoolCount is the largest number of elements an integer average pool may
// sum: each term x − zeroPoint of an 8-bit tensor is at most 255 in
// magnitude, and 255 · 2^23 < 2^31, so an int32 sum of up to 2^23 terms
// cannot overflow (2^24 terms could: 255 · 2^24 > 2^31). 2^23 is a 2896×2896
// feature map.
const MaxPoolCount = 1 << 23

// RoundingDivide returns x / n rounded to nearest with ties away from zero,
// the rounding of TensorFlow Lite's reference integer average pool
// ((acc ± n/2) / n). It is written without the addition, so it cannot
// overflow for any x. n must be positive; otherwise it panics.
//
// An average pool whose input and output share scale and zero point is
// zp + RoundingDivide(Σ(x − zp), n), where n is the number of elements in the
// window (which varies at padded edges when padding is not counted).
func RoundingDivide(x, n int32) int32 {
	if n <= 0 {
		panic(fmt.Sprintf("quant: RoundingDivide by %d", n))
	}
	q, r := x/n, x%n // truncated toward zero; r has the sign of x
	if r >= 0 {
		if r >= n-r {
			q++
		}
	} else if -r >= n+r {
		q--
	}
	return q
}

// AveragePoolMultiplier returns the multiplier that takes the int32 sum
// Σ(x − inZero) of count elements to the output scale, with the division by
// count folded in: real = inScale / (outScale · count). The output element is
// then Requantize(sum, m, outZero, qmin, qmax), one rounding in all. This
// serves GlobalAveragePool (count = H·W) and AveragePool with different input
// and output scales. count must be in [1, MaxPoolCount] (see there for the
// overflow bound of the sum).
//
// The float64 arithmetic is one exact product (24 × 24 bits) and one
// division: the same on every architecture.
//
// ONNX Runtime's QLinearGlobalAveragePool differs: it divides the sum by the
// count with truncation toward zero before requantizing in float, so its
// results can differ from this correctly rounded average (by up to
// inScale/outScale steps, toward the input zero point).
func AveragePoolMultiplier(inScale, outScale float32, count int) (Multiplier, error) {
	if count < 1 || count > MaxPoolCount {
		return Multiplier{}, fmt.Errorf("quant: average pool over %d elements: must be in [1, %d]", count, MaxPoolCount)
	}
	if !(inScale > 0) || !(outScale > 0) || math.IsInf(float64(inScale), 0) || math.IsInf(float64(outScale), 0) {
		return Multiplier{}, fmt.Errorf("quant: average pool scales %g, %g: must be positive and finite", inScale, outScale)
	}
	return QuantizeMultiplier(float64(inScale) / (float64(outScale) * float64(count)))
}
