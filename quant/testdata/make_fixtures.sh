#!/bin/sh
# Generate quant's ONNX Runtime fixtures into quant/testdata/gen/ (gitignored).
#
#   quant/testdata/make_fixtures.sh
#
# Idempotent: installs onnxruntime-node@1.30.0 into .cache/ort only when it is
# missing, and rewrites the same files on every run (fixed seed). Needs
# Debian's /usr/bin/python3 with python3-onnx and numpy, node and npm.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
ort_dir="$repo/.cache/ort"
gen="$here/gen"

if [ ! -d "$ort_dir/node_modules/onnxruntime-node" ]; then
	mkdir -p "$ort_dir"
	(cd "$ort_dir" && npm install --ignore-scripts onnxruntime-node@1.30.0)
fi

mkdir -p "$gen"
/usr/bin/python3 "$here/gen_qlinear.py" "$gen"
NODE_PATH="$ort_dir/node_modules" node "$here/run_ort.js" "$gen"
echo "quant fixtures written to $gen"
