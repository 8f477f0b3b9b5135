// Package dataset reads the image sets that calibration and `edge eval`
// use: idx files (MNIST, Fashion-MNIST; gzip-compressed or not) and folders
// of JPEG and PNG images in torchvision's ImageFolder layout (a folder per
// class) or flat. All of them are a Source. Evaluate measures a model's
// top-1 and top-5 accuracy over a labelled Source and its top-1 agreement
// with a reference model.
//
// Every size read from a header is checked against Limits before anything
// is allocated for it, and the buffers grow with the data actually read, so
// a corrupt or hostile file costs at most its own size.
//
// The idx format: http://yann.lecun.com/exdb/mnist/ (section "FILE FORMATS
// FOR THE MNIST DATABASE"); Fashion-MNIST uses the same files:
// https://github.com/zalandoresearch/fashion-mnist.
package dataset
