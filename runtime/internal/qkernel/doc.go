// Package qkernel holds the integer kernels of the int8 engine (package
// runtime): quantized convolution as an indirect GEMM, pooling, addition
// and requantization over NHWC uint8 activations.
//
// # Arithmetic
//
// Activations are uint8 with a zero point (int8 activations are held as
// uint8 with the zero point moved by 128: the same real values, the same
// integer differences). Weights are int8 with zero point 0. Products
// accumulate in int32 (wrapping, as ONNX's integer operators); an
// accumulator becomes an output through Requant, TensorFlow Lite's
// fixed-point multiplier applied with one rounding
// (quant.MultiplyByQuantizedMultiplierSingleRounding), then the output zero
// point and the clamp that carries a fused ReLU. No float is involved, so
// every architecture computes the same bits.
//
// # Tiers and the kernel table
//
// Every kernel family has a reference (files *_ref.go: naive loops, the
// oracle, never optimized) and faster versions tested bit-exact against it
// on randomized shapes with ragged edges: *_generic.go is portable Go (what
// runs on GOARM=6); *_amd64.go/.s and *_arm64.go/.s hold SIMD microkernels
// (issue 6) that the purego build tag turns off. Convolution microkernels
// are listed in one table, ConvKernels, named
// conv<input><weight>_<MR>x<NR>c<KR>_<isa> (MR output pixels × NR output
// channels per tile, KR input channels per step); the table drives Select,
// the tests, the benchmarks and the kernel listing of `edge info`.
//
// # Convolution
//
// A convolution is XNNPACK's indirect GEMM (Dukhan, "The Indirect
// Convolution Algorithm", arXiv:1907.02129): for each output pixel, an
// indirection buffer holds KH·KW arena offsets of the input pixels its
// window reads (or of a zero row filled with the input zero point, for
// padding), so no im2col matrix is ever built. A 1×1 stride-1 convolution
// and a fully connected layer read their input rows directly (GEMMFunc).
// Weights are packed once, at load, per kernel, in blocks of NR output
// channels: a header of NR biases (the input zero point's contribution
// −x_zp·Σw folded in), NR multipliers and NR shifts, then the kernel's own
// weight layout, documented beside each kernel.
package qkernel
