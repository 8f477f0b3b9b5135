#!/usr/bin/env bash
# Installs ONNX Runtime 1.30 (onnxruntime-node, CPU library inside the
# package) into .cache/ort. Its install script tries to download GPU files and
# fails, so it runs with --ignore-scripts. Idempotent.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dir="$root/.cache/ort"
if [ -f "$dir/node_modules/onnxruntime-node/package.json" ] &&
   grep -q '"version": "1.30.0"' "$dir/node_modules/onnxruntime-node/package.json"; then
  exit 0
fi
mkdir -p "$dir"
cd "$dir"
[ -f package.json ] || echo '{"name":"piresnet-ort","private":true}' > package.json
npm install --silent --no-audit --no-fund --ignore-scripts onnxruntime-node@1.30.0
