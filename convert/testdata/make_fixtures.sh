#!/bin/sh
# Writes convert/testdata/gen/ (git-ignored): a torchvision ResNet-50
# checkpoint with random weights, with Debian's torch (/usr/bin/python3:
# python3-torch 1.13, python3-torchvision 0.14). Does nothing when
# gen/manifest.json is newer than the scripts; safe to run from concurrent
# test processes (flock). Takes about 15 s and writes ~100 MB. The small
# models (torch.onnx.export, with torch's logits) are committed in tiny/,
# written by hand with: /usr/bin/python3 make_fixtures.py --tiny tiny
set -eu
here=$(cd "$(dirname "$0")" && pwd)
stamp="$here/gen/manifest.json"
mkdir -p "$here/gen"
exec 9>"$here/gen/.lock"
flock 9
if [ -f "$stamp" ] && [ "$stamp" -nt "$here/make_fixtures.py" ] && [ "$stamp" -nt "$here/make_fixtures.sh" ]; then
	exit 0
fi
if ! /usr/bin/python3 -c 'import torch, torchvision, onnx' 2>/dev/null; then
	echo "make_fixtures.sh: /usr/bin/python3 lacks torch, torchvision or onnx: apt-get install python3-torch python3-torchvision python3-onnx" >&2
	exit 1
fi
rm -f "$stamp"
/usr/bin/python3 "$here/make_fixtures.py" "$here/gen"
