// Package convert turns a float ResNet (the project's own export from
// convert/export, or a torch.onnx.export file) into a calibrated int8 model
// in ONNX's QDQ form: post-training static quantization.
//
// # Use
//
//	cal, _ := convert.NewImageCalibration(src, imageprep.FromMetadata(md))
//	q, report, err := convert.Quantize(float, cal, convert.Options{Method: quant.MSE})
//
// Prepare first simplifies the float graph (BatchNorm folded, flatten
// idioms turned into Flatten, Dropout and Identity removed, MatMul into
// Gemm; see Prepare). Calibration then runs the float graph on the float
// reference interpreter (runtime/ref) with every tensor to quantize added
// as an output, as ONNX Runtime's calibrator does, and collects a histogram
// per tensor (quant.Histogram); the Method (quant.MinMax, quant.Percentile,
// quant.Entropy — TensorRT's KL divergence —, quant.MSE) turns it into a
// range and quant.ChooseAsymmetric into a scale and zero point. Two tensors
// always keep their observed range: the graph input (normalized 8-bit
// pixels, whose range is the pixel range: a distribution-based clip of
// Fashion-MNIST's inputs, half of them black background, cuts off the
// bright pixels) and the logits (clipping them saturates the top classes
// to one value and turns top-1 into a tie).
//
// # The quantized graph
//
//   - Weights: int8, symmetric, one scale per output channel, in
//     [−127, 127] (quant.ChooseSymmetricPerChannel), behind a
//     DequantizeLinear with axis = 0 (Conv weights [OC, IC, KH, KW], Gemm
//     weights [N, K] with transB = 1).
//   - Biases: int32 with scale input scale × weight scale[c] and zero
//     point 0 (quant.QuantizeBias), behind DequantizeLinear (axis 0).
//   - Activations: 8 bits, asymmetric, one scale and zero point per
//     tensor. uint8 by default: ONNX Runtime on x86 fuses only
//     uint8-activation QDQ into QLinearConv, QLinearAdd, QGemm (its
//     int8-activation fusions are enabled on ARM builds only). int8 on
//     request (Options.Activations).
//   - Every activation is quantized once, right after the node computing
//     it: QuantizeLinear → DequantizeLinear, and every reader takes the
//     DequantizeLinear's output. The graph input is quantized first; the
//     output logits are quantized and dequantized back to the output's
//     name. Nothing between the two is float: each Conv, Gemm, Add,
//     pooling, Concat and Flatten reads dequantized 8-bit values and its
//     result is quantized again.
//   - A Relu or Clip that is the only reader of a node's output is
//     absorbed: the QuantizeLinear takes the activation's output range
//     (zero point 0 for uint8 after ReLU, −128 for int8). A Relu whose
//     zero point is the bottom of the 8-bit range is dropped from the
//     graph, because quantization then clamps exactly as it would: this is
//     what ONNX Runtime's quantizer writes and what its ReluQuantFusion
//     does before fusing Conv into QLinearConv (a Clip is kept; ONNX
//     Runtime's ClipQuantFusion removes it likewise).
//   - Residual Add gets its own output scale (its inputs keep theirs).
//   - MaxPool, GlobalMaxPool, Flatten and Reshape keep their input's scale
//     and zero point, so that they move bytes (ONNX Runtime then runs them
//     on uint8: NhwcMaxPool, DropQDQ); the inputs of a Concat that only the
//     Concat reads take the Concat's parameters, so that it copies bytes
//     (fastai's AdaptiveConcatPool2d: GlobalMaxPool and GlobalAveragePool
//     of the same tensor). Tensors tied this way share the union of their
//     calibrated ranges. Average pools have their own scale.
//
// The model carries the float model's metadata_props plus KeyQuantMethod,
// KeyQuantActivations, KeyQuantWeights and KeyQuantCalibration, imports
// opset 13 or later (per-axis DequantizeLinear) and passes python3-onnx's
// full checker. ONNX Runtime 1.30 runs such a ResNet entirely as
// QLinearConv, QLinearAdd, NhwcMaxPool, QLinearAveragePool,
// QLinearGlobalAveragePool, QLinearConcat and QGemm; only GlobalMaxPool,
// which it has no 8-bit kernel for, stays float between its
// DequantizeLinear and QuantizeLinear (tested in ort_test.go).
//
// # Report
//
// The Report lists, for each quantized tensor, its scale and zero point,
// the range the method chose and the observed one, and on samples held
// back from calibration: the share of values the 8-bit range clips, the
// SQNR of the int8 model's value against the float model's (end to end,
// the int8 side computed by the fixed-point engine of package runtime, or
// by runtime/ref running the QDQ graph with Options.Engine = EngineRef),
// and the SQNR of that tensor alone quantized. Weights get their SQNR too.
//
// # References
//
//   - ONNX Runtime quantization (QDQ format, calibrate.py, ReluQuantFusion,
//     the QDQ selectors): https://onnxruntime.ai/docs/performance/model-optimizations/quantization.html
//   - Krishnamoorthi, "Quantizing deep convolutional networks for
//     efficient inference: A whitepaper", arXiv:1806.08342
//   - Migacz, "8-bit Inference with TensorRT", GTC 2017
//   - Nagel et al., "A White Paper on Neural Network Quantization",
//     arXiv:2106.08295 (BatchNorm folding, per-channel weights)
package convert
