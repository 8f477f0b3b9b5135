// Package defaultmodel holds the model built into edge: the fastai book's
// chapter-14 ResNet trained on Fashion-MNIST (testdata/fashion/model.pth),
// exported and converted to int8 by testdata/fashion/make_default_model.sh,
// calibrated on Fashion-MNIST training images at 28 and 56 pixels, with
// pair-safe 8-bit weights (ONNX Runtime computes it exactly too). It takes
// 1-channel 28x28 images (any size works; 56x56 is measured too) and names
// 10 clothing classes; its metadata carries the labels and the
// normalization. Accuracy (the README's Fashion-MNIST results): 93.47 %
// top-1 at 28x28 and 88.64 % at 56x56 on the 10,000 test images, the same
// top-1 as the float model on 99.69 % and 99.06 % of them.
package defaultmodel

import _ "embed"

//go:embed fashion_int8.onnx
var model []byte

// Name is the file the model was built as.
const Name = "fashion_int8.onnx"

// Bytes returns a copy of the int8 ONNX model.
func Bytes() []byte { return append([]byte(nil), model...) }
