#!/usr/bin/python3
"""Write torch's float logits of the Fashion-MNIST ResNet for later tests.

    /usr/bin/python3 testdata/fashion/make_reference.py [--ckpt testdata/fashion/model.pth] [-n 64] [--out testdata/fashion/gen]

Loads a learn.save checkpoint (train.py's model.pth) into train.py's ResNet,
takes the first N t10k test images and writes to --out (git ignores gen/):

    input28.f32   float32 LE [N,1,28,28]  normalized inputs: (x/255 - mean) / std
    logits28.f32  float32 LE [N,10]       model(input28)
    input56.f32   float32 LE [N,1,56,56]  the same images upscaled 2x by pixel
                                          replication (nearest), then normalized
    logits56.f32  float32 LE [N,10]       model(input56)
    labels.u8     uint8 [N]               true labels
    index.json    shapes, dtypes, files, normalization, checkpoint sha256, torch version

Normalization uses float32 mean/std from model.json next to the checkpoint and
is computed in float32 exactly as written: (float32(x)/255 - mean) / std.
The forward pass runs in float32, in eval mode, on 1 thread.
"""

import argparse
import hashlib
import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True  # no __pycache__ next to the fixtures
import train  # noqa: E402  (the model definition and checkpoint loader)


def write_f32(path, t):
    a = np.ascontiguousarray(t.detach().numpy().astype("<f4"))
    a.tofile(path)
    return dict(file=os.path.basename(path), dtype="float32", byte_order="little", shape=list(a.shape))


def main():
    ap = argparse.ArgumentParser(description="torch reference logits for the Fashion-MNIST ResNet")
    ap.add_argument("--ckpt", default=os.path.join(HERE, "model.pth"))
    ap.add_argument("--meta", default=None, help="model.json with mean/std (default: next to --ckpt)")
    ap.add_argument("-n", type=int, default=64, help="number of test images (first N of t10k)")
    ap.add_argument("--out", default=os.path.join(HERE, "gen"))
    args = ap.parse_args()
    torch.set_num_threads(1)

    meta_path = args.meta or os.path.join(os.path.dirname(os.path.abspath(args.ckpt)), "model.json")
    with open(meta_path) as f:
        meta = json.load(f)
    mean = torch.tensor(meta["mean"][0], dtype=torch.float32)
    std = torch.tensor(meta["std"][0], dtype=torch.float32)

    state = train.load_checkpoint(args.ckpt)
    if not (isinstance(state, dict) and set(state) == {"model", "opt"}):
        sys.exit(f"make_reference: {args.ckpt}: not a learn.save file with 'model' and 'opt'")
    model = train.ResNet(stem=meta["stem"], block_szs=meta["block_szs"], layers=meta["layers"])
    model.load_state_dict(state["model"])
    model.eval()

    x, y = train.load_split("t10k")
    n = min(args.n, len(x))
    x, y = x[:n], y[:n]
    x28 = x.to(torch.float32)
    x56 = x28.repeat_interleave(2, dim=1).repeat_interleave(2, dim=2)
    assert torch.equal(x56, F.interpolate(x28[:, None], scale_factor=2, mode="nearest")[:, 0])
    in28 = ((x28 / 255.0 - mean) / std).unsqueeze(1)
    in56 = ((x56 / 255.0 - mean) / std).unsqueeze(1)
    with torch.no_grad():
        out28 = model(in28)
        out56 = model(in56)

    os.makedirs(args.out, exist_ok=True)
    with open(args.ckpt, "rb") as f:
        sha = hashlib.sha256(f.read()).hexdigest()
    files = {
        "input28": write_f32(os.path.join(args.out, "input28.f32"), in28),
        "logits28": write_f32(os.path.join(args.out, "logits28.f32"), out28),
        "input56": write_f32(os.path.join(args.out, "input56.f32"), in56),
        "logits56": write_f32(os.path.join(args.out, "logits56.f32"), out56),
    }
    y.numpy().astype(np.uint8).tofile(os.path.join(args.out, "labels.u8"))
    files["labels"] = dict(file="labels.u8", dtype="uint8", shape=[n])
    index = dict(checkpoint=os.path.relpath(os.path.abspath(args.ckpt), args.out), checkpoint_sha256=sha,
                 torch=torch.__version__, images="t10k first %d" % n,
                 mean=meta["mean"], std=meta["std"], classes=meta["classes"],
                 upscale56="nearest (each pixel replicated 2x2)", files=files,
                 top1_28=(out28.argmax(1) == y).float().mean().item(),
                 top1_56=(out56.argmax(1) == y).float().mean().item())
    tmp = os.path.join(args.out, "index.json.tmp")
    with open(tmp, "w") as f:
        json.dump(index, f, indent=2)
        f.write("\n")
    os.replace(tmp, os.path.join(args.out, "index.json"))
    print(f"wrote {n} images' logits to {args.out}: top-1 {index['top1_28'] * 100:.1f}% at 28x28, "
          f"{index['top1_56'] * 100:.1f}% at 56x56")


if __name__ == "__main__":
    main()
