// Package quant is the quantization arithmetic shared by the converter (on
// the workstation) and the int8 runtime (on the board): fixed-point
// requantization, ONNX's quantize/dequantize semantics, the choice of scales
// and zero points, calibration of activation ranges, and error metrics.
//
// # Affine quantization
//
// A real value r is represented by an 8-bit integer q as r = scale·(q − zp)
// (ONNX QuantizeLinear/DequantizeLinear). Activations use one scale and zero
// point per tensor, uint8 [0, 255] or int8 [−128, 127], over a range that
// always contains 0 (ChooseAsymmetric); weights use one scale per output
// channel, symmetric int8 in [−127, 127] with zero point 0
// (ChooseSymmetricPerChannel, and WeightQmin for why not −128; or with no
// neighbour pair over PairSumLimit, QuantizePairSafe, for x86 kernels that
// add pairs of products in int16); biases are
// int32 with scale inScale·wScale[c] (QuantizeBias). A convolution then
// accumulates Σ (x − zx)·w + bias in int32 and requantizes the accumulator to
// the output scale, real multiplier xScale·wScale[c]/yScale.
//
// # Two requantizations
//
// The float reference runtime and ONNX Runtime requantize in real
// arithmetic (RequantizeReal): the accumulator converted to float32,
// multiplied by the float32 scale RequantScale(x, w, y) (evaluated as ONNX
// Runtime does, x·w/y left to right), rounded half to even.
//
// The board requantizes in integers only (Requantize): the scale becomes a
// Multiplier M·2^(Shift−31) with a 31-bit mantissa when the model is
// compiled (RequantMultiplier, QuantizeMultiplier; a float32 scale is
// represented exactly), and each accumulator is multiplied in 64 bits and
// rounded once. The two agree on 99.999 % of elements at realistic scales
// and are never more than one step apart (measured by the tests against
// ONNX Runtime 1.30 itself).
//
// Integer residual additions follow TensorFlow Lite (AddParams: both inputs
// rescaled with 2^20 headroom, then the output multiplier); average pooling
// divides with RoundingDivide or folds 1/count into AveragePoolMultiplier.
// Each kernel's documentation states its int32 overflow bounds.
//
// # Rounding rules, by name
//
//   - Half to even: ONNX QuantizeLinear and everything in real arithmetic
//     (Quantize, QuantizeU8, QuantizeS8, RequantizeReal, ChooseAsymmetric's
//     zero point, QuantizeBias), as math.RoundToEven.
//   - Half toward +∞, single rounding: Requantize, AddParams.Add, average
//     pooling by multiplier (MultiplyByQuantizedMultiplierSingleRounding;
//     TensorFlow Lite's TFLITE_SINGLE_ROUNDING, XNNPACK's "rndnu", ARM's
//     SQDMULH then SRSHL).
//   - Half toward +∞ of the doubled high product, saturating:
//     SaturatingRoundingDoublingHighMul (gemmlowp; ARM SQRDMULH).
//   - Half away from zero: RoundingDivideByPOT (gemmlowp), RoundingDivide
//     (TensorFlow Lite's average pool), QuantizeMultiplier's mantissa
//     (TensorFlow Lite's TfLiteRound).
//   - Double rounding: MultiplyByQuantizedMultiplier, TensorFlow Lite's and
//     gemmlowp's reference (SRDHM then RoundingDivideByPOT), kept for
//     comparison; it disagrees with the correctly rounded product on about
//     0.25 % of elements at realistic scales, which is why Requantize does
//     not use it.
//
// # Same bits on every architecture
//
// Everything on the board's path is integer arithmetic. Float arithmetic
// happens when a model is converted or compiled (multipliers, scales,
// calibration) and is written so that it rounds identically on amd64, arm64
// and 32-bit arm: Go may fuse x*y + z into one FMA on arm64 but not on amd64,
// so every product that feeds an addition is rounded explicitly
// (float64(x*y) + z), and logarithms use a portable routine because
// math.Log is assembly on amd64 only.
//
// # Calibration
//
// A Histogram collects an activation tensor over the calibration set; a
// Method (MinMax, Percentile, Entropy — TensorRT's KL divergence — or MSE)
// turns it into the range to quantize to. SQNR and ClippedFraction measure
// the outcome.
//
// # References
//
//   - gemmlowp fixed-point arithmetic: https://github.com/google/gemmlowp/blob/master/fixedpoint/fixedpoint.h
//   - TensorFlow Lite QuantizeMultiplier and MultiplyByQuantizedMultiplier:
//     https://github.com/tensorflow/tensorflow/blob/master/tensorflow/lite/kernels/internal/quantization_util.cc
//     and .../internal/common.h; reference Add and average pool:
//     .../internal/reference/add.h, .../internal/reference/integer_ops/pooling.h
//   - TensorFlow Lite 8-bit quantization specification: https://ai.google.dev/edge/litert/models/quantization_spec
//   - ONNX operators QuantizeLinear, DequantizeLinear, QLinearConv,
//     QLinearMatMul: https://github.com/onnx/onnx/blob/main/docs/Operators.md
//   - ONNX Runtime MLAS requantization (MlasRequantizeOutput) and quantizer
//     (compute_scale_zp, calibrate.py): https://github.com/microsoft/onnxruntime
//   - Jacob et al., "Quantization and Training of Neural Networks for
//     Efficient Integer-Arithmetic-Only Inference", arXiv:1712.05877
//   - Migacz, "8-bit Inference with TensorRT", GTC 2017 (entropy calibration)
package quant
