// Package runtime runs int8 ResNet classifiers (and any ONNX model the
// float reference supports) in pure Go: a fixed-point integer engine for
// quantized models, bit-identical on every architecture, at any input size
// from one file.
//
// # Use
//
// Load compiles a model once; the Model is immutable and shared. Each
// goroutine runs it through its own Session, which owns a worker pool and
// one plan per input shape (a bounded LRU):
//
//	m, err := runtime.Load("resnet18_int8.onnx", runtime.Options{Threads: 4})
//	s := m.NewSession()
//	defer s.Close()
//	err = s.RunFloat(pixels, 1, 3, 240, 320, logits) // NCHW float32 in, logits out
//
// Session.Run is the general form (named onnx.Tensor inputs and outputs);
// RunFloat is the classifier fast path, which allocates nothing after the
// first call at a shape. Model.Info describes a model at a size (what
// `edge info` prints): lowered and fallback nodes, parameters, MACs,
// weight and arena bytes, kernels.
//
// # Models
//
// A quantized model is read in ONNX Runtime's QDQ form — DequantizeLinear
// → Conv | Gemm | MatMul | Add | MaxPool | AveragePool | GlobalAveragePool
// | GlobalMaxPool | Concat | Flatten | Reshape | elementwise [→ Relu |
// Clip] → QuantizeLinear, with int8 (or uint8) weights behind per-channel
// or per-tensor DequantizeLinear and int32 or float biases, uint8 or int8
// activations — or in operator form (QLinearConv, QLinearMatMul, and
// com.microsoft's QLinearAdd, QLinearGlobalAveragePool, QLinearConcat).
// Each pattern becomes an integer op. A node that matches none runs on the
// float reference (package runtime/ref) between a dequantization and a
// quantization, and Info lists it. A model without quantized nodes runs
// entirely on the float reference, through the same API.
//
// # Arithmetic
//
// Activations are uint8 in NHWC layout (int8 ones are held shifted by 128:
// same real values, same integer differences, so results are identical);
// weights are int8, packed once at load. Convolutions accumulate u8×s8
// products in int32 and requantize per output channel with TensorFlow
// Lite's fixed-point multiplier applied with a single rounding
// (quant.Requantize), the fused ReLU or Clip being the clamp bounds.
// Residual additions, average pooling (ceil_mode, count_include_pad) and
// global pooling are integer too; max pooling, concatenation and flattening
// change quantization parameters through 256-entry tables. The only float
// operations are the input's QuantizeLinear and the output's
// DequantizeLinear, as ONNX defines them, so amd64, arm64 and arm compute
// the same bits (the golden tests check it under qemu).
//
// Against ONNX Runtime, which requantizes in float, single operators agree
// on ≥ 99.9% of outputs and never by more than one step (ort_test.go);
// through a deep network those rare one-step differences propagate, so
// whole-network logits are compared by top-1 and reported shares.
//
// # Execution
//
// Convolution is XNNPACK's indirect GEMM: per plan, an indirection buffer
// of arena offsets (a zero row of the input zero point stands for padding)
// feeds microkernels from one table (runtime/internal/qkernel), selected
// by Options.Kernels; 1×1 stride-1 convolutions and fully connected layers
// read their rows directly. A plan places every activation in one arena
// with a liveness-based allocator, splits each layer into tasks by output
// pixels and channel blocks, and a persistent worker pool runs them; the
// split never changes the arithmetic of an output, so every thread count
// gives the same result.
package runtime
