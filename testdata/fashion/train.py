#!/usr/bin/python3
"""Train the fastai book's chapter-14 ResNet on Fashion-MNIST with plain torch.

Run with Debian's torch (the python3 first on PATH has none):

    /usr/bin/python3 testdata/fashion/train.py            # both runs in parallel, 15 epochs
    /usr/bin/python3 testdata/fashion/train.py --epochs 12 --jobs 1 --threads 2   # one after the other
    /usr/bin/python3 testdata/fashion/train.py --quick    # smoke test: small subset, 1 epoch
    # the committed model: 15 epochs at 28x28, then 4 at 28 and 56 with BatchNorm frozen
    /usr/bin/python3 testdata/fashion/train.py --finetune-scales 28,56 --finetune-epochs 4

Time: ~25 min per run on an idle 2-core machine (both runs in parallel, one
torch thread each); 110 min for both when the cores were shared with other jobs;
stage 2 (--finetune-scales 28,56, 4 epochs) ~20 min more for both.

--scales 28,42,56 draws each batch at one of those sizes (bilinear upscaling)
and then recomputes BatchNorm's statistics over the training images at all of
them, for a model that also answers at 56x56. Measured (12 epochs, both runs,
~4 min per epoch per run): top-1 at 28x28 88.7% before and 86.1% after the
BatchNorm pass, at 56x56 (bilinear) 85-86% before and 87.7% after; the
28x28-only training (15 epochs, stage 1 below) has 94.0% at 28x28 and 32% at
56x56.
Its int8 conversion (mse, 7-bit weights) agrees with it on 99.08% (28x28)
and 99.14% (56x56) of the test images, but the 91% bar at 28x28 is not met
by that recipe with this small network (log: train-scales-28-42-56.log).

--finetune-scales 28,56 adds a stage 2 after the 28x28 training (the
committed model): --finetune-epochs (4) of fit_one_cycle at lr_max 1e-3
without weight decay, batches alternating 28x28 and 56x56, every BatchNorm in
eval mode (statistics frozen at 28x28's; the convolutions learn to produce
them at 56x56 too). Measured: top-1 94.00% -> 93.45% at 28x28 and 32% ->
88.7% at 56x56 (label smoothing run; plain 93.82% -> 93.18%, 29% -> 88.0%),
~4 min per epoch per run; the int8 conversion (mse at 28 and 56, pair-safe
weights) agrees with it on 99.71% and 99.17% of the test images.
--reuse-stage1 takes stage 1 from gen/run_<key>/ instead of retraining it.

What it produces (in --out, default: this script's folder; --quick defaults to
gen/quick/ under it, which git ignores; per-run checkpoints and run.json go to
gen/run_<ce|ls>/):

    model.pth    the better of the two runs, as fastai's `learn.save` writes it:
                 torch.save({'model': state_dict, 'opt': opt_state}, pickle_protocol=2)
    train.log    per-epoch table of both runs and the final comparison
    labels.txt   the 10 class names in label order
    model.json   normalization constants, labels and the chosen run (for tests)
    samples/     one 28x28 grey PNG per class from the test set: <label>_<test index>.png

The two runs have identical settings and seed, one with plain cross-entropy, one
with label smoothing 0.1. fastai is not installed, so the pieces the checkpoint
depends on are reproduced here from fastai's sources (fastai/layers.py ConvLayer
and BatchNorm, fastai/optimizer.py Adam, fastai/callback/schedule.py
fit_one_cycle, fastai/learner.py save_model) and the fastai book, chapter 14
(14_resnet.ipynb: ResBlock, _conv_block, ResNet._make_layer).
"""

import argparse
import gzip
import json
import math
import os
import shutil
import sys
import time
import types
import zlib
import struct

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = "/usr/share/datasets/fashion-mnist"
LABELS = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
          "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]

# Stem and stage widths (the book's ResNet uses stem 3-32-32-64 and block_szs
# [64, 64, 128, 256, 512]). Narrower here so that learn.save's file, which holds
# the weights plus Adam's two moment buffers, stays under ~5 MB.
STEM = (1, 16)
BLOCK_SZS = (16, 16, 32, 64, 128)
LAYERS = (1, 1, 1, 1)


# ---------------------------------------------------------------- data

def load_idx(path):
    """Read an idx file (gzip): big-endian magic 0x0000 08 <ndim>, dims, uint8 data."""
    with gzip.open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise ValueError(f"{path}: not an idx uint8 file")
    ndim = raw[3]
    dims = struct.unpack(">" + "I" * ndim, raw[4:4 + 4 * ndim])
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(dims)):
        raise ValueError(f"{path}: {data.size} bytes of data, dims {dims} need {int(np.prod(dims))}")
    return data.reshape(dims)


def load_split(name):
    x = load_idx(os.path.join(DATA, f"{name}-images-idx3-ubyte.gz"))
    y = load_idx(os.path.join(DATA, f"{name}-labels-idx1-ubyte.gz"))
    return torch.from_numpy(x.copy()), torch.from_numpy(y.astype(np.int64))


def normalize(x_u8, mean, std):
    """uint8 [N,H,W] -> float32 [N,1,H,W], (x/255 - mean) / std."""
    x = x_u8.to(torch.float32).div_(255.0)
    return x.sub_(mean).div_(std).unsqueeze(1)


def augment(x_u8, gen, pad=2):
    """Random crop with zero padding `pad` and random horizontal flip, per image (uint8)."""
    n, h, w = x_u8.shape
    xp = F.pad(x_u8, (pad, pad, pad, pad))
    oy = torch.randint(0, 2 * pad + 1, (n,), generator=gen)
    ox = torch.randint(0, 2 * pad + 1, (n,), generator=gen)
    flip = torch.rand(n, generator=gen) < 0.5
    rows = oy[:, None] + torch.arange(h)[None, :]                       # [n,h]
    cols = ox[:, None] + torch.arange(w)[None, :]                       # [n,w]
    cols = torch.where(flip[:, None], cols.flip(1), cols)
    idx_n = torch.arange(n)[:, None, None]
    return xp[idx_n, rows[:, :, None], cols[:, None, :]]


def upscale(x_u8, size, mode):
    """uint8 [N,H,W] -> uint8-valued float [N,size,size] (nearest or bilinear, align_corners=False)."""
    x = x_u8.to(torch.float32).unsqueeze(1)
    if mode == "nearest":
        y = F.interpolate(x, size=(size, size), mode="nearest")
    else:
        y = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
    return y.squeeze(1)


# ---------------------------------------------------------------- fastai pieces

def noop(x=None, *args, **kwargs):
    "Do nothing (fastcore.basics.noop)"
    return x


class Flatten(nn.Module):
    "fastai.layers.Flatten: flatten `x` to a single dimension per sample"
    def __init__(self, full=False):
        super().__init__()
        self.full = full

    def forward(self, x):
        return x.view(-1) if self.full else x.view(x.size(0), -1)


def BatchNorm(nf, zero=False):
    "fastai.layers.BatchNorm: bias 1e-3, weight 1 (0 for NormType.BatchZero)"
    bn = nn.BatchNorm2d(nf)
    bn.bias.data.fill_(1e-3)
    bn.weight.data.fill_(0. if zero else 1.)
    return bn


class ConvLayer(nn.Sequential):
    """fastai.layers.ConvLayer for NormType.Batch/BatchZero, bn_1st=True:
    Sequential(Conv2d(bias=False, padding=(ks-1)//2), BatchNorm2d[, ReLU]).
    init='auto': with a ReLU the conv weight gets kaiming_uniform_ (fastai sets
    nn.ReLU.__default_init__); with act_cls=None torch's default init stays."""
    def __init__(self, ni, nf, ks=3, stride=1, act=True, zero_bn=False):
        conv = nn.Conv2d(ni, nf, kernel_size=ks, stride=stride, padding=(ks - 1) // 2, bias=False)
        if act:
            nn.init.kaiming_uniform_(conv.weight)
        layers = [conv, BatchNorm(nf, zero=zero_bn)]
        if act:
            layers.append(nn.ReLU())
        super().__init__(*layers)


def _conv_block(ni, nf, stride):
    "Book chapter 14: ConvLayer(ni,nf,stride), ConvLayer(nf,nf, act_cls=None, norm_type=BatchZero)"
    return nn.Sequential(
        ConvLayer(ni, nf, stride=stride),
        ConvLayer(nf, nf, act=False, zero_bn=True))


class ResBlock(nn.Module):
    "Book chapter 14 ResBlock: relu(convs(x) + idconv(pool(x)))"
    def __init__(self, ni, nf, stride=1):
        super().__init__()
        self.convs = _conv_block(ni, nf, stride)
        self.idconv = noop if ni == nf else ConvLayer(ni, nf, 1, act=False)
        self.pool = noop if stride == 1 else nn.AvgPool2d(2, ceil_mode=True)

    def forward(self, x):
        return F.relu(self.convs(x) + self.idconv(self.pool(x)))


class ResNet(nn.Sequential):
    """Book chapter 14 ResNet (stem, _make_layer stages, AdaptiveAvgPool2d,
    Flatten, Linear) for 1-channel 28x28 images: the stem keeps stride 1 and
    has no max pool; a stage's first block is strided exactly when it changes
    the channel count (the first stage keeps the stem's width and stride 1)."""
    def __init__(self, n_out=10, stem=STEM, block_szs=BLOCK_SZS, layers=LAYERS):
        stem_layers = [ConvLayer(stem[i], stem[i + 1]) for i in range(len(stem) - 1)]
        self.block_szs = list(block_szs)
        blocks = [self._make_layer(*o) for o in enumerate(layers)]
        super().__init__(*stem_layers, *blocks,
                         nn.AdaptiveAvgPool2d(1), Flatten(),
                         nn.Linear(self.block_szs[-1], n_out))

    def _make_layer(self, idx, n_layers):
        ch_in, ch_out = self.block_szs[idx:idx + 2]
        stride = 1 if ch_in == ch_out else 2
        return nn.Sequential(*[
            ResBlock(ch_in if i == 0 else ch_out, ch_out, stride if i == 0 else 1)
            for i in range(n_layers)])


def norm_bias_params(model, with_bias=True):
    "fastai.torch_core.norm_bias_params: BatchNorm params, plus every bias if with_bias"
    out = []
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            out += list(m.parameters(recurse=False))
        elif with_bias and getattr(m, "bias", None) is not None:
            out.append(m.bias)
    return out


class FastaiAdam:
    """fastai.optimizer.Adam (decoupled weight decay) on one parameter group:
    callbacks weight_decay, average_grad(dampening=True), average_sqr_grad,
    step_stat, adam_step, with fastai's per-parameter state dicts and hypers."""
    def __init__(self, params, lr, mom=0.9, sqr_mom=0.99, eps=1e-5, wd=0.01):
        self.params = [p for p in params]
        self.state = {p: {} for p in self.params}
        # Key order as fastai builds it: merge(cbs' defaults, Adam's kwargs).
        self.hypers = [dict(wd=wd, sqr_mom=sqr_mom, lr=lr, mom=mom, eps=eps)]

    def zero_grad(self):
        for p in self.params:
            if p.grad is not None:
                p.grad.detach_()
                p.grad.zero_()

    @torch.no_grad()
    def step(self):
        h = self.hypers[0]
        lr, mom, sqr_mom, eps, wd = h["lr"], h["mom"], h["sqr_mom"], h["eps"], h["wd"]
        for p in self.params:
            if p.grad is None:
                continue
            st = self.state[p]
            if st.get("do_wd", True) and wd != 0:                 # weight_decay
                p.data.mul_(1 - lr * wd)
            grad_avg = st.get("grad_avg")                         # average_grad
            if grad_avg is None:
                grad_avg = torch.zeros_like(p.grad.data)
            grad_avg.mul_(mom).add_(p.grad.data, alpha=1 - mom)
            st["grad_avg"] = grad_avg
            sqr_avg = st.get("sqr_avg")                           # average_sqr_grad
            if sqr_avg is None:
                sqr_avg = torch.zeros_like(p.grad.data)
            sqr_avg.mul_(sqr_mom).addcmul_(p.grad.data, p.grad.data, value=1 - sqr_mom)
            st["sqr_avg"] = sqr_avg
            step = st.get("step", 0) + 1                          # step_stat
            st["step"] = step
            debias1 = (1 - mom) * (1 - mom ** step) / (1 - mom)   # adam_step
            debias2 = (1 - sqr_mom) * (1 - sqr_mom ** step) / (1 - sqr_mom)
            p.data.addcdiv_(grad_avg, (sqr_avg / debias2).sqrt() + eps, value=-lr / debias1)

    def state_dict(self, hypers_type=list):
        "fastai Optimizer.state_dict: {'state': [state of each param], 'hypers': L(dicts)}"
        return {"state": [self.state[p] for p in self.params],
                "hypers": hypers_type(self.hypers)}


def sched_cos(start, end, pos):
    return start + (1 + math.cos(math.pi * (1 - pos))) * (end - start) / 2


def one_cycle(pct, lr_max, div=25., div_final=1e5, pct_start=0.25, moms=(0.95, 0.85, 0.95)):
    "fastai fit_one_cycle: cosine warm-up over pct_start, then cosine annealing"
    if pct < pct_start:
        p = pct / pct_start
        return sched_cos(lr_max / div, lr_max, p), sched_cos(moms[0], moms[1], p)
    p = (pct - pct_start) / (1 - pct_start)
    return sched_cos(lr_max, lr_max / div_final, p), sched_cos(moms[1], moms[2], p)


# fastai's Optimizer keeps its hypers in a fastcore.foundation.L, and
# Optimizer.state_dict returns that object itself, so every learn.save file
# pickles the global `fastcore.foundation L` (NEWOBJ, then BUILD with the
# instance dict {'items': [...]}; L and its bases define no __reduce__ or
# __getstate__, only GetAttr.__setstate__). fastcore is not installed here: this
# stand-in has the same module and name and pickles the same way.
def _fastcore_stub():
    if "fastcore.foundation" in sys.modules:
        return sys.modules["fastcore.foundation"].L
    pkg = types.ModuleType("fastcore")
    pkg.__path__ = []
    mod = types.ModuleType("fastcore.foundation")

    class L:
        "Stand-in for fastcore.foundation.L (a list-like holding `items`)"
        def __init__(self, items=None):
            self.items = list(items) if items is not None else []

        def __setstate__(self, data):
            self.__dict__.update(data)

        def __len__(self):
            return len(self.items)

        def __getitem__(self, i):
            return self.items[i]

        def __iter__(self):
            return iter(self.items)

        def __repr__(self):
            return repr(self.items)

    L.__module__ = "fastcore.foundation"
    L.__qualname__ = "L"
    mod.L = L
    pkg.foundation = mod
    sys.modules["fastcore"] = pkg
    sys.modules["fastcore.foundation"] = mod
    return L


def learn_save(path, model, opt):
    "fastai.learner.save_model with with_opt=True"
    model.to(memory_format=torch.contiguous_format)
    for st in opt.state.values():
        for k, v in st.items():
            if torch.is_tensor(v):
                st[k] = v.contiguous()
    state = {"model": model.state_dict(), "opt": opt.state_dict(hypers_type=_fastcore_stub())}
    # torch names the zip's root folder after the file ("model/data.pkl" for
    # model.pth, as learn.save('model') gives); write under that name in a
    # temporary folder, then rename into place.
    tmpdir = path + ".tmpdir"
    os.makedirs(tmpdir, exist_ok=True)
    tmp = os.path.join(tmpdir, os.path.basename(path))
    torch.save(state, tmp, pickle_protocol=2)
    os.replace(tmp, path)
    os.rmdir(tmpdir)


def load_checkpoint(path):
    "torch.load a learn.save file (maps fastcore.foundation.L to the stand-in)."
    _fastcore_stub()
    return torch.load(path, map_location="cpu")


# ---------------------------------------------------------------- training

@torch.no_grad()
def evaluate(model, x, y, loss_fn, bs=1000):
    model.eval()
    tot_loss, correct = 0.0, 0
    for i in range(0, len(x), bs):
        out = model(x[i:i + bs])
        tot_loss += loss_fn(out, y[i:i + bs]).item() * len(out)
        correct += (out.argmax(1) == y[i:i + bs]).sum().item()
    return tot_loss / len(x), correct / len(x)


def train_run(name, smoothing, data, args, log):
    xtr, ytr, xte_n, yte, mean, std = data
    torch.manual_seed(args.seed)
    gen = torch.Generator().manual_seed(args.seed)
    # channels_last runs ~1.4x faster on this CPU (oneDNN); learn_save stores contiguous tensors.
    model = ResNet().to(memory_format=torch.channels_last)
    opt = FastaiAdam(list(model.parameters()), lr=args.lr, wd=args.wd)
    # Learner.create_opt with wd_bn_bias=False and train_bn=True.
    for p in norm_bias_params(model, True):
        opt.state[p]["do_wd"] = False
    for p in norm_bias_params(model, False):
        opt.state[p]["force_train"] = True
    loss_fn = nn.CrossEntropyLoss(label_smoothing=smoothing)

    n = len(xtr)
    n_iter = n // args.bs                      # fastai's train DataLoader drops the last partial batch
    total = args.epochs * n_iter
    log(f"\n## run {name}: loss CrossEntropyLoss(label_smoothing={smoothing}), "
        f"{args.epochs} epochs x {n_iter} batches of {args.bs}")
    log(f"{'epoch':>5}  {'train_loss':>10}  {'valid_loss':>10}  {'top1':>7}  {'lr_end':>9}  {'time':>6}")
    it = 0
    epoch_times, rows = [], []
    for epoch in range(args.epochs):
        model.train()
        t0 = time.time()
        perm = torch.randperm(n, generator=gen)
        run_loss = 0.0
        for b in range(n_iter):
            lr, mom = one_cycle(it / total, args.lr)
            opt.hypers[0]["lr"], opt.hypers[0]["mom"] = lr, mom
            idx = perm[b * args.bs:(b + 1) * args.bs]
            xb = augment(xtr[idx], gen) if args.augment else xtr[idx]
            # Scale augmentation: each batch at one of the --scales sizes
            # (bilinear upscaling of the 28x28 images), so that the fully
            # convolutional model answers at 56x56 as well as at 28x28.
            if len(args.scales) > 1:
                size = args.scales[int(torch.randint(0, len(args.scales), (1,), generator=gen))]
                if size != xb.shape[-1]:
                    xb = upscale(xb, size, "bilinear")
            xb = normalize(xb, mean, std)
            xb = xb.contiguous(memory_format=torch.channels_last)
            loss = loss_fn(model(xb), ytr[idx])
            loss.backward()
            opt.step()
            opt.zero_grad()
            run_loss += loss.item()
            it += 1
        dt = time.time() - t0
        epoch_times.append(dt)
        vloss, acc = evaluate(model, xte_n, yte, loss_fn)
        rows.append(dict(epoch=epoch, train_loss=run_loss / n_iter, valid_loss=vloss, top1=acc, time=dt))
        log(f"{epoch:>5}  {run_loss / n_iter:>10.4f}  {vloss:>10.4f}  {acc * 100:>6.2f}%  {lr:>9.2e}  {dt:>5.1f}s")
    return model, opt, rows, epoch_times


def finetune_scales(model, name, smoothing, data, args, log):
    """Stage 2 (--finetune-scales): fit_one_cycle for --finetune-epochs at
    --finetune-lr, no weight decay, each batch at the next of the sizes in
    turn (bilinear upscaling), with every BatchNorm in eval mode: its
    running statistics are the 28x28 ones of stage 1 and stay so (the
    affine weights train). The convolutions then learn to give 28x28's
    statistics at the other sizes too, instead of BatchNorm averaging two
    sets of statistics that fit neither (what --scales does). Returns the
    fastai Adam of this stage (for learn.save) and its rows."""
    xtr, ytr, xte_n, yte, mean, std = data
    torch.manual_seed(args.seed + 1)
    gen = torch.Generator().manual_seed(args.seed + 1)
    opt = FastaiAdam(list(model.parameters()), lr=args.finetune_lr, wd=0.0)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=smoothing)
    bns = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    n = len(xtr)
    n_iter = n // args.bs
    total = args.finetune_epochs * n_iter
    scales = args.finetune_scales
    log(f"\n## run {name}, stage 2: sizes {scales} in turn, BatchNorm statistics frozen, "
        f"{args.finetune_epochs} epochs x {n_iter} batches, fit_one_cycle lr_max {args.finetune_lr}, no wd")
    log(f"{'epoch':>5}  {'train_loss':>10}  {'top1@28':>8}  {'top1@56':>8}  {'time':>6}")
    rows, it = [], 0
    for epoch in range(args.finetune_epochs):
        model.train()
        for m in bns:
            m.eval()
        t0 = time.time()
        perm = torch.randperm(n, generator=gen)
        run_loss = 0.0
        for b in range(n_iter):
            lr, mom = one_cycle(it / total, args.finetune_lr)
            opt.hypers[0]["lr"], opt.hypers[0]["mom"] = lr, mom
            idx = perm[b * args.bs:(b + 1) * args.bs]
            xb = augment(xtr[idx], gen) if args.augment else xtr[idx]
            size = scales[b % len(scales)]
            if size != xb.shape[-1]:
                xb = upscale(xb, size, "bilinear")
            xb = normalize(xb, mean, std).contiguous(memory_format=torch.channels_last)
            loss = loss_fn(model(xb), ytr[idx])
            loss.backward()
            opt.step()
            opt.zero_grad()
            run_loss += loss.item()
            it += 1
        dt = time.time() - t0
        a28 = accuracy_at(model, args.xte_u8, yte, 28, "bilinear", mean, std)
        a56 = accuracy_at(model, args.xte_u8, yte, 56, "bilinear", mean, std)
        rows.append(dict(epoch=epoch, train_loss=run_loss / n_iter, top1=a28, top1_56=a56, time=dt))
        log(f"{epoch:>5}  {run_loss / n_iter:>10.4f}  {a28 * 100:>7.2f}%  {a56 * 100:>7.2f}%  {dt:>5.1f}s")
    model.eval()
    return opt, rows


@torch.no_grad()
def recalibrate_bn(model, x_u8, scales, mean, std, bs=256):
    """Recompute every BatchNorm's running statistics as an exact average
    over all training images, a third of the batches at each training size
    (as torch.optim.swa_utils.update_bn does for one size). During training
    with one random size per batch, BatchNorm's running averages (momentum
    0.1) follow the sizes of the last few batches; the exact average is what
    both test sizes are served by."""
    bns = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    moms = [m.momentum for m in bns]
    for m in bns:
        m.reset_running_stats()
        m.momentum = None          # cumulative average
    model.train()
    n_iter = len(x_u8) // bs
    for b in range(n_iter):
        xb = x_u8[b * bs:(b + 1) * bs]
        size = scales[b % len(scales)]
        if size != xb.shape[-1]:
            xb = upscale(xb, size, "bilinear")
        model(normalize(xb, mean, std).contiguous(memory_format=torch.channels_last))
    for m, mom in zip(bns, moms):
        m.momentum = mom
    model.eval()


@torch.no_grad()
def accuracy_at(model, x_u8, y, size, mode, mean, std, bs=500):
    model.eval()
    correct = 0
    for i in range(0, len(x_u8), bs):
        xb = x_u8[i:i + bs]
        xb = upscale(xb, size, mode) if size != xb.shape[-1] else xb.to(torch.float32)
        xb = ((xb / 255.0 - mean) / std).unsqueeze(1)
        correct += (model(xb).argmax(1) == y[i:i + bs]).sum().item()
    return correct / len(x_u8)


def write_png_gray(path, img):
    "Minimal 8-bit greyscale PNG writer (no filter), img: uint8 [H,W] numpy."
    h, w = img.shape
    raw = b"".join(b"\x00" + img[r].tobytes() for r in range(h))

    def chunk(t, d):
        c = struct.pack(">I", len(d)) + t + d
        return c + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
    data = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))
    with open(path, "wb") as f:
        f.write(data)


RUNS = {"ce": ("plain", 0.0), "ls": ("smooth0.1", 0.1)}


def load_data(quick):
    "Train/test uint8 tensors, normalization constants, normalized test inputs."
    xtr, ytr = load_split("train")
    xte, yte = load_split("t10k")
    # Mean and population std of all training pixels in [0,1], from exact
    # integer sums so that the values do not depend on threads or order.
    xi = xtr.numpy().astype(np.int64)
    npx, s1, s2 = xi.size, int(xi.sum()), int((xi * xi).sum())
    mean = s1 / npx / 255.0
    std = math.sqrt((s2 * npx - s1 * s1) / (npx * npx)) / 255.0
    if quick:
        g = torch.Generator().manual_seed(0)
        i = torch.randperm(len(xtr), generator=g)[:2048]
        xtr, ytr = xtr[i], ytr[i]
        xte, yte = xte[:1000], yte[:1000]
    return dict(xtr=xtr, ytr=ytr, xte=xte, yte=yte, mean=mean, std=std,
                mean32=float(np.float32(mean)), std32=float(np.float32(std)))


def do_run(key, args, d, prefix=""):
    """Train one run, save its learn.save checkpoint and run.json in gen/run_<key>."""
    name, sm = RUNS[key]
    lines = []

    def log(s=""):
        lines.append(s)
        for l in s.split("\n"):
            print(prefix + l, flush=True)

    data = (d["xtr"], d["ytr"], normalize(d["xte"], d["mean32"], d["std32"]), d["yte"], d["mean32"], d["std32"])
    args.xte_u8 = d["xte"]
    rundir = os.path.join(args.workdir, f"run_{key}")
    if args.reuse_stage1:
        # Stage 1 as an earlier run of this script saved it (the same
        # settings give the same weights: it is deterministic).
        with open(os.path.join(rundir, "stage1.json" if os.path.exists(os.path.join(rundir, "stage1.json")) else "run.json")) as f:
            prev = json.load(f)
        if prev["epochs"] != args.epochs or prev.get("log") is None:
            sys.exit(f"train.py: {rundir}: stage 1 of {prev['epochs']} epochs, not {args.epochs}")
        src = os.path.join(rundir, "stage1.pth" if os.path.exists(os.path.join(rundir, "stage1.pth")) else "model.pth")
        model = ResNet()
        model.load_state_dict(load_checkpoint(src)["model"])
        model = model.to(memory_format=torch.channels_last)
        rows, times = prev["rows"], [prev["sec_per_epoch"]]
        for l in prev["log"]:
            log(l)
        opt = None
    else:
        model, opt, rows, times = train_run(name, sm, data, args, log)
    if args.finetune_scales:
        os.makedirs(rundir, exist_ok=True)
        if opt is not None:
            learn_save(os.path.join(rundir, "stage1.pth"), model, opt)
        else:
            shutil.copyfile(src, os.path.join(rundir, "stage1.pth.tmp"))
            os.replace(os.path.join(rundir, "stage1.pth.tmp"), os.path.join(rundir, "stage1.pth"))
        s1 = dict(epochs=args.epochs, rows=rows, sec_per_epoch=sum(times) / len(times), log=list(lines))
        with open(os.path.join(rundir, "stage1.json"), "w") as f:
            json.dump(s1, f, indent=1)
        model = model.to(memory_format=torch.channels_last)
        opt, rows2 = finetune_scales(model, name, sm, data, args, log)
        rows = rows + [dict(r, epoch=args.epochs + r["epoch"]) for r in rows2]
    if len(args.scales) > 1:
        recalibrate_bn(model, d["xtr"], args.scales, d["mean32"], d["std32"])
        _, acc = evaluate(model, data[2], d["yte"], nn.CrossEntropyLoss(label_smoothing=sm))
        log(f"BatchNorm statistics recomputed over the training images at {args.scales}: top1 {acc * 100:.2f}%")
        rows[-1]["top1"] = acc
    r = dict(key=key, name=name, label_smoothing=sm, epochs=args.epochs, threads=torch.get_num_threads(),
             finetune_epochs=args.finetune_epochs if args.finetune_scales else 0,
             sec_per_epoch=sum(times) / len(times), top1_28=rows[-1]["top1"],
             top1_56_nearest=accuracy_at(model, d["xte"], d["yte"], 56, "nearest", d["mean32"], d["std32"]),
             top1_56_bilinear=accuracy_at(model, d["xte"], d["yte"], 56, "bilinear", d["mean32"], d["std32"]),
             rows=rows, log=lines)
    os.makedirs(rundir, exist_ok=True)
    learn_save(os.path.join(rundir, "model.pth"), model, opt)
    with open(os.path.join(rundir, "run.json"), "w") as f:
        json.dump(r, f, indent=1)
    return r


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--epochs", type=int, default=None, help="epochs per run (default 15; 1 with --quick)")
    ap.add_argument("--quick", action="store_true", help="smoke test: 2048 training and 1000 test images")
    ap.add_argument("--out", default=None, help="output folder (default: this folder; gen/quick with --quick)")
    ap.add_argument("--lr", type=float, default=1e-2, help="fit_one_cycle lr_max")
    ap.add_argument("--wd", type=float, default=0.01, help="decoupled weight decay (fastai Adam default)")
    ap.add_argument("--bs", type=int, default=256)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--no-augment", dest="augment", action="store_false")
    ap.add_argument("--scales", default="28",
                    help="training sizes, one drawn per batch, e.g. 28,42,56 (default 28: the native size only; "
                         "see the docstring for what 28,42,56 measured)")
    ap.add_argument("--finetune-scales", default="",
                    help="stage 2 after the --epochs at 28x28: fine-tune at these sizes in turn with BatchNorm "
                         "statistics frozen, e.g. 28,56 (default: no stage 2)")
    ap.add_argument("--finetune-epochs", type=int, default=3)
    ap.add_argument("--finetune-lr", type=float, default=1e-3, help="stage 2 fit_one_cycle lr_max")
    ap.add_argument("--reuse-stage1", action="store_true",
                    help="take stage 1 from gen/run_<key>/ (stage1.pth, else model.pth, with its json) instead of training it")
    ap.add_argument("--runs", default="ce,ls", help="comma list of runs: ce (plain), ls (label smoothing 0.1)")
    ap.add_argument("--jobs", type=int, default=2,
                    help="runs trained at once, each in its own process (default 2: both runs in parallel)")
    ap.add_argument("--threads", type=int, default=None, help="torch threads per run (default 2/jobs)")
    ap.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--workdir", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.epochs is None:
        args.epochs = 1 if args.quick else 15
    args.scales_arg = args.scales
    args.scales = [int(v) for v in args.scales.split(",")]
    args.finetune_scales_arg = args.finetune_scales
    args.finetune_scales = [int(v) for v in args.finetune_scales.split(",")] if args.finetune_scales else []
    keys = args.runs.split(",")
    for k in keys:
        if k not in RUNS:
            sys.exit(f"train.py: unknown run {k!r} (want ce or ls)")
    jobs = max(1, min(args.jobs, len(keys)))
    if args.threads is None:
        args.threads = max(1, 2 // jobs)
    torch.set_num_threads(args.threads)
    out = args.out or (os.path.join(HERE, "gen", "quick") if args.quick else HERE)
    if args.workdir is None:
        args.workdir = os.path.join(out, "gen") if args.out or args.quick else os.path.join(HERE, "gen")

    if args.worker:                                   # child process of a parallel run
        do_run(args.worker, args, load_data(args.quick), prefix=f"[{RUNS[args.worker][0]}] ")
        return

    os.makedirs(os.path.join(out, "samples"), exist_ok=True)
    os.makedirs(args.workdir, exist_ok=True)
    d = load_data(args.quick)
    t_start = time.time()
    results = {}
    if jobs == 1:
        for k in keys:
            results[k] = do_run(k, args, d)
    else:
        import subprocess
        base = [sys.executable, os.path.abspath(__file__), "--epochs", str(args.epochs), "--lr", repr(args.lr),
                "--wd", repr(args.wd), "--bs", str(args.bs), "--seed", str(args.seed),
                "--threads", str(args.threads), "--workdir", args.workdir, "--scales", args.scales_arg]
        base += (["--quick"] if args.quick else []) + ([] if args.augment else ["--no-augment"])
        base += ["--finetune-scales", args.finetune_scales_arg, "--finetune-epochs", str(args.finetune_epochs),
                 "--finetune-lr", repr(args.finetune_lr)] + (["--reuse-stage1"] if args.reuse_stage1 else [])
        pending = list(keys)
        while pending:
            batch, pending = pending[:jobs], pending[jobs:]
            procs = [(k, subprocess.Popen(base + ["--worker", k])) for k in batch]
            for k, p in procs:
                if p.wait() != 0:
                    sys.exit(f"train.py: run {k} failed (exit {p.returncode})")
        for k in keys:
            with open(os.path.join(args.workdir, f"run_{k}", "run.json")) as f:
                results[k] = json.load(f)
    finish(args, d, keys, jobs, results, time.time() - t_start, out)


def finish(args, d, keys, jobs, results, wall, out):
    """Write train.log, the kept model.pth, labels.txt, model.json and the
    samples from the runs' results (run.json of each run)."""
    model_desc = ResNet()
    nparams = sum(p.numel() for p in model_desc.parameters())
    head = [
        "# Fastai book chapter-14 ResNet on Fashion-MNIST (plain torch reproduction, train.py)",
        f"torch {torch.__version__}; {len(keys)} runs, {jobs} at a time, {args.threads} torch thread(s) each; "
        f"train {len(d['xtr'])} / test {len(d['xte'])} images{' (QUICK subset)' if args.quick else ''}",
        f"normalization on [0,1] pixels: mean {d['mean32']!r} std {d['std32']!r} "
        f"(float32; exact: {d['mean']!r} {d['std']!r})",
        f"fit_one_cycle lr_max {args.lr}, div 25, div_final 1e5, pct_start 0.25, moms (0.95,0.85,0.95); "
        f"fastai Adam (sqr_mom 0.99, eps 1e-5, decoupled wd {args.wd}, none on BN/bias); "
        f"bs {args.bs}; seed {args.seed}; augmentation "
        f"{'random crop (pad 2) + horizontal flip' if args.augment else 'none'}"
        + (f"; scale augmentation: each batch at one of {args.scales} pixels (bilinear)" if len(args.scales) > 1 else ""),
        f"stem {STEM}, block_szs {BLOCK_SZS}, layers {LAYERS}: {nparams} parameters",
    ] + ([
        f"stage 2: {args.finetune_epochs} epochs at sizes {args.finetune_scales} in turn (bilinear), BatchNorm "
        f"statistics frozen at stage 1's, fit_one_cycle lr_max {args.finetune_lr}, fastai Adam without wd",
    ] if args.finetune_scales else []) + [
        "valid = the t10k test images at 28x28; valid_loss uses the run's own loss function; "
        "time = training time of the epoch (wall clock, shared machine)",
    ]
    body = [l for k in keys for l in results[k]["log"]]
    tail = ["", "## comparison (top-1 on the test images; 56x56 = test images upscaled 2x)",
            f"{'run':<10}  {'epochs':>6}  {'s/epoch':>7}  {'top1@28':>8}  {'top1@56 nearest':>15}  "
            f"{'top1@56 bilinear':>16}"]
    for r in results.values():
        ep = f"{r['epochs']}+{r['finetune_epochs']}" if r.get("finetune_epochs") else str(r["epochs"])
        tail.append(f"{r['name']:<10}  {ep:>6}  {r['sec_per_epoch']:>7.1f}  {r['top1_28'] * 100:>7.2f}%"
                    f"  {r['top1_56_nearest'] * 100:>14.2f}%  {r['top1_56_bilinear'] * 100:>15.2f}%")
    best = max(results.values(), key=lambda r: (r["top1_28"], r["top1_56_nearest"]))
    tail.append(f"kept: {best['name']} (higher top-1 at 28x28) -> model.pth; total wall time {wall / 60:.1f} min")
    if args.reuse_stage1:
        tail.append("stage 1 was reused (--reuse-stage1): its times are those of the run that trained it; "
                    "the wall time is stage 2's")
    for l in [""] + tail:
        print(l)
    with open(os.path.join(out, "train.log.tmp"), "w") as f:
        f.write("\n".join(head + body + tail) + "\n")
    os.replace(os.path.join(out, "train.log.tmp"), os.path.join(out, "train.log"))

    # The kept checkpoint, byte for byte as its run saved it (zip root "model/").
    shutil.copyfile(os.path.join(args.workdir, f"run_{best['key']}", "model.pth"), os.path.join(out, "model.pth.tmp"))
    os.replace(os.path.join(out, "model.pth.tmp"), os.path.join(out, "model.pth"))

    with open(os.path.join(out, "labels.txt"), "w") as f:
        f.write("\n".join(LABELS) + "\n")
    meta = dict(architecture="fastai book chapter-14 ResNet", stem=list(STEM), block_szs=list(BLOCK_SZS),
                layers=list(LAYERS), input_channels=1, train_size=[28, 28], classes=LABELS,
                mean=[d["mean32"]], std=[d["std32"]], pixel_scale="x/255",
                kept_run=best["name"], label_smoothing=best["label_smoothing"], epochs=args.epochs,
                top1_28=best["top1_28"], top1_56_nearest=best["top1_56_nearest"],
                top1_56_bilinear=best["top1_56_bilinear"],
                runs={r["name"]: {kk: v for kk, v in r.items() if kk not in ("rows", "log", "key")}
                      for r in results.values()})
    if len(args.scales) > 1:
        meta["train_scales"] = args.scales
    if args.finetune_scales:
        meta["finetune"] = dict(scales=args.finetune_scales, epochs=args.finetune_epochs, lr_max=args.finetune_lr,
                                batchnorm="statistics frozen")
    with open(os.path.join(out, "model.json"), "w") as f:
        json.dump(meta, f, indent=2)
        f.write("\n")

    # One test image per class: the first test index with that label.
    for c in range(10):
        i = int((d["yte"] == c).nonzero()[0])
        write_png_gray(os.path.join(out, "samples", f"{c}_{i}.png"), d["xte"][i].numpy())


if __name__ == "__main__":
    main()
