// Package imageprep decodes images and turns them into the input tensor a
// model expects, as its metadata (internal/modelmeta) describes: channels,
// size and mean/std normalization. Calibration (convert), `edge classify`,
// `edge camera` and `edge eval` share it, so that a model sees the same
// preprocessing everywhere.
//
// # Decoding
//
// Decode accepts JPEG and PNG. It reads the header first and refuses an
// image whose claimed size exceeds Limits before any pixel is allocated.
//
// # Preprocessing
//
// Spec.Tensor converts channels (grey repeated for colour models; colour
// reduced to ITU-R BT.601 luma, PIL's integer formula, for grey models),
// resizes with github.com/nfnt/resize (bilinear by default) and normalizes
// each 8-bit value v to (v/255 − mean)/std in float32. See Spec for the
// exact arithmetic.
package imageprep
