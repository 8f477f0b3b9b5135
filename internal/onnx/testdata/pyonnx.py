#!/usr/bin/python3
"""Independent reference for the Go ONNX codec, using python3-onnx (Debian, 1.12).

Usage:
  pyonnx.py write OUT.onnx          write a kitchen-sink model (typed fields and raw_data)
  pyonnx.py check IN.onnx...        onnx.checker.check_model(full_check=True), exit 1 on failure
  pyonnx.py dump IN.onnx OUT.json   canonical JSON of everything the model holds
Run with /usr/bin/python3 (the python3 first on PATH has no onnx).
"""
import json
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def kitchen_sink():
    rng = np.random.default_rng(7)
    inits = []
    # Every numeric type, both in typed fields (raw=False) and raw_data.
    types = [
        ("f32", TensorProto.FLOAT, np.float32),
        ("f64", TensorProto.DOUBLE, np.float64),
        ("f16", TensorProto.FLOAT16, np.float16),
        ("i8", TensorProto.INT8, np.int8),
        ("u8", TensorProto.UINT8, np.uint8),
        ("i16", TensorProto.INT16, np.int16),
        ("u16", TensorProto.UINT16, np.uint16),
        ("i32", TensorProto.INT32, np.int32),
        ("i64", TensorProto.INT64, np.int64),
        ("u32", TensorProto.UINT32, np.uint32),
        ("u64", TensorProto.UINT64, np.uint64),
        ("b", TensorProto.BOOL, np.bool_),
    ]
    nodes = []
    outputs = []
    for name, dt, npt in types:
        if npt == np.bool_:
            arr = rng.integers(0, 2, size=(2, 3)).astype(np.bool_)
        elif np.issubdtype(npt, np.integer):
            info = np.iinfo(npt)
            arr = rng.integers(max(info.min, -(2**40)), min(info.max, 2**40), size=(2, 3), dtype=np.int64 if info.min < 0 else np.uint64).astype(npt)
            arr.flat[0] = info.min
            arr.flat[1] = info.max if info.max < 2**63 else info.max
        else:
            arr = rng.standard_normal((2, 3)).astype(npt)
        for raw in (False, True):
            tname = f"{name}_{'raw' if raw else 'typed'}"
            if raw:
                t = numpy_helper.from_array(arr, tname)
            else:
                vals = arr.flatten().tolist()
                if dt == TensorProto.FLOAT16:
                    # make_tensor stores float16 as bits in int32_data when raw=False
                    t = helper.make_tensor(tname, dt, arr.shape, vals)
                else:
                    t = helper.make_tensor(tname, dt, arr.shape, vals)
            inits.append(t)
            nodes.append(helper.make_node("Identity", [tname], [tname + "_out"], name="id_" + tname))
            outputs.append(helper.make_tensor_value_info(tname + "_out", dt, list(arr.shape)))
    # bfloat16 in raw_data and typed field
    bf = np.array([1.0, -2.5, 3.140625, 0.0], dtype=np.float32)
    bits = (bf.view(np.uint32) >> 16).astype(np.uint16)
    tb = TensorProto(name="bf16_raw", data_type=TensorProto.BFLOAT16, dims=[4], raw_data=bits.tobytes())
    tb2 = TensorProto(name="bf16_typed", data_type=TensorProto.BFLOAT16, dims=[4])
    tb2.int32_data.extend(bits.astype(np.int32).tolist())
    inits += [tb, tb2]
    for n in ("bf16_raw", "bf16_typed"):
        nodes.append(helper.make_node("Identity", [n], [n + "_out"]))
        outputs.append(helper.make_tensor_value_info(n + "_out", TensorProto.BFLOAT16, [4]))
    # Scalars and empty tensors.
    inits.append(numpy_helper.from_array(np.array(3.5, dtype=np.float32), "scalar_f32"))
    nodes.append(helper.make_node("Identity", ["scalar_f32"], ["scalar_out"]))
    outputs.append(helper.make_tensor_value_info("scalar_out", TensorProto.FLOAT, []))
    # A Conv with symbolic dims on the input.
    w = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
    inits.append(numpy_helper.from_array(w, "conv.weight"))
    nodes.append(helper.make_node("Conv", ["x", "conv.weight"], ["y"], name="conv", kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[1, 1], dilations=[1, 1], group=1))
    nodes.append(helper.make_node("Constant", [], ["c"], name="const", value=numpy_helper.from_array(np.arange(6, dtype=np.float32).reshape(2, 3), "cval")))
    nodes.append(helper.make_node("Constant", [], ["c2"], name="const_floats", value_floats=[1.5, -2.0]))
    nodes.append(helper.make_node("Constant", [], ["c3"], name="const_ints", value_ints=[1, -2, 3]))
    nodes.append(helper.make_node("Constant", [], ["c4"], name="const_string", value_string="hello"))
    nodes.append(helper.make_node("Constant", [], ["c5"], name="const_strings", value_strings=["a", "bc"]))
    nodes.append(helper.make_node("Constant", [], ["c6"], name="const_float", value_float=0.25))
    nodes.append(helper.make_node("Constant", [], ["c7"], name="const_int", value_int=-7))
    # A contrib-domain node carrying every attribute kind.
    sub = helper.make_graph([helper.make_node("Identity", ["si"], ["so"])], "sub",
                            [helper.make_tensor_value_info("si", TensorProto.FLOAT, [1])],
                            [helper.make_tensor_value_info("so", TensorProto.FLOAT, [1])])
    custom = helper.make_node("CustomKitchenSink", ["y"], ["z"], name="custom", domain="com.microsoft",
                              f=1.25, i=-3, s="text", t=numpy_helper.from_array(np.array([1, 2], dtype=np.int64), "tattr"),
                              g=sub, floats=[0.5, 1.5], ints=[4, -5, 6], strings=["x", "yz"],
                              tensors=[numpy_helper.from_array(np.array([1.0], dtype=np.float32), "t0"),
                                       numpy_helper.from_array(np.array([2], dtype=np.int8), "t1")],
                              graphs=[sub])
    nodes.append(custom)
    outputs.append(helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 4, "H", "W"]))
    outputs.append(helper.make_tensor_value_info("c", TensorProto.FLOAT, [2, 3]))
    graph = helper.make_graph(nodes, "kitchen_sink",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, "H", "W"])],
                              outputs, initializer=inits, doc_string="graph doc")
    m = helper.make_model(graph, producer_name="pyonnx.py", producer_version="1",
                          opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid("com.microsoft", 1)],
                          doc_string="model doc")
    m.ir_version = 7
    m.model_version = 3
    m.domain = "org.example"
    helper.set_model_props(m, {"labels": "cat\ndog", "mean": "0.485,0.456,0.406", "unicode": "Grüße ✓"})
    return m


def attr_value(a):
    v = helper.get_attribute_value(a)
    if a.type == onnx.AttributeProto.TENSOR:
        return tensor_json(v)
    if a.type == onnx.AttributeProto.TENSORS:
        return [tensor_json(t) for t in v]
    if a.type == onnx.AttributeProto.GRAPH:
        return graph_json(v)
    if a.type == onnx.AttributeProto.GRAPHS:
        return [graph_json(g) for g in v]
    if a.type == onnx.AttributeProto.STRING:
        return v.decode("utf-8", "replace")
    if a.type == onnx.AttributeProto.STRINGS:
        return [s.decode("utf-8", "replace") for s in v]
    if a.type == onnx.AttributeProto.FLOAT:
        return float(np.float32(v))
    if a.type == onnx.AttributeProto.FLOATS:
        return [float(np.float32(x)) for x in v]
    return v


def tensor_json(t):
    arr = numpy_helper.to_array(t)
    if t.data_type == TensorProto.BFLOAT16 and arr.dtype != np.float32:
        arr = arr.astype(np.float32)
    flat = arr.flatten()
    if flat.dtype.kind == "f":
        vals = [float(x) for x in flat.astype(np.float64)]
    elif flat.dtype.kind == "b":
        vals = [int(x) for x in flat]
    elif flat.dtype.kind in "SUO":
        vals = [x.decode() if isinstance(x, bytes) else str(x) for x in flat]
    else:
        vals = [int(x) for x in flat]
    return {"name": t.name, "type": int(t.data_type), "dims": [int(d) for d in t.dims], "values": vals}


def vi_json(v):
    tt = v.type.tensor_type
    dims = []
    for d in tt.shape.dim:
        if d.HasField("dim_value"):
            dims.append(int(d.dim_value))
        elif d.HasField("dim_param"):
            dims.append(d.dim_param)
        else:
            dims.append(None)
    return {"name": v.name, "elem": int(tt.elem_type), "dims": dims}


def graph_json(g):
    return {
        "name": g.name,
        "doc": g.doc_string,
        "nodes": [{"name": n.name, "op": n.op_type, "domain": n.domain, "inputs": list(n.input),
                   "outputs": list(n.output),
                   "attrs": [{"name": a.name, "type": int(a.type), "value": attr_value(a)} for a in n.attribute]}
                  for n in g.node],
        "initializers": [tensor_json(t) for t in g.initializer],
        "inputs": [vi_json(v) for v in g.input],
        "outputs": [vi_json(v) for v in g.output],
        "value_info": [vi_json(v) for v in g.value_info],
    }


def model_json(m):
    return {
        "ir_version": m.ir_version,
        "producer_name": m.producer_name,
        "producer_version": m.producer_version,
        "domain": m.domain,
        "model_version": m.model_version,
        "doc": m.doc_string,
        "opsets": [{"domain": o.domain, "version": o.version} for o in m.opset_import],
        "metadata": [{"key": p.key, "value": p.value} for p in m.metadata_props],
        "graph": graph_json(m.graph),
    }


def main():
    mode = sys.argv[1]
    if mode == "write":
        onnx.save(kitchen_sink(), sys.argv[2])
    elif mode == "check":
        failed = False
        for path in sys.argv[2:]:
            try:
                onnx.checker.check_model(onnx.load(path), full_check=True)
            except Exception as e:  # one line a file for the Go test
                print(path + ": " + str(e).replace("\n", " | "))
                failed = True
        sys.exit(1 if failed else 0)
    elif mode == "dump":
        m = onnx.load(sys.argv[2])
        with open(sys.argv[3], "w") as f:
            json.dump(model_json(m), f, sort_keys=True)
    else:
        sys.exit("unknown mode " + mode)


if __name__ == "__main__":
    main()
