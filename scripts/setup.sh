#!/usr/bin/env bash
# Installs what the tests need on a fresh Debian machine (run as root, or
# with sudo available): Debian's torch, torchvision and onnx (the references),
# ONNX's conformance data, Fashion-MNIST, qemu-user-static (ARM test runs),
# llvm (llvm-mc checks the encodings of the generated arm64 kernels),
# and ONNX Runtime 1.30 from npm into .cache/ort. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."

pkgs=(python3-torch python3-torchvision python3-onnx python3-numpy libonnx-testdata
      dataset-fashion-mnist qemu-user-static llvm)
# Node.js and npm run ONNX Runtime; take the machine's own if it has them.
command -v npm >/dev/null 2>&1 || pkgs+=(nodejs npm)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
./scripts/install-ort.sh
go mod download
