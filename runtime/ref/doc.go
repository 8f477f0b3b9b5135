// Package ref is the float32 reference interpreter of ONNX models: the
// project's oracle. The fixed-point int8 engine, the exporter and the
// converter are all checked against it, so it implements ONNX's semantics
// exactly, operator version by operator version, and is itself checked
// against ONNX's conformance data and against torch.
//
// # Use
//
// Compile checks a model once (every operator supported at the imported
// opset, attributes well-formed, graph sorted) and folds what is constant;
// Run evaluates it on inputs of any size its graph allows (ResNets take any
// N, H and W), and may be called from several goroutines at once:
//
//	p, err := ref.Compile(model)
//	out, err := p.Run(map[string]*onnx.Tensor{"input": x})
//
// RunNode evaluates a single node; the int8 engine uses it as a fallback
// for operators it has no kernel for.
//
// Errors never panic and name the node (ref: node Conv "conv1": ...); a
// malformed model gets an error, and every allocation is bounded. Compile
// keeps references to the model's initializers: do not modify the model
// while its Program is in use.
//
// # Operators
//
// Default domain, opsets 1 to 21 (every version up to 17 is checked against
// the ONNX 1.12 backend test data; 18 to 21 only widen type lists, except
// AveragePool-19 dilations, implemented, and blocked quantization,
// refused): Add, AveragePool, BatchNormalization, Cast, Clip, Concat,
// Constant, Conv, ConvInteger, DequantizeLinear, Dropout, Flatten, Gather,
// Gemm, GlobalAveragePool, GlobalMaxPool, Identity, MatMul, MatMulInteger,
// MaxPool, Mul, QLinearConv, QLinearMatMul, QuantizeLinear, Relu, Reshape,
// Shape, Slice, Softmax, Squeeze, Unsqueeze. Domain com.microsoft, opset 1,
// defined as ONNX Runtime computes them (docs/ContribOperators.md and the
// portable MLAS kernels): QLinearAdd, QLinearConcat,
// QLinearGlobalAveragePool. Each operator's doc comment (op_*.go) states
// its arithmetic; Supported reports what is implemented.
//
// # Kernels
//
// Convolution of any spatial rank is a packed, blocked GEMM (Goto's
// layout) fed by an im2col packer that never materializes the im2col
// matrix; float32 weights stay packed between runs; work is split over
// GOMAXPROCS goroutines. The micro-kernels form one table
// (gemm_kernels.go): a portable 2x4 Go kernel (gemm_kernel_generic.go, the
// only one on arm, arm64 and with the purego build tag) and, on amd64 with
// AVX2, a 6x16 assembly kernel (gemm_amd64.s), ~18x faster. Every kernel
// sums each element's products in the same order and rounds every product
// before adding it (no fused multiply-add), so results are bit-identical
// across kernels and architectures; gemmRef (gemm_ref.go) is the naive
// oracle they are tested against. Quantized operators accumulate exactly in
// int32.
//
// # Shape folding
//
// torch.onnx.export surrounds flattening with Shape -> Gather -> Unsqueeze
// -> Concat -> Reshape. Compile marks every node whose inputs depend only on
// constants and on the shapes of the graph inputs; the first Run with a set
// of input shapes computes them, and later runs with the same shapes reuse
// the values (the cache keeps 64 sets of shapes).
//
// # References
//
//   - ONNX operators: https://github.com/onnx/onnx/blob/main/docs/Operators.md
//     and docs/Changelog.md; the ONNX reference implementation
//     (onnx/reference/ops) where the text leaves arithmetic open.
//   - ONNX Runtime contrib operators:
//     https://github.com/microsoft/onnxruntime/blob/main/docs/ContribOperators.md
package ref
