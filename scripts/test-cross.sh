#!/usr/bin/env bash
# Runs the test suites of the packages that run on the board under
# qemu-user-static: arm64 on a Cortex-A72 (no dot product: Pi 4, Pi 3,
# Zero 2 W kernels) and a Cortex-A76 (dot product: Pi 5), and 32-bit arm
# with GOARM=6 (Pi Zero, no NEON) and GOARM=7. CGO_ENABLED=0, as released.
set -euo pipefail
cd "$(dirname "$0")/.."
pkgs=(./quant/... ./runtime/... ./internal/onnx/ ./internal/checkpoint/ ./internal/imageprep/...
      ./internal/dataset/... ./internal/camera/... ./internal/gpio/... ./boards/... ./cmd/edge/)
existing=()
for p in "${pkgs[@]}"; do
  d=${p%/...}; d=${d%/}
  [ -d "$d" ] && existing+=("$p")
done
export CGO_ENABLED=0
run() {
  local name=$1 exec=$2; shift 2
  printf '\n=== go test under qemu: %s (%s)\n' "$name" "$(date +%T)"
  env "$@" go test -count=1 -short -exec "$exec" "${existing[@]}"
}
run "arm64 cortex-a72" "qemu-aarch64-static -cpu cortex-a72" GOARCH=arm64 QKERNEL_WANT_ISA=neon
run "arm64 cortex-a76" "qemu-aarch64-static -cpu cortex-a76" GOARCH=arm64 QKERNEL_WANT_ISA=neondot
printf '\n=== go test under qemu: arm64 purego kernels (%s)\n' "$(date +%T)"
GOARCH=arm64 go test -count=1 -short -tags purego -exec "qemu-aarch64-static -cpu cortex-a76" ./runtime/internal/qkernel/
run "arm GOARM=6" "qemu-arm-static -cpu arm1176" GOARCH=arm GOARM=6
run "arm GOARM=7" "qemu-arm-static -cpu cortex-a7" GOARCH=arm GOARM=7
