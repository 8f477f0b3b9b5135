#!/usr/bin/python3
"""Write the 7-bit-weight twin of a QDQ model (ONNX Runtime's reduce_range,
this project's export --int8 --reduce-range): every int8 per-channel weight
w with scale s becomes round(w*64/m) with scale s*m/64 (m = max|w| of its
channel), and the int32 bias of its Conv or Gemm follows (scale x_scale *
new w_scale, values rounded to it). Activations are untouched.

    /usr/bin/python3 testdata/qdq/make_7bit_twin.py IN.onnx OUT.onnx

scripts/bench-vs-ort.sh measures the twins too: with 7-bit weights no pair
of products can saturate VPMADDUBSW's int16 sums, so ONNX Runtime computes
ONNX's arithmetic exactly and the engine uses its VPMADDUBSW kernel."""
import sys, numpy as np, onnx
from onnx import numpy_helper as nh
m = onnx.load(sys.argv[1]); g = m.graph
init = {t.name: t for t in g.initializer}
def arr(n): return nh.to_array(init[n])
def put(n, a):
    t = nh.from_array(a, n); init[n].CopyFrom(t)
prod = {o: n for n in g.node for o in n.output}
newscale = {}
for n in g.node:
    if n.op_type == "DequantizeLinear" and n.input[0] in init and arr(n.input[0]).dtype == np.int8:
        w = arr(n.input[0]).astype(np.int32); s = arr(n.input[1]).astype(np.float64)
        mx = np.abs(w.reshape(w.shape[0], -1)).max(axis=1).astype(np.float64)
        mx[mx == 0] = 64
        w2 = np.clip(np.round(w * (64.0 / mx).reshape([-1] + [1] * (w.ndim - 1))), -64, 64).astype(np.int8)
        s2 = (s * mx / 64.0).astype(np.float32)
        put(n.input[0], w2); put(n.input[1], s2); newscale[n.output[0]] = (s.astype(np.float32), s2)
# biases: a DequantizeLinear of int32 whose consumer Conv uses a twinned weight
for n in g.node:
    if n.op_type in ("Conv", "Gemm") and len(n.input) > 2 and n.input[1] in newscale:
        bdq = prod.get(n.input[2])
        if bdq is None or bdq.op_type != "DequantizeLinear": continue
        b = arr(bdq.input[0]).astype(np.float64); bs = arr(bdq.input[1]).astype(np.float64)
        s_old, s_new = newscale[n.input[1]]
        xs = bs / s_old.astype(np.float64)
        bs2 = (xs * s_new).astype(np.float32)
        b2 = np.clip(np.round(b * bs / bs2.astype(np.float64)), -2**31, 2**31 - 1).astype(np.int32)
        put(bdq.input[0], b2); put(bdq.input[1], bs2)
onnx.save(m, sys.argv[2])
print(f"wrote {sys.argv[2]}: {len(newscale)} weights at 7 bits", file=sys.stderr)
