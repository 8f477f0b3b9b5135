#!/usr/bin/python3
"""Fixtures of runtime/ref: torchvision ResNets and single operators, with
torch's outputs.

Run with Debian's torch (/usr/bin/python3: python3-torch 1.13,
python3-torchvision 0.14, python3-onnx 1.12); make_fixtures.sh runs it when
gen/ is missing or older than the scripts. Writes gen/ (git-ignored):

  gen/models/<name>/model.onnx        torch.onnx.export, opset 13, dynamic N,
                                      H, W on the input and N on the output
  gen/models/<name>/<case>/input_0.pb float32 N(0, 1) image [N, 3, H, W]
  gen/models/<name>/<case>/output_0.pb torch's logits for it (float32 [N, 1000])
  gen/ops/<case>/model.onnx           one ONNX node (onnx.helper)
  gen/ops/<case>/test_data_set_0/     input_<k>.pb, output_<k>.pb computed
                                      with torch.nn.functional (never with
                                      ONNX's own reference)
  gen/manifest.json                   what was written (written last)

Models (random initialisation, seeded): every BatchNorm has random weight
and bias, and running statistics set from a forward pass in training mode on
random data and then perturbed, so no BatchNorm is an identity and the
activations stay in a sane range. Variants:

  resnet18       torch.onnx.export defaults (eval mode: BatchNorm folded into
                 the convolutions by torch's exporter)
  resnet18_bn    exported with training=TrainingMode.PRESERVE on the eval
                 model: BatchNormalization nodes kept
  resnet18_view  the classifier flattens with x.view(x.size(0), -1), which
                 torch exports as Shape -> Gather -> Unsqueeze -> Concat ->
                 Reshape (the shape-folding path of runtime/ref)
  resnet50       torch.onnx.export defaults

Cases: 224x224, 240x320 and 97x131 at batch 1, and 64x80 at batch 2.
"""

import json
import os
import sys

import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
GEN = os.path.join(HERE, "gen")

torch.set_num_threads(2)

CASES = [("224x224", 1, 224, 224), ("240x320", 1, 240, 320),
         ("97x131", 1, 97, 131), ("b2_64x80", 2, 64, 80)]


def write_tensor(path, array, name):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    t = numpy_helper.from_array(np.ascontiguousarray(array), name)
    with open(path, "wb") as f:
        f.write(t.SerializeToString())


def randomize_batchnorm(model, gen):
    """Real running statistics from a training-mode pass, then perturbed;
    random affine parameters."""
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.reset_running_stats()
            m.momentum = None  # cumulative average
    model.train()
    with torch.no_grad():
        for _ in range(2):
            model(torch.randn(4, 3, 96, 96, generator=gen))
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                c = m.num_features
                std = m.running_var.sqrt()
                m.running_mean += 0.1 * std * torch.randn(c, generator=gen)
                m.running_var *= 0.5 + 1.5 * torch.rand(c, generator=gen)
                m.weight.copy_(0.5 + torch.rand(c, generator=gen))
                m.bias.copy_(0.2 * torch.randn(c, generator=gen))
    model.eval()


class ViewFlatten(nn.Module):
    """A ResNet whose classifier input is flattened with view(size(0), -1)."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x):
        n = self.net
        x = n.maxpool(n.relu(n.bn1(n.conv1(x))))
        x = n.layer4(n.layer3(n.layer2(n.layer1(x))))
        x = n.avgpool(x)
        x = x.view(x.size(0), -1)
        return n.fc(x)


def export_model(name, model, training, gen):
    d = os.path.join(GEN, "models", name)
    os.makedirs(d, exist_ok=True)
    path = os.path.join(d, "model.onnx")
    torch.onnx.export(
        model, torch.randn(1, 3, 224, 224), path,
        opset_version=13, input_names=["input"], output_names=["logits"],
        dynamic_axes={"input": {0: "N", 2: "H", 3: "W"}, "logits": {0: "N"}},
        training=training, do_constant_folding=True)
    ops = sorted({n.op_type for n in onnx.load(path).graph.node})
    cases = []
    with torch.no_grad():
        for case, n, h, w in CASES:
            x = torch.randn(n, 3, h, w, generator=gen)
            y = model(x)
            write_tensor(os.path.join(d, case, "input_0.pb"), x.numpy(), "input")
            write_tensor(os.path.join(d, case, "output_0.pb"), y.numpy(), "logits")
            cases.append({"case": case, "shape": [n, 3, h, w],
                          "max_abs_logit": float(y.abs().max())})
    print(f"{name}: ops {ops}", file=sys.stderr)
    return {"ops": ops, "cases": cases}


def models():
    out = {}
    gen = torch.Generator().manual_seed(20240607)
    torch.manual_seed(1)
    r18 = torchvision.models.resnet18(weights=None)
    randomize_batchnorm(r18, gen)
    out["resnet18"] = export_model("resnet18", r18, torch.onnx.TrainingMode.EVAL, gen)
    out["resnet18_bn"] = export_model("resnet18_bn", r18, torch.onnx.TrainingMode.PRESERVE, gen)
    out["resnet18_view"] = export_model("resnet18_view", ViewFlatten(r18).eval(), torch.onnx.TrainingMode.EVAL, gen)
    torch.manual_seed(2)
    r50 = torchvision.models.resnet50(weights=None)
    randomize_batchnorm(r50, gen)
    out["resnet50"] = export_model("resnet50", r50, torch.onnx.TrainingMode.EVAL, gen)
    return out


# ---------------------------------------------------------------- single operators

ONNX_TYPE = {np.dtype(np.float32): TensorProto.FLOAT, np.dtype(np.int64): TensorProto.INT64}


def op_case(cases, name, node, inputs, outputs, opset, doc):
    """inputs, outputs: lists of (name, numpy array). python3-onnx 1.12 knows
    opsets up to 17: newer models are not checked."""
    d = os.path.join(GEN, "ops", name)
    graph = helper.make_graph(
        [node], name,
        [helper.make_tensor_value_info(n, ONNX_TYPE[a.dtype], a.shape) for n, a in inputs],
        [helper.make_tensor_value_info(n, ONNX_TYPE[a.dtype], a.shape) for n, a in outputs])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)],
                              producer_name="make_fixtures.py")
    model.ir_version = 8
    if opset <= 17:
        onnx.checker.check_model(model)
    os.makedirs(d, exist_ok=True)
    onnx.save(model, os.path.join(d, "model.onnx"))
    for k, (n, a) in enumerate(inputs):
        write_tensor(os.path.join(d, "test_data_set_0", f"input_{k}.pb"), a, n)
    for k, (n, a) in enumerate(outputs):
        write_tensor(os.path.join(d, "test_data_set_0", f"output_{k}.pb"), a, n)
    cases.append({"case": name, "doc": doc})


def ops():
    g = torch.Generator().manual_seed(7)

    def rnd(*shape):
        return torch.randn(*shape, generator=g)

    cases = []
    node = helper.make_node

    # MaxPool, ceil_mode with pads (the last window starts in the input).
    x = rnd(1, 2, 10, 11)
    y = F.max_pool2d(x, 3, 2, 1, ceil_mode=True)
    op_case(cases, "maxpool_ceil_pads",
            node("MaxPool", ["x"], ["y"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1], ceil_mode=1),
            [("x", x.numpy())], [("y", y.numpy())], 12, "F.max_pool2d(x, 3, 2, 1, ceil_mode=True)")

    # MaxPool, ceil_mode with pads and dilation.
    x = rnd(1, 2, 12, 9)
    y = F.max_pool2d(x, 3, 2, 1, dilation=2, ceil_mode=True)
    op_case(cases, "maxpool_ceil_dilated",
            node("MaxPool", ["x"], ["y"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1],
                 dilations=[2, 2], ceil_mode=1),
            [("x", x.numpy())], [("y", y.numpy())], 12, "F.max_pool2d(x, 3, 2, 1, dilation=2, ceil_mode=True)")

    # MaxPool with Indices and pads: torch's per-plane h*W+w plus the plane offset.
    x = rnd(2, 3, 7, 8)
    y, idx = F.max_pool2d(x, 3, 2, 1, return_indices=True)
    plane = torch.arange(6).reshape(2, 3, 1, 1) * (7 * 8)
    op_case(cases, "maxpool_indices_pads",
            node("MaxPool", ["x"], ["y", "indices"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]),
            [("x", x.numpy())], [("y", y.numpy()), ("indices", (idx + plane).numpy())], 12,
            "F.max_pool2d(x, 3, 2, 1, return_indices=True), index + plane*H*W")

    # AveragePool, ceil_mode with symmetric pads, with and without the pads counted.
    x = rnd(1, 2, 9, 10)
    for incl in (1, 0):
        y = F.avg_pool2d(x, 3, 2, 1, ceil_mode=True, count_include_pad=bool(incl))
        op_case(cases, f"avgpool_ceil_pads_include{incl}",
                node("AveragePool", ["x"], ["y"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1],
                     ceil_mode=1, count_include_pad=incl),
                [("x", x.numpy())], [("y", y.numpy())], 11,
                f"F.avg_pool2d(x, 3, 2, 1, ceil_mode=True, count_include_pad={bool(incl)})")

    # AveragePool as fastai's AvgPool2d(2, ceil_mode=True) (torch counts pads by default; there are none).
    x = rnd(1, 3, 7, 9)
    y = F.avg_pool2d(x, 2, ceil_mode=True)
    op_case(cases, "avgpool_fastai_ceil",
            node("AveragePool", ["x"], ["y"], kernel_shape=[2, 2], strides=[2, 2], ceil_mode=1, count_include_pad=1),
            [("x", x.numpy())], [("y", y.numpy())], 11, "F.avg_pool2d(x, 2, ceil_mode=True)")

    # AveragePool, asymmetric pads (top 0, left 1, bottom 1, right 0) and
    # ceil_mode, sizes chosen so that ceil_mode adds a last window on both axes
    # and that window starts inside the input: torch pools the explicitly
    # zero-padded input (ceil_mode windows past it are clipped); excluding pads
    # divides the window sum by the window count of ones.
    x = rnd(1, 2, 9, 11)
    xp = F.pad(x, (1, 0, 0, 1))
    onesp = F.pad(torch.ones_like(x), (1, 0, 0, 1))
    incl = F.avg_pool2d(xp, 3, 2, ceil_mode=True, count_include_pad=True)
    excl = F.avg_pool2d(xp, 3, 2, ceil_mode=True) / F.avg_pool2d(onesp, 3, 2, ceil_mode=True)
    for flag, y in ((1, incl), (0, excl)):
        op_case(cases, f"avgpool_asym_pads_include{flag}",
                node("AveragePool", ["x"], ["y"], kernel_shape=[3, 3], strides=[2, 2], pads=[0, 1, 1, 0],
                     ceil_mode=1, count_include_pad=flag),
                [("x", x.numpy())], [("y", y.numpy())], 11,
                "F.avg_pool2d of F.pad(x, (1, 0, 0, 1)), ceil_mode; exclude: divided by the pooled ones")

    # AveragePool-19 with dilations (torch has no dilated avg_pool: unfold and mean).
    x = rnd(1, 2, 9, 10)
    cols = F.unfold(F.pad(x, (1, 1, 1, 1)), 3, dilation=2, stride=2)  # zero pads counted
    y = cols.reshape(1, 2, 9, -1).mean(2).reshape(1, 2, (11 - 5) // 2 + 1, (12 - 5) // 2 + 1)
    op_case(cases, "avgpool_dilated_include1",
            node("AveragePool", ["x"], ["y"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1],
                 dilations=[2, 2], count_include_pad=1),
            [("x", x.numpy())], [("y", y.numpy())], 19, "F.unfold(F.pad(x), 3, dilation=2, stride=2).mean")

    # Conv: groups, dilations, strides, pads, bias.
    x, w, b = rnd(1, 4, 11, 13), rnd(6, 2, 3, 3), rnd(6)
    y = F.conv2d(x, w, b, stride=(2, 1), padding=(1, 2), dilation=(2, 3), groups=2)
    op_case(cases, "conv_group_dilated",
            node("Conv", ["x", "w", "b"], ["y"], kernel_shape=[3, 3], strides=[2, 1], pads=[1, 2, 1, 2],
                 dilations=[2, 3], group=2),
            [("x", x.numpy()), ("w", w.numpy()), ("b", b.numpy())], [("y", y.numpy())], 11,
            "F.conv2d(stride=(2, 1), padding=(1, 2), dilation=(2, 3), groups=2)")

    # Conv with asymmetric pads (top 0, left 1, bottom 2, right 1).
    x, w, b = rnd(2, 3, 10, 9), rnd(5, 3, 3, 3), rnd(5)
    y = F.conv2d(F.pad(x, (1, 1, 0, 2)), w, b, stride=2)
    op_case(cases, "conv_asym_pads",
            node("Conv", ["x", "w", "b"], ["y"], strides=[2, 2], pads=[0, 1, 2, 1]),
            [("x", x.numpy()), ("w", w.numpy()), ("b", b.numpy())], [("y", y.numpy())], 11,
            "F.conv2d(F.pad(x, (1, 1, 0, 2)), stride=2)")

    # Conv auto_pad SAME_UPPER / SAME_LOWER with an odd total pad along H.
    x, w = rnd(1, 3, 11, 9), rnd(4, 3, 4, 3)
    for mode, hp in (("SAME_UPPER", (1, 2)), ("SAME_LOWER", (2, 1))):
        y = F.conv2d(F.pad(x, (1, 1) + hp), w, stride=2)
        op_case(cases, f"conv_{mode.lower()}",
                node("Conv", ["x", "w"], ["y"], strides=[2, 2], auto_pad=mode),
                [("x", x.numpy()), ("w", w.numpy())], [("y", y.numpy())], 11,
                f"F.conv2d(F.pad(x, (1, 1) + {hp}), stride=2)")

    # Conv1d, grouped, dilated, strided, asymmetric pads.
    x, w, b = rnd(2, 4, 20), rnd(8, 2, 3), rnd(8)
    y = F.conv1d(F.pad(x, (2, 1)), w, b, stride=3, dilation=2, groups=2)
    op_case(cases, "conv1d_group_dilated",
            node("Conv", ["x", "w", "b"], ["y"], strides=[3], dilations=[2], pads=[2, 1], group=2),
            [("x", x.numpy()), ("w", w.numpy()), ("b", b.numpy())], [("y", y.numpy())], 11,
            "F.conv1d(F.pad(x, (2, 1)), stride=3, dilation=2, groups=2)")

    # Conv3d, grouped, dilated, strided, asymmetric pads.
    x, w, b = rnd(1, 4, 5, 6, 7), rnd(4, 2, 2, 3, 2), rnd(4)
    pads = [1, 0, 1, 0, 1, 1]  # d, h, w begins; d, h, w ends
    y = F.conv3d(F.pad(x, (1, 1, 0, 1, 1, 0)), w, b, stride=(1, 2, 1), dilation=(2, 1, 1), groups=2)
    op_case(cases, "conv3d_group_dilated",
            node("Conv", ["x", "w", "b"], ["y"], strides=[1, 2, 1], dilations=[2, 1, 1], pads=pads, group=2),
            [("x", x.numpy()), ("w", w.numpy()), ("b", b.numpy())], [("y", y.numpy())], 11,
            "F.conv3d(F.pad(x, (1, 1, 0, 1, 1, 0)), stride=(1, 2, 1), dilation=(2, 1, 1), groups=2)")

    # Depthwise conv with a channel multiplier of 2.
    x, w = rnd(1, 3, 9, 9), rnd(6, 1, 3, 3)
    y = F.conv2d(x, w, stride=2, padding=1, groups=3)
    op_case(cases, "conv_depthwise_multiplier",
            node("Conv", ["x", "w"], ["y"], strides=[2, 2], pads=[1, 1, 1, 1], group=3),
            [("x", x.numpy()), ("w", w.numpy())], [("y", y.numpy())], 11,
            "F.conv2d(stride=2, padding=1, groups=3)")

    # A 1x1 convolution over many channels (the pointwise path).
    x, w, b = rnd(2, 37, 6, 7), rnd(19, 37, 1, 1), rnd(19)
    y = F.conv2d(x, w, b)
    op_case(cases, "conv_pointwise",
            node("Conv", ["x", "w", "b"], ["y"]),
            [("x", x.numpy()), ("w", w.numpy()), ("b", b.numpy())], [("y", y.numpy())], 11, "F.conv2d 1x1")

    # Gemm with transA, transB, alpha, beta and a row of C broadcast.
    a, bm, c = rnd(3, 5), rnd(4, 3), rnd(4)
    y = 0.5 * (a.t() @ bm.t()) + 2.0 * c
    op_case(cases, "gemm_trans_alpha_beta",
            node("Gemm", ["a", "b", "c"], ["y"], transA=1, transB=1, alpha=0.5, beta=2.0),
            [("a", a.numpy()), ("b", bm.numpy()), ("c", c.numpy())], [("y", y.numpy())], 13,
            "0.5 * (a.T @ b.T) + 2 * c")

    # MatMul with broadcast batch axes, and with a 1-D first operand.
    a, bm = rnd(2, 1, 3, 4), rnd(5, 4, 2)
    op_case(cases, "matmul_broadcast", node("MatMul", ["a", "b"], ["y"]),
            [("a", a.numpy()), ("b", bm.numpy())], [("y", torch.matmul(a, bm).numpy())], 13, "torch.matmul")
    a, bm = rnd(4), rnd(2, 4, 3)
    op_case(cases, "matmul_vector", node("MatMul", ["a", "b"], ["y"]),
            [("a", a.numpy()), ("b", bm.numpy())], [("y", torch.matmul(a, bm).numpy())], 13, "torch.matmul")

    # Softmax before opset 13 (coerced to 2-D) and from 13 (one axis).
    x = rnd(2, 3, 4) * 3
    op_case(cases, "softmax_opset11_axis1", node("Softmax", ["x"], ["y"], axis=1),
            [("x", x.numpy())], [("y", x.reshape(2, 12).softmax(1).reshape(2, 3, 4).numpy())], 11,
            "softmax of x.reshape(2, 12) over dim 1")
    op_case(cases, "softmax_opset13_axis1", node("Softmax", ["x"], ["y"], axis=1),
            [("x", x.numpy())], [("y", x.softmax(1).numpy())], 13, "x.softmax(1)")

    # BatchNormalization (inference) and GlobalAveragePool.
    x = rnd(2, 3, 4, 5)
    s, bb, mu, var = rnd(3), rnd(3), rnd(3), torch.rand(3, generator=g) + 0.5
    y = F.batch_norm(x, mu, var, s, bb, training=False, eps=1e-3)
    op_case(cases, "batchnorm_inference",
            node("BatchNormalization", ["x", "s", "b", "mean", "var"], ["y"], epsilon=1e-3),
            [("x", x.numpy()), ("s", s.numpy()), ("b", bb.numpy()), ("mean", mu.numpy()), ("var", var.numpy())],
            [("y", y.numpy())], 15, "F.batch_norm(training=False, eps=1e-3)")
    x = rnd(2, 3, 5, 7)
    op_case(cases, "globalaveragepool", node("GlobalAveragePool", ["x"], ["y"]),
            [("x", x.numpy())], [("y", x.mean((2, 3), keepdim=True).numpy())], 13, "x.mean((2, 3))")
    return cases


def main():
    os.makedirs(GEN, exist_ok=True)
    manifest = {"torch": torch.__version__, "torchvision": torchvision.__version__, "onnx": onnx.__version__,
                "ops": ops(), "models": models()}
    tmp = os.path.join(GEN, "manifest.json.tmp")
    with open(tmp, "w") as f:
        json.dump(manifest, f, indent=1)
    os.replace(tmp, os.path.join(GEN, "manifest.json"))


if __name__ == "__main__":
    main()
