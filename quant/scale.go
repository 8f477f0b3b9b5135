package quant

import (
	"fmt"
	"math"
)

// Symmetric int8 weight range. −128 is left out so that the range is
// symmetric (w and −w are both representable, zero sits in the middle) and so
// that a product of an int8 activation and a weight is at most 128·127 =
// 16256 in magnitude: two such products sum to at most 32512 and fit the
// int16 lanes of the widening multiply-accumulate kernels (SMULL + SMLAL,
// then SADALP) that Cortex-A53/A72 boards (Pi 3, Pi 4, Zero 2 W) use, where
// (−128)·(−128)·2 = 32768 would overflow. TensorFlow Lite's int8
// quantization specification fixes the same [−127, 127] weight range.
//
// It does not protect x86's VPMADDUBSW (u8 × s8 pairs summed into int16 with
// saturation): 2·255·127 = 64770 overflows int16 either way, which is why
// kernels built on it need 7-bit activations (ONNX Runtime's reduce_range)
// or widen before adding; VPDPBUSD (VNNI) and SDOT accumulate into int32 and
// need neither.
const (
	WeightQmin = -127
	WeightQmax = 127
)

// ChooseAsymmetric returns the scale and zero point that map the real range
// [min, max] onto the whole of qt (uint8 [0, 255] or int8 [−128, 127]),
// following ONNX Runtime's quantizer (compute_scale_zp) and ONNX
// DynamicQuantizeLinear:
//
//   - the range is widened to include 0 (min ← min(min, 0), max ← max(max,
//     0)), so that zero, and with it padding and ReLU, is exact;
//   - scale = float32((max − min) / (qmax − qmin)), the difference taken in
//     float32 and the division in float64 (the float32 result is the
//     correctly rounded quotient, as a float32 division would give);
//   - zero point = qmin − min / scale rounded half to even, computed in
//     float64 with the float64 scale before its rounding to float32 (as ONNX
//     Runtime's compute_scale_zp does; [−1, 1] gets 128, the middle, where
//     the float32 scale would give 127), clamped to [qmin, qmax];
//   - a degenerate range (max − min below the smallest normal float32, e.g.
//     an all-zero tensor) gets scale 1 and zero point 0, as in ONNX Runtime.
//
// min and max must be finite with min ≤ max; otherwise, or if max − min
// overflows float32, an error is returned.
func ChooseAsymmetric(min, max float32, qt QType) (scale float32, zp int32, err error) {
	if math.IsNaN(float64(min)) || math.IsNaN(float64(max)) || math.IsInf(float64(min), 0) || math.IsInf(float64(max), 0) || min > max {
		return 0, 0, fmt.Errorf("quant: range [%g, %g]: must be finite with min <= max", min, max)
	}
	if qt != Uint8 && qt != Int8 {
		return 0, 0, fmt.Errorf("quant: invalid QType %d", uint8(qt))
	}
	if min > 0 {
		min = 0
	}
	if max < 0 {
		max = 0
	}
	qmin, qmax := qt.Min(), qt.Max()
	dr := max - min // float32, as ONNX Runtime and DynamicQuantizeLinear take it
	if math.IsInf(float64(dr), 0) {
		return 0, 0, fmt.Errorf("quant: range [%g, %g]: width overflows float32", min, max)
	}
	s64 := float64(dr) / float64(qmax-qmin)
	if s64 < 0x1p-126 { // smallest normal float32
		return 1, 0, nil
	}
	scale = float32(s64)
	z := math.RoundToEven(float64(qmin) - float64(min)/s64)
	zp = int32(math.Min(math.Max(z, float64(qmin)), float64(qmax)))
	return scale, zp, nil
}

// ChooseSymmetricPerChannel returns one int8 weight scale per output channel
// for the symmetric range [−127, 127] with zero point 0: scale[c] =
// float32(absmax_c / 127), computed in float64 (the same value ONNX Runtime's
// quantizer gets from (2·absmax) / 254). A channel whose weights are all zero
// gets scale 1, as in ONNX Runtime. weights holds channels blocks of equal
// length, channel-major (ONNX Conv OIHW, Gemm/MatMul weights transposed to
// [out, in]); len(weights) must be a positive multiple of channels and every
// weight finite.
func ChooseSymmetricPerChannel(weights []float32, channels int) ([]float32, error) {
	if channels <= 0 || len(weights) == 0 || len(weights)%channels != 0 {
		return nil, fmt.Errorf("quant: %d weights do not split into %d channels", len(weights), channels)
	}
	per := len(weights) / channels
	scales := make([]float32, channels)
	for c := range channels {
		var absmax float32
		for i, w := range weights[c*per : (c+1)*per] {
			if math.IsNaN(float64(w)) || math.IsInf(float64(w), 0) {
				return nil, fmt.Errorf("quant: weight %d of channel %d is %g", i, c, w)
			}
			absmax = max(absmax, float32(math.Abs(float64(w))))
		}
		s := float64(absmax) / WeightQmax
		if s < 0x1p-126 {
			scales[c] = 1
			continue
		}
		scales[c] = float32(s)
	}
	return scales, nil
}

// QuantizeSymmetricPerChannel quantizes channel-major weights with one scale
// per channel (len(scales) channels): round(w / scale[c]) half to even, the
// division in float32 (ONNX QuantizeLinear with zero point 0), clamped to
// [WeightQmin, WeightQmax].
func QuantizeSymmetricPerChannel(weights []float32, scales []float32) ([]int8, error) {
	channels := len(scales)
	if channels == 0 || len(weights)%channels != 0 {
		return nil, fmt.Errorf("quant: %d weights do not split into %d channels", len(weights), channels)
	}
	for c, s := range scales {
		if !(s > 0) || math.IsInf(float64(s), 0) {
			return nil, fmt.Errorf("quant: scale %g of channel %d: must be positive and finite", s, c)
		}
	}
	per := len(weights) / channels
	q := make([]int8, len(weights))
	for i, w := range weights {
		q[i] = int8(roundClamp(w/scales[i/per], 0, WeightQmin, WeightQmax))
	}
	return q, nil
}

// QuantizeBias quantizes a convolution or Gemm bias to int32 with zero point
// 0 and scale inScale · wScale[c] (the float32 product, as ONNX Runtime's
// quantizer forms it and as the QDQ model stores it): round(b / scale) half
// to even with the division in float32, saturated to the int32 range.
// wScales holds one scale (per-tensor weights) or len(bias) scales.
//
// It returns the quantized bias and how many values saturated; a bias that
// saturates is a calibration problem (a tiny input or weight scale) that the
// caller should report. The error is for invalid arguments.
func QuantizeBias(bias []float32, inScale float32, wScales []float32) (q []int32, saturated int, err error) {
	if len(wScales) != 1 && len(wScales) != len(bias) {
		return nil, 0, fmt.Errorf("quant: %d weight scales for a bias of %d values (want 1 or %d)", len(wScales), len(bias), len(bias))
	}
	q = make([]int32, len(bias))
	for i, b := range bias {
		ws := wScales[0]
		if len(wScales) > 1 {
			ws = wScales[i]
		}
		s := inScale * ws
		if !(s > 0) || math.IsInf(float64(s), 0) {
			return nil, 0, fmt.Errorf("quant: bias %d: scale %g·%g = %g is not positive and finite", i, inScale, ws, s)
		}
		if math.IsNaN(float64(b)) || math.IsInf(float64(b), 0) {
			return nil, 0, fmt.Errorf("quant: bias %d is %g", i, b)
		}
		v := math.RoundToEven(float64(b / s))
		switch {
		case v > math.MaxInt32:
			q[i] = math.MaxInt32
			saturated++
		case v < math.MinInt32:
			q[i] = math.MinInt32
			saturated++
		default:
			q[i] = int32(v)
		}
	}
	return q, saturated, nil
}
