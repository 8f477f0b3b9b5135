#!/usr/bin/python3
"""Checkpoints of every ResNet family `export` recognizes, with torch's logits.

Run with Debian's torch (/usr/bin/python3: python3-torch 1.13,
python3-torchvision 0.14, python3-onnx 1.12); make_fixtures.sh runs it when
gen/ is missing or older than this script. Writes gen/ (git-ignored):

  gen/<name>.<ext>          the checkpoint (torch zip, legacy, safetensors), in
                            the container and dtype the manifest names
  gen/<name>.<i>.in.pb      input i: TensorProto float32 [N, C, H, W], N(0, 1)
  gen/<name>.<i>.out.pb     torch's logits for it: float32 [N, classes]
  gen/manifest.json         per fixture: family, expected architecture name,
                            input channels, classes, torch's parameter count,
                            MACs at 224x224 counted by forward hooks, format,
                            container, dtype, labels, the (N, H, W) of each input
  gen/bad/*                 checkpoints export must refuse, with the reason

Every model is randomly initialised; BatchNorm weight and bias are random and
its running statistics are set from a forward pass in training mode on random
data, then perturbed (so no BatchNorm is an identity and activations stay in
a sane range through 150 layers). float16 and bfloat16 checkpoints hold the
rounded weights, and the reference logits are torch's float32 forward pass on
those rounded weights. For the first input the script also runs the model in
float64 and records how far torch's own float32 logits are from it
(torch_f32_vs_f64, ~1e-6); it refuses a fixture where that exceeds 2e-5.

timm and fastai are not installed: their module structures are rebuilt below
in plain torch with the same module names, orders and hyper-parameters, from
their sources (timm/models/resnet.py: ResNet, BasicBlock, Bottleneck,
downsample_avg; fastai/layers.py: ConvLayer, ResBlock, AdaptiveConcatPool2d,
LinBnDrop; fastai/vision/models/xresnet.py: XResNet; fastai/vision/learner.py:
create_body, create_head; the fastai book's 14_resnet.ipynb).
"""

import collections
import copy
import io
import json
import os
import pickle
import struct
import sys
import time
import types
import zipfile

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision
from onnx import numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
GEN = os.path.join(HERE, "gen")
BAD = os.path.join(GEN, "bad")

torch.set_num_threads(2)


# ---------------------------------------------------------------- timm (timm/models/resnet.py)

class TimmBasicBlock(nn.Module):
    expansion = 1

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.drop_block = nn.Identity()
        self.act1 = nn.ReLU(inplace=True)
        self.aa = nn.Identity()
        self.conv2 = nn.Conv2d(planes, planes, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.se = None
        self.act2 = nn.ReLU(inplace=True)
        self.downsample = downsample
        self.drop_path = None

    def forward(self, x):
        shortcut = x
        x = self.act1(self.drop_block(self.bn1(self.conv1(x))))
        x = self.aa(x)
        x = self.bn2(self.conv2(x))
        if self.downsample is not None:
            shortcut = self.downsample(shortcut)
        return self.act2(x + shortcut)


class TimmBottleneck(nn.Module):
    expansion = 4

    def __init__(self, inplanes, planes, stride=1, downsample=None, cardinality=1, base_width=64):
        super().__init__()
        width = int(np.floor(planes * (base_width / 64)) * cardinality)
        outplanes = planes * 4
        self.conv1 = nn.Conv2d(inplanes, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.act1 = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(width, width, 3, stride=stride, padding=1, groups=cardinality, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.drop_block = nn.Identity()
        self.act2 = nn.ReLU(inplace=True)
        self.aa = nn.Identity()
        self.conv3 = nn.Conv2d(width, outplanes, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(outplanes)
        self.se = None
        self.act3 = nn.ReLU(inplace=True)
        self.downsample = downsample
        self.drop_path = None

    def forward(self, x):
        shortcut = x
        x = self.act1(self.bn1(self.conv1(x)))
        x = self.act2(self.drop_block(self.bn2(self.conv2(x))))
        x = self.aa(x)
        x = self.bn3(self.conv3(x))
        if self.downsample is not None:
            shortcut = self.downsample(shortcut)
        return self.act3(x + shortcut)


def timm_downsample_avg(cin, cout, stride):
    "downsample_avg: AvgPool2d(2, stride, ceil_mode=True, count_include_pad=False) or Identity, conv 1x1, bn"
    pool = nn.Identity() if stride == 1 else nn.AvgPool2d(2, stride, ceil_mode=True, count_include_pad=False)
    return nn.Sequential(pool, nn.Conv2d(cin, cout, 1, stride=1, padding=0, bias=False), nn.BatchNorm2d(cout))


def timm_downsample_conv(cin, cout, stride):
    return nn.Sequential(nn.Conv2d(cin, cout, 1, stride=stride, padding=0, bias=False), nn.BatchNorm2d(cout))


class SelectAdaptivePool2d(nn.Module):
    "timm's global_pool='avg' (no parameters)"
    def __init__(self):
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten(1)

    def forward(self, x):
        return self.flatten(self.pool(x))


class TimmResNet(nn.Module):
    def __init__(self, block, layers, num_classes=1000, in_chans=3, cardinality=1, base_width=64,
                 stem_width=64, stem_type="", avg_down=False):
        super().__init__()
        deep = "deep" in stem_type
        inplanes = stem_width * 2 if deep else 64
        if deep:
            c = (stem_width, stem_width)
            self.conv1 = nn.Sequential(
                nn.Conv2d(in_chans, c[0], 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(c[0]), nn.ReLU(inplace=True),
                nn.Conv2d(c[0], c[1], 3, stride=1, padding=1, bias=False), nn.BatchNorm2d(c[1]), nn.ReLU(inplace=True),
                nn.Conv2d(c[1], inplanes, 3, stride=1, padding=1, bias=False))
        else:
            self.conv1 = nn.Conv2d(in_chans, inplanes, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(inplanes)
        self.act1 = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        for i, (planes, n) in enumerate(zip((64, 128, 256, 512), layers)):
            stride = 1 if i == 0 else 2
            down = None
            if stride != 1 or inplanes != planes * block.expansion:
                f = timm_downsample_avg if avg_down else timm_downsample_conv
                down = f(inplanes, planes * block.expansion, stride)
            blocks = []
            for j in range(n):
                kw = {} if block is TimmBasicBlock else dict(cardinality=cardinality, base_width=base_width)
                blocks.append(block(inplanes, planes, stride if j == 0 else 1, down if j == 0 else None, **kw))
                inplanes = planes * block.expansion
            self.add_module(f"layer{i + 1}", nn.Sequential(*blocks))
        self.global_pool = SelectAdaptivePool2d()
        self.fc = nn.Linear(inplanes, num_classes)

    def forward(self, x):
        x = self.maxpool(self.act1(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(self.global_pool(x))


# ---------------------------------------------------------------- fastai (layers.py, xresnet.py, learner.py)

def ConvLayer(ni, nf, ks=3, stride=1, act=True, groups=1):
    "fastai ConvLayer, NormType.Batch, bn_1st: Sequential(Conv2d(bias=False, padding=(ks-1)//2), BatchNorm2d[, ReLU])"
    layers = [nn.Conv2d(ni, nf, ks, stride=stride, padding=(ks - 1) // 2, bias=False, groups=groups), nn.BatchNorm2d(nf)]
    if act:
        layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


class XResBlock(nn.Module):
    "fastai.layers.ResBlock(expansion, ni, nf, stride): convpath, idpath (pool first), act"
    def __init__(self, expansion, ni, nf, stride=1):
        super().__init__()
        nh = nf
        nf, ni = nf * expansion, ni * expansion
        if expansion == 1:
            convpath = [ConvLayer(ni, nh, 3, stride=stride), ConvLayer(nh, nf, 3, act=False)]
        else:
            convpath = [ConvLayer(ni, nh, 1), ConvLayer(nh, nh, 3, stride=stride), ConvLayer(nh, nf, 1, act=False)]
        self.convpath = nn.Sequential(*convpath)
        idpath = []
        if ni != nf:
            idpath.append(ConvLayer(ni, nf, 1, act=False))
        if stride != 1:
            idpath.insert(0, nn.AvgPool2d(stride, ceil_mode=True))  # fastai AvgPool(ks=2, ceil_mode=True)
        self.idpath = nn.Sequential(*idpath)
        self.act = nn.ReLU(inplace=True)

    def forward(self, x):
        return self.act(self.convpath(x) + self.idpath(x))


class XResNet(nn.Sequential):
    "fastai.vision.models.xresnet.XResNet(ResBlock, expansion, layers, p, c_in, n_out, stem_szs, widen)"
    def __init__(self, expansion, layers, c_in=3, n_out=1000, p=0.0, widen=1.0, stem_szs=(32, 32, 64)):
        szs = [c_in, *stem_szs]
        stem = [ConvLayer(szs[i], szs[i + 1], 3, stride=2 if i == 0 else 1) for i in range(3)]
        block_szs = [int(o * widen) for o in [64, 128, 256, 512] + [256] * (len(layers) - 4)]
        block_szs = [64 // expansion] + block_szs
        blocks = [nn.Sequential(*[XResBlock(expansion, block_szs[i] if j == 0 else block_szs[i + 1], block_szs[i + 1],
                                            (1 if i == 0 else 2) if j == 0 else 1) for j in range(l)])
                  for i, l in enumerate(layers)]
        super().__init__(*stem, nn.MaxPool2d(3, 2, 1), *blocks,
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(p),
                         nn.Linear(block_szs[-1] * expansion, n_out))


XRESNETS = {18: (1, [2, 2, 2, 2]), 34: (1, [3, 4, 6, 3]), 50: (4, [3, 4, 6, 3]),
            101: (4, [3, 4, 23, 3]), 152: (4, [3, 8, 36, 3])}


class AdaptiveConcatPool2d(nn.Module):
    "fastai: cat([max, avg], 1)"
    def __init__(self):
        super().__init__()
        self.ap = nn.AdaptiveAvgPool2d(1)
        self.mp = nn.AdaptiveMaxPool2d(1)

    def forward(self, x):
        return torch.cat([self.mp(x), self.ap(x)], 1)


def LinBnDrop(n_in, n_out, bn=True, p=0.0, act=None):
    layers = [nn.BatchNorm1d(n_in)] if bn else []
    if p != 0:
        layers.append(nn.Dropout(p))
    layers.append(nn.Linear(n_in, n_out, bias=not bn))
    if act is not None:
        layers.append(act)
    return layers


def create_head(nf, n_out, lin_ftrs=None, ps=0.5, concat_pool=True, first_bn=True, bn_final=False):
    "fastai.vision.learner.create_head (lin_first=False, y_range=None)"
    if concat_pool:
        nf *= 2
    lin_ftrs = [nf, 512, n_out] if lin_ftrs is None else [nf] + lin_ftrs + [n_out]
    bns = [first_bn] + [True] * len(lin_ftrs[1:])
    ps = [ps / 2] * (len(lin_ftrs) - 2) + [ps]
    actns = [nn.ReLU(inplace=True)] * (len(lin_ftrs) - 2) + [None]
    layers = [AdaptiveConcatPool2d() if concat_pool else nn.AdaptiveAvgPool2d(1), nn.Flatten()]
    for ni, no, bn, p, actn in zip(lin_ftrs[:-1], lin_ftrs[1:], bns, ps, actns):
        layers += LinBnDrop(ni, no, bn=bn, p=p, act=actn)
    if bn_final:
        layers.append(nn.BatchNorm1d(lin_ftrs[-1], momentum=0.01))
    return nn.Sequential(*layers)


def update_first_layer(model, n_in):
    "fastai _update_first_layer (not pretrained): a new first conv with n_in channels"
    first = model.conv1 if hasattr(model, "conv1") else model[0][0]
    if n_in == first.in_channels:
        return
    new = nn.Conv2d(n_in, first.out_channels, first.kernel_size, first.stride, first.padding, bias=first.bias is not None)
    if hasattr(model, "conv1"):
        model.conv1 = new
    else:
        model[0][0] = new


def vision_learner_model(arch, n_out, n_in=3, **head_kw):
    "fastai create_cnn_model: Sequential(create_body(arch, n_in, cut), create_head(nf, n_out))"
    if isinstance(arch, XResNet):
        body = nn.Sequential(*list(arch.children())[:-4])
        update_first_layer(body, n_in)
    else:
        update_first_layer(arch, n_in)
        body = nn.Sequential(*list(arch.children())[:-2])
    with torch.no_grad():
        nf = body(torch.zeros(2, n_in, 64, 64)).shape[1]
    return nn.Sequential(body, create_head(nf, n_out, **head_kw))


# ---------------------------------------------------------------- the fastai book, chapter 14

def noop(x):
    return x


class BookResBlock(nn.Module):
    "relu(convs(x) + idconv(pool(x)))"
    def __init__(self, ni, nf, stride=1, bottleneck=False):
        super().__init__()
        if bottleneck:
            self.convs = nn.Sequential(ConvLayer(ni, nf // 4, 1), ConvLayer(nf // 4, nf // 4, stride=stride),
                                       ConvLayer(nf // 4, nf, 1, act=False))
        else:
            self.convs = nn.Sequential(ConvLayer(ni, nf, stride=stride), ConvLayer(nf, nf, act=False))
        self.idconv = noop if ni == nf else ConvLayer(ni, nf, 1, act=False)
        self.pool = noop if stride == 1 else nn.AvgPool2d(2, ceil_mode=True)

    def forward(self, x):
        return F.relu(self.convs(x) + self.idconv(self.pool(x)))


class BookResNet(nn.Sequential):
    """The book's ResNet. maxpool_stem: _resnet_stem(*stem) (first conv stride 2,
    then MaxPool2d(3, 2, 1)) and stride = 1 if idx == 0 else 2 in _make_layer;
    else a stride-1 stem and stride = 1 if ch_in == ch_out else 2 (as
    testdata/fashion/train.py)."""
    def __init__(self, n_out, layers, stem=(3, 32, 32, 64), block_szs=(64, 64, 128, 256, 512),
                 expansion=1, maxpool_stem=True):
        szs = list(block_szs)
        for i in range(1, len(szs)):
            szs[i] *= expansion
        stem_layers = [ConvLayer(stem[i], stem[i + 1], 3, stride=2 if (i == 0 and maxpool_stem) else 1)
                       for i in range(len(stem) - 1)]
        if maxpool_stem:
            stem_layers.append(nn.MaxPool2d(kernel_size=3, stride=2, padding=1))
        stages = []
        for idx, n in enumerate(layers):
            ch_in, ch_out = szs[idx:idx + 2]
            if maxpool_stem:
                stride = 1 if idx == 0 else 2
            else:
                stride = 1 if ch_in == ch_out else 2
            stages.append(nn.Sequential(*[BookResBlock(ch_in if i == 0 else ch_out, ch_out, stride if i == 0 else 1,
                                                       bottleneck=expansion != 1) for i in range(n)]))
        super().__init__(*stem_layers, *stages, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(szs[-1], n_out))


# ---------------------------------------------------------------- fastai's learn.save

def fastcore_L():
    """fastai's Optimizer.state_dict returns its hypers as a fastcore.foundation.L,
    so every learn.save(with_opt=True) file pickles that global. fastcore is not
    installed: a stand-in with the same module, name and pickling."""
    if "fastcore.foundation" in sys.modules:
        return sys.modules["fastcore.foundation"].L
    pkg = types.ModuleType("fastcore")
    pkg.__path__ = []
    mod = types.ModuleType("fastcore.foundation")

    class L:
        def __init__(self, items=None):
            self.items = list(items or [])

    L.__module__ = "fastcore.foundation"
    L.__qualname__ = "L"
    mod.L = L
    pkg.foundation = mod
    sys.modules["fastcore"] = pkg
    sys.modules["fastcore.foundation"] = mod
    return L


def fastai_opt_state(model, real_L):
    """fastai Adam state: per-parameter dicts and the hypers, as an L (what
    learn.save really writes) or as a plain list (what a fastai file
    re-saved without fastcore holds)."""
    params = [p for p in model.parameters()][:3]
    state = [{"grad_avg": torch.zeros_like(p), "sqr_avg": torch.zeros_like(p), "step": 7} for p in params]
    hypers = [dict(wd=0.01, sqr_mom=0.99, lr=1e-3, mom=0.9, eps=1e-5)]
    return {"state": state, "hypers": fastcore_L()(hypers) if real_L else hypers}


# ---------------------------------------------------------------- initialisation and references

def branch_final_bns(model):
    "the last BatchNorm of each residual branch"
    out = []
    for m in model.modules():
        if isinstance(m, (torchvision.models.resnet.Bottleneck, TimmBottleneck)):
            out.append(m.bn3)
        elif isinstance(m, (torchvision.models.resnet.BasicBlock, TimmBasicBlock)):
            out.append(m.bn2)
        elif isinstance(m, XResBlock):
            out.append(m.convpath[-1][1])
        elif isinstance(m, BookResBlock):
            out.append(m.convs[-1][1])
    return out


def randomize(model, calib_hw, in_ch, seed):
    """Random weights, random BatchNorm affine, running stats from a
    training-mode pass, perturbed. The weight of the last BatchNorm of each
    residual branch is divided by sqrt(number of blocks), as trained ResNets
    have them small (zero-init-residual training starts them at 0, Fixup
    scales branches by depth): without it the residual stream grows through
    30 blocks until torch's own float32 result is 1e-4 away from its float64
    result."""
    g = torch.Generator().manual_seed(seed)
    bns = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.Conv2d):
                # The constructors initialize convolutions from torch's global
                # generator; redraw them from the fixture's own (Kaiming
                # normal, fan-out, as torchvision) so that every run writes
                # the same fixture.
                fan_out = m.weight.shape[0] * m.weight[0, 0].numel()
                m.weight.copy_(torch.randn(m.weight.shape, generator=g) * np.sqrt(2.0 / fan_out))
                if m.bias is not None:
                    m.bias.copy_(0.1 * torch.randn(m.bias.shape, generator=g))
            if isinstance(m, nn.Linear):
                m.weight.copy_(torch.randn(m.weight.shape, generator=g) / np.sqrt(m.in_features))
                if m.bias is not None:
                    m.bias.copy_(0.1 * torch.randn(m.bias.shape, generator=g))
        for m in bns:
            sign = torch.where(torch.rand(m.num_features, generator=g) < 0.1, -1.0, 1.0)
            m.weight.copy_(sign * (0.3 + 0.9 * torch.rand(m.num_features, generator=g)))
            m.bias.copy_(0.2 * torch.randn(m.num_features, generator=g))
            m.momentum = None  # cumulative average: one batch sets the statistics
            m.reset_running_stats()
        finals = branch_final_bns(model)
        for m in finals:
            m.weight.div_(np.sqrt(len(finals)))
    model.train()
    torch.manual_seed(seed)  # the training-mode pass runs fastai heads' Dropout
    with torch.no_grad():
        model(torch.randn(2, in_ch, *calib_hw, generator=g))
    with torch.no_grad():
        for m in bns:
            m.momentum = 0.1
            std = m.running_var.sqrt()
            m.running_mean.add_(0.1 * std * torch.randn(m.num_features, generator=g))
            m.running_var.mul_(0.7 + 0.7 * torch.rand(m.num_features, generator=g))
            m.num_batches_tracked.fill_(1000)
    model.eval()
    return model


def count_macs(model, in_ch, hw=(224, 224)):
    """Multiply-accumulates of Conv2d and Linear layers for one image, by
    forward hooks on a copy on the meta device (shapes only, no arithmetic)."""
    model = copy.deepcopy(model).to("meta")
    total = [0]

    def conv_hook(m, inp, out):
        total[0] += out[0].numel() * (m.in_channels // m.groups) * m.kernel_size[0] * m.kernel_size[1]

    def lin_hook(m, inp, out):
        total[0] += m.in_features * m.out_features

    hooks = []
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            hooks.append(m.register_forward_hook(conv_hook))
        elif isinstance(m, nn.Linear):
            hooks.append(m.register_forward_hook(lin_hook))
    with torch.no_grad():
        model(torch.zeros(1, in_ch, *hw, device="meta"))
    for h in hooks:
        h.remove()
    return total[0]


# ---------------------------------------------------------------- writers

def write_safetensors(path, sd):
    "safetensors, from the format's documentation: u64 LE header size, JSON header, data"
    codes = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.int64: "I64"}
    header, chunks, off = {}, [], 0
    for k, t in sd.items():
        t = t.contiguous()
        raw = t.view(torch.uint8).numpy().tobytes() if t.dim() > 0 else t.reshape(1).view(torch.uint8).numpy().tobytes()
        header[k] = {"dtype": codes[t.dtype], "shape": list(t.shape), "data_offsets": [off, off + len(raw)]}
        chunks.append(raw)
        off += len(raw)
    header["__metadata__"] = {"format": "pt"}
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for c in chunks:
            f.write(c)


def save(name, fmt, obj, sd_for_safetensors=None):
    ext = {"zip": ".pth", "legacy": ".legacy.pth", "safetensors": ".safetensors"}[fmt]
    path = os.path.join(GEN, name + ext)
    if fmt == "safetensors":
        write_safetensors(path, sd_for_safetensors)
    else:
        torch.save(obj, path, _use_new_zipfile_serialization=(fmt == "zip"))
    return os.path.basename(path)


def wrap(container, sd, model):
    "the object torch.save writes for a container kind, and the prefix the reader strips"
    if container == "state_dict":
        return sd, ""
    if container == "dataparallel":
        return collections.OrderedDict(("module." + k, v) for k, v in sd.items()), "module."
    if container in ("fastai", "fastai-L"):
        return {"model": sd, "opt": fastai_opt_state(model, container == "fastai-L")}, ""
    if container == "lightning":
        lsd = collections.OrderedDict(("model." + k, v) for k, v in sd.items())
        return {"epoch": 3, "global_step": 1200, "pytorch-lightning_version": "1.9.0",
                "state_dict": lsd, "loops": {}, "callbacks": {},
                "optimizer_states": [{"state": {0: {"step": 5, "exp_avg": torch.zeros(3)}},
                                      "param_groups": [{"lr": 0.01, "params": [0]}]}],
                "lr_schedulers": [], "hyper_parameters": {"lr": 0.01, "arch": "resnet"}}, "model."
    if container == "model_state_dict":
        return {"epoch": 5, "model_state_dict": sd, "optimizer_state_dict": {"state": {}, "param_groups": []},
                "loss": 0.25}, ""
    if container == "state_dict-key":
        return {"state_dict": sd, "arch": "resnet", "best_acc1": 0.5}, ""
    raise ValueError(container)


READER_CONTAINER = {"state_dict": "state_dict", "dataparallel": "state_dict", "fastai": "fastai", "fastai-L": "fastai",
                    "lightning": "lightning", "model_state_dict": "model_state_dict",
                    "state_dict-key": "state_dict-key"}


def tensor_pb(path, arr, name):
    t = numpy_helper.from_array(np.ascontiguousarray(arr, dtype=np.float32), name)
    with open(path, "wb") as f:
        f.write(t.SerializeToString())


def make(manifest, name, family, arch, model, fmt, container, dtype, in_ch, sizes, calib_hw=(64, 64), labels=None):
    """Randomize, save in fmt/container/dtype, and record torch's logits at each (N, H, W)."""
    t0 = time.time()
    seed = len(manifest) + 1
    model = randomize(model, calib_hw, in_ch, seed)
    dt = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}[dtype]
    if dt != torch.float32:
        model = model.to(dt)          # BatchNorm buffers and weights rounded
        sd = model.state_dict()
        model = model.float()          # the reference runs the rounded values in float32
    else:
        sd = model.state_dict()
    sd = collections.OrderedDict((k, v.clone()) for k, v in sd.items())
    obj, prefix = wrap(container, sd, model)
    st = None
    if fmt == "safetensors":
        st = obj if container in ("state_dict", "dataparallel") else None
        if st is None:
            raise ValueError("safetensors holds a flat dict only")
    fname = save(name, fmt, obj, st)
    classes = [m for m in model.modules() if isinstance(m, nn.Linear)][-1].out_features
    params = sum(p.numel() for p in model.parameters())
    entry = {"name": name, "file": fname, "family": family, "arch": arch, "format": fmt,
             "reader_format": {"zip": "torch-zip", "legacy": "torch-legacy", "safetensors": "safetensors"}[fmt],
             "container": READER_CONTAINER[container], "stripped_prefix": prefix, "dtype": dtype,
             "in_channels": in_ch, "classes": classes, "params": params,
             "macs224": count_macs(model, in_ch), "labels": labels, "tests": []}
    g = torch.Generator().manual_seed(1000 + seed)
    for i, (n, h, w) in enumerate(sizes):
        x = torch.randn(n, in_ch, h, w, generator=g)
        with torch.no_grad():
            y = model(x)
        if i == 0:
            # The fixture must be well conditioned for a 1e-4 tolerance to
            # mean anything: torch's own float32 result is compared with its
            # float64 result on the first input.
            with torch.no_grad():
                y64 = copy.deepcopy(model).double()(x.double())
            gap = ((y.double() - y64).abs().max() / y64.abs().max()).item()
            entry["torch_f32_vs_f64"] = gap
            if gap > 2e-5:
                raise SystemExit(f"{name}: torch float32 is {gap:.2g} away from float64: the fixture is ill-conditioned")
        tensor_pb(os.path.join(GEN, f"{name}.{i}.in.pb"), x.numpy(), "input")
        tensor_pb(os.path.join(GEN, f"{name}.{i}.out.pb"), y.numpy(), "logits")
        entry["tests"].append({"input": f"{name}.{i}.in.pb", "output": f"{name}.{i}.out.pb", "shape": [n, in_ch, h, w]})
    manifest.append(entry)
    print(f"{name}: {arch}, {fname}, {params} params, {entry['macs224'] / 1e9:.2f} GMAC, "
          f"torch f32 vs f64 {entry['torch_f32_vs_f64']:.1e}, {time.time() - t0:.1f} s", flush=True)


def one_channel_tv(model):
    "torchvision resnet with a 1-channel conv1 (as fastai's n_in=1 makes it)"
    model.conv1 = nn.Conv2d(1, 64, 7, 2, 3, bias=False)
    return model


# Input sizes: (N, H, W); the first has batch 2, the last is non-square with odd sides.
MID = [(2, 64, 64), (1, 96, 128), (1, 75, 113)]
SMALL = [(2, 48, 48), (1, 64, 80), (1, 45, 61)]
TINY = [(2, 32, 32), (1, 32, 64), (1, 33, 47)]
FASHION = [(2, 28, 28), (1, 56, 56), (1, 29, 45)]


def make_good(manifest):
    tv = torchvision.models
    # torchvision
    make(manifest, "tv_resnet18", "resnet", "resnet18", tv.resnet18(), "zip", "state_dict", "float32", 3, MID)
    make(manifest, "tv_resnet34", "resnet", "resnet34", tv.resnet34(num_classes=10), "legacy", "state_dict", "float32", 3, MID)
    make(manifest, "tv_resnet50_1ch", "resnet", "resnet50", one_channel_tv(tv.resnet50()), "zip", "dataparallel", "float32", 1, MID)
    make(manifest, "tv_resnet101", "resnet", "resnet101", tv.resnet101(num_classes=37), "zip", "lightning", "float16", 3, SMALL)
    make(manifest, "tv_resnet152", "resnet", "resnet152", tv.resnet152(num_classes=100), "zip", "model_state_dict", "bfloat16", 3, TINY, calib_hw=(32, 32))
    make(manifest, "tv_resnext50_32x4d", "resnet", "resnext50_32x4d", tv.resnext50_32x4d(), "safetensors", "state_dict", "float32", 3, SMALL)
    make(manifest, "tv_resnext101_32x8d", "resnet", "resnext101_32x8d", tv.resnext101_32x8d(num_classes=10), "safetensors", "dataparallel", "bfloat16", 3, TINY, calib_hw=(32, 32))
    make(manifest, "tv_wide_resnet50_2", "resnet", "wide_resnet50_2", tv.wide_resnet50_2(), "legacy", "state_dict", "float16", 3, SMALL)
    make(manifest, "tv_wide_resnet101_2", "resnet", "wide_resnet101_2", tv.wide_resnet101_2(num_classes=3), "zip", "state_dict-key", "float16", 3, TINY, calib_hw=(32, 32))
    # timm
    make(manifest, "timm_resnet18d", "resnet", "resnet18d", TimmResNet(TimmBasicBlock, [2, 2, 2, 2], stem_width=32, stem_type="deep", avg_down=True), "zip", "state_dict", "float32", 3, MID)
    make(manifest, "timm_resnet26d", "resnet", "resnet26d", TimmResNet(TimmBottleneck, [2, 2, 2, 2], stem_width=32, stem_type="deep", avg_down=True), "safetensors", "state_dict", "float32", 3, MID)
    make(manifest, "timm_resnet34d_1ch", "resnet", "resnet34d", TimmResNet(TimmBasicBlock, [3, 4, 6, 3], num_classes=7, in_chans=1, stem_width=32, stem_type="deep", avg_down=True), "legacy", "state_dict", "float32", 1, MID)
    make(manifest, "timm_resnet50d", "resnet", "resnet50d", TimmResNet(TimmBottleneck, [3, 4, 6, 3], stem_width=32, stem_type="deep", avg_down=True), "safetensors", "state_dict", "bfloat16", 3, SMALL)
    make(manifest, "timm_resnext50d_32x4d", "resnet", "resnext50d_32x4d", TimmResNet(TimmBottleneck, [3, 4, 6, 3], num_classes=20, cardinality=32, base_width=4, stem_width=32, stem_type="deep", avg_down=True), "zip", "dataparallel", "float16", 3, SMALL)
    make(manifest, "timm_resnet50c", "resnet", "resnet50c", TimmResNet(TimmBottleneck, [3, 4, 6, 3], num_classes=12, stem_width=32, stem_type="deep"), "zip", "lightning", "float32", 3, SMALL)
    # fastai XResNet
    for depth, fmt, container, dtype, in_ch, n_out, sizes, calib, widen in (
            (18, "zip", "fastai", "float32", 3, 10, MID, (64, 64), 1.0),
            (34, "zip", "fastai", "float32", 1, 4, MID, (64, 64), 1.0),
            (50, "legacy", "state_dict", "float16", 3, 1000, SMALL, (64, 64), 1.0),
            (101, "zip", "fastai", "bfloat16", 3, 16, SMALL, (48, 48), 0.5),
            (152, "zip", "fastai", "float16", 3, 5, TINY, (32, 32), 1.0)):
        exp, layers = XRESNETS[depth]
        make(manifest, f"xresnet{depth}" + ("_1ch" if in_ch == 1 else ""), "xresnet", f"xresnet{depth}",
             XResNet(exp, layers, c_in=in_ch, n_out=n_out, p=0.1, widen=widen), fmt, container, dtype, in_ch, sizes, calib_hw=calib)
    # the fastai book, chapter 14
    make(manifest, "book_fashion", "book", "fastai-book-resnet",
         BookResNet(10, [1, 1, 1, 1], stem=(1, 16), block_szs=(16, 16, 32, 64, 128), maxpool_stem=False),
         "zip", "fastai-L", "float32", 1, FASHION, calib_hw=(28, 28),
         labels=["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"])
    make(manifest, "book_resnet18", "book", "fastai-book-resnet", BookResNet(10, [2, 2, 2, 2]), "zip", "state_dict", "float32", 3, MID)
    make(manifest, "book_resnet50_4ch", "book", "fastai-book-resnet",
         BookResNet(20, [3, 4, 6, 3], stem=(4, 32, 32, 64), expansion=4), "legacy", "model_state_dict", "float32", 4, SMALL)
    make(manifest, "book_deep_nopool", "book", "fastai-book-resnet",
         BookResNet(6, [2, 2, 2], stem=(3, 16, 32), block_szs=(32, 32, 64, 128), maxpool_stem=False), "safetensors", "state_dict", "bfloat16", 3, MID)
    # fastai vision_learner
    make(manifest, "vl_resnet34", "vision_learner", "vision_learner(resnet34)", vision_learner_model(tv.resnet34(), 10),
         "zip", "fastai", "float32", 3, MID, labels=[f"breed {i}" for i in range(10)])
    make(manifest, "vl_resnet50_1ch", "vision_learner", "vision_learner(resnet50)",
         vision_learner_model(tv.resnet50(), 5, n_in=1, lin_ftrs=[256, 128], ps=0, concat_pool=False, bn_final=True),
         "legacy", "fastai", "float32", 1, SMALL)
    make(manifest, "vl_resnet18_firstbn", "vision_learner", "vision_learner(resnet18)",
         vision_learner_model(tv.resnet18(), 2, first_bn=False, ps=0.2), "zip", "lightning", "float16", 3, MID)
    make(manifest, "vl_xresnet34", "vision_learner", "vision_learner(xresnet34)",
         vision_learner_model(XResNet(1, [3, 4, 6, 3], n_out=1000), 3), "zip", "fastai", "float32", 3, MID)


# ---------------------------------------------------------------- bad checkpoints

class Evil:
    "pickles as os.system('…'): loading it with pickle would run the command"
    def __reduce__(self):
        return (os.system, ("echo export-fixture-was-executed > /tmp/piresnet-pwned",))


class StorageRef:
    pass


def torch_zip(path, obj_builder, storages):
    """A torch zip written by hand: archive/data.pkl with persistent ids
    ('storage', torch.FloatStorage, key, 'cpu', numel), archive/data/<key>."""
    buf = io.BytesIO()

    class P(pickle.Pickler):
        def persistent_id(self, o):
            if isinstance(o, StorageRef):
                return ("storage", torch.FloatStorage, o.key, "cpu", o.numel)
            return None
    P(buf, protocol=2).dump(obj_builder())
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        z.writestr("archive/data.pkl", buf.getvalue())
        for key, data in storages.items():
            z.writestr(f"archive/data/{key}", data)
        z.writestr("archive/version", "3\n")


class FakeTensor:
    def __init__(self, storage, size, stride):
        self.a = (storage, 0, size, stride, False, collections.OrderedDict())

    def __reduce__(self):
        return (torch._utils._rebuild_tensor_v2, self.a)


def make_bad(bad):
    os.makedirs(BAD, exist_ok=True)
    good = open(os.path.join(GEN, "tv_resnet18.pth"), "rb").read()

    def put(name, data, why, code=3):
        with open(os.path.join(BAD, name), "wb") as f:
            f.write(data)
        bad.append({"file": "bad/" + name, "why": why, "exit": code})

    put("truncated.pth", good[: len(good) // 2], "zip truncated to half")
    legacy = open(os.path.join(GEN, "tv_resnet34.legacy.pth"), "rb").read()
    put("truncated.legacy.pth", legacy[: len(legacy) - 1000], "legacy storage data cut")
    # The legacy format starts with the pickled magic number 0x1950a86a20f9469cfc6c.
    i = legacy.index(bytes.fromhex("6c fc 9c 46 f9 20 6a a8 50 19"))
    put("wrong_magic.legacy.pth", legacy[:i] + b"\x00" + legacy[i + 1:], "legacy magic number altered")
    put("garbage.pth", bytes(np.random.default_rng(5).integers(0, 256, 4096, dtype=np.uint8)), "random bytes")
    put("empty.pth", b"", "empty file")
    p = os.path.join(BAD, "evil_system.pth")
    torch.save({"conv1.weight": torch.zeros(1), "x": Evil()}, p)
    bad.append({"file": "bad/evil_system.pth", "why": "pickle global posix.system", "exit": 3})
    p = os.path.join(BAD, "whole_model.pth")
    torch.save(torchvision.models.resnet18(), p)
    bad.append({"file": "bad/whole_model.pth", "why": "torch.save(model) pickles torchvision's class", "exit": 3})

    def small_storage():
        s = StorageRef(); s.key, s.numel = "0", 4
        return collections.OrderedDict([("fc.weight", FakeTensor(s, (10, 10), (10, 1)))])
    torch_zip(os.path.join(BAD, "storage_too_small.pth"), small_storage, {"0": b"\0" * 16})
    bad.append({"file": "bad/storage_too_small.pth", "why": "a [10 10] tensor on a 4-element storage", "exit": 3})

    def absurd():
        s = StorageRef(); s.key, s.numel = "0", 1 << 62
        return collections.OrderedDict([("fc.weight", FakeTensor(s, (1 << 31, 1 << 31), (1 << 31, 1)))])
    torch_zip(os.path.join(BAD, "absurd_size.pth"), absurd, {"0": b"\0" * 16})
    bad.append({"file": "bad/absurd_size.pth", "why": "a 2^62-element tensor", "exit": 3})
    h = json.dumps({"w": {"dtype": "F32", "shape": [1 << 40, 1 << 40], "data_offsets": [0, 16]}}).encode()
    put("absurd_shape.safetensors", struct.pack("<Q", len(h)) + h + b"\0" * 16, "safetensors shape 2^80 elements")
    put("absurd_header.safetensors", struct.pack("<Q", 1 << 62) + b"{}", "safetensors header length 2^62")
    # Valid checkpoints that are no ResNet of a known family.
    mlp = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 4))
    p = os.path.join(BAD, "mlp.pth")
    torch.save(mlp.state_dict(), p)
    bad.append({"file": "bad/mlp.pth", "why": "an MLP", "exit": 3})
    sd = torchvision.models.resnet18().state_dict()
    sd["layer2.0.se.fc1.weight"] = torch.zeros(8, 128, 1, 1)
    p = os.path.join(BAD, "resnet18_se.pth")
    torch.save(sd, p)
    bad.append({"file": "bad/resnet18_se.pth", "why": "resnet18 with an extra squeeze-excitation weight", "exit": 3})
    sd = torchvision.models.resnet18().state_dict()
    del sd["layer3.1.bn2.running_var"]
    p = os.path.join(BAD, "resnet18_missing.pth")
    torch.save(sd, p)
    bad.append({"file": "bad/resnet18_missing.pth", "why": "resnet18 without layer3.1.bn2.running_var", "exit": 3})


EXAMPLE = os.path.join(HERE, "example.pth")


def make_example():
    """example.pth (committed; written only when missing, since torch.save is
    not byte-reproducible): a tiny book ResNet for convert/export's Example,
    1 channel, stem ConvLayer(1, 4), one strided ResBlock(4, 8), Linear(8, 3)."""
    if os.path.exists(EXAMPLE):
        return
    model = randomize(BookResNet(3, [1], stem=(1, 4), block_szs=(4, 8), maxpool_stem=False), (16, 16), 1, 7)
    torch.save(model.state_dict(), EXAMPLE)


def main():
    make_example()
    os.makedirs(GEN, exist_ok=True)
    manifest, bad = [], []
    make_good(manifest)
    make_bad(bad)
    with open(os.path.join(GEN, "manifest.json.tmp"), "w") as f:
        json.dump({"torch": torch.__version__, "torchvision": torchvision.__version__,
                   "fixtures": manifest, "bad": bad}, f, indent=1)
    os.replace(os.path.join(GEN, "manifest.json.tmp"), os.path.join(GEN, "manifest.json"))


if __name__ == "__main__":
    main()
