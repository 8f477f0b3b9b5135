#!/usr/bin/env bash
# Side-by-side benchmark: the int8 engine (`edge bench`) against ONNX
# Runtime 1.30 (onnxruntime-node, intra-op threads 1 and 2) on the same
# uint8-activation QDQ files (testdata/qdq/make_fixtures.sh: ResNet-18 and
# ResNet-50 quantized in ORT's quantize_static style), at 224x224 and
# 240x320, and the float reference runtime (runtime/ref) against ORT's
# float on the same float ONNX files. Each configuration alternates the
# two runtimes over several rounds (warm-up, then timed runs each) and
# reports the medians and the ratio ours ÷ ORT; then the int8 MACs per
# cycle per core on ResNet-18 224x224 (the clock measured under load by a
# calibrated loop; see scripts/benchvsort). Then the same int8 rows on two
# other forms of the same networks: 7-bit-weight twins of those files, and
# the float models converted by export --int8 with its defaults (pair-safe
# 8-bit weights).
#
# Usage: scripts/bench-vs-ort.sh [benchvsort flags: -runs 20 -warmup 5
#        -rounds 3 -kernels auto|generic|avx2|avx512vnni -no-float ...]
# Prints a markdown table on stdout, progress on stderr.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
"$root/scripts/install-ort.sh"
"$root/testdata/qdq/make_fixtures.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/edge" ./cmd/edge
go build -o "$tmp/export" ./cmd/export
go build -o "$tmp/benchvsort" ./scripts/benchvsort
"$tmp/benchvsort" -edge "$tmp/edge" "$@"

# The same ResNets with 7-bit weights (--reduce-range; the built-in model's
# form): ONNX Runtime is exact on them and the engine runs its VPMADDUBSW
# kernel. Same files for both sides.
mkdir -p "$tmp/twins"
for m in resnet18_u8 resnet50_u8; do
  /usr/bin/python3 "$root/testdata/qdq/make_7bit_twin.py" "$root/testdata/qdq/gen/models/$m.onnx" "$tmp/twins/$m.onnx"
done
echo
echo "7-bit weights (testdata/qdq/make_7bit_twin.py of the files above):"
echo
"$tmp/benchvsort" -edge "$tmp/edge" -qdq "$tmp/twins" -no-float "$@"

# The same float ResNets converted by this project's export --int8 with its
# defaults (pair-safe 8-bit weights, mse), calibrated on the committed
# sample images (a speed benchmark: the scales do not change the work).
mkdir -p "$tmp/pairsafe"
for m in resnet18 resnet50; do
  "$tmp/export" "$root/testdata/torchvision/gen/models/$m/model.onnx" --int8 --calib "$root/testdata/fashion/samples" \
    --calib-count 8 --report-count 0 --input-size 224x224 --table=false -q -o "$tmp/pairsafe/${m}_u8.onnx"
done
echo
echo "pair-safe 8-bit weights (export --int8's default, from the float models above):"
echo
"$tmp/benchvsort" -edge "$tmp/edge" -qdq "$tmp/pairsafe" -no-float "$@"
