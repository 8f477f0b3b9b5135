#!/usr/bin/python3
"""Generate QLinearConv / QLinearMatMul models and inputs for quant's ORT test.

Provenance: written for github.com/piresnet/piresnet/quant; run by
make_fixtures.sh with Debian's /usr/bin/python3 (python3-onnx 1.12, numpy).
Writes to the directory given as argv[1]:
  case_NNN.onnx  one single-node model per case, every input but x constant
  cases.json     the parameters and inputs of every case (scales as float32
                 bit patterns), read by run_ort.js and by ort_test.go
The expected outputs come from ONNX Runtime (run_ort.js), never from Go.
Deterministic: a fixed seed, so re-running rewrites identical files.
"""
import json
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

SEED = 20240607
NUM_CASES = 96
WMAX = 64


def f32bits(v):
    return int(np.float32(v).view(np.uint32))


def log_uniform(rng, lo, hi, size=None):
    return np.exp(rng.uniform(np.log(lo), np.log(hi), size)).astype(np.float32)


def make_case(rng, i, out_dir):
    act = "uint8" if i % 3 != 2 else "int8"
    op = "QLinearConv" if i % 4 != 3 else "QLinearMatMul"
    np_act = np.uint8 if act == "uint8" else np.int8
    amin, amax = (0, 255) if act == "uint8" else (-128, 127)
    tp_act = TensorProto.UINT8 if act == "uint8" else TensorProto.INT8

    K = int(rng.choice([1, 3, 7, 16, 64, 147, 576, 1152, 2304, 4608]))
    OC = int(rng.choice([1, 5, 16, 33, 64]))
    H, W = int(rng.integers(2, 7)), int(rng.integers(2, 7))

    # Activations: full range or a narrow, skewed one (as after ReLU).
    x_zp = int(rng.integers(amin, amax + 1)) if i % 5 else amin
    if i % 2:
        x = rng.integers(amin, amax + 1, size=(K, H, W))
    else:
        x = np.clip(np.round(np.abs(rng.normal(0, 40, size=(K, H, W)))) + x_zp, amin, amax)
    x = x.astype(np_act)

    # Symmetric int8 weights, uniform or bell-shaped, kept in [-64, 64]: ONNX
    # Runtime 1.30's x86 u8 x s8 kernels sum adjacent products in int16 with
    # saturation (VPMADDUBSW), so a pair with |x0*w0 + x1*w1| > 32767 gives
    # a result that is not ONNX's. With |x| <= 255 and |w| <= 64 no pair can
    # reach 2*255*64 = 32640; this test is about requantization, not that.
    if i % 3 == 0:
        w = rng.integers(-WMAX, WMAX + 1, size=(OC, K))
    else:
        w = np.clip(np.round(rng.normal(0, 20, size=(OC, K))), -WMAX, WMAX)
    w = w.astype(np.int8)

    x_scale = log_uniform(rng, 1e-3, 1e-1)
    if op == "QLinearConv":
        w_scales = log_uniform(rng, 1e-4, 1e-1, OC)
    else:
        w_scales = log_uniform(rng, 1e-4, 1e-1, 1)
    # Choose y_scale so that outputs spread over tens to hundreds of steps
    # (with some saturation), like a calibrated layer.
    xc = x.astype(np.float64) - x_zp
    acc_std = np.sqrt(K) * max(xc.std(), 1.0) * max(w.astype(np.float64).std(), 1.0)
    y_scale = np.float32(x_scale * np.median(w_scales) * acc_std / rng.uniform(15, 150))
    y_zp = int(rng.integers(amin, amax + 1))

    bias = None
    if op == "QLinearConv" and i % 6 != 5:
        mag = 2 ** int(rng.integers(8, 29))
        bias = rng.integers(-mag, mag, size=OC).astype(np.int32)

    def const(name, arr, tp):
        return helper.make_tensor(name, tp, list(arr.shape), arr.flatten().tolist())

    inits = [
        helper.make_tensor("x_scale", TensorProto.FLOAT, [], [float(x_scale)]),
        helper.make_tensor("x_zp", tp_act, [], [x_zp]),
        helper.make_tensor("y_scale", TensorProto.FLOAT, [], [float(y_scale)]),
        helper.make_tensor("y_zp", tp_act, [], [y_zp]),
    ]
    if op == "QLinearConv":
        x_shape, y_shape = [1, K, H, W], [1, OC, H, W]
        inits += [
            numpy_helper.from_array(w.reshape(OC, K, 1, 1), "w"),
            helper.make_tensor("w_scale", TensorProto.FLOAT, [OC], [float(s) for s in w_scales]),
            helper.make_tensor("w_zp", TensorProto.INT8, [OC], [0] * OC),
        ]
        inputs = ["x", "x_scale", "x_zp", "w", "w_scale", "w_zp", "y_scale", "y_zp"]
        if bias is not None:
            inits.append(numpy_helper.from_array(bias, "bias"))
            inputs.append("bias")
        node = helper.make_node("QLinearConv", inputs, ["y"], kernel_shape=[1, 1])
        x_data = x  # [K, H, W]
    else:
        # A [M, K] with M = H*W rows; B [K, OC] = w transposed.
        M = H * W
        x_shape, y_shape = [M, K], [M, OC]
        inits += [
            numpy_helper.from_array(np.ascontiguousarray(w.T), "w"),
            helper.make_tensor("w_scale", TensorProto.FLOAT, [], [float(w_scales[0])]),
            helper.make_tensor("w_zp", TensorProto.INT8, [], [0]),
        ]
        node = helper.make_node("QLinearMatMul", ["x", "x_scale", "x_zp", "w", "w_scale", "w_zp", "y_scale", "y_zp"], ["y"])
        x_data = np.ascontiguousarray(x.reshape(K, M).T)  # [M, K]

    graph = helper.make_graph(
        [node], f"case_{i:03d}",
        [helper.make_tensor_value_info("x", tp_act, x_shape)],
        [helper.make_tensor_value_info("y", tp_act, y_shape)],
        inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="piresnet-quant-gen")
    model.ir_version = 8
    onnx.checker.check_model(model)
    name = f"case_{i:03d}.onnx"
    onnx.save(model, os.path.join(out_dir, name))

    return {
        "id": i, "op": op, "act": act, "model": name,
        "K": K, "OC": OC, "H": H, "W": W,
        "x_shape": x_shape, "y_shape": y_shape,
        "x": x_data.flatten().astype(int).tolist(),
        "x_zp": x_zp, "y_zp": y_zp,
        "x_scale_bits": f32bits(x_scale), "y_scale_bits": f32bits(y_scale),
        "w_scale_bits": [f32bits(s) for s in w_scales],
        "w": w.flatten().astype(int).tolist(),  # [OC, K]
        "bias": None if bias is None else bias.astype(int).tolist(),
    }


def main():
    out_dir = sys.argv[1]
    os.makedirs(out_dir, exist_ok=True)
    rng = np.random.default_rng(SEED)
    cases = [make_case(rng, i, out_dir) for i in range(NUM_CASES)]
    with open(os.path.join(out_dir, "cases.json"), "w") as f:
        json.dump({"generator": "quant/testdata/gen_qlinear.py", "seed": SEED, "onnx": onnx.__version__, "cases": cases}, f)


if __name__ == "__main__":
    main()
