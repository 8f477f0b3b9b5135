// Package defaultmodel holds the model built into edge: the fastai book's
// chapter-14 ResNet trained on Fashion-MNIST (testdata/fashion/model.pth),
// exported and converted to int8 by testdata/fashion/make_default_model.sh,
// calibrated on Fashion-MNIST training images. It takes 1-channel 28x28
// images (any size works; 56x56 is measured too) and names 10 clothing
// classes; its metadata carries the labels and the normalization.
// Accuracy: convert/README-snippet.md.
package defaultmodel

import _ "embed"

//go:embed fashion_int8.onnx
var model []byte

// Name is the file the model was built as.
const Name = "fashion_int8.onnx"

// Bytes returns a copy of the int8 ONNX model.
func Bytes() []byte { return append([]byte(nil), model...) }
