#!/usr/bin/python3
"""Reference preprocessing for the tests of package imageprep, with PIL,
numpy and torch (Debian's python3-pil, python3-numpy, python3-torch).

    pilref.py REQUEST.json

REQUEST: {"image": path, "channels": 1 or 3, "size": [h, w] or null,
          "interp": "nearest" | "bilinear", "mean": [...], "std": [...],
          "out": path}

Decodes the image with PIL, converts it with Image.convert("L") (ITU-R 601
luma, PIL's integer formula) or Image.convert("RGB"), resizes with torch's
F.interpolate (align_corners=False for bilinear) on the 8-bit values,
rounds back to 8 bits (round half to even, clamped), and normalizes in
float32 as torchvision does: (x/255 - mean) / std. Writes float32
little-endian CHW to "out".
"""
import json
import sys

import numpy as np
from PIL import Image

req = json.load(open(sys.argv[1]))
img = Image.open(req["image"])
img = img.convert("L" if req["channels"] == 1 else "RGB")
a = np.asarray(img, dtype=np.uint8)
if a.ndim == 2:
    a = a[None, :, :]
else:
    a = a.transpose(2, 0, 1)
if req.get("size"):
    import torch  # only here: importing torch takes seconds
    import torch.nn.functional as F
    h, w = req["size"]
    t = torch.from_numpy(a.astype(np.float32))[None]
    if req["interp"] == "nearest":
        t = F.interpolate(t, size=(h, w), mode="nearest")
    else:
        t = F.interpolate(t, size=(h, w), mode="bilinear", align_corners=False)
    a = torch.clamp(torch.round(t[0]), 0, 255).numpy().astype(np.uint8)
mean = np.array(req["mean"], dtype=np.float32)[:, None, None]
std = np.array(req["std"], dtype=np.float32)[:, None, None]
x = (a.astype(np.float32) / np.float32(255) - mean) / std
x.astype("<f4").tofile(req["out"])
