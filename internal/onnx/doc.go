// Package onnx is the project's one graph representation and its ONNX
// codec.
//
// Model, Graph, Node, Attribute, Tensor and ValueInfo mirror the messages of
// onnx.proto (https://github.com/onnx/onnx/blob/main/onnx/onnx.proto) with
// everything ResNet models use: initializers of every numeric type in
// raw_data and in the typed fields, attributes of all kinds, opset imports of
// any domain (ai.onnx, com.microsoft), metadata_props and symbolic dims.
// The exporter builds these values, the converter rewrites them and the
// runtime compiles them.
//
// The codec is written on google.golang.org/protobuf/encoding/protowire and
// registers no protobuf messages, so it links beside any other ONNX package.
// Decoding checks every length against the input and every declared size
// against Limits before allocating; a malformed file gives a DecodeError that
// says where in the message tree the problem is. Tensors stored in external
// files are refused (ErrExternalData). Fields the package does not model
// (functions, training info, sparse or sequence types) are kept as encoded
// bytes and written back unchanged.
//
// github.com/owulveryck/onnx-go v0.5.0 is not used as the codec: it cannot
// read INT8 or UINT8 tensors and has no writer. The tests use it as an
// independent decoder of the files this package writes.
package onnx
