#!/usr/bin/python3
"""Independent idx reader for the tests of package dataset.

    idxref.py FILE...   prints one JSON object per file:
                        {"dims": [...], "sha256": <hex of the data bytes>,
                         "first": [first 16 data bytes], "hist": [count of each byte value]}

Reads gzip (by magic) or raw idx with numpy, the way Fashion-MNIST's own
utils/mnist_reader.py does (np.frombuffer after the header).
"""
import gzip
import hashlib
import json
import struct
import sys

import numpy as np


def read(path):
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    assert raw[0] == 0 and raw[1] == 0 and raw[2] == 8, "not an unsigned byte idx file"
    ndim = raw[3]
    dims = list(struct.unpack(">" + "I" * ndim, raw[4:4 + 4 * ndim]))
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    assert data.size == int(np.prod(dims))
    return dims, data


for p in sys.argv[1:]:
    dims, data = read(p)
    hist = np.bincount(data, minlength=256)
    print(json.dumps({"dims": dims, "sha256": hashlib.sha256(data.tobytes()).hexdigest(),
                      "first": data[:16].tolist(), "hist": hist.tolist()}))
