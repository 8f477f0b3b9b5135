// Package export turns a ResNet checkpoint (a PyTorch or fastai state dict,
// read by internal/checkpoint) into an ONNX model, without Python: it
// recognizes the architecture from the names and shapes of the tensors,
// folds BatchNorm into the layers around it, and writes the metadata the
// board needs (internal/modelmeta).
//
// # Families
//
// Detection tries each family in [Families]; a family fits when it explains
// every key of the state dict with the right shapes (no key left over, none
// missing), so a dict matches at most one. Strides, paddings and pooling are
// not in a state dict: they come from each library's source.
//
//   - resnet: torchvision's ResNet (conv1 7x7/2 pad 3, bn1, relu, maxpool
//     3/2 pad 1, layer1…4, avgpool, fc). BasicBlock conv1 3x3 (the stride),
//     conv2 3x3; Bottleneck conv1 1x1, conv2 3x3 (the stride, the groups),
//     conv3 1x1 (torchvision v1.5); downsample = Sequential(conv 1x1 with
//     the stride, bn). The first block of layer2…4 has stride 2. Names:
//     resnet18/34/50/101/152 by depth (2 + convolutions on the residual
//     paths), resnext<depth>_<groups>x<width per group>d when the 3x3 convs
//     are grouped, wide_resnet<depth>_<k> when the bottleneck is k times
//     wider. timm's ResNet has the same names; its deep stem (conv1 =
//     Sequential(conv 3x3/2, bn, act, conv, bn, act, conv) then bn1) and
//     average-pool shortcuts (downsample = Sequential(AvgPool2d(2, 2,
//     ceil_mode=True, count_include_pad=False) or Identity, conv 1x1, bn))
//     give the c, d, s, e and t variants: resnet50d, resnext50d_32x4d, ….
//   - vision_learner: fastai's vision_learner/cnn_learner model,
//     Sequential(body, head). The body is create_body's cut of a
//     torchvision ResNet (conv1, bn1, relu, maxpool, layer1…4 as 0.0…0.7)
//     or of an XResNet (stem, maxpool, stages as 0.0…0.7). The head is
//     create_head's Sequential under 1.*: AdaptiveConcatPool2d (adaptive max
//     pool and adaptive average pool, concatenated in that order), Flatten,
//     then LinBnDrop groups (BatchNorm1d, Dropout, Linear without bias when
//     there is a BatchNorm, ReLU after every Linear but the last), and
//     optionally a final BatchNorm1d. Concat or plain average pooling is told
//     by the width of the first layer; a ReLU by the gap in the indices after
//     a Linear.
//   - xresnet: fastai's XResNet (fastai.vision.models.xresnet), a
//     Sequential: three ConvLayers (stem 32-32-64, the first with stride 2),
//     MaxPool(3, 2, 1), stages of ResBlock, AdaptiveAvgPool, Flatten,
//     Dropout, Linear. A ConvLayer is Sequential(Conv2d(bias=False,
//     padding=ks//2), BatchNorm2d[, ReLU]). ResBlock has convpath (two
//     ConvLayers, or three for the bottleneck; the stride on the first
//     resp. second), idpath (AvgPool2d(2, ceil_mode=True) when strided,
//     then a 1x1 ConvLayer without activation when the channels change) and
//     act. As in fastai, the first block of every stage but the first has
//     stride 2.
//   - book: the ResNet built in the fastai book's chapter 14, a Sequential
//     of ConvLayers (the stem), an optional MaxPool2d(3, 2, 1), stages of
//     ResBlock (convs, idconv, pool: relu(convs(x) + idconv(pool(x))) with
//     pool = AvgPool2d(2, ceil_mode=True)), AdaptiveAvgPool2d, Flatten,
//     Linear, with any number of input channels.
//
// # The book family's strides
//
// The book's model builds its strides in code, so they follow a convention
// here, which fits both the book's ResNet and the Fashion-MNIST model of
// testdata/fashion:
//
//   - A max pool after the stem shows as an index without parameters
//     between the stem's ConvLayers and the first stage. With it (the
//     book's _resnet_stem), the first stem convolution has stride 2, the
//     others 1, and the first stage is not strided. Without it, every stem
//     convolution has stride 1.
//   - Otherwise a ResBlock is strided (stride 2 on its first convolution
//     larger than 1x1, and the 2x2 average pool on its shortcut) exactly
//     when it changes the channel count, i.e. has an idconv.
//
// When a model was built otherwise, --arch overrides the convention:
// "book:stem=2-1-1,stages=1-2-2-2" gives the stride of each stem
// convolution and of the first block of each stage.
//
// # Pooling semantics
//
// torch's AvgPool2d(2, ceil_mode=True) with padding 0 divides a partial
// window at the bottom or right edge by the number of elements inside the
// input, whatever count_include_pad says (torch clips the window to the
// padded input, and the padding is 0). The exporter writes AveragePool with
// ceil_mode=1 and count_include_pad=0, which ONNX defines the same way; the
// tests check it against torch on odd input sizes.
//
// # BatchNorm folding
//
// By default every BatchNorm2d is folded into the convolution before it
// (W' = W·γ/√(var+ε), b' = (b − mean)·γ/√(var+ε) + β, computed in float64)
// and every BatchNorm1d of a fastai head into the adjacent Linear: one
// that comes before a Linear (through Dropout) into that Linear's columns,
// one that comes right after a Linear without activation into its rows.
// Both are exact rewrites of affine maps; a BatchNorm1d after a ReLU folds
// into the next Linear, never backward through the ReLU. ε is torch's
// default 1e-5 (state dicts do not store it). Options.KeepBN writes
// BatchNormalization nodes instead.
//
// # Graph
//
// Input "input" float32 [N, C, H, W] and output "logits" [N, classes] with
// symbolic N, H and W: adaptive pooling becomes GlobalAveragePool (and
// GlobalMaxPool), so one file runs at any input size. Only standard ONNX
// operators: Conv, Relu, MaxPool, AveragePool, Add, GlobalAveragePool,
// GlobalMaxPool, Concat, Flatten, Gemm, and BatchNormalization with
// KeepBN. Opset 13 by default (13 to 17), IR version 8. Nodes, their output
// values and the initializers take the checkpoint's module paths
// (layer1.0.conv1, layer1.0.conv1.weight, …).
//
// # Not supported
//
// Squeeze-excitation, attention, anti-aliasing or dilated variants (timm's
// output_stride < 32, torchvision's replace_stride_with_dilation), models
// with a y_range or sigmoid head, fastai heads with lin_first=True,
// timm's avg/max pooling modes other than 'avg', even or non-square kernels,
// BatchNorm without running statistics, and whole pickled models
// (torch.save(model), Learner.export) — those need their classes, which a
// checkpoint reader must not run.
package export
