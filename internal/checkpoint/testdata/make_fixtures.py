#!/usr/bin/python3
"""Writes the checkpoint fixtures of internal/checkpoint into testdata/gen/.

Run with Debian's /usr/bin/python3 (python3-torch 1.13, python3-torchvision
0.14); use make_fixtures.sh, which skips the work when gen/ is up to date.

Everything in gen/ is made here by the real producer, torch.save, except:
  * safetensors files: there is no safetensors package in Debian, so they are
    written from the documented format (8-byte little-endian header length,
    JSON header, data buffer) by write_safetensors below;
  * crafted files (crafted_*.pth and most of bad/): zip archives laid out as
    torch.save lays them out, with a data.pkl pickled by Python's own pickler,
    so that sizes, strides and offsets can be chosen freely.  The good ones are
    checked to load in torch.load with the expected values before they are
    written to the index; the bad ones are checked to be refused by torch.load
    (or, for the malicious ones, to be something torch.load would execute).

Outputs:
  gen/*.pth, gen/*.pt, gen/*.ckpt, gen/*.safetensors   files that must load
  gen/expected.json   per file: format, container, stripped prefix, keys in
                      file order, and for each tensor its shape, dtype and
                      where its values sit in expected.bin
  gen/expected.bin    every expected tensor as float32 little-endian, the
                      values torch gives for t.to(torch.float32)
  gen/bad/*           files that must be refused
  gen/resnet50.pth    torchvision resnet50 state_dict (benchmark, ~100 MB)
"""

import argparse
import collections
import io
import json
import os
import pickle
import struct
import sys
import tarfile
import types
import zipfile

import numpy as np
import torch
import torchvision

HERE = os.path.dirname(os.path.abspath(__file__))
GEN = os.path.join(HERE, "gen")
BAD = os.path.join(GEN, "bad")
PWNED = os.path.join(GEN, "PWNED")  # created only if something executes a payload

torch.manual_seed(1234)
np.random.seed(1234)

index = {"files": {}, "pwned_marker": PWNED}
blob = io.BytesIO()
blob_offsets = {}


def record(name, fmt, container, stripped, sd, values=True):
    """Adds the expected content of gen/name: sd maps the expected (stripped)
    keys, in file order, to the tensors torch loads."""
    entry = {"format": fmt, "container": container, "stripped": stripped,
             "keys": list(sd.keys()), "tensors": {}}
    for k, t in sd.items():
        t = t.detach()
        e = {"shape": list(t.shape), "dtype": str(t.dtype).replace("torch.", "")}
        if values:
            f = t.to(torch.float32).contiguous().numpy().astype("<f4").tobytes()
            if f not in blob_offsets:
                blob_offsets[f] = blob.tell()
                blob.write(f)
            e["offset"] = blob_offsets[f]
            e["numel"] = t.numel()
        entry["tensors"][k] = e
    index["files"][name] = entry


def check_same(path, sd, unwrap=lambda o: o):
    """torch.load(path) must give back exactly sd (values and dtypes)."""
    got = unwrap(torch.load(path))
    assert list(got.keys()) == list(sd.keys()), (path, list(got.keys()))
    for k in sd:
        a, b = got[k], sd[k]
        assert a.dtype == b.dtype and a.shape == b.shape, (path, k)
        assert torch.equal(a.to(torch.float64).nan_to_num(7.5), b.to(torch.float64).nan_to_num(7.5)), (path, k)


# ---------------------------------------------------------------- tensors

def special_values():
    # float16: normals, subnormals, +-0, +-inf, NaN, max, min subnormal
    f16 = torch.tensor([0.0, -0.0, 1.0, -2.5, 65504.0, -65504.0, 6.1e-05, 5.96e-08,
                        3.0e-06, float("inf"), float("-inf"), float("nan"),
                        0.333251953125, 1e-4], dtype=torch.float16)
    # bfloat16: includes values only bfloat16 can hold (1e38) and subnormals
    bf16 = torch.tensor([0.0, -0.0, 1.0, -3.140625, 1e38, -1e-38, 9.2e-41,
                         float("inf"), float("-inf"), float("nan"), 0.1, 255.0],
                        dtype=torch.bfloat16)
    # float64 whose float32 rounding matters, and values out of float32 range
    f64 = torch.tensor([0.1, 1.0 / 3.0, 1e-300, -1e300, 2.0 ** -149 * 0.75,
                        16777217.0, 3.4028235677973366e38, float("nan")],
                       dtype=torch.float64)
    return f16, bf16, f64


def dtype_state_dict():
    f16, bf16, f64 = special_values()
    sd = collections.OrderedDict()
    sd["conv.weight"] = torch.nn.Parameter(torch.randn(8, 3, 3, 3))
    sd["conv.bias"] = torch.randn(8)
    sd["half"] = f16
    sd["half_random"] = torch.randn(5, 7).half()
    sd["bf16"] = bf16
    sd["bf16_random"] = torch.randn(4, 6).bfloat16()
    sd["double"] = f64
    sd["bn.num_batches_tracked"] = torch.tensor(123456789)  # int64 0-d, rounds in float32
    sd["int32"] = torch.tensor([-5, 0, 7, 2 ** 31 - 1], dtype=torch.int32)
    sd["int16"] = torch.tensor([-32768, 1, 32767], dtype=torch.int16)
    sd["int8"] = torch.tensor([-128, -1, 0, 127], dtype=torch.int8)
    sd["uint8"] = torch.tensor([0, 1, 200, 255], dtype=torch.uint8)
    sd["bool"] = torch.tensor([True, False, True])
    sd["scalar"] = torch.tensor(2.75)
    sd["empty"] = torch.empty(0, 3)
    sd["empty1d"] = torch.empty(0)
    return sd


def view_state_dict():
    base = torch.arange(60, dtype=torch.float32).reshape(3, 4, 5) * 0.5 - 7
    flat = torch.randn(100)
    img = torch.randn(2, 3, 4, 5)
    sd = collections.OrderedDict()
    sd["base"] = base                                # shares storage with the views below
    sd["transposed"] = base.transpose(0, 2)          # strides (1, 5, 20)
    sd["sliced"] = base[1:, 2:, 1:4]                 # storage offset 30
    sd["stepped"] = base[:, ::2, ::3]                # strides (20, 10, 3)
    sd["column"] = base[2, :, 4]                     # 1-d view with stride 5, offset 44
    sd["element"] = base[1, 2, 3]                    # 0-d view with an offset
    sd["expanded"] = flat[:4].unsqueeze(0).expand(3, 4)   # stride 0
    sd["flat_tail"] = flat[90:]                      # offset 90, same storage as expanded
    sd["channels_last"] = img.contiguous(memory_format=torch.channels_last)
    sd["permuted"] = img.permute(3, 1, 0, 2)
    sd["half_view"] = torch.randn(6, 4).half().t()[1:]
    sd["empty_view"] = base[:, 2:2]                  # numel 0 with an offset
    return sd


def tiny_net():
    return torch.nn.Sequential(collections.OrderedDict([
        ("conv", torch.nn.Conv2d(3, 4, 3, bias=False)),
        ("bn", torch.nn.BatchNorm2d(4)),
        ("relu", torch.nn.ReLU()),
        ("pool", torch.nn.AdaptiveAvgPool2d(1)),
        ("flat", torch.nn.Flatten()),
        ("fc", torch.nn.Linear(4, 3)),
    ]))


def randomize(model):
    with torch.no_grad():
        for name, t in model.state_dict().items():
            if t.is_floating_point():
                t.copy_(torch.randn_like(t))
        for m in model.modules():
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                m.running_var.abs_().add_(0.1)
                m.num_batches_tracked.fill_(42)
    return model


def fastai_resnet18():
    body = torch.nn.Sequential(*list(torchvision.models.resnet18().children())[:-2])
    head = torch.nn.Sequential(
        torch.nn.Identity(),  # AdaptiveConcatPool2d has no parameters
        torch.nn.Flatten(),
        torch.nn.BatchNorm1d(1024), torch.nn.Dropout(0.25), torch.nn.Linear(1024, 512, bias=False),
        torch.nn.ReLU(inplace=True),
        torch.nn.BatchNorm1d(512), torch.nn.Dropout(0.5), torch.nn.Linear(512, 10, bias=False))
    return randomize(torch.nn.Sequential(body, head))


# ---------------------------------------------------------------- writers

def save_both(stem, sd, obj=None, unwrap=lambda o: o, container="state_dict", stripped="", expect=None, **kw):
    """torch.save(obj) in the zip and legacy formats; records sd as expected."""
    obj = sd if obj is None else obj
    expect = sd if expect is None else expect
    for fmt, ext, zipped in (("torch-zip", ".pth", True), ("torch-legacy", ".legacy.pth", False)):
        name = stem + ext
        path = os.path.join(GEN, name)
        torch.save(obj, path, _use_new_zipfile_serialization=zipped, **kw)
        check_same(path, sd, unwrap)
        record(name, fmt, container, stripped, expect)


def write_safetensors(path, tensors, metadata=None, order=None):
    codes = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16",
             torch.float64: "F64", torch.int64: "I64", torch.int32: "I32",
             torch.int16: "I16", torch.int8: "I8", torch.uint8: "U8", torch.bool: "BOOL"}
    header, data = {}, io.BytesIO()
    if metadata is not None:
        header["__metadata__"] = metadata
    for k in (order or tensors.keys()):
        t = tensors[k].detach().contiguous()
        raw = t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b""
        if t.dtype == torch.bool:
            raw = t.to(torch.uint8).numpy().tobytes()
        begin = data.tell()
        data.write(raw)
        header[k] = {"dtype": codes[t.dtype], "shape": list(t.shape), "data_offsets": [begin, data.tell()]}
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + data.getvalue())


class Storage:
    """A persistent-id marker: pickles as ('storage', cls, key, 'cpu', numel)."""

    def __init__(self, cls, key, numel):
        self.cls, self.key, self.numel = cls, key, numel


class Rebuild:
    """Pickles exactly as a torch 1.13 tensor does, with any geometry."""

    def __init__(self, storage, offset, size, stride, parameter=False):
        self.args = (storage, offset, tuple(size), tuple(stride), False, collections.OrderedDict())
        self.parameter = parameter

    def __reduce__(self):
        if self.parameter:
            return (torch._utils._rebuild_parameter, (Rebuild(*self.args[:4]), True, collections.OrderedDict()))
        return (torch._utils._rebuild_tensor_v2, self.args)


class RebuildFromType:
    """A tensor with Python attributes as torch 2.x pickles it:
    _rebuild_from_type_v2(_rebuild_tensor_v2, torch.Tensor, args, state)."""

    def __init__(self, inner, state):
        self.inner, self.state = inner, state

    def __reduce__(self):
        return (torch._tensor._rebuild_from_type_v2,
                (torch._utils._rebuild_tensor_v2, torch.Tensor, self.inner.args, self.state))


class TorchPickler(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, Storage):
            return ("storage", obj.cls, obj.key, "cpu", obj.numel)
        return None


def write_torch_zip(path, obj, storages, archive="archive", proto=2, data_pkl=None, compress=zipfile.ZIP_STORED,
                    byteorder=None):
    buf = io.BytesIO()
    TorchPickler(buf, protocol=proto).dump(obj)
    with zipfile.ZipFile(path, "w", compression=compress) as z:
        z.writestr(archive + "/data.pkl", data_pkl if data_pkl is not None else buf.getvalue())
        for key, raw in storages.items():
            z.writestr(archive + "/data/" + key, raw)
        z.writestr(archive + "/version", "3\n")
        if byteorder is not None:  # torch 2.x writes it
            z.writestr(archive + "/byteorder", byteorder)


STORAGE_TYPES = {torch.float32: torch.FloatStorage, torch.float64: torch.DoubleStorage,
                 torch.float16: torch.HalfStorage, torch.bfloat16: torch.BFloat16Storage,
                 torch.int64: torch.LongStorage, torch.int32: torch.IntStorage, torch.int16: torch.ShortStorage,
                 torch.int8: torch.CharStorage, torch.uint8: torch.ByteStorage, torch.bool: torch.BoolStorage}
TENSOR_TYPES = {torch.float32: torch.FloatTensor, torch.float64: torch.DoubleTensor, torch.float16: torch.HalfTensor,
                torch.bfloat16: torch.BFloat16Tensor, torch.int64: torch.LongTensor, torch.int32: torch.IntTensor,
                torch.int16: torch.ShortTensor, torch.int8: torch.CharTensor, torch.uint8: torch.ByteTensor,
                torch.bool: torch.BoolTensor}


def write_torch_tar(path, obj):
    """torch.save's tar format (torch 0.1.x), laid out as that version's
    serialization._save wrote it: a PAX tar of sys_info, pickle (tensors as
    persistent ids str(key)), tensors (count, then per tensor (key,
    storage_key, tensor_type), int32 ndim, 4 unused bytes, int64 sizes,
    strides, offset) and storages (count, then per storage (key, location,
    storage_type), int64 count, data; then the list of storage views)."""
    tensors, storages = {}, {}

    class P(pickle.Pickler):
        def persistent_id(self, o):
            if torch.is_tensor(o):
                tensors[id(o)] = o
                storages[o.storage().data_ptr()] = o
                return str(id(o))
            return None

    pk = io.BytesIO()
    P(pk, protocol=2).dump(obj)
    skeys = {ptr: 1000 + i for i, ptr in enumerate(storages)}  # ints, like _cdata
    tn = io.BytesIO()
    pickle.dump(len(tensors), tn, protocol=2)
    for key, t in tensors.items():
        pickle.dump((key, skeys[t.storage().data_ptr()], TENSOR_TYPES[t.dtype]), tn, protocol=2)
        tn.write(struct.pack("<i", t.dim()) + b"\0\0\0\0")
        tn.write(struct.pack("<%dq" % t.dim(), *t.shape) + struct.pack("<%dq" % t.dim(), *t.stride()))
        tn.write(struct.pack("<q", t.storage_offset()))
    st = io.BytesIO()
    pickle.dump(len(storages), st, protocol=2)
    for ptr, t in storages.items():
        stor = t.storage()
        pickle.dump((skeys[ptr], "cpu", STORAGE_TYPES[t.dtype]), st, protocol=2)
        flat = torch.empty(0, dtype=t.dtype).set_(stor, 0, (stor.size(),), (1,))
        st.write(struct.pack("<q", stor.size()))
        if stor.size():
            st.write(flat.view(torch.uint8).numpy().tobytes() if t.dtype != torch.bool
                     else flat.to(torch.uint8).numpy().tobytes())
    pickle.dump([], st, protocol=2)
    info = pickle.dumps(dict(protocol_version=1000, little_endian=True,
                             type_sizes=dict(short=2, int=4, long=8)), protocol=2)
    with tarfile.open(path, "w:", format=tarfile.PAX_FORMAT) as tar:
        for name, data in (("sys_info", info), ("pickle", pk.getvalue()),
                           ("tensors", tn.getvalue()), ("storages", st.getvalue())):
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            tar.addfile(ti, io.BytesIO(data))


def refused_by_torch(path):
    try:
        torch.load(path)
    except Exception:
        return True
    return False


# ---------------------------------------------------------------- good files

def make_good():
    # dtypes: plain OrderedDict, zip + legacy, pickle protocols 2 and 4
    sd = dtype_state_dict()
    save_both("dtypes", sd)
    for proto in (4, 5):
        name = "dtypes.proto%d.pth" % proto
        torch.save(sd, os.path.join(GEN, name), pickle_protocol=proto)
        check_same(os.path.join(GEN, name), sd)
        record(name, "torch-zip", "state_dict", "", sd)

    # views: transposes, slices with offsets, shared storages, stride 0
    save_both("views", view_state_dict())

    # a real module state_dict (OrderedDict with _metadata, BUILD)
    net = randomize(tiny_net())
    save_both("tiny", net.state_dict())

    # DataParallel: every key starts with "module."
    dp = torch.nn.DataParallel(net)
    dsd = dp.state_dict()
    save_both("dataparallel", dsd, stripped="module.", expect=net.state_dict())

    # fastai Learner.save(with_opt=True): {'model': state_dict, 'opt': optimizer state}.
    # fastai's Optimizer.state_dict keeps its hyper-parameters in a fastcore L,
    # which pickles as NEWOBJ fastcore.foundation.L + BUILD {'items': [...]}.
    fc = types.ModuleType("fastcore.foundation")

    class L:
        def __init__(self, items):
            self.items = list(items)

    L.__module__ = "fastcore.foundation"
    L.__qualname__ = "L"
    fc.L = L
    sys.modules["fastcore"] = types.ModuleType("fastcore")
    sys.modules["fastcore.foundation"] = fc

    def fastcore_L(items):
        return L(items)

    model = fastai_resnet18()
    msd = model.state_dict()
    params = [p for p in model.parameters()]
    opt = {"state": [{"grad_avg": torch.randn_like(p), "sqr_avg": torch.rand_like(p), "step": 17, "do_wd": True}
                     for p in params],
           "hypers": fastcore_L([{"wd": 0.01, "sqr_mom": 0.99, "lr": 0.001, "mom": 0.9, "eps": 1e-05}])}
    save_both("fastai", msd, obj={"model": msd, "opt": opt}, unwrap=lambda o: o["model"], container="fastai")

    # PyTorch Lightning-like: 'state_dict' with the LightningModule's "model." prefix
    # and the other entries a Lightning 1.9 / 2.x checkpoint holds.  hyper_parameters
    # is an AttributeDict, a dict subclass, pickled under Lightning's module names.
    mod = types.ModuleType("pytorch_lightning.utilities.parsing")

    class AttributeDict(dict):
        pass

    AttributeDict.__module__ = mod.__name__
    AttributeDict.__qualname__ = "AttributeDict"
    mod.AttributeDict = AttributeDict
    for name in ("pytorch_lightning", "pytorch_lightning.utilities"):
        sys.modules.setdefault(name, types.ModuleType(name))
    sys.modules[mod.__name__] = mod
    lnet = randomize(tiny_net())
    lsd = collections.OrderedDict(("model." + k, v) for k, v in lnet.state_dict().items())
    adam = torch.optim.Adam(lnet.parameters(), lr=1e-3)
    lnet(torch.randn(2, 3, 8, 8)).sum().backward()
    adam.step()
    sched = torch.optim.lr_scheduler.StepLR(adam, step_size=10)
    ckpt = {
        "epoch": 3,
        "global_step": 120,
        "pytorch-lightning_version": "1.9.4",
        "state_dict": lsd,
        "loops": {"fit_loop": {"state_dict": {}, "epoch_progress": {"total": {"ready": 4, "completed": 3},
                                                                     "current": {"ready": 4, "completed": 3}},
                               "epoch_loop.batch_progress": {"total": {"ready": 120}, "is_last_batch": False}}},
        "callbacks": {"ModelCheckpoint{'monitor': 'val_loss', 'mode': 'min'}": {
            "monitor": "val_loss", "best_model_score": torch.tensor(0.4321),
            "best_model_path": "/tmp/epoch=2.ckpt", "best_k_models": {"/tmp/epoch=2.ckpt": torch.tensor(0.4321)},
            "kth_value": torch.tensor(float("inf")), "dirpath": "/tmp", "last_model_path": ""}},
        "optimizer_states": [adam.state_dict()],
        "lr_schedulers": [sched.state_dict()],
        "hparams_name": "kwargs",
        "hyper_parameters": AttributeDict(lr=1e-3, arch="tiny", layers=[1, 2], betas=(0.9, 0.999), extra=None,
                                          frozen=frozenset({"a"}), tags={"x", "y"}),
    }
    expect = collections.OrderedDict((k[len("model."):], v) for k, v in lsd.items())
    for fmt, name, zipped in (("torch-zip", "lightning.ckpt", True), ("torch-legacy", "lightning.legacy.ckpt", False)):
        path = os.path.join(GEN, name)
        torch.save(ckpt, path, _use_new_zipfile_serialization=zipped)
        check_same(path, lsd, lambda o: o["state_dict"])
        record(name, fmt, "lightning", "model.", expect)

    # a training script: model_state_dict + optimizer + argparse args + numpy scalars + bytes
    tnet = randomize(tiny_net())
    tsd = tnet.state_dict()
    sgd = torch.optim.SGD(tnet.parameters(), lr=0.1, momentum=0.9)
    script = {"epoch": 7, "model_state_dict": tsd, "optimizer_state_dict": sgd.state_dict(),
              "loss": torch.tensor(0.25), "best_acc": np.float64(0.875), "seed": np.int64(3),
              "args": argparse.Namespace(lr=0.1, arch="tiny", epochs=90), "note": b"\x00\xffbytes",
              "device": torch.device("cpu"), "dtype": torch.float16}
    save_both("script", tsd, obj=script, unwrap=lambda o: o["model_state_dict"], container="model_state_dict")

    # {'state_dict': ...} without Lightning's entries (many training scripts)
    save_both("statedictkey", tsd, obj={"state_dict": tsd, "epoch": 1, "arch": "tiny"},
              unwrap=lambda o: o["state_dict"], container="state_dict-key")

    # crafted zip (archive name "archive", as torch 2.x writes) with a parameter,
    # a storage shared by two tensors and a storage larger than its tensors need
    st0 = Storage(torch.FloatStorage, "0", 10)
    st1 = Storage(torch.HalfStorage, "7", 6)
    raw0 = torch.arange(10, dtype=torch.float32).numpy().tobytes()
    raw1 = torch.tensor([1, 2, 3, 4, 5, 6], dtype=torch.float16).numpy().tobytes()
    obj = collections.OrderedDict([("p", Rebuild(st0, 1, (2, 3), (3, 1), parameter=True)),
                                   ("q", Rebuild(st0, 9, (), ())),
                                   ("h", Rebuild(st1, 2, (2, 2), (1, 2))),
                                   ("typed", RebuildFromType(Rebuild(st0, 4, (3,), (2,)), {"note": "attr"}))])
    path = os.path.join(GEN, "crafted.pth")
    write_torch_zip(path, obj, {"0": raw0, "7": raw1}, byteorder="little")
    got = torch.load(path)
    assert got["typed"].tolist() == [4.0, 6.0, 8.0]
    record("crafted.pth", "torch-zip", "state_dict", "", got)

    # torch.save's tar format (torch 0.1.x), checked with torch 1.13's torch.load
    for stem, sd in (("dtypes", dtype_state_dict()), ("views", view_state_dict())):
        name = stem + ".tar.pth"
        write_torch_tar(os.path.join(GEN, name), sd)
        check_same(os.path.join(GEN, name), sd)
        record(name, "torch-tar", "state_dict", "", sd)

    # safetensors, written from the format's documentation
    st = dtype_state_dict()
    del st["empty1d"]
    write_safetensors(os.path.join(GEN, "dtypes.safetensors"), st, metadata={"format": "pt", "note": "fixture"})
    record("dtypes.safetensors", "safetensors", "state_dict", "", st)
    write_safetensors(os.path.join(GEN, "tiny.safetensors"), net.state_dict())
    record("tiny.safetensors", "safetensors", "state_dict", "", net.state_dict())
    write_safetensors(os.path.join(GEN, "dataparallel.safetensors"), dsd)
    record("dataparallel.safetensors", "safetensors", "state_dict", "module.", net.state_dict())

    # a tiny file for the package Example (also committed as testdata/example.pth)
    ex = collections.OrderedDict([("fc.weight", torch.tensor([[0.5, -1.0], [2.0, 0.25]])),
                                  ("fc.bias", torch.tensor([1.0, -1.0], dtype=torch.float16))])
    torch.save(ex, os.path.join(GEN, "example.pth"))
    record("example.pth", "torch-zip", "state_dict", "", ex)

    # benchmark: torchvision resnet50 state_dict (~100 MB); keys and shapes only
    r50 = torchvision.models.resnet50()
    torch.save(r50.state_dict(), os.path.join(GEN, "resnet50.pth"))
    record("resnet50.pth", "torch-zip", "state_dict", "", r50.state_dict(), values=False)


# ---------------------------------------------------------------- plain pickles

def canon(v):
    """The rendering TestPickleValues gives the Go unpickler's values."""
    if v is None or isinstance(v, bool):
        return repr(v)
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return "f" + struct.pack(">d", v).hex()
    if isinstance(v, str):
        return "s" + v.encode().hex()
    if isinstance(v, bytes):
        return "b" + v.hex()
    if isinstance(v, list):
        return "[" + ",".join(canon(x) for x in v) + "]"
    if isinstance(v, tuple):
        return "(" + ",".join(canon(x) for x in v) + ")"
    if isinstance(v, dict):
        return "{" + ",".join(canon(k) + ":" + canon(x) for k, x in v.items()) + "}"
    if isinstance(v, (set, frozenset)):
        return "set{" + ",".join(sorted(canon(x) for x in v)) + "}"
    raise TypeError(type(v))


def make_pickles():
    """Python's own pickler, protocols 2 to 5, on values that use every opcode
    those protocols write for plain data; gen/pickles/values.canon is the
    expected rendering."""
    shared = [1, 2]
    values = {
        "ints": [0, 1, -1, 255, 256, 65535, 65536, -2 ** 31, 2 ** 31 - 1, 2 ** 31, 2 ** 63 - 1, -2 ** 63,
                 2 ** 64, -2 ** 100, 2 ** 1000],
        "floats": [0.0, -0.0, 1.5, 1e-300, float("inf"), -float("inf"), float("nan")],
        "strs": ["", "ascii", "\u00fcn\u00efc\u00f6d\u00e9 \u2713 \U0001d11e", "x" * 300],
        "bytes": [b"", b"\x00\xff", b"y" * 300],
        "nested": (1, (2, (3, ())), [], {}, None, True, False),
        "big_list": list(range(2500)),
        "big_dict": {str(i): i for i in range(2500)},
        "sets": [set(), {1, 2, 3}, frozenset({"a"})],
        "shared": [shared, shared, (shared,)],
        "ordered": collections.OrderedDict([("b", 1), ("a", [2])]),
        "odd_keys": {(1, "a"): 2, 3: "int key", None: 0, b"k": 1},
    }
    d = os.path.join(GEN, "pickles")
    os.makedirs(d, exist_ok=True)
    for proto in (2, 3, 4, 5):
        data = pickle.dumps(values, protocol=proto)
        assert canon(pickle.loads(data)) == canon(values)
        with open(os.path.join(d, "values.p%d.pkl" % proto), "wb") as f:
            f.write(data)
    with open(os.path.join(d, "values.canon"), "w") as f:
        f.write(canon(values))


# ---------------------------------------------------------------- bad files

class Evil:
    def __init__(self, func, arg):
        self.func, self.arg = func, arg

    def __reduce__(self):
        return (self.func, (self.arg,))


def bad(name, data):
    with open(os.path.join(BAD, name), "wb") as f:
        f.write(data)


def make_bad():
    payload = "echo pwned > " + PWNED
    # malicious globals, through the real torch.save
    torch.save({"w": torch.ones(2), "x": Evil(os.system, payload)}, os.path.join(BAD, "evil_system.pth"))
    torch.save({"x": Evil(eval, "__import__('os').system(%r)" % payload)}, os.path.join(BAD, "evil_eval.pth"))
    torch.save({"x": Evil(os.system, payload)}, os.path.join(BAD, "evil_system.legacy.pth"),
               _use_new_zipfile_serialization=False)
    write_torch_tar(os.path.join(BAD, "evil_system.tar.pth"), {"w": torch.ones(2), "x": Evil(os.system, payload)})
    # __builtin__ getattr (a Python 2 style global), written by hand
    bad("evil_getattr.pkl", b"\x80\x02c__builtin__\ngetattr\nq\x00.")
    # a whole pickled model: its class is not allowed either
    torch.save(tiny_net(), os.path.join(BAD, "whole_model.pth"))
    assert not os.path.exists(PWNED)

    good = open(os.path.join(GEN, "tiny.pth"), "rb").read()
    legacy = open(os.path.join(GEN, "tiny.legacy.pth"), "rb").read()
    sft = open(os.path.join(GEN, "tiny.safetensors"), "rb").read()
    bad("truncated.pth", good[: len(good) // 2])
    bad("truncated.legacy.pth", legacy[: len(legacy) - 10])
    bad("truncated_pickle.legacy.pth", legacy[:200])
    bad("truncated.safetensors", sft[: len(sft) - 3])
    tarred = open(os.path.join(GEN, "views.tar.pth"), "rb").read()
    bad("truncated.tar.pth", tarred[: len(tarred) // 2])
    bad("empty.pth", b"")
    bad("garbage.pth", bytes(np.random.RandomState(5).randint(0, 256, 4096).astype(np.uint8)))
    # legacy file whose magic number is off by one
    magic = pickle.dumps(0x1950A86A20F9469CFC6C, protocol=2)
    assert legacy.startswith(magic)
    bad("wrong_magic.legacy.pth", pickle.dumps(0x1950A86A20F9469CFC6D, protocol=2) + legacy[len(magic):])
    # TorchScript archive
    torch.jit.save(torch.jit.script(tiny_net()), os.path.join(BAD, "torchscript.pt"))

    f32 = lambda n: np.arange(n, dtype="<f4").tobytes()
    st = lambda numel, key="0", cls=torch.FloatStorage: Storage(cls, key, numel)
    # a tensor whose storage is too small for its shape / strides / offset
    write_torch_zip(os.path.join(BAD, "storage_too_small.pth"),
                    collections.OrderedDict([("ok", Rebuild(st(50), 0, (5, 10), (10, 1))),
                                             ("layer.weight", Rebuild(st(50), 0, (10, 10), (10, 1)))]), {"0": f32(50)})
    write_torch_zip(os.path.join(BAD, "offset_too_large.pth"),
                    {"bias": Rebuild(st(50), 45, (6,), (1,))}, {"0": f32(50)})
    write_torch_zip(os.path.join(BAD, "stride_too_large.pth"),
                    {"w": Rebuild(st(50), 0, (5, 5), (1, 12))}, {"0": f32(50)})
    write_torch_zip(os.path.join(BAD, "negative_size.pth"),
                    {"w": Rebuild(st(50), 0, (-5, 5), (5, 1))}, {"0": f32(50)})
    # the storage's own numel claims more than its archive entry holds (torch 1.13
    # loads this one: its tensor shows 60 floats of whatever memory follows the record)
    write_torch_zip(os.path.join(BAD, "entry_too_short.pth"),
                    {"w": Rebuild(st(100), 0, (100,), (1,))}, {"0": f32(40)})
    write_torch_zip(os.path.join(BAD, "big_endian.pth"),
                    {"w": Rebuild(st(4), 0, (4,), (1,))}, {"0": np.arange(4, dtype=">f4").tobytes()}, byteorder="big")
    write_torch_zip(os.path.join(BAD, "missing_entry.pth"),
                    {"w": Rebuild(st(4, key="3"), 0, (4,), (1,))}, {"0": f32(4)})
    # 10^12 elements (torch 1.13 loads it, backed by a 64-byte record)
    write_torch_zip(os.path.join(BAD, "huge_tensor.pth"),
                    {"big": Rebuild(st(10 ** 12), 0, (10 ** 6, 10 ** 6), (10 ** 6, 1))}, {"0": f32(16)})
    write_torch_zip(os.path.join(BAD, "huge_storage.pth"),
                    {"small": Rebuild(st(2 ** 61), 0, (4,), (1,))}, {"0": f32(16)})
    # zip bombs: deflated entries of zeros, 256 MiB (over the pickle size limit)
    # and 32 MiB (under it, but compressed 1000:1)
    for name, size in (("zip_bomb.pth", 256 << 20), ("zip_bomb_pickle.pth", 32 << 20)):
        with zipfile.ZipFile(os.path.join(BAD, name), "w", compression=zipfile.ZIP_DEFLATED) as z:
            z.writestr("archive/data.pkl", b"\x00" * size)
    buf = io.BytesIO()
    TorchPickler(buf, protocol=2).dump({"w": Rebuild(st(64 << 20), 0, (64 << 20,), (1,))})
    with zipfile.ZipFile(os.path.join(BAD, "zip_bomb_tensor.pth"), "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("archive/data.pkl", buf.getvalue())
        z.writestr("archive/data/0", b"\x00" * (256 << 20))
    # deep nesting: 100000 nested lists (EMPTY_LIST x N, APPEND x N-1)
    n = 100000
    write_torch_zip(os.path.join(BAD, "deep_nesting.pth"), None, {},
                    data_pkl=b"\x80\x02" + b"]" * n + b"a" * (n - 1) + b".")
    # 2000 nested dicts, well within the stack but deeper than any checkpoint
    d = {"w": 1}
    for _ in range(2000):
        d = {"k": d}
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(100000)
    write_torch_zip(os.path.join(BAD, "deep_dicts.pth"), d, {})
    sys.setrecursionlimit(limit)
    # self-referencing containers, through the real torch.save: where the
    # loader looks for the state dict, a loop is refused ...
    loop = {}
    loop["model"] = loop
    torch.save(loop, os.path.join(BAD, "self_model_loop.pth"))
    loop = {}
    loop["state_dict"] = loop
    torch.save(loop, os.path.join(BAD, "self_state_dict_loop.pth"))
    # ... and beside the tensors it is ignored like any non-tensor entry.
    os.makedirs(os.path.join(GEN, "selfref"), exist_ok=True)
    w = torch.arange(4, dtype=torch.float32).reshape(2, 2)
    sd = collections.OrderedDict([("fc.weight", w)])
    sd["loop"] = sd
    torch.save(sd, os.path.join(GEN, "selfref", "state_dict_holds_itself.pth"))
    lt = {"state_dict": collections.OrderedDict([("fc.weight", w)])}
    lt["state_dict"]["hparams"] = lt
    torch.save(lt, os.path.join(GEN, "selfref", "lightning_holds_parent.pth"))
    lst = [w]
    lst.append(lst)
    torch.save({"fc.weight": w, "extra": lst}, os.path.join(GEN, "selfref", "list_holds_itself.pth"))
    # memo flood: 2^21 LONG_BINPUTs of one None
    write_torch_zip(os.path.join(BAD, "memo_flood.pth"), None, {},
                    data_pkl=b"\x80\x02N" + b"".join(b"r" + struct.pack("<I", i) for i in range(1 << 21)) + b".")
    # a FRAME longer than the pickle, a BINUNICODE claiming 4 GiB
    write_torch_zip(os.path.join(BAD, "long_frame.pth"), None, {},
                    data_pkl=b"\x80\x04\x95" + struct.pack("<Q", 1 << 60) + b"N.")
    write_torch_zip(os.path.join(BAD, "long_string.pth"), None, {},
                    data_pkl=b"\x80\x02X\xff\xff\xff\xffabc.")
    # not a checkpoint: a list of tensors, a dict without tensors
    torch.save([torch.ones(2)], os.path.join(BAD, "list.pth"))
    torch.save({"epoch": 3, "lr": 0.1}, os.path.join(BAD, "no_tensors.pth"))

    # safetensors
    def sf(name, header, data=b"", hlen=None):
        h = json.dumps(header).encode() if isinstance(header, dict) else header
        bad(name, struct.pack("<Q", len(h) if hlen is None else hlen) + h + data)

    ok = {"w": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]}}
    sf("header_too_long.safetensors", ok, f32(4), hlen=1 << 62)
    sf("header_past_end.safetensors", ok, f32(4), hlen=200)
    sf("bad_json.safetensors", b'{"w": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]', f32(4))
    sf("offsets_past_end.safetensors", {"w": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 32]}}, f32(4))
    sf("shape_mismatch.safetensors", {"w": {"dtype": "F32", "shape": [3, 2], "data_offsets": [0, 16]}}, f32(4))
    sf("unknown_dtype.safetensors", {"w": {"dtype": "Q7", "shape": [2, 2], "data_offsets": [0, 16]}}, f32(4))
    sf("huge_shape.safetensors", {"w": {"dtype": "F32", "shape": [1000000, 1000000], "data_offsets": [0, 16]}}, f32(4))
    sf("overlap.safetensors", {"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]},
                               "b": {"dtype": "F32", "shape": [2], "data_offsets": [8, 16]}}, f32(4))
    sf("hole.safetensors", {"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                            "b": {"dtype": "F32", "shape": [1], "data_offsets": [12, 16]}}, f32(4))
    sf("duplicate_key.safetensors",
       b'{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"w":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}',
       f32(4))
    sf("negative_dim.safetensors", {"w": {"dtype": "F32", "shape": [-2, -2], "data_offsets": [0, 16]}}, f32(4))

    # these must be refused by torch.load too (torch 1.13 loads entry_too_short.pth
    # and huge_tensor.pth: it trusts the storage numel and reads past the record)
    for name in ("storage_too_small.pth", "offset_too_large.pth", "stride_too_large.pth", "negative_size.pth",
                 "missing_entry.pth", "truncated.pth",
                 "wrong_magic.legacy.pth", "truncated.legacy.pth"):
        assert refused_by_torch(os.path.join(BAD, name)), name


def main():
    os.makedirs(BAD, exist_ok=True)
    if os.path.exists(PWNED):
        os.remove(PWNED)
    make_good()
    make_pickles()
    make_bad()
    with open(os.path.join(GEN, "expected.bin"), "wb") as f:
        f.write(blob.getvalue())
    with open(os.path.join(GEN, "expected.json"), "w") as f:
        json.dump(index, f, indent=1)
    print("wrote %d good files, %d bad files into %s" % (len(index["files"]), len(os.listdir(BAD)), GEN))


if __name__ == "__main__":
    main()
