#!/usr/bin/python3
"""Fixtures of package convert (the int8 quantizer), made with Debian's
torch 1.13, torchvision 0.14 and onnx 1.12. Deterministic (fixed seeds).
Provenance: written for github.com/piresnet/piresnet/convert.

  make_fixtures.py --tiny DIR   the small models, committed in
                                testdata/tiny/ so that every machine tests
                                the same bytes (torch's float arithmetic,
                                and so BatchNorm statistics, differ in the
                                last bits from CPU to CPU):
    DIR/<name>.onnx        torch.onnx.export of a small model, opset 13,
                           dynamic batch, height and width, BatchNorm kept
                           as BatchNormalization nodes (TrainingMode.
                           PRESERVE on the eval model), so that the
                           converter's own folding is exercised
    DIR/<name>.in.f32      float32 LE [4, C, 40, 48] random inputs
                           (images())
    DIR/<name>.out.f32     float32 LE [4, classes] torch's logits for them
  make_fixtures.py DIR          what is too big to commit, written to gen/
                                (git ignores it) by make_fixtures.sh:
    DIR/resnet50.pth       torchvision ResNet-50 state_dict (torch.save
                           zip), random weights, BatchNorm statistics from
                           a training-mode pass (so activations stay in
                           range)
    DIR/manifest.json      what was written (last, the stamp)

Models:
  tiny_fastai   book ResBlocks (avg-pool shortcut, ceil_mode), a ReLU6,
                a fastai head: AdaptiveConcatPool2d (GlobalMaxPool and
                GlobalAveragePool concatenated), x.view(x.size(0), -1) (the
                Shape/Gather/Unsqueeze/Concat/Reshape chain), BatchNorm1d,
                Dropout, Linear(bias=False), ReLU, BatchNorm1d, Dropout,
                Linear
  tiny_plain    stem + 2 torchvision BasicBlocks + GlobalAveragePool +
                torch.flatten + Linear, BatchNorm kept
"""
import json
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision

TINY = sys.argv[1:2] == ["--tiny"]
GEN = sys.argv[2] if TINY else sys.argv[1]
torch.set_num_threads(2)


def randomize_bn(model, seed):
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, (nn.BatchNorm2d, nn.BatchNorm1d)):
            with torch.no_grad():
                m.weight.copy_(1 + 0.2 * torch.randn(m.weight.shape, generator=g))
                m.bias.copy_(0.1 * torch.randn(m.bias.shape, generator=g))


def images(shape, g):
    """Random inputs that differ from image to image, as photographs do
    (so that the statistics of globally pooled features are not
    degenerate): per image x = mu + sigma * N(0, 1) with mu ~ U(-1, 1) and
    sigma ~ U(0.5, 1.5). The Go tests draw their calibration inputs the
    same way (variedImages in fixtures_test.go)."""
    n = shape[0]
    mu = torch.rand(n, 1, 1, 1, generator=g) * 2 - 1
    sigma = torch.rand(n, 1, 1, 1, generator=g) + 0.5
    return mu + sigma * torch.randn(shape, generator=g)


def set_bn_stats(model, shape, seed):
    """Running statistics from a few training-mode passes on random images."""
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, (nn.BatchNorm2d, nn.BatchNorm1d)):
            m.reset_running_stats()
            m.momentum = None  # cumulative average
    model.train()
    with torch.no_grad():
        for _ in range(4):
            model(images(shape, g))
    model.eval()
    # A random network's globally averaged features hardly vary from image
    # to image (variances down to 3e-4 in tiny_fastai's head, 100 times
    # less than the max-pooled half of the same concat), so BatchNorm1d
    # would multiply them, and any rounding of them, by up to 50: the
    # logits would then be decided by int8 rounding steps, and by the last
    # bits of the float arithmetic of whichever CPU ran this script (the
    # fixture is written on every test machine). Trained heads do not look
    # like that; a floor of 0.01 (std 0.1) keeps the head's gain ≤ 10.
    for m in model.modules():
        if isinstance(m, nn.BatchNorm1d):
            m.running_var.clamp_(min=0.01)


def conv_bn(ni, nf, ks=3, stride=1, act=True):
    layers = [nn.Conv2d(ni, nf, ks, stride, ks // 2, bias=False), nn.BatchNorm2d(nf)]
    if act:
        layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class BookBlock(nn.Module):
    """fastai book chapter 14 ResBlock: relu(convs(x) + idconv(pool(x)))."""

    def __init__(self, ni, nf, stride):
        super().__init__()
        self.convs = nn.Sequential(conv_bn(ni, nf, 3, stride), conv_bn(nf, nf, 3, 1, act=False))
        self.idconv = nn.Identity() if ni == nf else conv_bn(ni, nf, 1, 1, act=False)
        self.pool = nn.Identity() if stride == 1 else nn.AvgPool2d(2, ceil_mode=True)

    def forward(self, x):
        return F.relu(self.convs(x) + self.idconv(self.pool(x)))


class ConcatPool(nn.Module):
    def forward(self, x):
        return torch.cat([F.adaptive_max_pool2d(x, 1), F.adaptive_avg_pool2d(x, 1)], 1)


class TinyFastai(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(conv_bn(3, 16, 3, 2), nn.MaxPool2d(3, 2, 1))
        self.b1 = BookBlock(16, 16, 1)
        self.b2 = BookBlock(16, 32, 2)
        self.c6 = nn.Sequential(nn.Conv2d(32, 32, 3, 1, 1), nn.ReLU6())
        self.pool = ConcatPool()
        self.head = nn.Sequential(nn.BatchNorm1d(64), nn.Dropout(0.25), nn.Linear(64, 32, bias=False), nn.ReLU(),
                                  nn.BatchNorm1d(32), nn.Dropout(0.5), nn.Linear(32, 10))

    def forward(self, x):
        x = self.pool(self.c6(self.b2(self.b1(self.stem(x)))))
        return self.head(x.view(x.size(0), -1))


class TinyPlain(nn.Module):
    def __init__(self):
        super().__init__()
        from torchvision.models.resnet import BasicBlock
        self.stem = nn.Sequential(conv_bn(3, 16, 3, 1), nn.MaxPool2d(2))
        ds = nn.Sequential(nn.Conv2d(16, 24, 1, 2, bias=False), nn.BatchNorm2d(24))
        self.l1 = nn.Sequential(BasicBlock(16, 16), BasicBlock(16, 24, 2, ds))
        self.fc = nn.Linear(24, 5)

    def forward(self, x):
        x = F.adaptive_avg_pool2d(self.l1(self.stem(x)), 1)
        return self.fc(torch.flatten(x, 1))


def write_f32(path, t):
    t.detach().numpy().astype("<f4").tofile(path)


def export(name, model, seed):
    torch.manual_seed(seed)
    randomize_bn(model, seed)
    set_bn_stats(model, (32, 3, 40, 48), seed + 1)
    x = images((4, 3, 40, 48), torch.Generator().manual_seed(seed + 2))
    with torch.no_grad():
        y = model(x)
    path = os.path.join(GEN, name + ".onnx")
    torch.onnx.export(model, x, path, input_names=["input"], output_names=["logits"], opset_version=13,
                      dynamic_axes={"input": {0: "N", 2: "H", 3: "W"}, "logits": {0: "N"}},
                      training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=True)
    write_f32(os.path.join(GEN, name + ".in.f32"), x)
    write_f32(os.path.join(GEN, name + ".out.f32"), y)
    return {"file": name + ".onnx", "input": list(x.shape), "output": list(y.shape)}


def main():
    os.makedirs(GEN, exist_ok=True)
    man = {"torch": torch.__version__, "torchvision": torchvision.__version__, "models": {}}
    if TINY:
        man["models"]["tiny_fastai"] = export("tiny_fastai", TinyFastai(), 10)
        man["models"]["tiny_plain"] = export("tiny_plain", TinyPlain(), 20)
        with open(os.path.join(GEN, "manifest.json"), "w") as f:
            json.dump(man, f, indent=1)
        return

    torch.manual_seed(50)
    r50 = torchvision.models.resnet50()
    set_bn_stats(r50, (4, 3, 96, 96), 51)
    torch.save(r50.state_dict(), os.path.join(GEN, "resnet50.pth"))
    man["resnet50"] = {"file": "resnet50.pth", "note": "torchvision resnet50 state_dict, random weights, BatchNorm statistics from 4 training-mode batches"}
    with open(os.path.join(GEN, "manifest.json"), "w") as f:
        json.dump(man, f, indent=1)

main()
