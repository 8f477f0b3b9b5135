#!/usr/bin/python3
"""QDQ int8 fixtures of the int8 engine (package runtime), written the way
ONNX Runtime's quantize_static writes them, with ONNX Runtime's outputs.

Run by make_fixtures.sh with Debian's /usr/bin/python3 (python3-torch 1.13,
python3-onnx 1.12, numpy). Provenance: written for
github.com/piresnet/piresnet/runtime. Deterministic (fixed seeds).

  make_fixtures.py models   writes gen/ (git-ignored):
    gen/models/<name>.onnx          QDQ ResNets made from the torchvision
                                    float exports of testdata/torchvision
                                    (random weights, randomized BatchNorm,
                                    BatchNorm folded by torch's exporter):
        resnet18_u8, resnet50_u8    uint8 asymmetric activations
        resnet18_s8                 int8 asymmetric activations
    gen/inputs/<case>/input_0.pb    float32 NCHW images (smooth patterns
                                    plus noise, ImageNet-normalized range)
    gen/ops/<case>/model.onnx       one quantized operator in QDQ form
    gen/ops/<case>/input_<k>.pb     its uint8 inputs
    gen/requests.json               what run_ort.js runs
    gen/fashion/input.f32, labels.u8, info.json
                                    the Fashion-MNIST test set (10000 images,
                                    normalized with the metadata of the
                                    project's int8 default model,
                                    internal/defaultmodel/fashion_int8.onnx,
                                    and of its rebuild by its recipe,
                                    gen/fashion/fashion_int8_rebuilt.onnx,
                                    that make_fixtures.sh converts)
  make_fixtures.py finish   turns run_ort.js's raw outputs into
                            gen/ort/<model>/<case>/output_0.pb,
                            gen/ops/<case>/output_0.pb and
                            gen/fashion/ort_logits.pb, writes
                            gen/manifest.json (last).

Quantization follows ONNX Runtime's quantize_static (QuantFormat.QDQ,
per_channel=True, MinMax calibration): activations asymmetric over
[min(0, rmin), max(0, rmax)] (uint8 [0, 255] or int8 [-128, 127]), scale =
(rmax - rmin) / (qmax - qmin), zero point = round(qmin - rmin / scale);
weights int8 symmetric per output channel in [-127, 127] (scale = absmax /
127) behind a per-axis DequantizeLinear; biases int32 with scale x_scale *
w_scale[c] behind DequantizeLinear; a Relu after Conv or Add is removed and
the QuantizeLinear after the node takes the Relu's output range; MaxPool
and Flatten keep their input's parameters; the graph output is quantized
and dequantized back to its name. Calibration: min/max over 4 images at
224x224 computed with torch.nn.functional (float64 accumulation is not
used: plain float32, as a float model runs).
"""

import gzip
import hashlib
import json
import os
import sys

import numpy as np
import onnx
import torch
import torch.nn.functional as F
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
GEN = os.path.join(HERE, "gen")
TV = os.path.join(HERE, "..", "torchvision", "gen", "models")
DEFAULT_MODEL = os.path.join(HERE, "..", "..", "internal", "defaultmodel", "fashion_int8.onnx")
FASHION = os.environ.get("FASHION_MNIST", "/usr/share/datasets/fashion-mnist")

torch.set_num_threads(2)

INPUT_CASES = [("224x224_%d" % i, 224, 224) for i in range(6)] + \
              [("240x320_%d" % i, 240, 320) for i in range(3)] + \
              [("97x131_%d" % i, 97, 131) for i in range(2)]
MODELS = [("resnet18_u8", "resnet18", "uint8"), ("resnet18_s8", "resnet18", "int8"),
          ("resnet50_u8", "resnet50", "uint8")]


def write_tensor(path, array, name):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    t = numpy_helper.from_array(np.ascontiguousarray(array), name)
    with open(path + ".tmp", "wb") as f:
        f.write(t.SerializeToString())
    os.replace(path + ".tmp", path)


def write_raw(array):
    """Raw little-endian copy for run_ort.js; returns its description."""
    d = os.path.join(GEN, "ort_raw")
    os.makedirs(d, exist_ok=True)
    write_raw.n += 1
    name = "in_%d.bin" % write_raw.n
    np.ascontiguousarray(array).tofile(os.path.join(d, name))
    return {"file": name, "type": str(array.dtype), "dims": list(array.shape)}


write_raw.n = 0


def image(rng, h, w):
    """A smooth random pattern plus noise, roughly unit variance per channel."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    img = np.zeros((1, 3, h, w), np.float32)
    for c in range(3):
        for _ in range(3):
            fx, fy, ph = rng.uniform(0, 0.15), rng.uniform(0, 0.15), rng.uniform(0, 6.3)
            img[0, c] += np.sin(fx * x + fy * y + ph).astype(np.float32)
        img[0, c] += rng.normal(0, 0.3, (h, w)).astype(np.float32)
        img[0, c] = (img[0, c] - img[0, c].mean()) / (img[0, c].std() + 1e-6)
    return img.astype(np.float32)


# ---- float execution (calibration) ----

def attrs(node):
    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def run_float(model, x):
    vals = {t.name: torch.from_numpy(numpy_helper.to_array(t).copy()) for t in model.graph.initializer}
    vals[model.graph.input[0].name] = torch.from_numpy(x)
    for n in model.graph.node:
        a = attrs(n)
        i = [vals[k] if k else None for k in n.input]
        op = n.op_type
        if op == "Conv":
            p = a.get("pads", [0, 0, 0, 0])
            xin = i[0]
            if p[0] != p[2] or p[1] != p[3]:
                xin = F.pad(xin, (p[1], p[3], p[0], p[2]))
                p = [0, 0, 0, 0]
            y = F.conv2d(xin, i[1], i[2] if len(i) > 2 else None, a.get("strides", [1, 1]),
                         (p[0], p[1]), a.get("dilations", [1, 1]), a.get("group", 1))
        elif op == "Relu":
            y = F.relu(i[0])
        elif op == "Add":
            y = i[0] + i[1]
        elif op == "MaxPool":
            p = a.get("pads", [0, 0, 0, 0])
            assert p[0] == p[2] and p[1] == p[3]
            y = F.max_pool2d(i[0], a["kernel_shape"], a.get("strides", [1, 1]), (p[0], p[1]),
                             ceil_mode=bool(a.get("ceil_mode", 0)))
        elif op == "GlobalAveragePool":
            y = i[0].mean(dim=(2, 3), keepdim=True)
        elif op == "Flatten":
            y = i[0].reshape(int(np.prod(i[0].shape[:a.get("axis", 1)])), -1)
        elif op == "Gemm":
            w = i[1].t() if a.get("transB", 0) else i[1]
            y = i[0] @ w
            if len(i) > 2:
                y = y + i[2]
        else:
            raise SystemExit("make_fixtures.py: operator %s not handled by the calibrator" % op)
        vals[n.output[0]] = y
    return {k: v.numpy() for k, v in vals.items()}


def calibrate(model, images):
    ranges = {}
    for img in images:
        for k, v in run_float(model, img).items():
            if v.dtype != np.float32:
                continue
            lo, hi = float(v.min()), float(v.max())
            if k in ranges:
                lo, hi = min(lo, ranges[k][0]), max(hi, ranges[k][1])
            ranges[k] = (lo, hi)
    return ranges


# ---- ONNX Runtime's quantization arithmetic ----

def scale_zp(rmin, rmax, act):
    qmin, qmax = (0, 255) if act == "uint8" else (-128, 127)
    rmin, rmax = min(rmin, 0.0), max(rmax, 0.0)
    dr = np.float32(rmax) - np.float32(rmin)
    if dr < np.finfo(np.float32).tiny:
        return np.float32(1.0), 0
    scale64 = float(dr) / (qmax - qmin)
    zp = int(np.clip(np.round(qmin - rmin / scale64), qmin, qmax))
    return np.float32(scale64), zp


def quantize_weights(w, axis, qmax=127):
    """Symmetric int8 per channel along axis: scale = absmax / qmax (qmax 64
    is ONNX Runtime's reduce_range)."""
    wm = np.moveaxis(w, axis, 0)
    absmax = np.abs(wm.reshape(wm.shape[0], -1)).max(axis=1)
    scales = np.where(absmax > 0, (absmax.astype(np.float64) / qmax), 1.0).astype(np.float32)
    shape = [1] * w.ndim
    shape[axis] = -1
    q = np.clip(np.round(w / scales.reshape(shape)), -qmax, qmax).astype(np.int8)
    return q, scales


def quantize_bias(b, xs, ws):
    s = (np.float32(xs) * ws).astype(np.float32)
    q = np.clip(np.round(b / s), -2**31, 2**31 - 1).astype(np.int32)
    return q, s


class QDQ:
    def __init__(self, act):
        self.act = act
        self.np_act = np.uint8 if act == "uint8" else np.int8
        self.nodes, self.inits = [], []
        self.dq = {}

    def const(self, name, arr):
        self.inits.append(numpy_helper.from_array(np.asarray(arr), name))
        return name

    def qdq(self, tensor, scale, zp, src=None, dst=None):
        """QuantizeLinear -> DequantizeLinear after tensor; returns the DQ output."""
        s = self.const(tensor + "_scale", np.array(scale, np.float32))
        z = self.const(tensor + "_zero_point", np.array(zp, self.np_act))
        self.nodes.append(helper.make_node("QuantizeLinear", [src or tensor, s, z], [tensor + "_quantized"],
                                           name=tensor + "_QuantizeLinear"))
        out = dst or tensor + "_DequantizeLinear_Output"
        self.nodes.append(helper.make_node("DequantizeLinear", [tensor + "_quantized", s, z], [out],
                                           name=tensor + "_DequantizeLinear"))
        self.dq[tensor] = out
        return out

    def weight(self, name, w, axis):
        q, scales = quantize_weights(w, axis)
        self.const(name + "_quantized", q)
        self.const(name + "_scale", scales)
        self.const(name + "_zero_point", np.zeros(len(scales), np.int8))
        out = name + "_DequantizeLinear_Output"
        self.nodes.append(helper.make_node("DequantizeLinear", [name + "_quantized", name + "_scale", name + "_zero_point"],
                                           [out], name=name + "_DequantizeLinear", axis=axis))
        return out, scales

    def bias(self, name, b, xs, ws):
        q, s = quantize_bias(b, xs, ws)
        self.const(name + "_quantized", q)
        self.const(name + "_scale", s)
        self.const(name + "_zero_point", np.zeros(len(s), np.int32))
        out = name + "_DequantizeLinear_Output"
        self.nodes.append(helper.make_node("DequantizeLinear", [name + "_quantized", name + "_scale", name + "_zero_point"],
                                           [out], name=name + "_DequantizeLinear", axis=0))
        return out


def quantize_model(model, ranges, act):
    g = model.graph
    inits = {t.name: numpy_helper.to_array(t) for t in g.initializer}
    consumers = {}
    producer = {}
    for n in g.node:
        for i in n.input:
            consumers.setdefault(i, []).append(n)
        producer[n.output[0]] = n
    # Relu after Conv/Add with a single reader: removed.
    removed, rename = set(), {}
    for n in g.node:
        if n.op_type == "Relu":
            p = producer.get(n.input[0])
            if p is not None and p.op_type in ("Conv", "Add", "Gemm") and len(consumers[n.input[0]]) == 1:
                removed.add(n.name or n.output[0])
                rename[n.output[0]] = n.input[0]
                ranges[n.input[0]] = ranges[n.output[0]]

    def res(t):
        return rename.get(t, t)

    outputs = {res(o.name): o.name for o in g.output}
    q = QDQ(act)
    params = {}

    def params_of(t):
        if t not in params:
            p = producer.get(t)
            if p is not None and p.op_type in ("MaxPool", "Flatten"):
                params[t] = params_of(res(p.input[0]))
            else:
                params[t] = scale_zp(ranges[t][0], ranges[t][1], act)
        return params[t]

    def emit_qdq(t):
        s, z = params_of(t)
        if t in outputs:
            return q.qdq(t, s, z, src=t + "_pre", dst=outputs[t])
        return q.qdq(t, s, z)

    emit_qdq(g.input[0].name)
    for n in g.node:
        if (n.name or n.output[0]) in removed:
            continue
        ins = list(n.input)
        for k, t in enumerate(n.input):
            if t in inits:
                continue
            ins[k] = q.dq[res(t)]
        if n.op_type in ("Conv", "Gemm"):
            a = attrs(n)
            axis = 0 if n.op_type == "Conv" or a.get("transB", 0) else 1
            ins[1], ws = q.weight(n.input[1], inits[n.input[1]], axis)
            if len(n.input) > 2 and n.input[2]:
                xs, _ = params_of(res(n.input[0]))
                ins[2] = q.bias(n.input[2], inits[n.input[2]], xs, ws)
        out = n.output[0]
        nn = helper.make_node(n.op_type, ins, [out + "_pre" if out in outputs else out], name=n.name)
        nn.attribute.extend(n.attribute)
        q.nodes.append(nn)
        emit_qdq(out)
    qg = helper.make_graph(q.nodes, g.name + "_qdq", list(g.input), list(g.output), q.inits)
    qm = helper.make_model(qg, opset_imports=[helper.make_opsetid("", 13)], producer_name="piresnet-testdata-qdq")
    qm.ir_version = model.ir_version
    onnx.checker.check_model(qm)
    return qm


# ---- single-operator cases ----

def act_data(rng, shape, zp, relu_like):
    """uint8 activations: post-ReLU-like (zeros and an exponential tail) or
    spread around the zero point."""
    if relu_like:
        v = np.where(rng.random(shape) < 0.4, 0, rng.exponential(40, shape))
    else:
        v = zp + rng.normal(0, 45, shape)
    return np.clip(np.round(v), 0, 255).astype(np.uint8)


def op_model(name, nodes, inits, inputs, outputs):
    g = helper.make_graph(nodes, name, inputs, outputs, inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], producer_name="piresnet-testdata-qdq")
    m.ir_version = 7
    onnx.checker.check_model(m)
    return m


def out_params(real):
    """Output parameters from the range of the real result on another input
    of the same distribution (as calibration does): parameters taken from
    the test input itself would make y = 255·acc/acc_max, whose many exact
    ties say more about the fixture than about the arithmetic."""
    return scale_zp(float(real.min()), float(real.max()), "uint8")


def conv_case(rng, name, cin, cout, h, w, k, stride, pad, group, relu, qmax=64):
    xs = np.float32(rng.uniform(0.01, 0.06))
    xz = 0 if relu else int(rng.integers(90, 160))
    x = act_data(rng, (1, cin, h, w), xz, relu)
    wf = rng.normal(0, np.sqrt(2.0 / (cin // group * k * k)), (cout, cin // group, k, k)).astype(np.float32)
    wq, ws = quantize_weights(wf, 0, qmax)
    bf = rng.normal(0, 0.3, cout).astype(np.float32)
    bq, bs = quantize_bias(bf, xs, ws)

    def conv(xv):
        r = F.conv2d(torch.from_numpy((xv.astype(np.float32) - xz) * xs),
                     torch.from_numpy(wq.astype(np.float32) * ws.reshape(-1, 1, 1, 1)),
                     torch.from_numpy(bq.astype(np.float32) * bs), stride, pad, 1, group).numpy()
        return np.maximum(r, 0) if relu else r
    real = conv(x)
    ys, yz = out_params(conv(act_data(rng, x.shape, xz, relu)))
    nodes = [
        helper.make_node("DequantizeLinear", ["x", "x_scale", "x_zp"], ["x_dq"]),
        helper.make_node("DequantizeLinear", ["w", "w_scale", "w_zp"], ["w_dq"], axis=0),
        helper.make_node("DequantizeLinear", ["b", "b_scale", "b_zp"], ["b_dq"], axis=0),
        helper.make_node("Conv", ["x_dq", "w_dq", "b_dq"], ["y_f"], kernel_shape=[k, k], strides=[stride, stride],
                         pads=[pad] * 4, group=group),
    ]
    last = "y_f"
    if relu:
        nodes.append(helper.make_node("Relu", ["y_f"], ["y_r"]))
        last = "y_r"
    nodes.append(helper.make_node("QuantizeLinear", [last, "y_scale", "y_zp"], ["y"]))
    inits = [numpy_helper.from_array(a, n) for n, a in [
        ("x_scale", np.array(xs, np.float32)), ("x_zp", np.array(xz, np.uint8)),
        ("w", wq), ("w_scale", ws), ("w_zp", np.zeros(cout, np.int8)),
        ("b", bq), ("b_scale", bs), ("b_zp", np.zeros(cout, np.int32)),
        ("y_scale", np.array(ys, np.float32)), ("y_zp", np.array(yz, np.uint8))]]
    m = op_model(name, nodes, inits, [helper.make_tensor_value_info("x", TensorProto.UINT8, list(x.shape))],
                 [helper.make_tensor_value_info("y", TensorProto.UINT8, list(real.shape))])
    return m, [x], "QLinearConv"


def add_case(rng, name, shape, relu):
    xs = [np.float32(rng.uniform(0.01, 0.08)) for _ in range(2)]
    zs = [int(rng.integers(60, 200)) for _ in range(2)]
    xs_ = [act_data(rng, shape, z, False) for z in zs]

    def add(vals):
        r = sum((x.astype(np.float32) - z) * s for x, z, s in zip(vals, zs, xs))
        return np.maximum(r, 0) if relu else r
    ys, yz = out_params(add([act_data(rng, shape, z, False) for z in zs]))
    real = add(xs_)
    nodes = [helper.make_node("DequantizeLinear", ["a", "a_scale", "a_zp"], ["a_dq"]),
             helper.make_node("DequantizeLinear", ["b", "b_scale", "b_zp"], ["b_dq"]),
             helper.make_node("Add", ["a_dq", "b_dq"], ["y_f"])]
    last = "y_f"
    if relu:
        nodes.append(helper.make_node("Relu", ["y_f"], ["y_r"]))
        last = "y_r"
    nodes.append(helper.make_node("QuantizeLinear", [last, "y_scale", "y_zp"], ["y"]))
    inits = [numpy_helper.from_array(a, n) for n, a in [
        ("a_scale", np.array(xs[0], np.float32)), ("a_zp", np.array(zs[0], np.uint8)),
        ("b_scale", np.array(xs[1], np.float32)), ("b_zp", np.array(zs[1], np.uint8)),
        ("y_scale", np.array(ys, np.float32)), ("y_zp", np.array(yz, np.uint8))]]
    m = op_model(name, nodes, inits, [helper.make_tensor_value_info("a", TensorProto.UINT8, list(shape)),
                                      helper.make_tensor_value_info("b", TensorProto.UINT8, list(shape))],
                 [helper.make_tensor_value_info("y", TensorProto.UINT8, list(real.shape))])
    return m, xs_, "QLinearAdd"


def gap_case(rng, name, shape):
    xs = np.float32(rng.uniform(0.01, 0.06))
    x = act_data(rng, shape, 0, True)
    real = (x.astype(np.float32) * xs).mean(axis=(2, 3), keepdims=True)
    ys, yz = out_params((act_data(rng, shape, 0, True).astype(np.float32) * xs).mean(axis=(2, 3), keepdims=True))
    nodes = [helper.make_node("DequantizeLinear", ["x", "x_scale", "x_zp"], ["x_dq"]),
             helper.make_node("GlobalAveragePool", ["x_dq"], ["y_f"]),
             helper.make_node("QuantizeLinear", ["y_f", "y_scale", "y_zp"], ["y"])]
    inits = [numpy_helper.from_array(a, n) for n, a in [
        ("x_scale", np.array(xs, np.float32)), ("x_zp", np.array(0, np.uint8)),
        ("y_scale", np.array(ys, np.float32)), ("y_zp", np.array(yz, np.uint8))]]
    m = op_model(name, nodes, inits, [helper.make_tensor_value_info("x", TensorProto.UINT8, list(shape))],
                 [helper.make_tensor_value_info("y", TensorProto.UINT8, list(real.shape))])
    return m, [x], "QLinearGlobalAveragePool"


def fc_case(rng, name, n, k, out, matmul):
    xs = np.float32(rng.uniform(0.005, 0.03))
    x = act_data(rng, (n, k), 0, True)
    wf = rng.normal(0, np.sqrt(1.0 / k), (out, k)).astype(np.float32)
    if matmul:  # [K, out], per-tensor weights (QLinearMatMul)
        s = np.float32(np.abs(wf).max() / 127.0)
        wq = np.clip(np.round(wf.T / s), -127, 127).astype(np.int8)
        real = (x.astype(np.float32) * xs) @ (wq.astype(np.float32) * s)
        ys, yz = out_params((act_data(rng, x.shape, 0, True).astype(np.float32) * xs) @ (wq.astype(np.float32) * s))
        nodes = [helper.make_node("DequantizeLinear", ["x", "x_scale", "x_zp"], ["x_dq"]),
                 helper.make_node("DequantizeLinear", ["w", "w_scale", "w_zp"], ["w_dq"]),
                 helper.make_node("MatMul", ["x_dq", "w_dq"], ["y_f"]),
                 helper.make_node("QuantizeLinear", ["y_f", "y_scale", "y_zp"], ["y"])]
        inits = [("w", wq), ("w_scale", np.array(s, np.float32)), ("w_zp", np.array(0, np.int8))]
        kind = "QLinearMatMul"
    else:  # Gemm transB=1, per-channel weights, int32 bias (QGemm)
        wq, ws = quantize_weights(wf, 0)
        bf = rng.normal(0, 0.2, out).astype(np.float32)
        bq, bs = quantize_bias(bf, xs, ws)
        def fc(xv):
            return (xv.astype(np.float32) * xs) @ (wq.astype(np.float32) * ws.reshape(-1, 1)).T + bq * bs
        real = fc(x)
        ys, yz = out_params(fc(act_data(rng, x.shape, 0, True)))
        nodes = [helper.make_node("DequantizeLinear", ["x", "x_scale", "x_zp"], ["x_dq"]),
                 helper.make_node("DequantizeLinear", ["w", "w_scale", "w_zp"], ["w_dq"], axis=0),
                 helper.make_node("DequantizeLinear", ["b", "b_scale", "b_zp"], ["b_dq"], axis=0),
                 helper.make_node("Gemm", ["x_dq", "w_dq", "b_dq"], ["y_f"], transB=1),
                 helper.make_node("QuantizeLinear", ["y_f", "y_scale", "y_zp"], ["y"])]
        inits = [("w", wq), ("w_scale", ws), ("w_zp", np.zeros(out, np.int8)),
                 ("b", bq), ("b_scale", bs), ("b_zp", np.zeros(out, np.int32))]
        kind = "QGemm"
    inits = [numpy_helper.from_array(np.asarray(a), nm) for nm, a in inits + [
        ("x_scale", np.array(xs, np.float32)), ("x_zp", np.array(0, np.uint8)),
        ("y_scale", np.array(ys, np.float32)), ("y_zp", np.array(yz, np.uint8))]]
    m = op_model(name, nodes, inits, [helper.make_tensor_value_info("x", TensorProto.UINT8, [n, k])],
                 [helper.make_tensor_value_info("y", TensorProto.UINT8, list(real.shape))])
    return m, [x], kind


def op_cases(rng):
    """Convolutions use 7-bit weights ([-64, 64], ONNX Runtime's
    reduce_range): ONNX Runtime 1.30's x86 u8 x s8 convolution sums pairs of
    products in int16 with saturation (VPMADDUBSW), so 8-bit weights make it
    deviate from ONNX's arithmetic; *_w8 keeps 8-bit weights to show that
    (runtime/ort_test.go checks ONNX Runtime against a saturating model)."""
    return [
        ("conv3x3_c64_relu", conv_case(rng, "conv3x3_c64_relu", 64, 64, 28, 28, 3, 1, 1, 1, True)),
        ("conv3x3_c64", conv_case(rng, "conv3x3_c64", 64, 64, 28, 28, 3, 1, 1, 1, False)),
        ("conv3x3s2_c128_relu", conv_case(rng, "conv3x3s2_c128_relu", 64, 128, 29, 31, 3, 2, 1, 1, True)),
        ("conv1x1_c256_c64", conv_case(rng, "conv1x1_c256_c64", 256, 64, 14, 14, 1, 1, 0, 1, False)),
        ("conv1x1s2_c128_c256", conv_case(rng, "conv1x1s2_c128_c256", 128, 256, 15, 17, 1, 2, 0, 1, False)),
        ("conv7x7s2_c3_relu", conv_case(rng, "conv7x7s2_c3_relu", 3, 64, 64, 80, 7, 2, 3, 1, True)),
        ("conv3x3_g32_relu", conv_case(rng, "conv3x3_g32_relu", 128, 128, 14, 14, 3, 1, 1, 32, True)),
        ("conv3x3_c512", conv_case(rng, "conv3x3_c512", 512, 512, 7, 9, 3, 1, 1, 1, False)),
        ("conv1x1s2_c128_c256_w8", conv_case(rng, "conv1x1s2_c128_c256_w8", 128, 256, 15, 17, 1, 2, 0, 1, False, 127)),
        ("add_c64", add_case(rng, "add_c64", (1, 64, 28, 28), False)),
        ("add_c256_relu", add_case(rng, "add_c256_relu", (1, 256, 14, 15), True)),
        ("gap_c512_7x7", gap_case(rng, "gap_c512_7x7", (1, 512, 7, 7))),
        ("gap_c2048_8x10", gap_case(rng, "gap_c2048_8x10", (1, 2048, 8, 10))),
        ("gap_c64_13x17", gap_case(rng, "gap_c64_13x17", (2, 64, 13, 17))),
        ("gap_c512_7x7_b16", gap_case(rng, "gap_c512_7x7_b16", (16, 512, 7, 7))),
        ("gemm_512_1000", fc_case(rng, "gemm_512_1000", 1, 512, 1000, False)),
        ("gemm_2048_1000_b4", fc_case(rng, "gemm_2048_1000_b4", 4, 2048, 1000, False)),
        ("matmul_512_1000", fc_case(rng, "matmul_512_1000", 1, 512, 1000, True)),
    ]


def idx(path):
    """An idx file (gzip-compressed), as numpy."""
    with gzip.open(path, "rb") as f:
        b = f.read()
    ndim = b[3]
    dims = [int.from_bytes(b[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(b, np.uint8, offset=4 + 4 * ndim).reshape(dims)


def fashion():
    """The Fashion-MNIST test set through the project's int8 default model:
    the images normalized with the model's metadata (float32 (x/255 - mean)
    / std), written raw for the Go test and run by ONNX Runtime as one
    batch."""
    m = onnx.load(DEFAULT_MODEL)
    meta = {p.key: p.value for p in m.metadata_props}
    mean, std = np.float32(float(meta["piresnet.mean"])), np.float32(float(meta["piresnet.std"]))
    x = idx(os.path.join(FASHION, "t10k-images-idx3-ubyte.gz")).astype(np.float32)
    y = idx(os.path.join(FASHION, "t10k-labels-idx1-ubyte.gz"))
    x = ((x / np.float32(255) - mean) / std).astype(np.float32).reshape(-1, 1, 28, 28)
    d = os.path.join(GEN, "fashion")
    os.makedirs(d, exist_ok=True)
    x.tofile(os.path.join(d, "input.f32"))
    y.tofile(os.path.join(d, "labels.u8"))
    with open(DEFAULT_MODEL, "rb") as f:
        sha = hashlib.sha256(f.read()).hexdigest()
    with open(os.path.join(d, "info.json"), "w") as f:
        json.dump({"model_sha256": sha, "images": int(x.shape[0]), "dims": list(x.shape)}, f)
    raw = dict(write_raw(x), name=m.graph.input[0].name)
    rr = os.path.join(d, "fashion_int8_rebuilt.onnx")
    return [{"name": "fashion_int8", "model": DEFAULT_MODEL, "optimized": os.path.join(d, "ort_optimized.onnx"),
             "runs": [{"inputs": [raw], "dest": os.path.join("fashion", "ort_logits.pb")}]},
            {"name": "fashion_int8_rebuilt", "model": rr, "optimized": os.path.join(d, "ort_optimized_rebuilt.onnx"),
             "runs": [{"inputs": [raw], "dest": os.path.join("fashion", "ort_logits_rebuilt.pb")}]}]


def models():
    os.makedirs(GEN, exist_ok=True)
    rng = np.random.default_rng(20241128)
    requests = {"models": [], "ops": []}
    calib = [image(rng, 224, 224) for _ in range(4)]
    raw_inputs = {}
    for case, h, w in INPUT_CASES:
        img = image(rng, h, w)
        write_tensor(os.path.join(GEN, "inputs", case, "input_0.pb"), img, "input")
        raw_inputs[case] = write_raw(img)
    for name, src, act in MODELS:
        path = os.path.join(TV, src, "model.onnx")
        fm = onnx.load(path)
        ranges = calibrate(fm, calib)
        qm = quantize_model(fm, ranges, act)
        os.makedirs(os.path.join(GEN, "models"), exist_ok=True)
        out = os.path.join(GEN, "models", name + ".onnx")
        onnx.save(qm, out + ".tmp")
        os.replace(out + ".tmp", out)
        requests["models"].append({
            "name": name, "model": out, "optimized": os.path.join(GEN, "ort_optimized", name + ".onnx"),
            "runs": [{"inputs": [dict(raw_inputs[c], name=fm.graph.input[0].name)],
                      "dest": os.path.join("ort", name, c, "output_0.pb")} for c, _, _ in INPUT_CASES]})
        print("make_fixtures.py: wrote", out, file=sys.stderr)
    for case, (m, inputs, kind) in op_cases(rng):
        d = os.path.join(GEN, "ops", case)
        os.makedirs(d, exist_ok=True)
        onnx.save(m, os.path.join(d, "model.onnx"))
        names = [i.name for i in m.graph.input]
        raws = []
        for k, (nm, x) in enumerate(zip(names, inputs)):
            write_tensor(os.path.join(d, "input_%d.pb" % k), x, nm)
            raws.append(dict(write_raw(x), name=nm))
        requests["ops"].append({"case": case, "kind": kind, "model": os.path.join(d, "model.onnx"),
                                "optimized": os.path.join(d, "ort_optimized.onnx"),
                                "runs": [{"inputs": raws, "dest": os.path.join("ops", case, "output_0.pb")}]})
    requests["models"].extend(fashion())
    with open(os.path.join(GEN, "requests.json"), "w") as f:
        json.dump(requests, f, indent=1)


def finish():
    with open(os.path.join(GEN, "ort_raw", "responses.json")) as f:
        resp = json.load(f)
    for r in resp["outputs"]:
        raw = np.fromfile(os.path.join(GEN, "ort_raw", r["file"]), dtype=r["type"]).reshape(r["dims"])
        write_tensor(os.path.join(GEN, r["dest"]), raw, r["name"])
    manifest = {"torch": torch.__version__, "onnx": onnx.__version__, "ort": resp["ort"],
                "models": [n for n, _, _ in MODELS], "inputs": [c for c, _, _ in INPUT_CASES],
                "ops": [{"case": o["case"], "kind": o["kind"]} for o in json.load(open(os.path.join(GEN, "requests.json")))["ops"]]}
    with open(os.path.join(GEN, "manifest.json.tmp"), "w") as f:
        json.dump(manifest, f, indent=1)
    os.replace(os.path.join(GEN, "manifest.json.tmp"), os.path.join(GEN, "manifest.json"))


if __name__ == "__main__":
    {"models": models, "finish": finish}[sys.argv[1]]()
